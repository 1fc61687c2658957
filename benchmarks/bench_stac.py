"""STAC item search latency over 100,000 items, on SQLite and on PostgreSQL.

The index is filled directly, not through ``eohub datasets ingest``: 100 public datasets of 1,000 items
each are bulk-inserted (users, repositories, versions, documents) and indexed with the same functions the
commit path calls (:func:`eohub.search.index.insert_records` and :func:`~eohub.search.index.collection_row`);
ingesting 100,000 STAC files through the CLI would measure hashing and validation, not search. Items are
1-degree rectangles around the world, dated over 2015..2024, with ``eo:cloud_cover``, ``platform`` and an
``instruments`` array. After loading, ``ANALYZE`` gives both planners statistics.

Each query kind runs :data:`RUNS` times with different random parameters through
:meth:`eohub.search.catalog.StacCatalog.search` as an anonymous caller (the first page of
:data:`LIMIT` items, JSON documents parsed, exactly what ``/stac/search`` renders), after
:data:`WARMUP` untimed runs. PostgreSQL is a throw-away server on loopback (``tests.servers``).

``python -m benchmarks stac`` writes ``benchmarks/results/stac.md``.
"""

from __future__ import annotations

import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, text

from eohub.db.engine import Database, open_database
from eohub.db.tables import DocumentRow, RepositoryRow, StacCollectionRow, UserRow, VersionRow
from eohub.repository.manifest import document_text
from eohub.search.catalog import StacCatalog
from eohub.search.index import collection_row, insert_records
from eohub.search.query import SearchRequest
from eohub.search.records import ItemRecord

RESULTS = Path(__file__).parent / "results" / "stac.md"
REPOSITORIES = 100
ITEMS_PER_REPOSITORY = 1_000
RUNS = 50
WARMUP = 5
LIMIT = 10
EO = "https://stac-extensions.github.io/eo/v1.1.0/schema.json"
EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
PLATFORMS = ["sentinel-2a", "sentinel-2b", "landsat-8", "landsat-9"]


def _item(rng: random.Random, number: int) -> dict[str, Any]:
    west, south = rng.randrange(-180, 179), rng.randrange(-80, 79)
    ring = [[west, south], [west + 1, south], [west + 1, south + 1], [west, south + 1], [west, south]]
    moment = EPOCH + timedelta(seconds=rng.randrange(0, 10 * 365 * 86400))
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": [EO],
        "id": f"item-{number:06d}",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [west, south, west + 1, south + 1],
        "properties": {
            "datetime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eo:cloud_cover": round(rng.uniform(0, 100), 1),
            "platform": rng.choice(PLATFORMS),
            "instruments": ["msi", "tir"] if rng.random() < 0.2 else ["msi"],
        },
        "links": [],
        "assets": {"data": {"href": f"{number:06d}.tif", "type": "image/tiff", "roles": ["data"]}},
    }


def populate(database: Database, seed: int = 0) -> float:
    """Bulk-load the benchmark hub; returns the seconds it took."""
    rng = random.Random(seed)
    started = time.perf_counter()
    now = datetime.now(UTC)
    with database.sessions.begin() as s:
        user_id = s.scalar(insert(UserRow).returning(UserRow.id), [{"name": "bench", "created_at": now}])
        for r in range(REPOSITORIES):
            name = f"bench-{r:03d}"
            repo_id = s.scalar(
                insert(RepositoryRow).returning(RepositoryRow.id),
                [
                    {
                        "kind": "dataset",
                        "name": name,
                        "name_key": name,
                        "owner_id": user_id,
                        "private": False,
                        "metadata_json": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                ],
            )
            version = {
                "repository_id": repo_id,
                "number": 1,
                "author_id": user_id,
                "quality_level": 2,
                "quality_reasons": [],
                "metadata_json": {},
                "total_size": 0,
                "file_count": 0,
                "tasks": [],
                "summary": {},
                "changes": {},
                "created_at": now,
            }
            version_id = s.scalar(insert(VersionRow).returning(VersionRow.id), [version])
            items = [_item(rng, r * ITEMS_PER_REPOSITORY + n) for n in range(ITEMS_PER_REPOSITORY)]
            doc_ids = s.scalars(
                insert(DocumentRow).returning(DocumentRow.id, sort_by_parameter_order=True),
                [
                    {
                        "version_id": version_id,
                        "path": f"items/{i['id']}.json",
                        "stac_type": "Feature",
                        "content": document_text(i),
                    }
                    for i in items
                ],
            ).all()
            records = [ItemRecord.from_item(i) for i in items]
            insert_records(s, repo_id, version_id, 1, list(zip(doc_ids, records, strict=True)))
            row = SimpleNamespace(id=version_id, number=1, summary={})
            s.execute(insert(StacCollectionRow), [collection_row(repo_id, row, records, {})])  # type: ignore[arg-type]
    with database.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return time.perf_counter() - started


def _bbox(rng: random.Random) -> dict[str, str]:
    west, south = rng.uniform(-180, 170), rng.uniform(-80, 70)
    return {"bbox": f"{west:.3f},{south:.3f},{west + 10:.3f},{south + 10:.3f}"}


def _datetime(rng: random.Random) -> dict[str, str]:
    start = EPOCH + timedelta(days=rng.randrange(0, 10 * 365 - 30))
    end = start + timedelta(days=30)
    return {"datetime": f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}"}


def _cql2(rng: random.Random) -> dict[str, str]:
    platform_ = rng.choice(PLATFORMS)
    cloud = rng.uniform(1, 20)
    return {"filter": f"platform = '{platform_}' AND eo:cloud_cover < {cloud:.1f}"}


def _cql2_array(rng: random.Random) -> dict[str, str]:
    low = rng.uniform(0, 90)
    return {
        "filter": f"a_contains(instruments, ('tir')) AND eo:cloud_cover BETWEEN {low:.1f} AND {low + 5:.1f}"
    }


QUERIES: dict[str, Callable[[random.Random], dict[str, str]]] = {
    "bbox (10 x 10 degrees)": _bbox,
    "datetime (30-day window)": _datetime,
    "CQL2 `platform = ... AND eo:cloud_cover < ...`": _cql2,
    "CQL2 `a_contains(instruments, ('tir')) AND eo:cloud_cover BETWEEN ...`": _cql2_array,
}


def measure(database: Database) -> dict[str, tuple[float, float, float]]:
    """Median, 95th percentile (ms) and mean hits of each query kind."""
    catalog = StacCatalog(database)
    out = {}
    for label, make in QUERIES.items():
        rng = random.Random(label)
        for _ in range(WARMUP):
            catalog.search(SearchRequest.from_params({**make(rng), "limit": str(LIMIT)}))
        times, hits = [], []
        for _ in range(RUNS):
            request = SearchRequest.from_params({**make(rng), "limit": str(LIMIT)})
            started = time.perf_counter()
            page = catalog.search(request)
            times.append((time.perf_counter() - started) * 1000)
            hits.append(len(page.hits))
        times.sort()
        out[label] = (statistics.median(times), times[int(0.95 * (len(times) - 1))], statistics.mean(hits))
    return out


def _run(label: str, url: str) -> tuple[str, float, dict[str, tuple[float, float, float]]]:
    print(f"  {label}: loading {REPOSITORIES * ITEMS_PER_REPOSITORY:,} items", flush=True)
    database = open_database(url)
    try:
        seconds = populate(database)
        print(f"  {label}: loaded in {seconds:.0f} s; querying", flush=True)
        return label, seconds, measure(database)
    finally:
        database.close()


def main() -> None:
    from tests.servers import ServerUnavailable, start_postgres

    results = []
    with tempfile.TemporaryDirectory(prefix="eohub-bench-stac-", dir=Path.home()) as tmp:
        results.append(_run("SQLite", f"sqlite:///{Path(tmp) / 'bench.sqlite'}"))
        try:
            server = start_postgres()
        except ServerUnavailable as exc:
            print(f"  PostgreSQL skipped: {exc}", flush=True)
        else:
            try:
                results.append(_run("PostgreSQL", server.url(server.create_database())))
            finally:
                server.stop()
    lines = [
        "# STAC search latency",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} by `python -m benchmarks stac` on {platform.machine()}, "
        f"Python {platform.python_version()}; {REPOSITORIES * ITEMS_PER_REPOSITORY:,} items in "
        f"{REPOSITORIES} public datasets. Each row: {RUNS} searches with different random parameters "
        f"(after {WARMUP} untimed), first page of {LIMIT} items through `StacCatalog.search` (the SQL, "
        "the exact geometry check and the JSON parsing of the page), anonymous caller.",
        "",
        "How the data got there: bulk inserts into the hub's tables and the index with the functions the "
        "commit path uses (see the module docstring of `benchmarks/bench_stac.py`), then `ANALYZE`.",
        "",
        "| database | query | median ms | p95 ms | items per page (mean) |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for label, _, numbers in results:
        for query, (median, p95, hits) in numbers.items():
            lines.append(f"| {label} | {query} | {median:.1f} | {p95:.1f} | {hits:.1f} |")
    lines += ["", "| database | load time (s) |", "| --- | ---: |"]
    lines += [f"| {label} | {seconds:.0f} |" for label, seconds, _ in results]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
