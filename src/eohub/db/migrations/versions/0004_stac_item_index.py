"""stac item index

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:02:43.730170
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # the STAC API search index (eohub.search); new tables only, filled at version commit
    op.create_table(
        "stac_collections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("latest", sa.Boolean(), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("bbox", sa.JSON(), nullable=True),
        sa.Column("interval", sa.JSON(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("summaries", sa.JSON(), nullable=False),
        sa.Column("queryables", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["version_id"], ["versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id"),
    )
    with op.batch_alter_table("stac_collections", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stac_collections_repository_latest", ["repository_id", "latest"], unique=False
        )

    op.create_table(
        "stac_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("latest", sa.Boolean(), nullable=False),
        sa.Column("item_id", sa.Text(), nullable=False),
        sa.Column("minx", sa.Float(), nullable=True),
        sa.Column("miny", sa.Float(), nullable=True),
        sa.Column("maxx", sa.Float(), nullable=True),
        sa.Column("maxy", sa.Float(), nullable=True),
        sa.Column("rect", sa.Boolean(), nullable=False),
        sa.Column("t_start", sa.Float(), nullable=True),
        sa.Column("t_end", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["version_id"], ["versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stac_items", schema=None) as batch_op:
        batch_op.create_index("ix_stac_items_latest_minx", ["latest", "minx"], unique=False)
        batch_op.create_index("ix_stac_items_latest_time", ["latest", "t_start"], unique=False)
        batch_op.create_index(
            "ix_stac_items_repository_item", ["repository_id", "item_id", "number"], unique=False
        )
        batch_op.create_index("ix_stac_items_version", ["version_id"], unique=False)

    op.create_table(
        "stac_item_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_row_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("text", sa.String(length=512), nullable=True),
        sa.Column("num", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["item_row_id"], ["stac_items.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stac_item_values", schema=None) as batch_op:
        batch_op.create_index("ix_stac_item_values_item", ["item_row_id", "key"], unique=False)
        batch_op.create_index("ix_stac_item_values_key_num", ["key", "num", "item_row_id"], unique=False)
        batch_op.create_index("ix_stac_item_values_key_text", ["key", "text", "item_row_id"], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:
    # the STAC API search index (eohub.search); new tables only, filled at version commit
    with op.batch_alter_table("stac_item_values", schema=None) as batch_op:
        batch_op.drop_index("ix_stac_item_values_key_text")
        batch_op.drop_index("ix_stac_item_values_key_num")
        batch_op.drop_index("ix_stac_item_values_item")

    op.drop_table("stac_item_values")
    with op.batch_alter_table("stac_items", schema=None) as batch_op:
        batch_op.drop_index("ix_stac_items_version")
        batch_op.drop_index("ix_stac_items_repository_item")
        batch_op.drop_index("ix_stac_items_latest_time")
        batch_op.drop_index("ix_stac_items_latest_minx")

    op.drop_table("stac_items")
    with op.batch_alter_table("stac_collections", schema=None) as batch_op:
        batch_op.drop_index("ix_stac_collections_repository_latest")

    op.drop_table("stac_collections")
    # ### end Alembic commands ###
