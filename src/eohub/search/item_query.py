"""The SQL of an item search: the ids of the matches a caller may see, in order.

Conditions come from the request (collections, ids, datetime, the CQL2 filter, the spatial filter),
visibility from the caller (:class:`Context`); :mod:`eohub.search.plan` decides where the query starts
(walk newest first, drive from an index, or walk along a text value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, literal, select, true, tuple_
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.visitors import replacement_traverse

from eohub.core.names import name_key
from eohub.db.tables import RepositoryRow, StacCollectionRow, StacItemRow, StacValueRow
from eohub.search import plan, spatial, trained_on
from eohub.search.collections import parse_collection_id
from eohub.search.cql2_parse import FilterError
from eohub.search.filters import Translation, translate
from eohub.search.query import SearchRequest
from eohub.search.spatial_filter import SpatialFilter


@dataclass
class Scope:
    """Search inside one collection (at one version; ``None`` is the latest)."""

    repository_id: int
    number: int | None = None


@dataclass
class Context:
    """What a search's SQL depends on besides the request: the database's dialect, the caller's
    visibility condition on ``repositories``, the property keys a filter may name, the datasets the
    caller may see, and the bounds."""

    dialect: str
    visible: ColumnElement[bool]
    known: dict[str, str] = field(default_factory=dict)
    datasets: Select[Any] | None = None
    """The ids of the datasets whose ``eohub:trained_on`` values the caller may match
    (:mod:`eohub.search.trained_on`)."""
    max_geometry_points: int = 10_000
    planned: bool = True


def build(
    session: Session, request: SearchRequest, scope: Scope | None, context: Context
) -> tuple[Select[Any], SpatialFilter]:
    """The ids of ``request``'s matches in order (and its spatial filter), as ``context`` sees them."""
    # SQLite: "+ 0" keeps the join from driving the query through the items of each repository
    # (then sorting them all) when a walk newest first along (latest, t_start) stops after a page
    dialect = context.dialect
    owner = StacItemRow.repository_id + 0 if dialect == "sqlite" else StacItemRow.repository_id
    query = select(StacItemRow.id).join(RepositoryRow, RepositoryRow.id == owner).where(context.visible)
    known = context.known  # the property keys a filter or sortby may name
    if scope is None:
        query = query.where(StacItemRow.latest == true())  # '= true': an index key on PostgreSQL
    else:
        query = query.where(StacItemRow.repository_id == scope.repository_id)
        if scope.number is None:
            query = query.where(StacItemRow.latest == true())
        else:
            query = query.where(StacItemRow.number == scope.number)
    if request.collections is not None:
        keys = [parse_collection_id(c) for c in request.collections]
        wanted = [(k, name_key(n)) for k, n in (p for p in keys if p is not None)]
        query = query.where(
            tuple_(RepositoryRow.kind, RepositoryRow.name_key).in_(wanted) if wanted else false()
        )
    if request.ids is not None:
        query = query.where(StacItemRow.item_id.in_(request.ids) if request.ids else false())
    if request.datetime is not None:
        if request.datetime.end is not None:
            query = query.where(StacItemRow.t_start <= request.datetime.end)
        if request.datetime.start is not None:
            query = query.where(StacItemRow.t_end >= request.datetime.start)
        query = query.where(StacItemRow.t_start.is_not(None))
    geometries = [request.intersects] if request.intersects else []
    drivers: list[plan.Driver] = []
    translation: Translation | None = None  # its condition is added last: a walk along a value tests it first
    if request.filter is not None:
        translation = translate(request.filter, dialect, lambda k: k in known, context.datasets)
        geometries += translation.geometries
        drivers += translation.drivers
    boxes = [request.bbox] if request.bbox else []
    found = SpatialFilter(boxes, geometries, context.max_geometry_points)
    for condition in found.conditions:
        query = query.where(condition)
    drivers += [plan.Driver([spatial.ids(dialect, p) for p in parts]) for parts in found.boxes]
    newest: Any = StacItemRow.t_start  # the time the walk is ordered by
    if drivers and context.planned:
        most = plan.cap(
            request.token + request.limit + 1,
            item_count(session, scope),
            not request.sortby,
            probes=request.filter is not None,
        )
        chosen = plan.choose(session, drivers, most)
        if chosen is not None:
            query = query.where(chosen.condition(dialect))
        elif not request.sortby and translation and (along := plan.along(session, drivers, most)):
            query, newest = _walk_along(query, along, request, translation.condition_along(along))
            translation = None
    if translation is not None and translation.condition is not None:
        query = query.where(translation.condition)
    return query.order_by(*ordering(request, known, newest)), found


def item_count(session: Session, scope: Scope | None) -> int:
    """How many items a search runs over (any visibility: an estimate for the plan)."""
    query = select(func.coalesce(func.sum(StacCollectionRow.item_count), 0))
    if scope is None:
        query = query.where(StacCollectionRow.latest == true())
    else:
        query = query.where(StacCollectionRow.repository_id == scope.repository_id)
        query = query.where(
            StacCollectionRow.latest == true()
            if scope.number is None
            else StacCollectionRow.number == scope.number
        )
    return int(session.scalar(query) or 0)


def scope_queryables(session: Session, scope: Scope) -> dict[str, str]:
    """Property keys and their JSON types of one collection (at one version, else the latest)."""
    query = select(StacCollectionRow.queryables).where(StacCollectionRow.repository_id == scope.repository_id)
    query = query.where(
        StacCollectionRow.latest.is_(true())
        if scope.number is None
        else StacCollectionRow.number == scope.number
    )
    return dict(session.scalar(query) or {})


def ordering(request: SearchRequest, known: dict[str, str], newest: Any = StacItemRow.t_start) -> list[Any]:
    """The ORDER BY of a search: its ``sortby`` (else ``newest`` first), then a total order."""
    order: list[Any] = []
    for name, descending in request.sortby:
        key = name[len("properties.") :] if name.startswith("properties.") else name
        columns: list[Any]
        if key == "id":
            columns = [StacItemRow.item_id]
        elif key == "collection":
            columns = [RepositoryRow.kind + literal("s.") + RepositoryRow.name]
        elif key in ("datetime", "start_datetime"):
            columns = [StacItemRow.t_start]
        elif key == "end_datetime":
            columns = [StacItemRow.t_end]
        elif key in known and key != trained_on.TRAINED_ON:  # its order would tell hidden names apart
            columns = [
                select(func.min(getattr(StacValueRow, c)))
                .where(StacValueRow.item_row_id == StacItemRow.id, StacValueRow.key == key)
                .scalar_subquery()
                for c in ("num", "text")
            ]
        else:
            raise FilterError(f"cannot sort by {name!r}: no item has it (GET /stac/queryables lists them)")
        order.extend((c.desc() if descending else c.asc()).nulls_last() for c in columns)
    if not request.sortby:
        order.append(newest.desc())  # as the index is ordered (every valid item has a time)
    order.extend([StacItemRow.repository_id, StacItemRow.item_id, StacItemRow.id])
    return order


def _walk_along(
    query: Select[Any], driver: plan.Driver, request: SearchRequest, filtered: ColumnElement[bool] | None
) -> tuple[Select[Any], Any]:
    """``query`` read along the values of ``driver``'s text, newest first, and the time column that
    orders it: the value's own copy of its item's ``t_start`` (one row per item and value).

    The filter's probes of an item's values are rewritten to name the walked value's ``item_row_id``
    (the same item): both databases then test them on the index entry, before fetching the item's row,
    which most entries never need when the other conditions are selective."""
    assert driver.text is not None
    key, value = driver.text
    along = aliased(StacValueRow, name="along")
    on = and_(along.item_row_id == StacItemRow.id, along.key == key, along.text == value)
    query = query.join(along, on)
    if request.datetime is not None and request.datetime.end is not None:
        query = query.where(along.t_start <= request.datetime.end)
    if filtered is not None:
        item_id, walked = StacItemRow.__table__.c.id, along.item_row_id.expression

        def rebased(element: Any) -> Any:
            is_id = isinstance(element, ColumnElement) and element._deannotate() is item_id
            return walked if is_id else None

        query = query.where(replacement_traverse(filtered, {}, rebased))
    return query, along.t_start
