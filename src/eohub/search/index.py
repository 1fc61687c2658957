"""Keep the search index in step with the versions: filled in the commit's transaction, never rebuilt.

:func:`index_version` runs inside :meth:`EmbeddedRepository._commit`: it marks the repository's earlier
versions as not latest and bulk-inserts one ``stac_items`` row per Item of the new version, its flattened
property values (``stac_item_values``), their bboxes in the spatial index (:mod:`eohub.search.spatial`)
and one ``stac_collections`` row (extent, summaries, queryables; a dataset's metrics as ``eohub:*``
summaries).
A version stored with ``--allow-invalid`` indexes only the Items that validate, so the API never serves
an invalid document. :func:`remove_repository` deletes a repository's index rows (spatial ones too)
before the repository.
:func:`backfill` indexes versions committed before the index existed (run once per database by the API).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from eohub.db.engine import Database
from eohub.db.tables import (
    DocumentRow,
    RepositoryRow,
    StacCollectionRow,
    StacItemRow,
    StacValueRow,
    VersionRow,
)
from eohub.quality.metrics.shape import DatasetMetrics
from eohub.search import spatial, trained_on
from eohub.search.records import ItemRecord, iso, json_type

log = logging.getLogger(__name__)
ANALYSIS_ROWS = 2000
"""Rows of each index that SQLite's ``ANALYZE`` samples (``PRAGMA analysis_limit``), after every commit
that indexes Items: bounded time."""

ALLOW_INVALID_MARK = "--allow-invalid"  # in a version's quality reasons (eohub.repository.assess)
SUMMARY_FIELDS = {"tasks": "mlm:tasks", "frameworks": "mlm:framework", "architectures": "mlm:architecture"}
INSERT_BATCH = 5_000
MAX_QUERYABLES = 500
MAX_SUMMARIES = 50
SUMMARY_VALUES = 10
TIME_FIELDS = {"datetime", "start_datetime", "end_datetime", "created", "updated"}


def _items(session: Session, version: VersionRow) -> list[tuple[int, str, dict[str, Any]]]:
    rows = session.execute(
        select(DocumentRow.id, DocumentRow.path, DocumentRow.content)
        .where(DocumentRow.version_id == version.id, DocumentRow.stac_type == "Feature")
        .order_by(DocumentRow.path)
    )
    out = []
    for doc_id, path, content in rows:
        data = json.loads(content)
        if isinstance(data, dict) and data.get("type") == "Feature" and data.get("id"):
            out.append((doc_id, path, data))
    return out


def _stored_collection(session: Session, version: VersionRow) -> dict[str, Any]:
    content = session.scalar(
        select(DocumentRow.content)
        .where(DocumentRow.version_id == version.id, DocumentRow.stac_type == "Collection")
        .order_by(DocumentRow.path)
        .limit(1)
    )
    data = json.loads(content) if content else {}
    keep = ("title", "description", "keywords", "providers", "license", "extent")
    return {k: data[k] for k in keep if k in data} if isinstance(data, dict) else {}


def _valid(item: dict[str, Any]) -> bool:
    from eohub.mlm.validate import validate_data

    return validate_data(item, str(item.get("id"))).ok


def index_version(session: Session, repo: RepositoryRow, version: VersionRow) -> None:
    """Index a version whose documents are written (in the same transaction); it becomes the latest."""
    session.flush()
    newest = session.scalar(select(func.max(VersionRow.number)).where(VersionRow.repository_id == repo.id))
    latest = version.number >= (newest or 0)
    if latest:
        for table in (StacItemRow, StacCollectionRow):
            session.execute(
                update(table)
                .where(table.repository_id == repo.id, table.number < version.number)
                .values(latest=False)
            )
    check = version.quality_level == 0 and any(ALLOW_INVALID_MARK in r for r in version.quality_reasons or [])
    records: list[tuple[int, ItemRecord]] = []
    seen: set[str] = set()
    for doc_id, path, item in _items(session, version):
        if check and not _valid(item):
            log.info("%s v%d: not indexing invalid item %s", repo.name, version.number, path)
            continue
        record = ItemRecord.from_item(item)
        if record.item_id in seen:
            log.warning(
                "%s v%d: item id %r appears twice; indexing %s once",
                repo.name,
                version.number,
                record.item_id,
                path,
            )
            continue
        seen.add(record.item_id)
        records.append((doc_id, record))
    if repo.kind == "model" and records:
        training = trained_on.index_values(session, version.id)
        for _, record in records:
            record.values.extend(training)
    insert_records(session, repo.id, version.id, version.number, records, latest)
    session.execute(
        insert(StacCollectionRow),
        [
            {
                **collection_row(
                    repo.id, version, [r for _, r in records], _stored_collection(session, version)
                ),
                "latest": latest,
            }
        ],
    )
    if records:
        refresh_statistics(session)


def refresh_statistics(session: Session) -> None:
    """Let SQLite's query planner see the index's sizes: ``ANALYZE`` of the search tables on a bounded
    sample (a few tens of ms at any size). Without statistics SQLite probes an item's values through
    the ``(key, num)`` range instead of the item's own rows, a hundred times slower. PostgreSQL's
    autovacuum analyses changed tables by itself."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sql(f"PRAGMA analysis_limit={ANALYSIS_ROWS}"))
        for table in (StacItemRow, StacValueRow, StacCollectionRow):
            session.execute(sql(f"ANALYZE {table.__tablename__}"))


def item_rows(
    repository_id: int, version_id: int, number: int, records: list[tuple[int, ItemRecord]], latest: bool
) -> list[dict[str, Any]]:
    """The ``stac_items`` rows of ``(document id, record)`` pairs, without their ids."""
    return [
        {
            "version_id": version_id,
            "repository_id": repository_id,
            "document_id": doc_id,
            "number": number,
            "latest": latest,
            "item_id": record.item_id,
            "minx": record.bbox[0] if record.bbox else None,
            "miny": record.bbox[1] if record.bbox else None,
            "maxx": record.bbox[2] if record.bbox else None,
            "maxy": record.bbox[3] if record.bbox else None,
            "rect": record.rect,
            "t_start": record.start,
            "t_end": record.end,
        }
        for doc_id, record in records
    ]


def value_rows(row_ids: list[int], records: list[ItemRecord]) -> list[dict[str, Any]]:
    """The ``stac_item_values`` rows of items whose ``stac_items`` ids are ``row_ids``."""
    return [
        {"item_row_id": row_id, "key": k, "text": t, "num": n, "t_start": record.start}
        for row_id, record in zip(row_ids, records, strict=True)
        for k, t, n in record.values
    ]


def insert_records(
    session: Session,
    repository_id: int,
    version_id: int,
    number: int,
    records: list[tuple[int, ItemRecord]],
    latest: bool = True,
) -> None:
    """Bulk-insert items, then their values and boxes (item ids come back in parameter order)."""
    if not records:
        return
    items = item_rows(repository_id, version_id, number, records, latest)
    statement = insert(StacItemRow).returning(StacItemRow.id, sort_by_parameter_order=True)
    for start in range(0, len(items), INSERT_BATCH):
        ids = session.scalars(statement, items[start : start + INSERT_BATCH]).all()
        batch = [record for _, record in records[start : start + INSERT_BATCH]]
        values = value_rows(list(ids), batch)
        spatial.insert(session, list(ids), batch)
        for first in range(0, len(values), INSERT_BATCH * 4):
            session.execute(insert(StacValueRow), values[first : first + INSERT_BATCH * 4])


def collection_row(
    repository_id: int, version: VersionRow, records: list[ItemRecord], stored: dict[str, Any]
) -> dict[str, Any]:
    """The ``stac_collections`` row of a version: extent from its items, summaries, queryables."""
    boxes = [r.bbox for r in records if r.bbox]
    bbox = (
        [
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        ]
        if boxes
        else None
    )
    starts = [r.start for r in records if r.start is not None]
    ends = [r.end for r in records if r.end is not None]
    interval = None
    if starts:
        first, last = min(starts), max(ends)
        interval = [iso(first) if first > -1e15 else None, iso(last) if last < 1e15 else None]
    summary = version.summary or {}
    summaries: dict[str, Any] = property_summaries(records)
    summaries |= {
        field_: list(summary.get(key) or []) for key, field_ in SUMMARY_FIELDS.items() if summary.get(key)
    }
    if summary.get("bands"):
        summaries["mlm:input.bands"] = list(summary["bands"])
    if isinstance(version.metrics, dict):  # a dataset's metrics (eohub.quality.metrics) as summaries
        summaries |= DatasetMetrics.from_dict(version.metrics).summaries()
    return {
        "version_id": version.id,
        "repository_id": repository_id,
        "number": version.number,
        "latest": True,
        "item_count": len(records),
        "bbox": bbox,
        "interval": interval,
        "fields": stored,
        "summaries": summaries,
        "queryables": queryables_of(records),
    }


def property_summaries(records: list[ItemRecord]) -> dict[str, Any]:
    """Summaries of the items' plain top-level properties: up to :data:`SUMMARY_VALUES` distinct strings
    as a list, numbers as ``{minimum, maximum}``. Object-valued, MLM and time properties are left out
    (MLM fields are summarized from the version's own summary)."""
    texts: dict[str, set[str]] = defaultdict(set)
    numbers: dict[str, list[float]] = defaultdict(list)
    for record in records:
        for key, text, num in record.values:
            if "." in key or key.startswith("mlm:") or key in TIME_FIELDS:
                continue
            if text is not None and num is None:
                texts[key].add(text)
            elif text is None and num is not None:
                numbers[key].append(num)
    nested = {key.split(".", 1)[0] for record in records for key, _, _ in record.values if "." in key}
    out: dict[str, Any] = {}
    for key in sorted(set(texts) | set(numbers)):
        if key in nested or (key in texts and key in numbers) or len(out) >= MAX_SUMMARIES:
            continue
        if key in numbers:
            out[key] = {"minimum": min(numbers[key]), "maximum": max(numbers[key])}
        elif len(texts[key]) <= SUMMARY_VALUES:
            out[key] = sorted(texts[key])
    return out


def queryables_of(records: list[ItemRecord]) -> dict[str, str]:
    """Every flattened property key of the items and the JSON type of its values (``""`` when mixed)."""
    types: dict[str, set[str]] = defaultdict(set)
    for record in records:
        for key, text, num in record.values:
            if key in types or len(types) < MAX_QUERYABLES:
                types[key].add("string" if key == trained_on.TRAINED_ON else json_type(text, num))
    return {key: next(iter(kinds)) if len(kinds) == 1 else "" for key, kinds in sorted(types.items())}


def remove_repository(session: Session, repository_id: int) -> None:
    """Delete a repository's index rows (before the repository row itself)."""
    item_ids = select(StacItemRow.id).where(StacItemRow.repository_id == repository_id)
    spatial.delete(session, item_ids)
    session.execute(delete(StacValueRow).where(StacValueRow.item_row_id.in_(item_ids)))
    session.execute(delete(StacItemRow).where(StacItemRow.repository_id == repository_id))
    session.execute(delete(StacCollectionRow).where(StacCollectionRow.repository_id == repository_id))
    session.execute(  # a deleted dataset trained no model any more, as far as the search can tell
        delete(StacValueRow).where(
            StacValueRow.key == trained_on.TRAINED_ON, StacValueRow.num == float(repository_id)
        )
    )


def backfill(database: Database) -> int:
    """Index every version that has no index rows yet (oldest first); returns how many were indexed."""
    if getattr(database, "_stac_backfilled", False):
        return 0
    done = 0
    with database.sessions.begin() as s:
        missing = s.scalars(
            select(VersionRow)
            .where(
                ~select(StacCollectionRow.id).where(StacCollectionRow.version_id == VersionRow.id).exists()
            )
            .order_by(VersionRow.repository_id, VersionRow.number)
        ).all()
        for version in missing:
            index_version(s, version.repository, version)
            done += 1
    database._stac_backfilled = True  # type: ignore[attr-defined]
    if done:
        log.info("search index: indexed %d version(s) committed before the index existed", done)
    return done
