"""STAC item search at 100,000 and 1,000,000 items: eohub on SQLite and PostgreSQL, next to rustac and pgstac.

Data: :data:`REPOSITORIES` public datasets; the first :data:`SIZES` ``[0]`` items are loaded, measured,
then the rest are added to the same datasets and everything is measured again. Items are 1-degree
rectangles around the world, each at its own second over 2015..2024 (so every sort is total), with
``eo:cloud_cover``, ``platform`` and an ``instruments`` array; ids are unique across datasets.

- **eohub** (SQLite file, PostgreSQL on loopback from ``tests.servers``): users, repositories and
  versions through the ORM, then documents and index rows in bulk (SQLite ``executemany``, PostgreSQL
  ``COPY``) with ids assigned here. The rows are what the commit path writes: they come from
  :func:`eohub.search.index.item_rows`, :func:`~eohub.search.index.value_rows`,
  :func:`eohub.search.spatial.rows_of` and :func:`~eohub.search.index.collection_row` on
  :class:`~eohub.search.records.ItemRecord`; then ``ANALYZE``. Timed: ``SearchRequest.from_params`` and
  ``StacCatalog.search`` (SQL, exact geometry test, JSON documents parsed), anonymous caller.
- **rustac** (``DuckdbClient`` over stac-geoparquet files written by rustac, one per load): timed
  ``search`` with the same parameters; the filter is given as CQL2 JSON (rustac's SQL for the text
  ``('tir')`` is a string, not an array). DuckDB's extensions come from the ``duckdb-extension-*``
  packages of the ``bench`` extra (no download).
- **pgstac** (a second database on the same PostgreSQL server, PostGIS required): items loaded with
  pypgstac's ``Loader``; timed ``SELECT search(...)`` with the same parameters as CQL2 JSON.

Every engine is asked for the first page of :data:`LIMIT` items sorted newest first, then by id (eohub's
default order: with distinct datetimes, the same). Each round runs every query kind :data:`RUNS` times
(after :data:`WARMUP` untimed) with parameters drawn from a seed per kind and round, the same for every
engine, engines taking turns; the table gives the median over :data:`ROUNDS` rounds of each round's
95th percentile. First pages are compared with eohub on SQLite (else the first engine run), query by
query. An engine that cannot run here is named in the table with the reason.

``python -m benchmarks stac`` writes ``benchmarks/results/stac.md``. ``EOHUB_BENCH_STAC_SIZES=20000,50000``
measures smaller sizes (two, increasing); ``EOHUB_BENCH_STAC_ENGINES=postgresql,rustac`` runs only those
engines (of ``sqlite``, ``postgresql``, ``rustac``, ``pgstac``; pages are then compared with the first one
run) and ``EOHUB_BENCH_STAC_OUT`` names another results file.
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, insert, text

from eohub.db.engine import Database, open_database
from eohub.db.tables import RepositoryRow, StacCollectionRow, UserRow, VersionRow
from eohub.repository.manifest import document_text
from eohub.search import spatial
from eohub.search.catalog import StacCatalog
from eohub.search.index import collection_row, item_rows, refresh_statistics, value_rows
from eohub.search.query import SearchRequest
from eohub.search.records import ItemRecord

RESULTS = Path(__file__).parent / "results" / "stac.md"
SIZES = (100_000, 1_000_000)
REPOSITORIES = 100
ROUNDS = 3
RUNS = 40
WARMUP = 3
LIMIT = 10
EO = "https://stac-extensions.github.io/eo/v1.1.0/schema.json"
EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
SPAN = 10 * 365 * 86400
STEP = 2_654_435_761
"""Item ``n`` is dated ``EPOCH + (n * STEP) % SPAN`` seconds: STEP is prime to SPAN, so no two items share
a second, and neighbouring numbers (one dataset's items) spread over the ten years."""
PLATFORMS = ["sentinel-2a", "sentinel-2b", "landsat-8", "landsat-9"]
SORTBY = [{"field": "datetime", "direction": "desc"}, {"field": "id", "direction": "asc"}]


def collection_of(repository: int) -> str:
    return f"datasets.bench-{repository:03d}"


def _item(rng: random.Random, number: int) -> dict[str, Any]:
    west, south = rng.randrange(-180, 179), rng.randrange(-80, 79)
    ring = [[west, south], [west + 1, south], [west + 1, south + 1], [west, south + 1], [west, south]]
    moment = EPOCH + timedelta(seconds=(number * STEP) % SPAN)
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": [EO],
        "id": f"item-{number:07d}",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [west, south, west + 1, south + 1],
        "properties": {
            "datetime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eo:cloud_cover": round(rng.uniform(0, 100), 1),
            "platform": rng.choice(PLATFORMS),
            "instruments": ["msi", "tir"] if rng.random() < 0.2 else ["msi"],
        },
        "links": [],
        "assets": {"data": {"href": f"{number:07d}.tif", "type": "image/tiff", "roles": ["data"]}},
    }


def chunks(first: int, count: int) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Items ``first .. first + count - 1`` as ``(dataset, its items)``, the same on every call."""
    rng = random.Random(first)
    per = count // REPOSITORIES
    for repository in range(REPOSITORIES):
        start = first + repository * per
        yield repository, [_item(rng, n) for n in range(start, start + per)]


# --- eohub ---------------------------------------------------------------------------------------------


@dataclass
class Hub:
    """An eohub database being bulk-loaded (see the module docstring)."""

    label: str
    database: Database
    repositories: list[int] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)
    records: dict[int, list[ItemRecord]] = field(default_factory=lambda: defaultdict(list))
    load_seconds: float = 0.0

    @property
    def dialect(self) -> str:
        return self.database.engine.dialect.name

    def create(self) -> None:
        now = datetime.now(UTC)
        with self.database.sessions.begin() as s:
            user = s.scalar(insert(UserRow).returning(UserRow.id), [{"name": "bench", "created_at": now}])
            for r in range(REPOSITORIES):
                name = collection_of(r).split(".", 1)[1]
                repo = {
                    "kind": "dataset",
                    "name": name,
                    "name_key": name,
                    "owner_id": user,
                    "private": False,
                    "metadata_json": {},
                    "created_at": now,
                    "updated_at": now,
                }
                repo_id = s.scalar(insert(RepositoryRow).returning(RepositoryRow.id), [repo])
                version = {
                    "repository_id": repo_id,
                    "number": 1,
                    "author_id": user,
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
                self.repositories.append(repo_id)
                self.versions.append(s.scalar(insert(VersionRow).returning(VersionRow.id), [version]))

    def load(self, first: int, count: int) -> None:
        started = time.perf_counter()
        raw = self.database.engine.raw_connection()
        try:
            cursor = raw.cursor()
            doc_id = self._next(cursor, "documents")
            row_id = self._next(cursor, "stac_items")
            for repository, items in chunks(first, count):
                repo_id, version_id = self.repositories[repository], self.versions[repository]
                documents = [
                    (doc_id + i, version_id, f"items/{item['id']}.json", "Feature", document_text(item))
                    for i, item in enumerate(items)
                ]
                records = [ItemRecord.from_item(item) for item in items]
                ids = list(range(row_id, row_id + len(items)))
                pairs = list(zip([d[0] for d in documents], records, strict=True))
                rows = [
                    {"id": i, **row}
                    for i, row in zip(ids, item_rows(repo_id, version_id, 1, pairs, True), strict=True)
                ]
                self._write(
                    cursor, "documents", ["id", "version_id", "path", "stac_type", "content"], documents
                )
                self._write(cursor, "stac_items", list(rows[0]), [tuple(r.values()) for r in rows])
                values = value_rows(ids, records)
                self._write(cursor, "stac_item_values", list(values[0]), [tuple(v.values()) for v in values])
                if self.dialect == "sqlite":
                    boxes = spatial.rows_of(ids, records)
                    self._write(
                        cursor, spatial.SPATIAL_TABLE, list(boxes[0]), [tuple(b.values()) for b in boxes]
                    )
                self.records[repository].extend(records)
                doc_id += len(items)
                row_id += len(items)
            if self.dialect == "postgresql":
                for table in ("documents", "stac_items", "stac_item_values"):
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                    )
            raw.commit()
        finally:
            raw.close()
        self._collections()
        self._analyze()
        self.load_seconds += time.perf_counter() - started

    @staticmethod
    def _next(cursor: Any, table: str) -> int:
        cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
        return int(cursor.fetchone()[0])

    def _write(self, cursor: Any, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        if self.dialect == "sqlite":
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
            return
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _collections(self) -> None:
        with self.database.sessions.begin() as s:
            s.execute(delete(StacCollectionRow))
            for repository, records in self.records.items():
                version = SimpleNamespace(id=self.versions[repository], number=1, summary={}, metrics=None)
                s.execute(
                    insert(StacCollectionRow),
                    [collection_row(self.repositories[repository], version, records, {})],  # type: ignore[arg-type]
                )

    def _analyze(self) -> None:
        if self.dialect == "sqlite":  # what a commit of many items runs
            with self.database.sessions.begin() as s:
                refresh_statistics(s)
            return
        with self.database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))

    def searcher(self) -> Callable[[dict[str, Any]], list[str]]:
        catalog = StacCatalog(self.database)

        def search(query: dict[str, Any]) -> list[str]:
            params = {"limit": str(LIMIT)}
            if "bbox" in query:
                params["bbox"] = ",".join(f"{v}" for v in query["bbox"])
            if "datetime" in query:
                params["datetime"] = query["datetime"]
            if "filter" in query:
                params["filter"] = query["filter"]
            page = catalog.search(SearchRequest.from_params(params))
            return [str(h.item["id"]) for h in page.hits]

        return search


# --- anchors -------------------------------------------------------------------------------------------


def _anchor_item(repository: int, item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "collection": collection_of(repository)}


class Rustac:
    """stac-geoparquet files written by rustac, searched with its DuckDB client."""

    label = "rustac"

    def __init__(self, folder: Path) -> None:
        import rustac

        self.rustac = rustac
        self.folder = folder
        self.parts = 0
        self.load_seconds = 0.0
        site = Path(rustac.__file__).parent.parent
        extensions = sorted(
            glob.glob(str(site / "duckdb_extension_*" / "extensions" / "*" / "*.duckdb_extension"))
        )
        self.client = rustac.DuckdbClient(extensions=extensions, install_extensions=False)

    def load(self, first: int, count: int) -> None:
        started = time.perf_counter()
        path = str(self.folder / f"items-{self.parts}.parquet")
        asyncio.run(self._write(path, first, count))
        self.parts += 1
        self.load_seconds += time.perf_counter() - started

    async def _write(self, path: str, first: int, count: int) -> None:
        writer = None
        for repository, items in chunks(first, count):
            batch = [_anchor_item(repository, i) for i in items]
            if writer is None:
                writer = await self.rustac.GeoparquetWriter.open(batch, path)
            else:
                await writer.write(batch)
        if writer is not None:
            await writer.finish()

    def searcher(self) -> Callable[[dict[str, Any]], list[str]]:
        href = (
            str(self.folder / "items-*.parquet") if self.parts > 1 else str(self.folder / "items-0.parquet")
        )

        def search(query: dict[str, Any]) -> list[str]:
            args: dict[str, Any] = {"limit": LIMIT, "sortby": ["-datetime", "id"]}
            if "bbox" in query:
                args["bbox"] = query["bbox"]
            if "datetime" in query:
                args["datetime"] = query["datetime"]
            if "filter" in query:
                args["filter"] = query["filter_json"]
            return [str(i["id"]) for i in self.client.search(href, **args)]

        return search


class Pgstac:
    """pgstac in its own database on the benchmark's PostgreSQL server, loaded with pypgstac."""

    label = "pgstac"

    def __init__(self, dsn: str) -> None:
        from pypgstac.db import PgstacDB
        from pypgstac.migrate import Migrate

        self.dsn = dsn
        self.load_seconds = 0.0
        started = time.perf_counter()
        with PgstacDB(dsn=dsn) as db:
            Migrate(db).run_migration()
        self.load_seconds += time.perf_counter() - started
        self.collections = False

    def load(self, first: int, count: int) -> None:
        from pypgstac.db import PgstacDB
        from pypgstac.load import Loader, Methods

        started = time.perf_counter()
        with PgstacDB(dsn=self.dsn) as db:
            loader = Loader(db=db)
            if not self.collections:
                loader.load_collections(
                    iter([self._collection(r) for r in range(REPOSITORIES)]), Methods.insert
                )
                self.collections = True
            items = (_anchor_item(r, i) for r, batch in chunks(first, count) for i in batch)
            loader.load_items(items, Methods.insert)
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
        self.load_seconds += time.perf_counter() - started

    @staticmethod
    def _collection(repository: int) -> dict[str, Any]:
        return {
            "type": "Collection",
            "stac_version": "1.1.0",
            "id": collection_of(repository),
            "description": "benchmark items",
            "license": "CC-BY-4.0",
            "extent": {
                "spatial": {"bbox": [[-180, -90, 180, 90]]},
                "temporal": {"interval": [["2015-01-01T00:00:00Z", None]]},
            },
            "links": [],
        }

    def searcher(self) -> Callable[[dict[str, Any]], list[str]]:
        import psycopg

        connection = psycopg.connect(self.dsn, autocommit=True)
        connection.execute("SET search_path TO pgstac, public")

        def search(query: dict[str, Any]) -> list[str]:
            body: dict[str, Any] = {"limit": LIMIT, "sortby": SORTBY, "conf": {"nohydrate": False}}
            if "bbox" in query:
                body["bbox"] = query["bbox"]
            if "datetime" in query:
                body["datetime"] = query["datetime"]
            if "filter" in query:
                body["filter"] = query["filter_json"]
                body["filter-lang"] = "cql2-json"
            result = connection.execute("SELECT search(%s::text::jsonb)", [json.dumps(body)]).fetchone()[0]
            return [str(f["id"]) for f in result.get("features") or []]

        return search


# --- queries -------------------------------------------------------------------------------------------


def _bbox(rng: random.Random) -> dict[str, Any]:
    west, south = round(rng.uniform(-180, 170), 3), round(rng.uniform(-80, 70), 3)
    return {"bbox": [west, south, round(west + 10, 3), round(south + 10, 3)]}


def _datetime(rng: random.Random) -> dict[str, Any]:
    start = EPOCH + timedelta(days=rng.randrange(0, 10 * 365 - 30))
    end = start + timedelta(days=30)
    return {"datetime": f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}"}


def _filter(text_: str) -> dict[str, Any]:
    from eohub.search.cql2_parse import parse_filter

    return {"filter": text_, "filter_json": parse_filter(text_)}


def _cql2(rng: random.Random) -> dict[str, Any]:
    return _filter(f"platform = '{rng.choice(PLATFORMS)}' AND eo:cloud_cover < {rng.uniform(1, 20):.1f}")


def _cql2_array(rng: random.Random) -> dict[str, Any]:
    low = rng.uniform(0, 90)
    return _filter(f"a_contains(instruments, ('tir')) AND eo:cloud_cover BETWEEN {low:.1f} AND {low + 5:.1f}")


QUERIES: dict[str, Callable[[random.Random], dict[str, Any]]] = {
    "bbox 10°×10°": _bbox,
    "datetime 30 days": _datetime,
    "CQL2 `platform = … AND eo:cloud_cover < …`": _cql2,
    "CQL2 `a_contains(instruments, ('tir')) AND eo:cloud_cover BETWEEN …`": _cql2_array,
}


@dataclass
class Timing:
    p95: list[float] = field(default_factory=list)  # one per round
    median: list[float] = field(default_factory=list)
    pages: int = 0
    same: int = 0  # first pages identical to the first engine run


def measure(engines: dict[str, Callable[[dict[str, Any]], list[str]]]) -> dict[tuple[str, str], Timing]:
    """Every query kind on every engine, :data:`ROUNDS` rounds (see the module docstring)."""
    out: dict[tuple[str, str], Timing] = defaultdict(Timing)
    for round_ in range(ROUNDS):
        for kind, make in QUERIES.items():
            rng = random.Random(f"{kind}/{round_}")
            queries = [make(rng) for _ in range(WARMUP + RUNS)]
            reference: list[list[str]] = []
            for label, search in engines.items():
                times, pages = [], []
                for number, query in enumerate(queries):
                    started = time.perf_counter()
                    ids = search(query)
                    elapsed = (time.perf_counter() - started) * 1000
                    if number >= WARMUP:
                        times.append(elapsed)
                        pages.append(ids)
                if not reference:
                    reference = pages
                timing = out[(label, kind)]
                times.sort()
                timing.p95.append(times[int(0.95 * (len(times) - 1))])
                timing.median.append(statistics.median(times))
                timing.pages += len(pages)
                timing.same += sum(p == r for p, r in zip(pages, reference, strict=True))
                print(
                    f"    round {round_ + 1} {label:10} {kind[:40]:40} p95 {timing.p95[-1]:8.1f} ms",
                    flush=True,
                )
    return out


# --- the run ------------------------------------------------------------------------------------------


def sizes() -> tuple[int, int]:
    raw = os.environ.get("EOHUB_BENCH_STAC_SIZES")
    if not raw:
        return SIZES
    small, large = (int(v) for v in raw.split(","))
    return small, large


def _try(label: str, make: Callable[[], Any], missing: dict[str, str]) -> Any:
    try:
        return make()
    except Exception as exc:  # an anchor that cannot run here is reported, not fatal
        reason = (
            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:160]}"
            if str(exc)
            else type(exc).__name__
        )
        missing[label] = reason
        print(f"  {label}: not run ({reason})", flush=True)
        return None


ENGINES = {"sqlite": "eohub SQLite", "postgresql": "eohub PostgreSQL", "rustac": "rustac", "pgstac": "pgstac"}


def chosen_engines() -> set[str]:
    """The labels of the engines to run (``EOHUB_BENCH_STAC_ENGINES``, all by default)."""
    raw = os.environ.get("EOHUB_BENCH_STAC_ENGINES")
    if not raw:
        return set(ENGINES.values())
    names = {n.strip().lower() for n in raw.split(",") if n.strip()}
    unknown = names - ENGINES.keys()
    if unknown:
        raise SystemExit(f"unknown engine(s) {', '.join(sorted(unknown))}; known: {', '.join(ENGINES)}")
    return {ENGINES[n] for n in names}


def main() -> None:
    from tests.servers import ServerUnavailable, start_postgres

    small, large = sizes()
    chosen = chosen_engines()
    missing: dict[str, str] = {}
    results: dict[int, dict[tuple[str, str], Timing]] = {}
    loads: dict[int, dict[str, float]] = {}
    load_average: dict[int, tuple[float, float]] = {}
    server = None
    with tempfile.TemporaryDirectory(prefix="eohub-bench-stac-", dir=Path.home()) as tmp:
        folder = Path(tmp)
        engines: list[Any] = [Hub("eohub SQLite", open_database(f"sqlite:///{folder / 'bench.sqlite'}"))]
        try:
            server = start_postgres()
        except ServerUnavailable as exc:
            missing["eohub PostgreSQL"] = missing["pgstac"] = str(exc)
        if server is not None:
            engines.append(Hub("eohub PostgreSQL", open_database(server.url(server.create_database()))))
        engines.append(_try("rustac", lambda: Rustac(folder), missing))
        if server is not None:
            dsn = server.url(server.create_database(), driver="postgresql")
            engines.append(_try("pgstac", lambda: Pgstac(dsn), missing))
        for engine in engines:
            if engine is not None and engine.label not in chosen:
                missing[engine.label] = "not chosen (EOHUB_BENCH_STAC_ENGINES)"
                if isinstance(engine, Hub):
                    engine.database.close()
        engines = [e for e in engines if e is not None and e.label in chosen]
        try:
            for engine in engines:
                if isinstance(engine, Hub):
                    engine.create()
            loaded = 0
            for size in (small, large):
                for engine in list(engines):
                    print(f"  {engine.label}: loading {size - loaded:,} items", flush=True)
                    start, count = loaded, size - loaded
                    ok = _try(engine.label, lambda e=engine, a=start, n=count: e.load(a, n) or True, missing)
                    if not ok:
                        engines.remove(engine)
                loaded = size
                loads[size] = {e.label: e.load_seconds for e in engines}
                before = os.getloadavg()[0]
                print(f"  {size:,} items: measuring (load average {before:.2f})", flush=True)
                results[size] = measure({e.label: e.searcher() for e in engines})
                load_average[size] = (before, os.getloadavg()[0])
        finally:
            for engine in engines:
                if isinstance(engine, Hub):
                    engine.database.close()
            if server is not None:
                server.stop()
    out = Path(os.environ.get("EOHUB_BENCH_STAC_OUT") or RESULTS)
    out.write_text(report(small, large, results, loads, load_average, missing))
    print(out.read_text())


def report(
    small: int,
    large: int,
    results: dict[int, dict[tuple[str, str], Timing]],
    loads: dict[int, dict[str, float]],
    load_average: dict[int, tuple[float, float]],
    missing: dict[str, str],
) -> str:
    labels = ["eohub SQLite", "eohub PostgreSQL", "rustac", "pgstac"]

    def p95(size: int, label: str, kind: str) -> float | None:
        timing = results.get(size, {}).get((label, kind))
        return statistics.median(timing.p95) if timing and timing.p95 else None

    def cell(value: float | None, label: str) -> str:
        return f"{value:.1f}" if value is not None else f"not run{' (see below)' if label in missing else ''}"

    def short(n: int) -> str:
        if n % 1_000_000 == 0:
            return f"{n // 1_000_000}M"
        return f"{n // 1000}k" if n % 1000 == 0 else f"{n:,}"

    lines = [
        "# STAC search at a million items",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} by `python -m benchmarks stac` on {platform.machine()} "
        f"({os.cpu_count()} cores), Python {platform.python_version()}, SQLite "
        f"{__import__('sqlite3').sqlite_version}, PostgreSQL from `tests.servers` (default settings); "
        f"{small:,} then {large:,} items in {REPOSITORIES} public datasets. p95 in ms of the first page of "
        f"{LIMIT} items, newest first: the median over {ROUNDS} rounds of each round's 95th percentile of "
        f"{RUNS} searches (after {WARMUP} untimed). How the data got there and what is timed: the module "
        "docstring of `benchmarks/bench_stac.py`.",
        "",
        f"| query | {' | '.join(f'{label} {short(small)} → {short(large)}' for label in labels)} "
        "| eohub SQLite / rustac | eohub PostgreSQL / rustac |",
        "| --- | " + " | ".join("---:" for _ in labels) + " | ---: | ---: |",
    ]
    for kind in QUERIES:
        cells = []
        for label in labels:
            a, b = p95(small, label, kind), p95(large, label, kind)
            growth = f" ({b / a:.1f}×)" if a and b else ""
            cells.append(f"{cell(a, label)} → {cell(b, label)}{growth}")
        anchor = p95(large, "rustac", kind)
        ratios = []
        for label in labels[:2]:
            ours = p95(large, label, kind)
            ratios.append(f"{ours / anchor:.2f}" if ours and anchor else "–")
        lines.append(f"| {kind} | {' | '.join(cells)} | {' | '.join(ratios)} |")
    ran = [label for label in labels if any(lab == label for (lab, _) in results.get(large, {}))]
    reference = ran[0] if ran else labels[0]
    lines += [
        "",
        f"First pages identical to {reference} (same ids, same order), timed queries of all rounds:",
        "",
    ]
    lines += [
        "| engine | " + " | ".join(f"{short(s)}" for s in (small, large)) + " |",
        "| --- | ---: | ---: |",
    ]
    for label in [label for label in labels if label != reference]:
        row = []
        for size in (small, large):
            timings = [t for (lab, _), t in results.get(size, {}).items() if lab == label]
            same, pages = sum(t.same for t in timings), sum(t.pages for t in timings)
            row.append(f"{same}/{pages}" if pages else "–")
        lines.append(f"| {label} | {' | '.join(row)} |")
    lines += ["", "| engine | " + " | ".join(f"load to {short(s)} (s)" for s in (small, large)) + " |"]
    lines += ["| --- | ---: | ---: |"]
    for label in labels:
        row = [f"{loads[s][label]:.0f}" if label in loads.get(s, {}) else "–" for s in (small, large)]
        lines.append(f"| {label} | {' | '.join(row)} |")
    lines += [""]
    for size, (before, after) in load_average.items():
        lines.append(
            f"Load average (1 min) while measuring {short(size)}: {before:.2f} before, {after:.2f} after."
        )
    for label, reason in missing.items():
        lines.append(f"\n{label} did not run: {reason}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
