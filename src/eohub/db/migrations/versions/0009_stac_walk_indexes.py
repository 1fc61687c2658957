"""stac walk indexes: items newest first with their boxes, text values newest first, covering probes

- ``stac_item_values`` gets ``t_start`` (its item's, written with the value) and the index
  ``(key, text, t_start, item_row_id)`` in place of ``(key, text, item_row_id)``: a search newest first
  can walk the items of one text value in order (``eohub.search.plan``). Values an item repeats
  (an array holding one value twice) are kept once, so that walk meets each item once.
- ``(item_row_id, key)`` becomes ``(item_row_id, key, num, text)``: a probe of an item's values reads the
  index only.
- ``stac_items``' ``(latest, t_start)`` becomes ``(latest, t_start, minx, maxx, miny, maxy,
  repository_id)``: a walk newest first tests a bbox and finds the owner on the index alone.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("stac_item_values", schema=None) as batch_op:
        batch_op.add_column(sa.Column("t_start", sa.Float(), nullable=True))
        batch_op.drop_index("ix_stac_item_values_key_text")
        batch_op.drop_index("ix_stac_item_values_item")
    op.execute(
        "UPDATE stac_item_values SET t_start = "
        "(SELECT stac_items.t_start FROM stac_items WHERE stac_items.id = stac_item_values.item_row_id)"
    )
    op.execute(
        "DELETE FROM stac_item_values WHERE id NOT IN "
        "(SELECT min(id) FROM stac_item_values GROUP BY item_row_id, key, text, num)"
    )
    with op.batch_alter_table("stac_item_values", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stac_item_values_text_time", ["key", "text", "t_start", "item_row_id"], unique=False
        )
        batch_op.create_index(
            "ix_stac_item_values_probe", ["item_row_id", "key", "num", "text"], unique=False
        )
    with op.batch_alter_table("stac_items", schema=None) as batch_op:
        batch_op.drop_index("ix_stac_items_latest_time")
        batch_op.create_index(
            "ix_stac_items_walk",
            ["latest", "t_start", "minx", "maxx", "miny", "maxy", "repository_id"],
            unique=False,
        )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA analysis_limit=2000")  # statistics for the planner (eohub.search.index)
        for table in ("stac_items", "stac_item_values"):
            op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    with op.batch_alter_table("stac_items", schema=None) as batch_op:
        batch_op.drop_index("ix_stac_items_walk")
        batch_op.create_index("ix_stac_items_latest_time", ["latest", "t_start"], unique=False)
    with op.batch_alter_table("stac_item_values", schema=None) as batch_op:
        batch_op.drop_index("ix_stac_item_values_probe")
        batch_op.drop_index("ix_stac_item_values_text_time")
        batch_op.create_index("ix_stac_item_values_item", ["item_row_id", "key"], unique=False)
        batch_op.create_index("ix_stac_item_values_key_text", ["key", "text", "item_row_id"], unique=False)
        batch_op.drop_column("t_start")
