"""training links: the dataset versions that trained a model version

Resolved at the model version's commit from its MLM items' links and ``--trained-on``
(:mod:`eohub.repository.training`). A deleted dataset leaves its links without a dataset.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "training_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=True),
        sa.Column("dataset_number", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["versions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["dataset_id"], ["repositories.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id", "dataset_id", "dataset_number", name="uq_training_links_target"),
    )
    op.create_index("ix_training_links_dataset", "training_links", ["dataset_id", "dataset_number"])


def downgrade() -> None:
    op.drop_index("ix_training_links_dataset", table_name="training_links")
    op.drop_table("training_links")
