"""blob ownership: the blobs the store holds, who proved they hold them, disabled users, commit keys

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "blob_proofs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "sha256", name="uq_blob_proofs_user_sha256"),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("commit_key", sa.String(length=64), nullable=True))
    # Blobs stored before this revision: known by the versions that reference them. Their sizes were
    # declared by clients, so they are left unknown (NULL) and measured in the store when next needed.
    op.execute(
        "INSERT INTO blobs (sha256, size, created_at, touched_at) "
        "SELECT DISTINCT sha256, CAST(NULL AS BIGINT), CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM files"
    )


def downgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_column("commit_key")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("disabled")
    op.drop_table("blob_proofs")
    op.drop_table("blobs")
