"""stac spatial index: an R*Tree (SQLite) or a GiST index (PostgreSQL) over the items' bboxes

SQLite gets the R*Tree virtual table ``stac_item_boxes`` (id, minx, maxx, miny, maxy), filled here from
the items indexed so far and written at version commit from now on; PostgreSQL gets a GiST index on
``box(point(minx, miny), point(maxx, maxy))`` over ``stac_items`` (core geometric types, no PostGIS).
The B-tree on ``(latest, minx)`` that bbox searches used goes. Neither R*Tree nor GiST index is in
``Base.metadata`` (see ``eohub.db.tables.SPATIAL_NAMES`` and ``eohub.search.spatial``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 22:40:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("stac_items", schema=None) as batch_op:
        batch_op.drop_index("ix_stac_items_latest_minx")  # the B-tree on minx the spatial index replaces
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("CREATE VIRTUAL TABLE stac_item_boxes USING rtree(id, minx, maxx, miny, maxy)")
        op.execute(
            "INSERT INTO stac_item_boxes (id, minx, maxx, miny, maxy) "
            "SELECT id, minx, maxx, miny, maxy FROM stac_items WHERE minx IS NOT NULL"
        )
        op.execute("PRAGMA analysis_limit=2000")  # statistics for the planner (eohub.search.index)
        for table in ("stac_items", "stac_item_values", "stac_collections"):
            op.execute(f"ANALYZE {table}")
    elif dialect == "postgresql":
        op.execute(
            "CREATE INDEX ix_stac_items_box ON stac_items "
            "USING gist (box(point(minx, miny), point(maxx, maxy)))"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TABLE stac_item_boxes")
    elif dialect == "postgresql":
        op.execute("DROP INDEX ix_stac_items_box")
    with op.batch_alter_table("stac_items", schema=None) as batch_op:
        batch_op.create_index("ix_stac_items_latest_minx", ["latest", "minx"], unique=False)
