"""The web pages' building blocks without a server: repository search, footprint maps, model cards,
version comparison and README sanitising."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from urllib.parse import quote

import pytest
import shapely
from shapely import Point

from eohub.core.readme import ReadmeMetadata
from eohub.repository import FileEntry, Manifest, RepositoryInfo, VersionInfo
from eohub.repository.search import SearchQuery, facets, matches, search
from eohub.server.web import basemap
from eohub.server.web.card import model_card
from eohub.server.web.compare import compare
from eohub.server.web.footprints import MAX_POINTS, MAX_TOTAL_POINTS, footprint_map
from eohub.server.web.mapsvg import graticule
from eohub.server.web.mapview import ASPECT, LON_SPACING, MIN_SPAN, fit, lat_label, lon_label
from eohub.server.web.markdown import render_markdown

START = datetime(2026, 1, 1, tzinfo=UTC)


def info(
    name: str, kind: str = "model", level: int = 1, days: int = 0, **summary: list[str]
) -> RepositoryInfo:
    version = VersionInfo(1, START, level, summary={k: list(v) for k, v in summary.items()})
    return RepositoryInfo(
        kind,
        name,
        "alice",
        False,
        ReadmeMetadata(name=name, tags=["eo"]),
        START,
        START + timedelta(days),
        version,
    )


class Listing:
    """A stand-in repository: ``list`` is all that search uses."""

    def __init__(self, infos: list[RepositoryInfo]) -> None:
        self.infos = infos
        self.asked: list[str] = []

    def list(self, kind: str, name: str | None = None, limit: int | None = None) -> list[RepositoryInfo]:
        self.asked.append(kind)
        return [i for i in self.infos if i.kind == kind]


def test_search_pages_newest_first_and_clamps_the_page() -> None:
    repo = Listing([info(f"model-{i}", days=i) for i in range(5)])
    first = search(repo, SearchQuery(per_page=2))  # type: ignore[arg-type]
    assert [r.name for r in first.results] == ["model-4", "model-3"]
    assert (first.total, first.pages, first.has_previous, first.has_next) == (5, 3, False, True)
    last = search(repo, SearchQuery(per_page=2, page=99))  # type: ignore[arg-type]
    assert last.page == 3 and [r.name for r in last.results] == ["model-0"]
    by_name = search(repo, SearchQuery(sort="name", kind="model"))  # type: ignore[arg-type]
    assert [r.name for r in by_name.results] == [f"model-{i}" for i in range(5)]
    assert repo.asked[-1:] == ["model"]


def test_filters_ignore_case_and_need_every_band() -> None:
    found = info("s2", tasks=["Classification"], frameworks=["ONNX"], bands=["B04", "B08"])
    assert matches(found, SearchQuery(task="classification", framework="onnx", bands=("b08", "B04")))
    assert not matches(found, SearchQuery(bands=("B04", "B11")))
    assert not matches(found, SearchQuery(min_quality=2))
    assert matches(found, SearchQuery(text="S2 eo"))  # name and tag
    assert not matches(found, SearchQuery(text="s2 sar"))
    bare = RepositoryInfo("model", "bare", "bob", False, ReadmeMetadata(), START, START, None)
    assert matches(bare, SearchQuery()) and not matches(bare, SearchQuery(min_quality=0))
    assert matches(found, SearchQuery(owner="alice")) and not matches(found, SearchQuery(owner="bob"))


def test_facets_keep_one_spelling_per_value() -> None:
    values = facets([info("a", frameworks=["ONNX"]), info("b", frameworks=["onnx", "PyTorch"])])
    assert values["frameworks"] == ["ONNX", "PyTorch"]


def test_footprints_draw_points_multipolygons_and_bboxes() -> None:
    square = [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]
    drawn = footprint_map(
        [
            {"id": "p", "geometry": {"type": "Point", "coordinates": [2, 2]}},
            {"id": "m<x>", "geometry": {"type": "MultiPolygon", "coordinates": [square, square]}},
            {"id": "b", "geometry": None, "bbox": [3, 3, 4, 4]},
            {"id": "none", "geometry": None},
        ]
    )
    assert drawn is not None
    assert (drawn.shown, drawn.bounds) == (3, (0.0, 0.0, 4.0, 4.0))
    assert drawn.svg.count('<circle class="map-point"') == 1
    assert drawn.svg.count('<path class="map-area"') == 3
    assert "<title>m&lt;x&gt;</title>" in drawn.svg  # ids are escaped
    assert footprint_map([{"id": "x", "geometry": None}]) is None


def tile(item_id: str, west: float, south: float, size: float = 1.0) -> dict[str, Any]:
    return {"id": item_id, "bbox": [west, south, west + size, south + size]}


DEMO_TILES = [tile("tile-0", 5, 45), tile("tile-1", 10, 47), tile("tile-2", 15, 50)]


def test_a_view_fits_the_footprints_with_room_and_keeps_their_proportions() -> None:
    view = fit(5, 45, 16, 51)
    assert view.west < 5 and view.east > 16 and view.south < 45 and view.north > 51
    assert view.east - view.west < 11 * 1.5 and view.north - view.south < 6 * 1.5
    low, high = ASPECT
    assert low <= view.height / view.width <= high
    # a degree of longitude is cos(48°) of a degree of latitude, in the middle of the view
    assert view.x_scale / view.y_scale == pytest.approx(math.cos(math.radians(48)), rel=0.01)
    assert (view.x(view.west), view.y(view.north)) == (0, 0)
    assert (view.x(view.east), view.y(view.south)) == (pytest.approx(view.width), pytest.approx(view.height))


def test_a_point_gets_its_surroundings_and_the_globe_bounds_the_view() -> None:
    point = fit(13.4, 52.5, 13.4, 52.5)
    assert point.north - point.south >= MIN_SPAN and point.west < 13.4 < point.east
    world = fit(-180, -90, 180, 90)
    assert (world.west, world.south, world.east, world.north) == (-180, -90, 180, 90)
    assert world.height * 2 == world.width
    arctic = fit(-60, 70, 30, 90)
    assert arctic.north == 90 and arctic.south < 70


@pytest.mark.parametrize(
    ("label", "value", "step", "text"),
    [
        (lon_label, -120, 30, "120°W"),
        (lon_label, 190, 5, "170°W"),  # past the antimeridian
        (lon_label, 180, 30, "180°"),
        (lon_label, -180, 30, "180°"),
        (lon_label, 0, 10, "0°"),
        (lon_label, 12.5, 0.5, "12.5°E"),
        (lon_label, -1e-12, 0.001, "0°"),
        (lat_label, -12.5, 0.5, "12.5°S"),
        (lat_label, 45, 1, "45°N"),
        (lat_label, 0.05, 0.05, "0.05°N"),
        (lat_label, 0, 15, "0°"),
    ],
)
def test_labels_write_degrees_as_people_do(label: Any, value: float, step: float, text: str) -> None:
    assert label(value, step) == text


def test_the_graticule_runs_edge_to_edge_with_a_label_for_each_line() -> None:
    view = fit(5, 45, 16, 51)
    grid, labels = graticule(view, top=8, left=58)
    meridians = re.findall(r"M([\d.]+),0V(\d+)", grid)
    parallels = re.findall(r"M0,([\d.]+)H(\d+)", grid)
    assert {int(v) for _, v in meridians} == {view.height} and {int(h) for _, h in parallels} == {view.width}
    lons = re.findall(r'class="map-label map-lon"[^>]*>([^<]+)<', labels)
    lats = re.findall(r'class="map-label map-lat"[^>]*>([^<]+)<', labels)
    assert lons == ["4°E", "6°E", "8°E", "10°E", "12°E", "14°E", "16°E"]
    assert lats == ["45°N", "46°N", "47°N", "48°N", "49°N", "50°N", "51°N"]
    assert (len(meridians), len(parallels)) == (len(lons), len(lats))
    xs = [float(x) for x, _ in meridians]
    assert xs[0] == pytest.approx(view.x(4), abs=0.05) and min(b - a for a, b in pairwise(xs)) >= LON_SPACING


def test_the_map_zooms_to_the_footprints_not_to_a_global_collection_extent() -> None:
    drawn = footprint_map(DEMO_TILES, extents=[("everywhere", [-180, -90, 180, 90])])
    assert drawn is not None
    assert drawn.view.west < 5 and drawn.view.east - drawn.view.west < 20
    assert drawn.caption == "5°E to 16°E, 45°N to 51°N"
    assert '<path class="map-extent"' in drawn.svg and "<title>everywhere</title>" in drawn.svg
    no_items = footprint_map([{"id": "x", "geometry": None}], extents=[("labels", [5, 45, 16, 51])])
    assert no_items is not None and no_items.shown == 0
    assert no_items.view.west < 5 and no_items.view.east - no_items.view.west < 20


def test_each_footprint_links_to_its_item_and_ids_stay_text() -> None:
    square = [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]
    two = {"type": "MultiPolygon", "coordinates": [square, [[[p[0] + 2, p[1]] for p in square[0]]]]}
    drawn = footprint_map(
        [tile('a"><script>x</script>', 0, 3), {"id": "two", "geometry": two}],
        link=lambda item_id: "/stac/collections/datasets.d/items/" + quote(item_id, safe=""),
    )
    assert drawn is not None and "<script>" not in drawn.svg
    links = re.findall(r'<a href="([^"]*)" aria-label="Item ([^"]*)">(.*?)</a>', drawn.svg)
    assert [(href, label) for href, label, _ in links] == [
        (
            "/stac/collections/datasets.d/items/a%22%3E%3Cscript%3Ex%3C%2Fscript%3E",
            "a&#34;&gt;&lt;script&gt;x&lt;/script&gt;",
        ),
        ("/stac/collections/datasets.d/items/two", "two"),
    ]
    assert links[1][2].count('<path class="map-area"') == 2  # one link for both parts
    assert "<a " not in str(footprint_map(DEMO_TILES))  # no link without an address


def test_footprints_across_the_antimeridian_are_drawn_side_by_side() -> None:
    across = {
        "type": "Polygon",
        "coordinates": [[[179, -19], [-179, -19], [-179, -18], [179, -18], [179, -19]]],
    }
    drawn = footprint_map(
        [
            tile("west", 177, -17),
            tile("east", -179.5, -17),
            {"id": "ring", "geometry": across},
            {"id": "box", "bbox": [179.5, -20, -179.5, -19.5]},
        ]
    )
    assert drawn is not None
    assert 170 < drawn.view.west < 177 and 180.5 < drawn.view.east < 190
    assert drawn.caption == "177°E to 178.5°W, 20°S to 16°S"
    xs = [float(x) for x in re.findall(r"(?:M| )([\d.]+),[\d.]+", drawn.svg.split('class="map-area"', 1)[1])]
    assert max(xs) - min(xs) < drawn.view.width  # no shape spans the map from one side to the other
    assert '<path class="map-land"' in drawn.svg  # Fiji, on both sides


def test_the_land_is_natural_earth_cut_to_the_view() -> None:
    rome = shapely.union_all(basemap.land(12, 41, 13, 42.5, 0.001))
    assert rome.contains(Point(12.5, 41.9)) and not rome.contains(Point(12.0, 41.2))  # the Tyrrhenian Sea
    assert shapely.box(12, 41, 13, 42.5).buffer(1e-9).contains(rome)
    assert shapely.union_all(basemap.land(10, 20, 20, 25, 0.01)).area == pytest.approx(50)  # the Sahara
    assert basemap.land(-130, -45, -120, -35, 0.01) == []  # the South Pacific
    antarctica = shapely.union_all(basemap.land(-180, -90, 180, -60, 0.05))
    assert all(antarctica.contains(Point(x, -89.5)) for x in (-179.5, 0, 179.5))  # closed round the pole
    polygons, _, _ = basemap.land_polygons()
    assert all(p.is_valid for p in polygons)


def test_topojson_arcs_are_joined_forwards_and_backwards() -> None:
    topology = {
        "transform": {"scale": [0.5, 1], "translate": [10, 20]},
        "arcs": [[[0, 0], [2, 0], [0, 2]], [[2, 2], [-2, 0], [0, -2]]],
        "objects": {
            "land": {
                "type": "GeometryCollection",
                "geometries": [
                    {"type": "Polygon", "arcs": [[0, 1]]},
                    {"type": "MultiPolygon", "arcs": [[[~1, ~0]]]},
                ],
            }
        },
    }
    forwards, backwards = basemap.decode(topology)
    assert forwards == [[(10, 20), (11, 20), (11, 22), (10, 22), (10, 20)]]
    assert backwards == [[(10, 20), (10, 22), (11, 22), (11, 20), (10, 20)]]


def test_rings_across_the_antimeridian_or_round_a_pole_become_planar() -> None:
    [fiji] = basemap.planar([[(179, -17), (-179, -17), (-179, -16), (179, -16), (179, -17)]])
    assert fiji.bounds == (-181, -17, -179, -16)  # one piece, its middle within [-180°, 180°)
    [south] = basemap.planar([[(0, -70), (120, -72), (-120, -70), (0, -70)]])
    west, low, east, _ = south.bounds
    assert east - west == 360 and low == -basemap.POLE


def test_a_close_map_has_a_locator_where_it_hides_no_footprint() -> None:
    def corner(items: list[dict[str, Any]]) -> tuple[float, float]:
        drawn = footprint_map(items)
        assert drawn is not None
        found = re.search(r'<svg class="map-locator" x="([\d.]+)" y="([\d.]+)"', drawn.svg)
        assert found
        return float(found[1]), float(found[2])

    assert corner(DEMO_TILES) == (8, 8)  # top left
    assert corner([*DEMO_TILES, tile("corner", 5.2, 50)]) > (400, 400)  # bottom right: the only free one
    world = footprint_map([tile("world", -180, -90, 360)])
    assert world is not None and "map-locator" not in world.svg


def test_a_map_draws_a_bounded_number_of_points_in_all() -> None:
    ring = [[math.cos(i / 40), math.sin(i / 40)] for i in range(MAX_POINTS)]
    items = [{"id": f"i{n}", "geometry": {"type": "Polygon", "coordinates": [ring]}} for n in range(500)]
    drawn = footprint_map(items)
    assert drawn is not None
    assert drawn.shown == MAX_TOTAL_POINTS // MAX_POINTS and drawn.shown + drawn.omitted == 500


def test_one_scaling_for_all_bands_is_shown_once() -> None:
    item = {
        "type": "Feature",
        "properties": {
            "mlm:input": [
                {
                    "name": "x",
                    "bands": ["B04", {"name": "B08"}],
                    "input": {"shape": [1, 2], "dim_order": ["batch"], "data_type": "uint16"},
                    "value_scaling": [{"type": "scale", "value": 0.0001}],
                }
            ],
            "mlm:output": [{"name": "y", "result": {"shape": [1]}, "classification:classes": [
                {"value": 1, "name": "a", "color_hint": "red;x"}
            ]}],
            "eo:bands": [{"name": "B08", "common_name": "nir", "center_wavelength": 0.842}],
        },
    }  # fmt: skip
    card = model_card("item.json", item)
    spec = card.inputs[0]
    assert spec.scaling == ["scale (value 0.0001)"]
    assert [(b.name, b.common_name, b.wavelength, b.scaling) for b in spec.bands] == [
        ("B04", "", "", ""),
        ("B08", "nir", "0.842 µm", ""),
    ]
    assert [d.name for d in spec.tensor.dimensions] == ["dim 0", "dim 1"]  # dim_order does not fit
    assert card.outputs[0].classes[0].color is None  # not a hex colour: never put in the page


def test_card_assets_say_what_each_href_is_with_its_roles() -> None:
    image = "ghcr.io/org/unet@sha256:" + "ab" * 32
    item = {
        "type": "Feature",
        "properties": {"mlm:name": "unet"},
        "assets": {
            "model": {"href": "../weights/model.onnx", "roles": ["mlm:model"], "mlm:artifact_type": "onnx"},
            "gone": {"href": "missing.onnx", "roles": ["mlm:weights"]},
            "remote": {"href": "https://w.example.org/unet.pth", "roles": ["mlm:model", "mlm:weights"]},
            "bucket": {"href": "s3://bucket/unet.pth", "roles": ["mlm:checkpoint"]},
            "run": {"href": image, "title": "Inference image", "roles": ["mlm:inference-runtime"]},
            "hostile": {"href": "javascript:alert(1)", "roles": "not a list"},
        },
    }
    card = model_card("items/unet.json", item, {"weights/model.onnx"})
    shown = {a.key: (a.link, a.web, a.stored_path, a.roles) for a in card.assets}
    assert shown == {
        "model": ("local", False, "weights/model.onnx", ["mlm:model"]),
        "gone": ("local", False, None, ["mlm:weights"]),
        "remote": ("url", True, None, ["mlm:model", "mlm:weights"]),
        "bucket": ("url", False, None, ["mlm:checkpoint"]),
        "run": ("image", False, None, ["mlm:inference-runtime"]),
        "hostile": ("url", False, None, ["not a list"]),  # never a link a browser follows
    }


def test_compare_splits_files_documents_and_metadata() -> None:
    old = Manifest(
        [FileEntry("a.bin", 1, "1" * 64)], {"catalog.json": {"id": "c", "n": 1}}, ReadmeMetadata(name="x")
    )
    new = Manifest(
        [FileEntry("a.bin", 2, "2" * 64), FileEntry("b.bin", 1, "3" * 64)],
        {"catalog.json": {"id": "c", "n": 2, "k/ey": [1]}},
        ReadmeMetadata(name="x", license="MIT"),
    )
    result = compare(1, old, 2, new)
    assert [f.path for f in result.files["added"]] == ["b.bin"]
    assert [(f.old.size, f.new.size) for f in result.files["changed"]] == [(1, 2)]
    assert [(f.pointer, f.old, f.new) for f in result.documents[0].fields] == [
        ("/k~1ey/0", None, "1"),
        ("/n", "1", "2"),
    ]
    assert [(m.pointer, m.old, m.new) for m in result.metadata] == [("license", "", "MIT")]
    assert compare(2, new, 2, new).empty


def test_markdown_keeps_safe_markup_only() -> None:
    html = render_markdown("## Title\n\n**bold** <b onclick=x>raw</b> [a](javascript:x) [b](https://e.org)")
    assert "<h4>Title</h4>" in html and "<strong>bold</strong>" in html
    assert "&lt;b onclick=x&gt;" in html
    assert 'href="javascript' not in html
    assert '<a href="https://e.org" rel="noopener noreferrer nofollow">b</a>' in html
