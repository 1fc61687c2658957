"""The STAC API (/stac) against a real hub, through pystac-client and plain HTTP.

One hub for the module: models and datasets ingested over HTTP by their owners (so the index is filled
by the normal commit path), a dataset with two versions, and a private model of another user.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pystac
import pytest
from pystac_client import Client

from eohub.client import RemoteRepository
from eohub.demo import make_classifier
from eohub.mlm.build import build_item
from eohub.mlm.validate import validate_data
from tests.hub_server import InProcessHub

README = (
    "---\nname: {name}\nauthors: [Jane Doe]\nlicense: CC-BY-4.0\nsource: {source}\ntags: [test]\n"
    "---\n{body}\n"
)
EO = "https://stac-extensions.github.io/eo/v1.1.0/schema.json"
START = datetime(2024, 1, 1, tzinfo=UTC)
GRID = [(float(2 * col), float(40 + 2 * row)) for row in range(5) for col in range(5)]  # 25 tiles of 1 degree


def write_model(
    folder: Path,
    name: str,
    tasks: list[str],
    bands: list[str],
    framework: str = "onnx",
    source: str = "https://example.org/model",
    extra: dict[str, Any] | None = None,
) -> Path:
    """A model folder: README, an ONNX classifier, and a catalog with its MLM item over Europe."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(README.format(name=name, source=source, body=f"The model {name}."))
    model = make_classifier(folder / "model.onnx", bands=len(bands), classes=2, size=None, seed=len(name))
    item = build_item(
        model,
        name=f"model {name}",
        tasks=tasks,
        bands=bands,
        item_id="model",
        href="../model.onnx",
        created=START,
    )
    item.geometry = {
        "type": "Polygon",
        "coordinates": [[[-10, 35], [30, 35], [30, 60], [-10, 60], [-10, 35]]],
    }
    item.bbox = [-10.0, 35.0, 30.0, 60.0]
    item.properties["mlm:framework"] = framework
    item.properties.update(extra or {})
    catalog = pystac.Catalog(id=name, description=f"catalog of {name}")
    catalog.add_item(item)
    catalog.normalize_hrefs(str(folder))
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    return folder


def tile_item(index: int, west: float, south: float, cloud: float | None = None) -> pystac.Item:
    """A 1-degree tile; tile 7 is a triangle (its bbox is not its geometry)."""
    ring = [[west, south], [west + 1, south], [west + 1, south + 1], [west, south + 1], [west, south]]
    if index == 7:
        ring = [[west, south], [west + 1, south], [west, south + 1], [west, south]]
    item = pystac.Item(
        id=f"tile-{index:02d}",
        geometry={"type": "Polygon", "coordinates": [ring]},
        bbox=[west, south, west + 1, south + 1],
        datetime=START + timedelta(days=10 * index),
        properties={
            "eo:cloud_cover": float((index * 13) % 100) if cloud is None else cloud,
            "mission": "sentinel-2a" if index % 2 == 0 else "Sentinel-2b",
            "instruments": ["msi", "tir"] if index % 3 == 0 else ["msi"],
        },
        stac_extensions=[EO],
    )
    item.add_asset("data", pystac.Asset(f"{item.id}.txt", media_type="text/plain", roles=["data"]))
    return item


def write_dataset(
    folder: Path, name: str, tiles: list[int], changed: dict[int, float] | None = None, source: str = ""
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    source = source or "https://example.org/dataset"
    (folder / "README.md").write_text(README.format(name=name, source=source, body=f"The dataset {name}."))
    catalog = pystac.Catalog(id=name, description=f"catalog of {name}")
    collection = pystac.Collection(
        id="tiles",
        description="tiles",
        extent=pystac.Extent(
            pystac.SpatialExtent([[-180, -90, 180, 90]]), pystac.TemporalExtent([[START, None]])
        ),
        license="CC-BY-4.0",
    )
    catalog.add_child(collection)
    for index in tiles:
        west, south = GRID[index]
        collection.add_item(tile_item(index, west, south, (changed or {}).get(index)))
    catalog.normalize_hrefs(str(folder))
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    for index in tiles:
        (folder / "tiles" / f"tile-{index:02d}" / f"tile-{index:02d}.txt").write_text(f"tile {index}\n")
    return folder


@dataclass
class Hub:
    url: str
    hub: InProcessHub

    @property
    def stac(self) -> str:
        return f"{self.url}/stac"

    def headers(self, user: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.hub.token(user)}"} if user else {}

    def get(self, path: str, user: str | None = None, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.stac}{path}", params=params, headers=self.headers(user), timeout=30)

    def post(self, path: str, body: Any, user: str | None = None) -> httpx.Response:
        return httpx.post(f"{self.stac}{path}", json=body, headers=self.headers(user), timeout=30)


def populate(hub: InProcessHub, root: Path, source: str = "") -> None:
    alice = RemoteRepository(hub.url, hub.token("alice"))
    bob = RemoteRepository(hub.url, hub.token("bob"))
    src = {"source": source} if source else {}
    alice.ingest("dataset", write_dataset(root / "tiles-v1", "tiles", list(range(25)), **src))
    alice.ingest("dataset", write_dataset(root / "tiles-v2", "tiles", list(range(24)), {0: 99.0}, **src))
    alice.ingest(
        "model",
        write_model(root / "seg-s2", "seg-s2", ["segmentation"], ["nir", "swir16", "red"], "pytorch", **src),
    )
    alice.ingest(
        "model", write_model(root / "seg-rgb", "seg-rgb", ["segmentation"], ["red", "green", "blue"], **src)
    )
    alice.ingest(
        "model", write_model(root / "cls-s2", "cls-s2", ["classification"], ["nir", "swir16"], **src)
    )
    bob.ingest(
        "model",
        write_model(
            root / "secret",
            "secret-seg",
            ["segmentation"],
            ["nir", "swir16"],
            extra={"secret:codename": "falcon"},
            **src,
        ),
        private=True,
    )


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    server = InProcessHub(tmp_path_factory.mktemp("stac-hub")).start()
    populate(server, tmp_path_factory.mktemp("stac-data"))
    yield Hub(server.url, server)
    server.stop()


PUBLIC = {"datasets.tiles", "models.seg-s2", "models.seg-rgb", "models.cls-s2"}


def ids(items: Any) -> list[str]:
    return [i.id if hasattr(i, "id") else i["id"] for i in items]


# --- pystac-client ------------------------------------------------------------------------------------


def test_pystac_client_opens_the_api_and_lists_one_collection_per_repository(hub: Hub) -> None:
    client = Client.open(hub.stac)
    assert {c.id for c in client.get_collections()} == PUBLIC
    tiles = client.get_collection("datasets.tiles")
    assert tiles.extent.spatial.bboxes == [[0.0, 40.0, 9.0, 49.0]]  # the 24 tiles of the latest version
    start, end = tiles.extent.temporal.intervals[0]
    assert (start, end) == (START, START + timedelta(days=230))
    assert tiles.summaries.lists["mission"] == ["Sentinel-2b", "sentinel-2a"]
    assert tiles.summaries.lists["instruments"] == ["msi", "tir"]
    cloud = tiles.summaries.get_range("eo:cloud_cover")
    assert (cloud.minimum, cloud.maximum) == (4.0, 99.0)
    model = client.get_collection("models.seg-s2")
    assert model.summaries.lists["mlm:tasks"] == ["segmentation"]
    assert model.summaries.lists["mlm:framework"] == ["pytorch"]
    assert model.summaries.lists["mlm:input.bands"] == ["nir", "red", "swir16"]


def test_pystac_client_search_by_bbox_datetime_and_collections(hub: Hub) -> None:
    client = Client.open(hub.stac)
    found = client.search(bbox=[2.5, 40.5, 4.5, 42.5], collections=["datasets.tiles"]).items()
    assert sorted(ids(found)) == ["tile-01", "tile-02", "tile-06", "tile-07"]
    corner = client.search(bbox=[4.8, 42.8, 5.5, 43.5], collections=["datasets.tiles"]).items()
    assert ids(corner) == []  # inside tile-07's bbox, outside its triangle
    window = client.search(
        datetime="2024-01-11T00:00:00Z/2024-01-31T00:00:00Z", collections=["datasets.tiles"]
    )
    assert sorted(ids(window.items())) == ["tile-01", "tile-02", "tile-03"]
    models = client.search(collections=["models.seg-s2", "models.cls-s2"])
    assert sorted(i.collection_id for i in models.items()) == ["models.cls-s2", "models.seg-s2"]


def test_pystac_client_filter_text_and_json_with_array_and_nested_properties(hub: Hub) -> None:
    client = Client.open(hub.stac)
    text = "\"mlm:tasks\" = 'segmentation' AND a_contains(\"mlm:input.bands\", ('nir', 'swir16'))"
    assert [i.collection_id for i in client.search(filter=text, filter_lang="cql2-text").items()] == [
        "models.seg-s2"
    ]
    as_json = {
        "op": "and",
        "args": [
            {"op": "a_contains", "args": [{"property": "mlm:tasks"}, ["segmentation"]]},
            {"op": "=", "args": [{"property": "mlm:framework"}, "onnx"]},
        ],
    }
    assert [i.collection_id for i in client.search(filter=as_json).items()] == ["models.seg-rgb"]
    cloudy = client.search(
        filter="eo:cloud_cover >= 90", collections=["datasets.tiles"], filter_lang="cql2-text"
    )
    assert sorted(ids(cloudy.items())) == ["tile-00", "tile-07", "tile-15", "tile-23"]  # tile-00: 99 in v2


def test_pystac_client_pages_through_every_item(hub: Hub) -> None:
    search = Client.open(hub.stac).search(collections=["datasets.tiles"], limit=5)
    pages = list(search.pages_as_dicts())
    assert [len(p["features"]) for p in pages] == [5, 5, 5, 5, 4]
    every = [f["id"] for p in pages for f in p["features"]]
    assert sorted(every) == [f"tile-{i:02d}" for i in range(24)]
    get = Client.open(hub.stac).search(collections=["datasets.tiles"], limit=7, method="GET")
    assert sorted(ids(get.items())) == sorted(every)


# --- endpoints --------------------------------------------------------------------------------------


def test_landing_page_links_and_conformance(hub: Hub) -> None:
    landing = hub.get("").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "root", "conformance", "data", "search", "service-desc"} <= rels
    conformance = hub.get("/conformance").json()["conformsTo"]
    assert conformance == landing["conformsTo"]
    assert "https://api.stacspec.org/v1.0.0/item-search#filter" in conformance
    assert "http://www.opengis.net/spec/cql2/1.0/conf/array-functions" in conformance
    assert not any("spatial-functions" in c or "temporal" in c for c in conformance)  # not implemented
    assert hub.get("/api").headers["content-type"].startswith("application/vnd.oai.openapi+json")


def test_items_endpoint_pages_with_limit_bbox_and_datetime(hub: Hub) -> None:
    first = hub.get("/collections/datasets.tiles/items", limit=10).json()
    assert len(first["features"]) == 10
    assert first["features"][0]["id"] == "tile-23"  # newest first
    nxt = next(link for link in first["links"] if link["rel"] == "next")
    second = httpx.get(nxt["href"]).json()
    assert not {f["id"] for f in first["features"]} & {f["id"] for f in second["features"]}
    boxed = hub.get(
        "/collections/datasets.tiles/items", bbox="0,40,2.5,42.5", datetime="2024-01-01T00:00:00Z/.."
    )
    assert sorted(ids(boxed.json()["features"])) == ["tile-00", "tile-01", "tile-05", "tile-06"]


def test_single_item_and_missing_ones(hub: Hub) -> None:
    item = hub.get("/collections/datasets.tiles/items/tile-03").json()
    assert item["id"] == "tile-03" and item["collection"] == "datasets.tiles"
    assert hub.get("/collections/datasets.tiles/items/tile-24").status_code == 404  # only in version 1
    assert hub.get("/collections/datasets.tiles/items/nope").status_code == 404
    assert hub.get("/collections/models.nope").status_code == 404
    assert hub.get("/collections/nope").status_code == 404


def test_latest_version_by_default_and_any_version_with_links(hub: Hub) -> None:
    latest = hub.get("/collections/datasets.tiles/items/tile-00").json()
    assert latest["properties"]["eo:cloud_cover"] == 99.0 and latest["properties"]["version"] == "2"
    rels = {link["rel"]: link["href"] for link in latest["links"]}
    assert "successor-version" not in rels
    old = httpx.get(rels["predecessor-version"]).json()
    assert old["properties"]["eo:cloud_cover"] == 0.0 and old["properties"]["version"] == "1"
    old_rels = {link["rel"]: link["href"] for link in old["links"]}
    assert old_rels["latest-version"] == rels["self"]
    assert httpx.get(old_rels["successor-version"]).json()["properties"]["eo:cloud_cover"] == 99.0
    v1 = hub.get("/collections/datasets.tiles/items", version=1, limit=100).json()
    assert len(v1["features"]) == 25
    collection = hub.get("/collections/datasets.tiles", version=1).json()
    assert collection["version"] == "1" and collection["extent"]["spatial"]["bbox"] == [
        [0.0, 40.0, 9.0, 49.0]
    ]
    assert {link["rel"] for link in collection["links"]} >= {"latest-version", "successor-version"}
    assert hub.get("/collections/datasets.tiles", version=3).status_code == 404


def test_asset_hrefs_download_from_the_hub(hub: Hub) -> None:
    item = hub.get("/collections/datasets.tiles/items/tile-04").json()
    href = item["assets"]["data"]["href"]
    assert href == f"{hub.url}/api/datasets/tiles/versions/2/files/tiles/tile-04/tile-04.txt"
    assert httpx.get(href).text == "tile 4\n"
    assert httpx.get(href, headers={"Range": "bytes=0-3"}).text == "tile"
    model = hub.get("/collections/models.seg-s2/items/model").json()
    download = httpx.get(model["assets"]["model"]["href"])
    assert download.status_code == 200 and len(download.content) == model["assets"]["model"]["file:size"]


def test_private_repository_is_invisible_to_others(hub: Hub) -> None:
    for user in (None, "alice"):
        listed = {c["id"] for c in hub.get("/collections", user).json()["collections"]}
        assert listed == PUBLIC
        assert hub.get("/collections/models.secret-seg", user).status_code == 404
        assert hub.get("/collections/models.secret-seg/items/model", user).status_code == 404
        found = hub.get("/search", user, filter="\"mlm:tasks\" = 'segmentation'", limit=100).json()
        assert "models.secret-seg" not in {f["collection"] for f in found["features"]}
        assert "secret:codename" not in hub.get("/queryables", user).json()["properties"]
        assert hub.get("/search", user, filter="\"secret:codename\" = 'falcon'").status_code == 400
    own = hub.get("/collections/models.secret-seg/items/model", "bob").json()
    href = own["assets"]["model"]["href"]
    assert httpx.get(href).status_code == 404
    assert httpx.get(href, headers=hub.headers("bob")).status_code == 200
    mine = hub.get("/search", "bob", filter="\"secret:codename\" = 'falcon'").json()
    assert [f["collection"] for f in mine["features"]] == ["models.secret-seg"]


def test_search_post_with_intersects_ids_sortby_and_paging_body(hub: Hub) -> None:
    tiles = ["datasets.tiles"]
    corner = {"type": "Point", "coordinates": [4.9, 42.9]}  # inside tile-07's bbox, outside its triangle
    assert hub.post("/search", {"intersects": corner, "collections": tiles}).json()["features"] == []
    inside = {"type": "Point", "coordinates": [4.1, 42.1]}
    assert ids(hub.post("/search", {"intersects": inside, "collections": tiles}).json()["features"]) == [
        "tile-07"
    ]
    everything = ids(hub.post("/search", {"intersects": inside}).json()["features"])
    assert sorted(everything) == ["model", "model", "model", "tile-07"]  # the models cover Europe
    picked = hub.post("/search", {"ids": ["tile-01", "tile-02", "model"], "collections": ["datasets.tiles"]})
    assert sorted(ids(picked.json()["features"])) == ["tile-01", "tile-02"]
    by_cloud = hub.post(
        "/search",
        {
            "collections": ["datasets.tiles"],
            "sortby": [{"field": "eo:cloud_cover", "direction": "desc"}],
            "limit": 3,
        },
    ).json()
    assert [f["properties"]["eo:cloud_cover"] for f in by_cloud["features"]] == [99.0, 99.0, 95.0]
    nxt = next(link for link in by_cloud["links"] if link["rel"] == "next")
    assert nxt["method"] == "POST" and nxt["body"]["token"]
    page2 = httpx.post(nxt["href"], json=nxt["body"]).json()
    assert [f["properties"]["eo:cloud_cover"] for f in page2["features"]] == [91.0, 86.0, 82.0]
    ascending = hub.get("/search", collections="datasets.tiles", sortby="+id", limit=2).json()
    assert ids(ascending["features"]) == ["tile-00", "tile-01"]


def test_cql2_semantics_like_in_between_not_and_arrays(hub: Hub) -> None:
    def found(text: str) -> list[str]:
        response = hub.get("/search", collections="datasets.tiles", filter=text, limit=100)
        assert response.status_code == 200, response.text
        return sorted(ids(response.json()["features"]))

    assert len(found("mission LIKE 'sentinel%'")) == 12  # case-sensitive: not 'Sentinel-2b'
    assert found("mission IN ('nope', 'Sentinel-2b') AND eo:cloud_cover BETWEEN 40 AND 60") == [
        "tile-11",
        "tile-19",
    ]
    assert len(found("a_contains(instruments, ('tir'))")) == 8
    assert len(found("NOT a_contains(instruments, ('tir'))")) == 16
    assert len(found("a_containedBy(instruments, ('msi'))")) == 16
    assert len(found("a_equals(instruments, ('tir', 'msi'))")) == 8
    assert len(found("a_overlaps(instruments, ('tir', 'x'))")) == 8
    assert len(found('"mlm:framework" IS NULL')) == 24  # a known key, absent from every tile
    assert found("NOT \"mlm:framework\" = 'onnx'") == []  # unknown (absent) stays unknown under NOT
    assert found("id = 'tile-03' OR (datetime > TIMESTAMP('2024-08-10T00:00:00Z'))") == ["tile-03", "tile-23"]
    assert found("s_intersects(geometry, bbox(4.8, 42.8, 5.5, 43.5))") == []  # tile-07's bbox, not its shape
    assert found("s_intersects(geometry, bbox(3.5, 41.5, 4.2, 42.2)) AND eo:cloud_cover < 100") == ["tile-07"]


def test_bad_queries_are_400_with_the_reason(hub: Hub) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"filter": "eo:cloud_cover >"}, "expected"),
        ({"filter": '{"op": "=", "args": [1]}', "filter-lang": "cql2-json"}, "not valid"),
        ({"filter": "nope:nothing = 1"}, "unknown property 'nope:nothing'"),
        ({"filter": "casei(mission) = 'x'"}, "casei"),
        ({"filter": "eo:cloud_cover = mission"}, "another property"),
        ({"bbox": "1,2,3"}, "4 or 6"),
        ({"bbox": "0,10,1,5"}, "south"),
        ({"datetime": "2024-13-01T00:00:00Z"}, "RFC 3339"),
        ({"datetime": "2024-02-01T00:00:00Z/2024-01-01T00:00:00Z"}, "ends before"),
        ({"datetime": "../.."}, "at least one end"),
        ({"bbox": "0,0,1,1", "intersects": '{"type": "Point", "coordinates": [0, 0]}'}, "not both"),
        ({"intersects": '{"type": "Polygon", "coordinates": [[1]]}'}, "GeoJSON"),
        ({"limit": "0"}, "at least 1"),
        ({"token": "x"}, "token"),
        ({"sortby": "nope"}, "cannot sort"),
        ({"filter": "x = 1", "filter-lang": "sql"}, "filter-lang"),
    ]
    for params, reason in cases:
        response = hub.get("/search", **params)
        assert response.status_code == 400, (params, response.text)
        assert reason in response.json()["detail"], (params, response.json())
    bad_body = hub.post("/search", {"bbox": "0,0,1,1"})
    assert bad_body.status_code == 400 and "array" in bad_body.json()["detail"]
    assert hub.get("/collections/datasets.tiles/items", filter="eo:cloud_cover <").status_code == 400
    assert hub.get("/search", limit="100000").status_code == 200  # above the maximum: served as the maximum


def _served(hub: Hub, user: str | None = None) -> Iterator[dict[str, Any]]:
    yield hub.get("", user).json()
    for collection in hub.get("/collections", user).json()["collections"]:
        yield collection
        yield hub.get(f"/collections/{collection['id']}", user).json()
        yield hub.get(f"/collections/{collection['id']}", user, version=1).json()
        for version in (None, 1):
            params = {"limit": 100} if version is None else {"limit": 100, "version": version}
            yield from hub.get(f"/collections/{collection['id']}/items", user, **params).json()["features"]
    yield from hub.get("/search", user, limit=100).json()["features"]


def test_everything_served_validates_with_the_project_validator(hub: Hub) -> None:
    count = 0
    for user in (None, "bob"):
        for document in _served(hub, user):
            report = validate_data(document, f"{document.get('type')} {document.get('id')}")
            assert report.ok, [f.to_dict() for f in report.findings if f.severity.value == "error"]
            count += 1
    assert count > 100


def test_deleting_a_repository_removes_it_from_search(hub: Hub, tmp_path: Path) -> None:
    alice = RemoteRepository(hub.url, hub.hub.token("alice"))
    alice.ingest("model", write_model(tmp_path / "gone", "gone-soon", ["detection"], ["red"]))
    assert ids(hub.get("/search", filter="\"mlm:tasks\" = 'detection'").json()["features"]) == ["model"]
    alice.delete("model", "gone-soon")
    assert hub.get("/search", filter="\"mlm:tasks\" = 'detection'").json()["features"] == []
    assert hub.get("/collections/models.gone-soon").status_code == 404


def test_served_item_json_round_trips_through_pystac(hub: Hub) -> None:
    body = hub.get("/collections/models.cls-s2/items/model").json()
    item = pystac.Item.from_dict(body)
    assert item.properties["mlm:tasks"] == ["classification"]
    assert json.loads(json.dumps(item.to_dict()))["collection"] == "models.cls-s2"
