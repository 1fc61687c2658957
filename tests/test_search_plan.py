"""Search plans and the spatial index give the same pages as the plain walk, on SQLite and PostgreSQL.

Three datasets of 400 items each are ingested through the normal commit path (the index and the
R*Tree are written as a hub writes them). Seeded random searches (bbox, across the antimeridian too,
intersects, datetime, CQL2 property terms, sortby, later pages) run with the planner on and off
(:attr:`StacCatalog.planned`); the pages must be identical, and identical across the two databases.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from eohub.db.tables import RepositoryRow
from eohub.repository import EmbeddedRepository, open_embedded
from eohub.search import item_query, plan, spatial
from eohub.search.catalog import StacCatalog
from eohub.search.cql2_parse import parse_filter
from eohub.search.filters import translate
from eohub.search.query import SearchRequest

SEED = 20261201
DATASETS = 3
ITEMS = 400
SEARCHES = 60
PLATFORMS = ["sentinel-2a", "sentinel-2b", "landsat-8", "landsat-9", "rare-sat"]
START = datetime(2020, 1, 1, tzinfo=UTC)
README = "---\nlicense: CC-BY-4.0\n---\n# {name}\n\nSynthetic tiles for search plans.\n"


def _item(rng: random.Random, dataset: int, number: int) -> dict[str, Any]:
    west = rng.choice([rng.randrange(-180, 175), 176, -180])  # some items touch the antimeridian
    south = rng.randrange(-80, 75)
    width, height = rng.choice([1, 2, 5]), rng.choice([1, 2, 5])
    east, north = min(west + width, 180), south + height
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    moment = START + timedelta(hours=rng.randrange(0, 24 * 365 * 3))
    platform = "rare-sat" if rng.random() < 0.02 else rng.choice(PLATFORMS[:4])
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": ["https://stac-extensions.github.io/eo/v1.1.0/schema.json"],
        "id": f"d{dataset}-{number:04d}",
        "collection": "tiles",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "bbox": [west, south, east, north],
        "properties": {
            "datetime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eo:cloud_cover": round(rng.uniform(0, 100), 1),
            "platform": platform,
            # an array may repeat a value: the walk along 'tir' must still meet the item once
            "instruments": rng.choice([["msi", "tir"], ["msi", "tir", "tir"]])
            if rng.random() < 0.1
            else ["msi"],
            "daylight": rng.random() < 0.7,
            "gsd": rng.choice([10, 20, 60]),
        },
        "links": [
            {"rel": "root", "href": "../../catalog.json", "type": "application/json"},
            {"rel": "parent", "href": "../collection.json", "type": "application/json"},
            {"rel": "collection", "href": "../collection.json", "type": "application/json"},
        ],
        "assets": {},
    }


def _write_dataset(folder: Path, dataset: int, rng: random.Random) -> Path:
    """A self-contained catalog: catalog.json, tiles/collection.json and ITEMS items."""
    items = [_item(rng, dataset, n) for n in range(ITEMS)]
    (folder / "tiles").mkdir(parents=True)
    (folder / "README.md").write_text(README.format(name=f"plan-{dataset}"))
    catalog = {
        "type": "Catalog",
        "stac_version": "1.1.0",
        "id": f"plan-{dataset}",
        "description": "search plan tiles",
        "links": [
            {"rel": "root", "href": "./catalog.json", "type": "application/json"},
            {"rel": "child", "href": "./tiles/collection.json", "type": "application/json"},
        ],
    }
    collection = {
        "type": "Collection",
        "stac_version": "1.1.0",
        "id": "tiles",
        "description": "tiles",
        "license": "CC-BY-4.0",
        "extent": {
            "spatial": {"bbox": [[-180, -90, 180, 90]]},
            "temporal": {"interval": [["2020-01-01T00:00:00Z", None]]},
        },
        "links": [
            {"rel": "root", "href": "../catalog.json", "type": "application/json"},
            {"rel": "parent", "href": "../catalog.json", "type": "application/json"},
        ]
        + [
            {"rel": "item", "href": f"./{i['id']}/{i['id']}.json", "type": "application/geo+json"}
            for i in items
        ],
    }
    (folder / "catalog.json").write_text(json.dumps(catalog))
    (folder / "tiles" / "collection.json").write_text(json.dumps(collection))
    for item in items:
        (folder / "tiles" / item["id"]).mkdir()
        (folder / "tiles" / item["id"] / f"{item['id']}.json").write_text(json.dumps(item))
    return folder


def _open(
    kind: str, root: Path, request: pytest.FixtureRequest, patch: pytest.MonkeyPatch
) -> EmbeddedRepository:
    patch.setenv("EOHUB_HOME", str(root / kind))
    if kind == "postgresql":
        server = request.getfixturevalue("postgres_server")
        patch.setenv("EOHUB_DATABASE_URL", server.url(server.create_database()))
    else:
        patch.delenv("EOHUB_DATABASE_URL", raising=False)
    repo = open_embedded(user="alice")
    rng = random.Random(SEED)
    for dataset in range(DATASETS):
        folder = _write_dataset(root / f"{kind}-d{dataset}", dataset, rng)
        repo.ingest("dataset", folder, name=f"plan-{dataset}")
    return repo


@pytest.fixture(scope="module")
def hubs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, EmbeddedRepository]]:
    """The same datasets on SQLite and on a PostgreSQL database of the session's server."""
    root = tmp_path_factory.mktemp("plan")
    with pytest.MonkeyPatch.context() as patch:
        opened = {kind: _open(kind, root, request, patch) for kind in ("sqlite", "postgresql")}
        yield opened
        for repo in opened.values():
            repo.close()


def _bbox(rng: random.Random) -> str:
    if rng.random() < 0.2:  # across the antimeridian
        west, east = rng.randrange(160, 179), rng.randrange(-179, -160)
        return f"{west},{rng.randrange(-60, 0)},{east},{rng.randrange(1, 60)}"
    west, south = rng.randrange(-180, 170), rng.randrange(-80, 70)
    size = rng.choice([1, 5, 10, 40])
    return f"{west},{south},{min(west + size, 180)},{min(south + size, 90)}"


def _filter(rng: random.Random) -> str:
    terms = [
        f"platform = '{rng.choice(PLATFORMS)}'",
        f"eo:cloud_cover < {rng.choice([1, 5, 20, 60])}",
        f"eo:cloud_cover BETWEEN {rng.randrange(0, 50)} AND {rng.randrange(50, 100)}",
        "a_contains(instruments, ('tir'))",
        f"platform IN ('{rng.choice(PLATFORMS)}', '{rng.choice(PLATFORMS)}')",
        f"gsd >= {rng.choice([10, 20, 60])}",
        "a_overlaps(instruments, ('tir', 'sar'))",
        f"eo:cloud_cover > {rng.choice([90, 99])} OR platform = 'rare-sat'",
        f"daylight = {rng.choice(['true', 'false'])}",
        f"platform IN ('{rng.choice(PLATFORMS)}')",
    ]
    return " AND ".join(rng.sample(terms, rng.choice([1, 2, 3])))


def _request(rng: random.Random) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": rng.choice([1, 10, 50])}
    kinds = rng.sample(["bbox", "intersects", "datetime", "filter", "sortby", "token"], rng.choice([1, 2, 3]))
    if "bbox" in kinds:
        params["bbox"] = [float(v) for v in _bbox(rng).split(",")]
    elif "intersects" in kinds:
        x, y = rng.uniform(-179, 170), rng.uniform(-79, 70)
        params["intersects"] = {"type": "Polygon", "coordinates": [[[x, y], [x + 8, y], [x, y + 8], [x, y]]]}
    if "datetime" in kinds:
        day = START + timedelta(days=rng.randrange(0, 3 * 365))
        params["datetime"] = (
            f"{day:%Y-%m-%dT00:00:00Z}/{day + timedelta(days=rng.choice([1, 30, 200])):%Y-%m-%dT00:00:00Z}"
        )
    if "filter" in kinds:
        params["filter"] = _filter(rng)
        params["filter-lang"] = "cql2-text"
    if "sortby" in kinds:
        params["sortby"] = [
            {
                "field": rng.choice(["eo:cloud_cover", "id", "datetime"]),
                "direction": rng.choice(["asc", "desc"]),
            }
        ]
    if "token" in kinds:
        params["token"] = rng.choice([0, 5, 30])
    return params


def _page(catalog: StacCatalog, body: dict[str, Any]) -> list[str]:
    page = catalog.search(SearchRequest.from_body(body))
    return [f"{h.collection}/{h.item['id']}" for h in page.hits]


def _recorded(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[Any]:
    """What ``owner.name`` returns from now on, call by call."""
    results: list[Any] = []
    function = getattr(owner, name)
    monkeypatch.setattr(owner, name, lambda *a: results.append(function(*a)) or results[-1])
    return results


def _pages(repo: EmbeddedRepository, planned: bool) -> list[list[str]]:
    catalog = StacCatalog(repo.database)
    catalog.planned = planned
    rng = random.Random(SEED)
    return [_page(catalog, _request(rng)) for _ in range(SEARCHES)]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_planned_searches_return_the_pages_of_the_plain_walk(
    hubs: dict[str, EmbeddedRepository], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen: list[bool] = []
    walked_along: list[str] = []
    choose, along = plan.choose, plan.along

    def counting(*args: Any) -> Any:
        driver = choose(*args)
        chosen.append(driver is not None)
        return driver

    def counting_along(*args: Any) -> Any:
        driver = along(*args)
        if driver is not None:
            walked_along.append(driver.text[1])
        return driver

    monkeypatch.setattr(plan, "choose", counting)
    monkeypatch.setattr(plan, "along", counting_along)
    planned = _pages(hubs[kind], planned=True)
    walked = _pages(hubs[kind], planned=False)
    assert planned == walked
    assert sum(map(len, planned)) > SEARCHES  # the searches find items
    assert any(chosen) and not all(chosen)  # some searches started from an index, some walked
    # some walked along a text value: a platform, an array member, a boolean
    assert {"tir", "true"} & set(walked_along) and set(PLATFORMS) & set(walked_along)


def test_sqlite_and_postgresql_return_the_same_pages(hubs: dict[str, EmbeddedRepository]) -> None:
    assert _pages(hubs["sqlite"], planned=True) == _pages(hubs["postgresql"], planned=True)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_spatial_index_follows_deletes_and_reused_row_ids(
    hubs: dict[str, EmbeddedRepository], kind: str, tmp_path: Path
) -> None:
    hub = hubs[kind]
    with hub.database.sessions() as s:
        assert spatial.in_step(s)
    extra = EmbeddedRepository(hub.database, hub.store, "alice")
    extra.ingest("dataset", _write_dataset(tmp_path / "gone", 9, random.Random(1)), name="plan-gone")
    extra.delete("dataset", "plan-gone")
    with hub.database.sessions() as s:
        assert spatial.in_step(s)
    if hub.database.engine.dialect.name == "sqlite":  # a box left behind by a row deleted without the index
        with hub.database.sessions.begin() as s:
            last = s.scalar(text("SELECT max(id) FROM stac_items"))
            s.execute(spatial.RTREE.insert(), [{"id": last + 1, "minx": 0, "maxx": 1, "miny": 0, "maxy": 1}])
        extra.ingest("dataset", _write_dataset(tmp_path / "again", 8, random.Random(2)), name="plan-again")
        with hub.database.sessions() as s:
            assert spatial.in_step(s)
        extra.delete("dataset", "plan-again")


def test_a_commit_on_sqlite_gives_the_planner_statistics_of_the_search_tables(
    hubs: dict[str, EmbeddedRepository],
) -> None:
    # without them SQLite probes an item's values through the (key, num) range: 100x slower at 100k items
    with hubs["sqlite"].database.sessions() as s:
        analysed = set(s.execute(text("SELECT tbl FROM sqlite_stat1")).scalars())
    assert {"stac_items", "stac_item_values", "stac_collections"} <= analysed


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_walk_along_a_repeated_array_value_meets_each_item_once(
    hubs: dict[str, EmbeddedRepository], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    walked_along = _recorded(monkeypatch, plan, "along")
    monkeypatch.setattr(plan, "cap", lambda *a, **k: 1)  # no driver is small enough: walk along 'tir'
    catalog = StacCatalog(hubs[kind].database)
    body = {
        "filter": "a_contains(instruments, ('tir')) AND gsd >= 10",
        "filter-lang": "cql2-text",
        "limit": 100,
    }
    pages = [_page(catalog, {**body, "token": token}) for token in (0, 100)]
    assert walked_along and walked_along[0].text == ("instruments", "tir")
    catalog.planned = False
    assert pages == [_page(catalog, {**body, "token": token}) for token in (0, 100)]
    found = pages[0] + pages[1]
    assert len(found) == len(set(found)) > 100  # every item once, over two pages


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_walk_along_a_text_value_tests_the_other_terms_on_the_walked_entry(
    hubs: dict[str, EmbeddedRepository], kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = _recorded(monkeypatch, item_query, "build")
    monkeypatch.setattr(plan, "cap", lambda *a, **k: 1)  # no driver is small enough: every search walks
    catalog = StacCatalog(hubs[kind].database)
    rng = random.Random(SEED + 1)
    filters = ["platform = 'landsat-8' AND eo:cloud_cover < 20"] + [_filter(rng) for _ in range(40)]
    planned = [_page(catalog, {"filter": f, "filter-lang": "cql2-text", "limit": 10}) for f in filters]
    sql = str(built[0][0].compile(dialect=hubs[kind].database.engine.dialect))
    # the platform term is the walk itself; the cloud cover probe reads the walked entry's item
    assert sql.count("EXISTS") == 1 and "stac_item_values.item_row_id = along.item_row_id" in sql
    catalog.planned = False
    assert planned == [
        _page(catalog, {"filter": f, "filter-lang": "cql2-text", "limit": 10}) for f in filters
    ]
    assert sum(map(len, planned)) > 100


def test_only_a_term_that_is_one_text_value_is_left_to_the_walk_along_it() -> None:
    def drivers(cql2: str, visible: Any = None) -> list[tuple[Any, bool]]:
        translation = translate(parse_filter(cql2), "sqlite", lambda k: True, visible)
        return [(d.text, d.exact) for d in translation.drivers]

    assert drivers("platform = 'x'") == [(("platform", "x"), True)]
    assert drivers("platform IN ('x')") == [(("platform", "x"), True)]
    assert drivers("a_contains(instruments, ('tir'))") == [(("instruments", "tir"), True)]
    # the walk along one member still tests the others; IN and A_EQUALS are more than one value
    assert drivers("a_contains(instruments, ('tir', 'sar'))") == [
        (("instruments", "tir"), False),
        (("instruments", "sar"), False),
    ]
    assert drivers("a_equals(instruments, ('tir'))") == [(("instruments", "tir"), False)]
    assert drivers("platform IN ('x', 'y')") == [(None, False)]
    assert drivers("gsd = 10") == [(None, False)]
    # a walk along the values reads every dataset's names: the visibility of eohub:trained_on is tested
    visible = select(RepositoryRow.id)
    assert drivers("\"eohub:trained_on\" = 'datasets/a'", visible) == [
        (("eohub:trained_on", "datasets/a"), False)
    ]
