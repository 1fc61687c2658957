"""The web pages' building blocks without a server: repository search, footprint maps, model cards,
version comparison and README sanitising."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eohub.core.readme import ReadmeMetadata
from eohub.repository import FileEntry, Manifest, RepositoryInfo, VersionInfo
from eohub.repository.search import SearchQuery, facets, matches, search
from eohub.server.web.card import model_card
from eohub.server.web.compare import compare
from eohub.server.web.footprints import footprint_map
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
