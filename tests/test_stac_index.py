"""The search index and its queries on SQLite and on a real PostgreSQL server (eohub.search).

Repositories are ingested by the embedded repository (the normal commit path fills the index); the
catalog is then queried directly, as the STAC routes do.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import delete, func, select, text

from eohub.db.migrate import alembic_config, current_revision, head_revision, upgrade
from eohub.db.tables import StacCollectionRow, StacItemRow, StacValueRow
from eohub.errors import NotFoundError
from eohub.repository import EmbeddedRepository, open_embedded
from eohub.search import spatial
from eohub.search.catalog import Scope, StacCatalog
from eohub.search.cql2_parse import FilterError
from eohub.search.query import SearchRequest
from eohub.search.records import ItemRecord, flatten
from tests.test_stac_api import write_dataset, write_model


@pytest.fixture(params=["sqlite", "postgresql"])
def repo(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[EmbeddedRepository]:
    if request.param == "postgresql":
        monkeypatch.setenv("EOHUB_DATABASE_URL", request.getfixturevalue("postgres_url"))
    alice = open_embedded(user="alice")
    alice.ingest("dataset", write_dataset(tmp_path / "v1", "tiles", list(range(25))))
    alice.ingest("dataset", write_dataset(tmp_path / "v2", "tiles", list(range(24)), {0: 99.0}))
    alice.ingest(
        "model", write_model(tmp_path / "m1", "seg-s2", ["segmentation"], ["nir", "swir16"], "pytorch")
    )
    alice.ingest(
        "model", write_model(tmp_path / "m2", "cls-rgb", ["classification"], ["red", "green", "blue"])
    )
    bob = EmbeddedRepository(alice.database, alice.store, "bob")
    bob.ingest(
        "model", write_model(tmp_path / "m3", "hidden", ["segmentation"], ["nir", "swir16"]), private=True
    )
    yield alice
    alice.close()


def search(catalog: StacCatalog, scope: Scope | None = None, **params: str) -> list[str]:
    page = catalog.search(SearchRequest.from_params({"limit": "1000", **params}), scope)
    return sorted(f"{h.collection}/{h.item['id']}" for h in page.hits)


def tiles(*numbers: int) -> list[str]:
    return [f"datasets.tiles/tile-{n:02d}" for n in sorted(numbers)]


def test_array_and_nested_properties_in_one_query(repo: EmbeddedRepository) -> None:
    catalog = StacCatalog(repo.database)
    query = (
        "a_contains(\"mlm:tasks\", ('segmentation')) AND a_contains(\"mlm:input.bands\", ('nir', 'swir16'))"
    )
    assert search(catalog, filter=query) == ["models.seg-s2/model"]
    assert search(catalog, filter="\"mlm:framework\" = 'pytorch'") == ["models.seg-s2/model"]
    owner = StacCatalog(repo.database, "bob")
    assert search(owner, filter=query) == ["models.hidden/model", "models.seg-s2/model"]
    assert search(StacCatalog(repo.database, "carol", admin=True), filter=query) == search(
        owner, filter=query
    )


def test_comparisons_follow_cql2_on_both_databases(repo: EmbeddedRepository) -> None:
    catalog = StacCatalog(repo.database)
    scope = {"collections": "datasets.tiles"}
    assert search(catalog, filter="eo:cloud_cover >= 90", **scope) == tiles(0, 7, 15, 23)
    assert len(search(catalog, filter="mission LIKE 'sentinel%'", **scope)) == 12  # case-sensitive
    assert len(search(catalog, filter="mission LIKE 'Sentinel\\_2b'", **scope)) == 0  # escaped _
    assert len(search(catalog, filter="mission LIKE 'Sentinel_2b'", **scope)) == 12
    assert search(catalog, filter="NOT \"mlm:framework\" = 'x'", **scope) == []
    assert len(search(catalog, filter='"mlm:framework" IS NULL', **scope)) == 24
    assert len(search(catalog, filter="NOT (eo:cloud_cover < 50 OR mission = 'sentinel-2a')", **scope)) == 6
    assert search(catalog, filter="datetime >= TIMESTAMP('2024-08-18T00:00:00Z')", **scope) == tiles(23)
    assert search(catalog, filter="datetime < DATE('2024-01-02')", **scope) == tiles(0)


def test_bbox_datetime_and_exact_geometry(repo: EmbeddedRepository) -> None:
    catalog = StacCatalog(repo.database)
    scope = {"collections": "datasets.tiles"}
    assert search(catalog, bbox="4.8,42.8,5.5,43.5", **scope) == []  # tile-07's bbox, not its triangle
    assert search(catalog, bbox="4.0,42.0,4.2,42.2", **scope) == tiles(7)
    window = "2024-01-11T00:00:00Z/2024-01-31T00:00:00Z"
    assert search(catalog, datetime=window, **scope) == tiles(1, 2, 3)
    assert search(catalog, datetime="../2024-01-01T00:00:00Z", **scope) == tiles(0)
    assert search(catalog, bbox="179,-10,-179,10") == []  # crosses the antimeridian, nothing there


def test_paging_never_repeats_or_skips_with_exact_geometry(repo: EmbeddedRepository) -> None:
    catalog = StacCatalog(repo.database)
    seen: list[str] = []
    params = {"collections": "datasets.tiles", "intersects": '{"type": "Point", "coordinates": [4.9, 42.9]}'}
    assert search(catalog, **params) == []
    params = {"collections": "datasets.tiles", "bbox": "0,40,10,50", "limit": "3"}
    token = 0
    while True:
        page = catalog.search(SearchRequest.from_params({**params, "token": str(token)}))
        seen += [h.item["id"] for h in page.hits]
        if page.next_token is None:
            break
        token = page.next_token
    assert len(seen) == len(set(seen)) == 24


def test_versions_latest_by_default_and_older_on_request(repo: EmbeddedRepository) -> None:
    catalog = StacCatalog(repo.database)
    info = catalog.collection("datasets.tiles")
    assert (info.number, info.item_count, info.latest) == (2, 24, True)
    old = catalog.collection("datasets.tiles", 1)
    assert (old.number, old.item_count, old.latest) == (1, 25, False)
    assert len(search(catalog, Scope(info.repository_id, 1))) == 25
    assert catalog.item("datasets.tiles", "tile-00").item["properties"]["eo:cloud_cover"] == 99.0
    first = catalog.item("datasets.tiles", "tile-00", 1)
    assert (
        first.item["properties"]["eo:cloud_cover"] == 0.0
        and first.has_successor
        and not first.has_predecessor
    )
    with pytest.raises(NotFoundError):
        catalog.item("datasets.tiles", "tile-24")
    with pytest.raises(NotFoundError):
        catalog.collection("models.hidden")


def test_unknown_properties_and_sort_fields_are_errors(repo: EmbeddedRepository) -> None:
    catalog = StacCatalog(repo.database)
    with pytest.raises(FilterError, match="unknown property"):
        catalog.search(SearchRequest.from_params({"filter": "nothing_like_it = 1"}))
    with pytest.raises(FilterError, match="cannot sort"):
        catalog.search(SearchRequest.from_params({"sortby": "-nothing_like_it"}))
    ordered = catalog.search(
        SearchRequest.from_params(
            {"collections": "datasets.tiles", "sortby": "-eo:cloud_cover,id", "limit": "4"}
        )
    )
    assert [h.item["id"] for h in ordered.hits] == ["tile-00", "tile-23", "tile-15", "tile-07"]


def _count(repo: EmbeddedRepository, table: type) -> int:
    with repo.database.sessions() as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def test_delete_removes_index_rows_and_backfill_restores_them(repo: EmbeddedRepository) -> None:
    before = _count(repo, StacItemRow)
    assert before == 25 + 24 + 2 + 1
    repo.delete("model", "seg-s2")
    assert _count(repo, StacItemRow) == before - 1
    with repo.database.sessions() as s:
        assert spatial.in_step(s)
    with repo.database.sessions.begin() as s:  # a database from before the index: no rows at all
        s.execute(delete(StacValueRow))
        s.execute(delete(StacItemRow))
        s.execute(delete(StacCollectionRow))
        if repo.database.engine.dialect.name == "sqlite":
            s.execute(spatial.RTREE.delete())
    catalog = StacCatalog(repo.database)  # the first catalog on a database indexes what is missing
    assert _count(repo, StacItemRow) == before - 1
    with repo.database.sessions() as s:
        assert spatial.in_step(s)
    assert search(catalog, filter="eo:cloud_cover >= 90", collections="datasets.tiles") == tiles(0, 7, 15, 23)


def test_flattening_arrays_objects_and_instants() -> None:
    values = flatten(
        {
            "mlm:input": [{"name": "in", "bands": ["B04", {"name": "B08"}]}],
            "ok": True,
            "when": "2024-01-01T00:00:00Z",
            "skip": None,
        }
    )
    assert ("mlm:input.bands", "B04", None) in values and ("mlm:input.bands", "B08", None) in values
    assert ("ok", "true", None) in values and ("when", "2024-01-01T00:00:00Z", 1704067200.0) in values
    assert not [v for v in values if v[0] == "skip"]
    record = ItemRecord.from_item(
        {"id": "x", "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": {"datetime": None}}
    )
    assert (record.bbox, record.rect, record.start) == ([1.0, 2.0, 1.0, 2.0], True, None)


def test_migration_0007_indexes_the_boxes_of_items_indexed_before_it(repo: EmbeddedRepository) -> None:
    catalog = StacCatalog(repo.database)
    before = search(catalog, bbox="-180,-90,180,90")
    with repo.database.engine.begin() as connection:  # back to the schema without the spatial index
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    upgrade(repo.database.engine)
    with repo.database.sessions() as s:
        assert spatial.in_step(s)
        assert s.scalar(select(func.count()).select_from(StacItemRow)) > 0
    assert search(StacCatalog(repo.database), bbox="-180,-90,180,90") == before
    assert search(StacCatalog(repo.database), bbox="0,0,1,1") == search(catalog, bbox="0,0,1,1")
    assert current_revision(repo.database.engine) == head_revision()


def test_migration_0009_gives_values_their_item_time_and_keeps_each_value_once(
    repo: EmbeddedRepository,
) -> None:
    catalog = StacCatalog(repo.database)
    before = search(catalog, filter="mission = 'Sentinel-2b'")
    with repo.database.engine.begin() as connection:  # back to the values without time, one repeated
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
        connection.execute(
            text(
                "INSERT INTO stac_item_values (item_row_id, key, text, num) "
                "SELECT item_row_id, key, text, num FROM stac_item_values WHERE key = 'mission'"
            )
        )
    upgrade(repo.database.engine)
    with repo.database.sessions() as s:
        values = s.execute(
            select(StacValueRow.item_row_id, StacValueRow.key, StacValueRow.text, StacValueRow.num)
        ).all()
        assert len(values) == len(set(values)) > 0
        times = (
            select(func.count())
            .select_from(StacValueRow)
            .join(StacItemRow, StacItemRow.id == StacValueRow.item_row_id)
        )
        assert s.scalar(times.where(StacValueRow.t_start == StacItemRow.t_start)) == s.scalar(times)
    assert before and search(StacCatalog(repo.database), filter="mission = 'Sentinel-2b'") == before
    assert current_revision(repo.database.engine) == head_revision()
