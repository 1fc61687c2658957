"""upload sessions: uploads in progress into S3, so any hub process can resume them

An upload straight to S3 (presigned URLs) or relayed by the hub into S3 is a row here (whose, which
blob, how long, the random token naming its staging key, the S3 multipart upload id) plus what S3 holds
under that key. Uploads to a local store keep their partial files in ``EOHUB_HOME/uploads``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("multipart_id", sa.Text(), nullable=True),
        sa.Column("part_size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token"),
        sa.UniqueConstraint("user_id", "sha256", name="uq_uploads_user_sha256"),
    )


def downgrade() -> None:
    op.drop_table("uploads")
