"""What one geometry may cost (red-team findings 05 and 09): a search's ``intersects`` and an item's
footprint are bounded in positions, a STAC document in bytes, one search page in the items it tests
exactly (a short page with a next link, never a scan of the whole hub), and a footprint map in the
points it draws."""

from __future__ import annotations

import math
from pathlib import Path

import httpx
import pytest

from eohub.config import Limits
from eohub.core.geometry import positions
from eohub.repository import open_embedded
from eohub.search.catalog import StacCatalog
from eohub.search.query import SearchRequest
from eohub.server.web.footprints import footprint_map
from tests.hub_server import HubServer
from tests.test_stac_api import write_dataset

from .attacks import commit, entry, upload


def _ring(points: int, radius: float = 10.0, lat_radius: float | None = None) -> list[list[float]]:
    lat_radius = radius if lat_radius is None else lat_radius
    ring = [
        [math.cos(2 * math.pi * i / points) * radius, math.sin(2 * math.pi * i / points) * lat_radius]
        for i in range(points)
    ]
    return ring + [ring[0]]


def test_positions_are_counted_without_recursion():
    polygon = {"type": "Polygon", "coordinates": [_ring(100)]}
    assert positions(polygon, 10_000) == 101
    collection = {
        "type": "GeometryCollection",
        "geometries": [polygon, {"type": "Point", "coordinates": [1, 2]}],
    }
    assert positions(collection, 10_000) == 102
    assert positions({"type": "Polygon", "coordinates": [_ring(50_000)]}, 1000) == 1001
    assert positions("not a geometry", 10) == 0


def test_a_search_geometry_with_too_many_positions_is_a_400(sqlite_hub: HubServer):
    ring = {"type": "Polygon", "coordinates": [_ring(20_000)]}  # 600 kB: under the body bound
    answer = httpx.post(f"{sqlite_hub.url}/stac/search", json={"intersects": ring}, timeout=60)
    assert answer.status_code == 400
    assert "max_geometry_points" in answer.json()["detail"]
    cql2 = {
        "filter-lang": "cql2-json",
        "filter": {"op": "s_intersects", "args": [{"property": "geometry"}, ring]},
    }
    answer = httpx.post(f"{sqlite_hub.url}/stac/search", json=cql2, timeout=60)
    assert answer.status_code == 400
    assert "max_filter_chars" in answer.json()["detail"]  # a filter's geometry is bounded by its length


def test_a_stored_footprint_with_too_many_positions_is_refused(sqlite_hub: HubServer):
    data = b"tile"
    assert upload(sqlite_hub, "bob", data).status_code == 200
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "big",
        "geometry": {"type": "Polygon", "coordinates": [_ring(20_000)]},
        "bbox": [-10, -10, 10, 10],
        "properties": {"datetime": "2020-01-01T00:00:00Z"},
        "links": [],
        "assets": {"data": {"href": "./tile.bin"}},
    }
    answer = commit(sqlite_hub, "bob", "Big-Footprint", [entry(data, "big/tile.bin")], {"big/big.json": item})
    assert answer.status_code == 422
    assert "EOHUB_MAX_GEOMETRY_POINTS" in answer.json()["detail"]
    item["geometry"] = None
    item["properties"]["description"] = "x" * (3 * 1024 * 1024)
    answer = commit(sqlite_hub, "bob", "Big-Document", [entry(data, "big/tile.bin")], {"big/big.json": item})
    assert answer.status_code in (413, 422)  # the body bound or the document bound, both named
    assert "EOHUB_MAX" in answer.json()["detail"] or "max_" in answer.json()["detail"]


def test_one_search_page_tests_a_bounded_number_of_items(tmp_path: Path):
    with open_embedded(user="alice") as alice:
        alice.ingest("dataset", write_dataset(tmp_path / "d", "tiles", list(range(25))))
        catalog = StacCatalog(alice.database, limits=Limits(max_search_examined=10))
        # a thin band around every tile, touching none: each bbox meets its bbox, no footprint meets it
        far_ring = {
            "type": "Polygon",
            "coordinates": [_ring(400, 170.0, 80.0), _ring(400, 169.0, 79.0)[::-1]],
        }
        request = SearchRequest.from_body({"intersects": far_ring, "limit": 5})
        page = catalog.search(request)
        assert page.hits == [] and page.next_token == 10  # a short page that says where to go on
        tokens, hits = [page.next_token], 0
        while tokens[-1] is not None:
            request.token = tokens[-1]
            page = catalog.search(request)
            hits += len(page.hits)
            tokens.append(page.next_token)
        assert tokens[:2] == [10, 20] and tokens[-1] is None and len(tokens) <= 5
        assert hits == 0


@pytest.mark.parametrize("vertices", [1_000_000])
def test_a_footprint_map_draws_a_bounded_number_of_points(vertices: int):
    item = {"id": "big", "geometry": {"type": "Polygon", "coordinates": [_ring(vertices)]}}
    drawn = footprint_map([item])
    assert drawn is not None and len(str(drawn.svg)) < 50_000
