"""The spatial index of item search: each indexed Item's bbox in an R*Tree (SQLite) or GiST (PostgreSQL).

- SQLite: the R*Tree virtual table ``stac_item_boxes(id, minx, maxx, miny, maxy)``, one row per
  ``stac_items`` row that has a bbox, under the same id. :func:`eohub.search.index.insert_records` writes
  it beside ``stac_items`` and :func:`eohub.search.index.remove_repository` deletes from it, in the same
  transaction; migration 0007 fills it for the rows that existed before. An R*Tree keeps 32-bit floats
  rounded outwards, so its boxes contain the exact ones.
- PostgreSQL: a GiST index on ``box(point(minx, miny), point(maxx, maxy))`` over ``stac_items`` (the core
  geometric types: no PostGIS), kept in step by PostgreSQL itself. Box ``&&`` compares with a tolerance
  of 1e-6.

Either way the index yields candidates and the exact ``minx``/``maxx``/``miny``/``maxy`` comparisons
decide (:func:`ids` and :func:`exact` together), so pages are the same with or without it. The
index is not part of ``Base.metadata`` (it is not a portable table): :data:`eohub.db.tables.SPATIAL_NAMES`
keeps Alembic's comparisons away from it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select, text
from sqlalchemy.orm import Session

from eohub.db.tables import SPATIAL_INDEX, SPATIAL_TABLE, StacItemRow
from eohub.search.records import ItemRecord

Bounds = tuple[float, float, float, float]
"""west, south, east, north with west <= east (a box across the antimeridian is split first)."""


def exact(bounds: Bounds) -> ColumnElement[bool]:
    """Items whose indexed bbox intersects ``bounds`` (edges included), on the exact columns."""
    west, south, east, north = bounds
    return and_(
        StacItemRow.minx <= east,
        StacItemRow.maxx >= west,
        StacItemRow.miny <= north,
        StacItemRow.maxy >= south,
    )


def _rtree() -> Any:
    from sqlalchemy import Column, Float, Integer, MetaData, Table

    return Table(
        SPATIAL_TABLE,
        MetaData(),
        Column("id", Integer, primary_key=True),
        *(Column(name, Float) for name in ("minx", "maxx", "miny", "maxy")),
    )


RTREE = _rtree()


def _pg_box(west: Any, south: Any, east: Any, north: Any) -> Any:
    return func.box(func.point(west, south), func.point(east, north))


def ids(dialect: str, bounds: Bounds) -> Select[tuple[int]]:
    """The ids of the ``stac_items`` rows (any version) whose box the index finds in ``bounds``: at
    least every row that :func:`exact` accepts, and a few more."""
    west, south, east, north = bounds
    if dialect == "sqlite":
        return select(RTREE.c.id).where(
            RTREE.c.minx <= east, RTREE.c.maxx >= west, RTREE.c.miny <= north, RTREE.c.maxy >= south
        )
    if dialect == "postgresql":
        column = _pg_box(StacItemRow.minx, StacItemRow.miny, StacItemRow.maxx, StacItemRow.maxy)
        return select(StacItemRow.id).where(column.op("&&")(_pg_box(west, south, east, north)))
    return select(StacItemRow.id).where(exact(bounds))


def insert(session: Session, row_ids: list[int], records: list[ItemRecord]) -> None:
    """Index the bboxes of new ``stac_items`` rows (SQLite; PostgreSQL indexes them by itself)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    rows = rows_of(row_ids, records)
    if rows:  # replacing: a row id SQLite reuses may have left a box behind (a cascade, a manual delete)
        session.execute(RTREE.insert().prefix_with("OR REPLACE"), rows)


def rows_of(row_ids: list[int], records: list[ItemRecord]) -> list[dict[str, Any]]:
    """The R*Tree rows of items whose ``stac_items`` ids are ``row_ids`` (those with a bbox)."""
    return [
        {"id": row_id, "minx": r.bbox[0], "maxx": r.bbox[2], "miny": r.bbox[1], "maxy": r.bbox[3]}
        for row_id, r in zip(row_ids, records, strict=True)
        if r.bbox is not None
    ]


def delete(session: Session, item_rows: Any) -> None:
    """Remove the R*Tree rows of the ``stac_items`` ids that ``item_rows`` (a subquery) selects."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(RTREE.delete().where(RTREE.c.id.in_(item_rows)))


def in_step(session: Session) -> bool:
    """Whether the spatial index holds a box around exactly each bbox of ``stac_items`` (tests, checks)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        query = "SELECT count(*) FROM pg_indexes WHERE tablename = 'stac_items' AND indexname = :name"
        return session.scalar(text(query), {"name": SPATIAL_INDEX}) == 1
    if dialect != "sqlite":
        return True
    boxes = f"""
        SELECT count(*) FROM stac_items i JOIN {SPATIAL_TABLE} b ON b.id = i.id
        WHERE b.minx <= i.minx AND b.maxx >= i.maxx AND b.miny <= i.miny AND b.maxy >= i.maxy"""
    items = session.scalar(text("SELECT count(*) FROM stac_items WHERE minx IS NOT NULL"))
    indexed = session.scalar(text(f"SELECT count(*) FROM {SPATIAL_TABLE}"))
    return session.scalar(text(boxes)) == items == indexed
