"""version document count: how many STAC documents a version holds, beside its data files

A version's files are everything a download writes: its data files (``file_count``) and its STAC
documents (``document_count``). Versions made before this revision are counted from their rows in
``documents``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_count", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE versions SET document_count = "
        "(SELECT count(*) FROM documents WHERE documents.version_id = versions.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_column("document_count")
