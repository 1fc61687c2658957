"""dataset metrics: class balance, duplicates, split leakage and label validity of a dataset version

Computed at commit (:mod:`eohub.quality.metrics`) and stored with the version as JSON
(``DatasetMetrics.to_dict()``); ``NULL`` for models and for versions committed before this revision.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("metrics", sa.JSON(), nullable=True))


def downgrade() -> None:
    # DROP COLUMN in place (SQLite >= 3.35, PostgreSQL): a batch copy of ``versions`` would cascade-delete
    # the rows that reference it (files, documents, the search index)
    op.execute("ALTER TABLE versions DROP COLUMN metrics")
