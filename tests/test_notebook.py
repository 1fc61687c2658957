"""Notebooks: repositories, versions, model cards and quality reports show as HTML (self-contained, every
value escaped), predictions open in one call, and docs/example.ipynb runs from start to end."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import numpy as np
import pytest
import rasterio
from nbclient import NotebookClient

from eohub.client import RemoteRepository
from eohub.core.html import MAX_ROWS
from eohub.core.readme import ReadmeMetadata
from eohub.demo.models import make_segmenter
from eohub.inference.predictor import Predictor
from eohub.inference.result import XARRAY_MISSING, Prediction
from eohub.mlm import package_model
from eohub.mlm.card import model_card
from eohub.models import ingest_model, retrieve_model
from eohub.quality import QualityReport
from eohub.repository import RepositoryInfo, VersionInfo
from eohub.repository.display import RepositoryView
from tests.inference_helpers import segmenter_item, write_raster

NOTEBOOK = Path(__file__).parents[1] / "docs" / "example.ipynb"
WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SCRIPT = "<script>alert(1)</script>"
BANDS = ["B02", "B03", "B04", "B08"]
IMG = "<img src=x onerror=alert(1)>"
TAGS = {"div", "p", "span", "strong", "code", "h3", "h4", "h5", "table", "tr", "th", "td", "ul", "li"}


class Tags(HTMLParser):
    """The elements and attributes of an HTML fragment, and its text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def shown(html: str) -> str:
    """What a reader sees: the fragment's text, after checking it loads nothing and runs nothing."""
    parsed = Tags(html)
    assert parsed.tags <= TAGS, parsed.tags - TAGS  # no script, link, img, a, style element
    assert parsed.attributes <= {"style", "class"}, parsed.attributes  # no on*, src, href
    return " ".join(" ".join(parsed.text).split())


def hostile_item() -> dict:
    return {
        "type": "Feature",
        "id": "item-1",
        "properties": {
            "mlm:name": f"Segmenter {SCRIPT}",
            "description": f"Segments {IMG} land",
            "mlm:architecture": "U-Net",
            "mlm:tasks": ["semantic-segmentation"],
            "mlm:framework": "ONNX",
            "mlm:total_parameters": 31000,
            "mlm:input": [
                {
                    "name": "scene",
                    "bands": ["B04", "B08", f"<b>{SCRIPT}</b>"],
                    "input": {
                        "shape": [-1, 3, 64, 64],
                        "dim_order": ["batch", "channel", "height", "width"],
                        "data_type": "float32",
                    },
                    "value_scaling": [{"type": "z-score", "mean": 1200, "stddev": 400}] * 3,
                }
            ],
            "mlm:output": [
                {
                    "name": "classes",
                    "tasks": ["semantic-segmentation"],
                    "result": {
                        "shape": [-1, 2, 64, 64],
                        "dim_order": ["batch", "channel", "height", "width"],
                    },
                    "classification:classes": [
                        {"value": 0, "name": "water", "color_hint": "0000FF"},
                        {"value": 1, "name": IMG, "color_hint": 'FF0000" onmouseover="alert(1)'},
                    ],
                }
            ],
            "eo:bands": [{"name": "B08", "common_name": "nir", "center_wavelength": 0.842}],
        },
        "assets": {"model": {"href": "javascript:alert(1)", "roles": ["mlm:model"]}},
    }


def test_a_model_card_shows_inputs_bands_classes_and_outputs_as_on_the_web_page() -> None:
    text = shown(model_card("item.json", hostile_item())._repr_html_())
    assert "Architecture U-Net" in text and "Parameters 31,000" in text
    assert "Shape batch any × channel 3 × height 64 × width 64" in text
    assert "2 B08 nir 0.842 µm z-score (mean 1200, stddev 400)" in text  # band, common name, scaling
    assert "Outputs classes" in text and "0 water #0000ff" in text  # classes with their colour
    assert "model mlm:model javascript:alert(1)" in text  # an href is text, never a link


def test_hostile_metadata_in_a_card_is_shown_as_text() -> None:
    html = model_card("item.json", hostile_item())._repr_html_()
    text = shown(html)  # also: no element or attribute an item could have injected
    assert f"Segmenter {SCRIPT}" in text and f"Segments {IMG} land" in text
    assert f"<b>{SCRIPT}</b>" in text and f"1 {IMG} none" in text  # the bad colour_hint is no colour
    assert "<script>" not in html and "onmouseover" not in html  # the bad colour is dropped
    assert "&lt;script&gt;" in html


def test_a_quality_report_shows_its_level_reasons_and_notes() -> None:
    report = QualityReport(
        "my <model>", "model", 1, [f"Q1: item 'm': MLM lint error {SCRIPT}"], {}, ["no license"]
    )
    text = shown(report._repr_html_())
    assert "Quality of the model at my <model>" in text
    assert "Q1 a valid STAC catalog" in text
    assert f"Why it is not higher: Q1: item 'm': MLM lint error {SCRIPT}" in text
    assert "Notes on the metadata (they do not lower the level): no license" in text
    top = shown(QualityReport("m", "model", 3)._repr_html_())
    assert "This is the highest level a model can reach." in top


def test_long_lists_are_cut_with_a_count_of_what_was_left_out() -> None:
    item = hostile_item()
    item["properties"]["mlm:output"][0]["classification:classes"] = [
        {"value": i, "name": f"k{i}"} for i in range(250)
    ]
    text = shown(model_card("item.json", item)._repr_html_())
    assert f"k{MAX_ROWS - 1}" in text and f"k{MAX_ROWS}" not in text
    assert f"… and {250 - MAX_ROWS} more classes" in text
    long = QualityReport("m", "model", 0, ["x" * 10_000])._repr_html_()
    assert len(long) < 5_000 and "x…" in long


def test_a_version_and_a_repository_show_quality_reasons_and_metadata() -> None:
    version = VersionInfo(2, WHEN, 2, ["Q2: not verified: input too large"], 1_500_000, 4, ["classification"])
    text = shown(version._repr_html_())
    assert "Version 2" in text and "Created 2026-03-01 12:00 UTC" in text and "Files 4 files, 1.5 MB" in text
    assert "Why it is not higher: Q2: not verified: input too large" in text
    meta = ReadmeMetadata("seg", [IMG], "MIT", "javascript:alert(1)", None, [SCRIPT], f"About {SCRIPT}")
    info = RepositoryInfo("model", "seg", "alice", True, meta, WHEN, WHEN, version)
    text = shown(info._repr_html_())
    assert text.startswith("seg model Q2 private v2")
    assert f"About {SCRIPT}" in text and f"Authors {IMG}" in text and f"Tags {SCRIPT}" in text
    assert "Source javascript:alert(1)" in text and "Version 2" in text
    assert "This version has no STAC item with MLM metadata" in text


def package_hostile(folder: Path) -> Path:
    make_segmenter(folder / "model.onnx", bands=3, classes=2, size=None)
    package_model(
        folder,
        name="hostile-model",
        description=f"{SCRIPT} & more",
        license="MIT",
        authors=[IMG],
        tags=["<b>tag</b>"],
        bands=["red", "green", f"<i>{SCRIPT}</i>"],
        classes=[SCRIPT, "ok"],
        tasks=["semantic-segmentation"],
    )
    return folder


def test_retrieve_model_is_the_tutorials_dict_and_shows_the_card(tmp_path) -> None:
    ingest_model(package_hostile(tmp_path / "hostile"))
    view = retrieve_model("hostile-model")
    assert isinstance(view, dict) and isinstance(view, RepositoryView)
    assert view["metadata"]["authors"] == [IMG] and view["latest"]["quality"] == "Q3"
    assert json.loads(json.dumps(view)) == view.info.to_dict() == dict(view)
    text = shown(view._repr_html_())
    assert text.startswith("hostile-model model Q3 v1") and f"{SCRIPT} & more" in text
    assert "This is the highest level a model can reach." in text
    assert f"3 <i>{SCRIPT}</i>" in text and f"0 {SCRIPT} none" in text  # bands and classes, as text
    assert "Notes on the metadata (they do not lower the level): no source" in text


def test_another_users_model_retrieved_from_a_hub_is_shown_as_text(
    tmp_path, inprocess_hub, monkeypatch
) -> None:
    with RemoteRepository(inprocess_hub.url, inprocess_hub.token("mallory")) as repo:
        repo.ingest("model", package_hostile(tmp_path / "hostile"))
    monkeypatch.setenv("EOHUB_URL", inprocess_hub.url)
    monkeypatch.setenv("EOHUB_TOKEN", inprocess_hub.token("alice"))
    view = retrieve_model("hostile-model")
    assert view["owner"] == "mallory" and len(view.cards) == 1
    html = view._repr_html_()
    assert "<script>" not in html and "<img" not in html and "<i>" not in html
    assert f"Authors {IMG}" in shown(html)


def test_a_prediction_is_a_path_that_opens_with_rasterio_and_xarray(tmp_path) -> None:
    raster = write_raster(tmp_path / "in.tif", np.random.default_rng(0).random((4, 40, 48), "float32"), BANDS)
    prediction = Predictor.from_item(segmenter_item(tmp_path, BANDS)).run(raster, tmp_path / "out.tif")
    assert isinstance(prediction, Prediction) and os.fspath(prediction) == str(tmp_path / "out.tif")
    assert prediction == tmp_path / "out.tif" and prediction.item == tmp_path / "out.json"
    with rasterio.open(prediction) as direct, prediction.open() as src:  # the old use still works
        assert src.count == 1 and src.shape == (40, 48) and src.descriptions == ("class",)
        classes = src.read(1)
        assert np.array_equal(classes, direct.read(1))
        crs, transform = src.crs, src.transform
    array = prediction.to_xarray()
    assert array.dims == ("band", "y", "x") and array.shape == (1, 40, 48)
    assert np.array_equal(array.values[0], classes)
    assert array.rio.crs == crs and array.rio.transform() == transform
    array.close()


def test_to_xarray_without_rioxarray_says_what_to_install(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "rioxarray", None)  # as if not installed
    with pytest.raises(ImportError) as caught:
        Prediction(tmp_path / "out.tif").to_xarray()
    assert (
        str(caught.value)
        == XARRAY_MISSING
        == "to_xarray needs xarray and rioxarray: pip install 'eohub[notebook]'"
    )
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def cell_output(notebook: nbformat.NotebookNode, source: str, mime: str) -> str:
    """The ``mime`` output of the code cell whose source ends with ``source``."""
    [cell] = [c for c in notebook.cells if c.cell_type == "code" and c.source.endswith(source)]
    return "".join(o.get("data", {}).get(mime, "") or o.get("text", "") for o in cell.outputs)


def test_the_example_notebook_runs_and_shows_the_model_card(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebook's temporary folder
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter"))  # the kernel's connection file
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # not the user's profile
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=120, startup_timeout=60, kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()  # fmt: skip
    quality = shown(cell_output(notebook, 'assess_quality("tiny-landcover")', "text/html"))
    assert "Q3 the ONNX model runs" in quality
    card = shown(cell_output(notebook, "\nmodel", "text/html"))
    assert card.startswith("tiny-landcover model Q3 v1")
    assert "1 red" in card and "3 blue" in card and "0 water" in card and "2 urban" in card
    assert cell_output(notebook, '["quality"]', "text/plain") == "('MIT', 'Q3')"
    assert cell_output(notebook, "np.unique(classes)", "text/plain").startswith(
        "EPSG:32631 (64, 64) ('class',)"
    )
    assert "xarray.DataArray" in cell_output(notebook, "prediction.to_xarray()", "text/plain")
    [work] = tmp_path.glob("eohub-example-*")
    with rasterio.open(work / "landcover.tif") as src:
        assert src.count == 1 and set(np.unique(src.read(1))) <= {0, 1, 2}
