"""The STAC view of the hub: one collection per model and per dataset, searched through the index.

A :class:`StacCatalog` acts for one caller (``user``, ``admin``) on the hub's database and sees exactly
what :class:`~eohub.repository.EmbeddedRepository` lets that caller see: public repositories, plus the
caller's own private ones (admins see all). That rule is applied in SQL here (``_visible``) and must
stay the same as ``EmbeddedRepository._visible``.

Collections are named ``models.{name}`` and ``datasets.{name}``. Searches run over the latest version of
every repository; a collection's items can be read at any ``version``. Spatial conditions are tested on
the indexed bbox in SQL; an item whose geometry is not its bbox (or a query geometry that is not a box)
is then tested exactly with shapely, and paging tokens count the SQL rows, so pages never repeat or
skip an item.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, or_, select, text, true
from sqlalchemy.orm import Session

from eohub.config import Limits
from eohub.core.names import Kind, name_key
from eohub.core.readme import ReadmeMetadata
from eohub.db.engine import Database
from eohub.db.tables import (
    DocumentRow,
    RepositoryRow,
    StacCollectionRow,
    StacItemRow,
    UserRow,
    VersionRow,
)
from eohub.errors import NotFoundError
from eohub.search import index, item_query, trained_on
from eohub.search.collections import PREFIXES, collection_id, parse_collection_id
from eohub.search.item_query import Scope
from eohub.search.query import SearchRequest
from eohub.search.spatial_filter import SpatialFilter

__all__ = [
    "PREFIXES",
    "CollectionInfo",
    "Hit",
    "Page",
    "Scope",
    "StacCatalog",
    "collection_id",
    "parse_collection_id",
]


@dataclass
class CollectionInfo:
    """A repository at one version, as a STAC Collection needs it."""

    kind: Kind
    name: str
    repository_id: int
    number: int
    latest: bool
    private: bool
    created: datetime
    item_count: int
    bbox: list[float] | None
    interval: list[str | None] | None
    fields: dict[str, Any]
    summaries: dict[str, Any]
    queryables: dict[str, str]
    metadata: ReadmeMetadata

    @property
    def id(self) -> str:
        return collection_id(self.kind, self.name)


@dataclass
class Hit:
    """One Item found: its stored document and where it lives."""

    kind: Kind
    name: str
    repository_id: int
    number: int
    latest: bool
    item: dict[str, Any]
    path: str = ""
    has_predecessor: bool = False
    has_successor: bool = False

    @property
    def collection(self) -> str:
        return collection_id(self.kind, self.name)


@dataclass
class Page:
    hits: list[Hit]
    next_token: int | None


class StacCatalog:
    """Collections, items and search as one caller sees them (see the module docstring)."""

    planned = True
    """Whether searches may start from an index (:mod:`eohub.search.plan`); tests compare both ways."""

    def __init__(
        self, database: Database, user: str | None = None, admin: bool = False, limits: Limits | None = None
    ) -> None:
        self.database = database
        self.user = user
        self.admin = admin
        self.limits = limits or Limits()
        self.dialect = database.engine.dialect.name
        index.backfill(database)

    # --- visibility -------------------------------------------------------------------------------

    def _visible(self, session: Session) -> ColumnElement[bool]:
        if self.admin:
            return true()
        if self.user is None:
            return RepositoryRow.private.is_(false())
        owner = select(UserRow.id).where(UserRow.name == self.user).scalar_subquery()
        return or_(RepositoryRow.private.is_(false()), RepositoryRow.owner_id == owner)

    def _repository(self, session: Session, cid: str) -> RepositoryRow:
        parsed = parse_collection_id(cid)
        row = None
        if parsed is not None:
            kind, name = parsed
            row = session.scalar(
                select(RepositoryRow).where(
                    RepositoryRow.kind == kind,
                    RepositoryRow.name_key == name_key(name),
                    self._visible(session),
                )
            )
        if row is None:
            raise NotFoundError(f"no collection {cid!r}")
        return row

    # --- collections ------------------------------------------------------------------------------

    def _collection_query(self, session: Session) -> Select[Any]:
        return (
            select(StacCollectionRow, RepositoryRow, VersionRow.metadata_json, VersionRow.created_at)
            .join(RepositoryRow, RepositoryRow.id == StacCollectionRow.repository_id)
            .join(VersionRow, VersionRow.id == StacCollectionRow.version_id)
            .where(self._visible(session))
        )

    @staticmethod
    def _info(
        row: StacCollectionRow, repo: RepositoryRow, metadata: dict[str, Any], created: Any
    ) -> CollectionInfo:
        return CollectionInfo(
            kind=repo.kind,  # type: ignore[arg-type]
            name=repo.name,
            repository_id=repo.id,
            number=row.number,
            latest=row.latest,
            private=repo.private,
            created=created,
            item_count=row.item_count,
            bbox=row.bbox,
            interval=row.interval,
            fields=dict(row.fields or {}),
            summaries=dict(row.summaries or {}),
            queryables=dict(row.queryables or {}),
            metadata=ReadmeMetadata.from_dict(metadata or {}),
        )

    def collections(self) -> list[CollectionInfo]:
        """The latest version of every visible repository, models first, by name."""
        with self.database.sessions() as s:
            rows = s.execute(
                self._collection_query(s)
                .where(StacCollectionRow.latest.is_(true()))
                .order_by(RepositoryRow.kind.desc(), RepositoryRow.name_key)
            )
            return [self._info(*row) for row in rows]

    def collection(self, cid: str, version: int | None = None) -> CollectionInfo:
        with self.database.sessions() as s:
            repo = self._repository(s, cid)
            query = self._collection_query(s).where(StacCollectionRow.repository_id == repo.id)
            if version is None:
                query = query.where(StacCollectionRow.latest.is_(true()))
            else:
                query = query.where(StacCollectionRow.number == version)
            row = s.execute(query).first()
            if row is None:
                latest = s.scalar(
                    select(func.max(VersionRow.number)).where(VersionRow.repository_id == repo.id)
                )
                raise NotFoundError(f"collection {cid!r} has no version {version} (latest is {latest})")
            return self._info(*row)

    def queryables(self, cid: str | None = None, version: int | None = None) -> dict[str, str]:
        """Property keys and their JSON types over visible latest collections (or one collection)."""
        if cid is not None:
            return self.collection(cid, version).queryables
        out: dict[str, str] = {}
        with self.database.sessions() as s:
            rows = s.scalars(
                select(StacCollectionRow.queryables)
                .join(RepositoryRow, RepositoryRow.id == StacCollectionRow.repository_id)
                .where(StacCollectionRow.latest.is_(true()), self._visible(s))
            )
            for queryables in rows:
                for key, kind in (queryables or {}).items():
                    out[key] = kind if out.get(key, kind) == kind else ""
        return dict(sorted(out.items()))

    # --- items --------------------------------------------------------------------------------

    def item(self, cid: str, item_id: str, version: int | None = None) -> Hit:
        with self.database.sessions() as s:
            repo = self._repository(s, cid)
            query = self._hits_query(s).where(
                StacItemRow.repository_id == repo.id, StacItemRow.item_id == item_id
            )
            query = query.where(
                StacItemRow.latest == true() if version is None else StacItemRow.number == version
            )
            row = s.execute(query.limit(1)).first()
            if row is None:
                at = "" if version is None else f" at version {version}"
                raise NotFoundError(f"collection {cid!r} has no item {item_id!r}{at}")
            hits = [self._hit(row)]
            self._neighbours(s, hits)
            return hits[0]

    def _hits_query(self, session: Session) -> Select[Any]:
        return (
            select(
                StacItemRow.id,
                StacItemRow.rect,
                StacItemRow.number,
                StacItemRow.latest,
                RepositoryRow.kind,
                RepositoryRow.name,
                RepositoryRow.id,
                DocumentRow.content,
                DocumentRow.path,
            )
            .join(RepositoryRow, RepositoryRow.id == StacItemRow.repository_id)
            .join(DocumentRow, DocumentRow.id == StacItemRow.document_id)
            .where(self._visible(session))
        )

    @staticmethod
    def _hit(row: Any) -> Hit:
        _, _, number, latest, kind, name, repository_id, content, path = row
        return Hit(kind, name, repository_id, number, latest, json.loads(content), path)

    def _neighbours(self, session: Session, hits: list[Hit]) -> None:
        """Set ``has_predecessor``/``has_successor``: does the item exist at version n-1 / n+1?"""
        if not hits:
            return
        wanted = {(h.repository_id, str(h.item.get("id")), h.number + d) for h in hits for d in (-1, 1)}
        found = set(
            session.execute(
                select(StacItemRow.repository_id, StacItemRow.item_id, StacItemRow.number).where(
                    StacItemRow.repository_id.in_({w[0] for w in wanted}),
                    StacItemRow.item_id.in_({w[1] for w in wanted}),
                    StacItemRow.number.in_({w[2] for w in wanted}),
                )
            ).all()
        )
        for hit in hits:
            key = (hit.repository_id, str(hit.item.get("id")))
            hit.has_predecessor = (*key, hit.number - 1) in found
            hit.has_successor = (*key, hit.number + 1) in found

    def search(self, request: SearchRequest, scope: Scope | None = None) -> Page:
        """One page of the items matching ``request`` (over ``scope``, else every visible collection)."""
        with self.database.sessions() as s:
            self._short_query_settings(s)
            query, spatial = self._search_query(s, request, scope)
            hits: list[tuple[int, Hit]] = []
            resume: int | None = None
            budget = self.limits.max_search_examined
            for examined, (position, row) in enumerate(self._rows(s, query, request, spatial.active), 1):
                hit = self._hit(row)
                if spatial.accepts(row[1], hit.item):
                    hits.append((position, hit))
                    if len(hits) > request.limit:
                        break
                if spatial.active and examined >= budget and len(hits) <= request.limit:
                    resume = position + 1  # a short page: the next one goes on from here
                    break
            page = [h for _, h in hits[: request.limit]]
            self._neighbours(s, page)
            return Page(page, hits[request.limit][0] if len(hits) > request.limit else resume)

    def _short_query_settings(self, session: Session) -> None:
        """PostgreSQL: no JIT compilation and no parallel workers for this transaction. A search reads a
        page through indexes: a plan costed over a million rows would otherwise spend tens of ms
        compiling, or starting workers, for a query that stops after a few hundred rows."""
        if self.dialect == "postgresql":
            session.execute(text("SET LOCAL jit = off"))
            session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))

    def _rows(
        self, session: Session, query: Select[Any], request: SearchRequest, refine: bool
    ) -> Iterator[tuple[int, Any]]:
        """Matching rows from ``request.token`` on, in order: ids first (a narrow sort), then their
        documents, so the database never sorts JSON text."""
        chunk = request.limit + 1  # then, when exact geometry tests reject rows, larger chunks
        offset = request.token
        while True:
            ids = session.scalars(query.limit(chunk).offset(offset)).all()
            if ids:
                rows = {
                    r[0]: r for r in session.execute(self._hits_query(session).where(StacItemRow.id.in_(ids)))
                }
                for i, row_id in enumerate(ids):
                    yield offset + i, rows[row_id]
            if len(ids) < chunk:
                return
            offset += len(ids)
            chunk = chunk if not refine else max(2 * request.limit, 100)

    def _search_query(
        self, session: Session, request: SearchRequest, scope: Scope | None
    ) -> tuple[Select[Any], SpatialFilter]:
        known: dict[str, str] = {}  # the property keys a filter or sortby may name
        if request.filter is not None or request.sortby:
            known = self.queryables() if scope is None else item_query.scope_queryables(session, scope)
        context = item_query.Context(
            self.dialect,
            self._visible(session),
            known,
            trained_on.visible_datasets(self.user, self.admin),
            self.limits.max_geometry_points,
            self.planned,
        )
        return item_query.build(session, request, scope, context)
