"""Where a model comes from: an item file, a pystac Item, a model folder, a hub name, an old-layout item."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pystac
import pytest
import rasterio
from typer.testing import CliRunner

from eohub.cli.main import app
from eohub.errors import NotFoundError
from eohub.inference.predictor import Predictor
from eohub.models import ingest_model
from tests.fixtures_tutorial import write_tutorial_item
from tests.inference_helpers import segmenter_item, write_raster
from tests.test_inference_tiling import smooth_scene

BANDS = ["B02", "B03", "B04"]
README = """---
name: seg-model
authors: [Jane Doe]
license: MIT
source: https://example.org
tags: [x]
---
A test.
"""


def test_item_file_pystac_item_and_folder_load_the_same_model(tmp_path) -> None:
    item_path = segmenter_item(tmp_path, BANDS, size=32)
    from_file = Predictor.from_item(item_path)
    from_pystac = Predictor.from_item(pystac.Item.from_file(str(item_path)))
    from_folder = Predictor.from_item(tmp_path)
    assert (
        from_file.model_path == from_pystac.model_path == from_folder.model_path == str(tmp_path / "seg.onnx")
    )


def test_old_tutorial_layout_is_migrated_and_runs(tmp_path) -> None:
    item_path = write_tutorial_item(tmp_path)
    predictor = Predictor.from_item(item_path)
    assert [b.name for b in predictor.spec.bands] == ["red", "green", "blue"]
    assert [c.name for c in predictor.primary.classes][:2] == ["AnnualCrop", "Forest"]
    raster = write_raster(tmp_path / "in.tif", smooth_scene(64, 64), ["B04", "B03", "B02"])
    with pytest.raises(Exception, match="input lacks bands the model needs: red, green, blue"):
        predictor.run(raster, tmp_path / "out.tif", tile=32)
    named = write_raster(tmp_path / "rgb.tif", smooth_scene(64, 64), ["red", "green", "blue"])
    with rasterio.open(predictor.run(named, tmp_path / "out.tif", tile=32)) as src:
        assert src.read(1).shape == (2, 2)  # one class per 32 x 32 patch


def test_a_hub_name_downloads_the_model_once_and_runs_it(tmp_path, _isolated_home) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    segmenter_item(folder, BANDS, size=32)
    (folder / "README.md").write_text(README)
    ingest_model(str(folder), name="seg-model", allow_invalid=True)
    shutil.rmtree(folder)
    raster = write_raster(tmp_path / "in.tif", smooth_scene(40, 40).astype(np.uint16), BANDS)
    result = CliRunner().invoke(app, ["predict", "seg-model:1", str(raster), "-o", str(tmp_path / "out.tif")])
    assert result.exit_code == 0, result.output
    cached = _isolated_home / "cache" / "models" / "seg-model" / "v1"
    assert (cached / "seg.onnx").is_file()
    assert Predictor.from_item("seg-model").model_path == str(cached / "seg.onnx")
    item = json.loads((tmp_path / "out.json").read_text())
    assert [link["mlm:name"] for link in item["links"] if link.get("title") == "model"] == ["test-model"]
    with pytest.raises(NotFoundError):
        Predictor.from_item("no-such-model")


def test_a_hub_url_downloads_the_model_from_that_hub(tmp_path, _isolated_home, inprocess_hub) -> None:
    from eohub.client import RemoteRepository

    folder = tmp_path / "model"
    folder.mkdir()
    segmenter_item(folder, BANDS, size=32)
    (folder / "README.md").write_text(README)
    with RemoteRepository(inprocess_hub.url, inprocess_hub.token("alice")) as repo:
        repo.ingest("model", folder, name="seg-model", allow_invalid=True)
    shutil.rmtree(folder)
    raster = write_raster(tmp_path / "in.tif", smooth_scene(40, 40).astype(np.uint16), BANDS)
    page = f"{inprocess_hub.url}/models/seg-model"
    result = CliRunner().invoke(app, ["predict", page, str(raster), "-o", str(tmp_path / "out.tif")])
    assert result.exit_code == 0, result.output
    host = f"127.0.0.1_{inprocess_hub.port}"
    cached = _isolated_home / "cache" / "models" / host / "seg-model" / "v1"
    assert (cached / "seg.onnx").is_file()
    api = Predictor.from_item(f"{inprocess_hub.url}/api/models/seg-model/versions/1")
    assert api.model_path == str(cached / "seg.onnx")
    again = api.run(raster, tmp_path / "again.tif")
    with rasterio.open(tmp_path / "out.tif") as first, rasterio.open(again) as second:
        assert np.array_equal(first.read(1), second.read(1))
    with pytest.raises(NotFoundError):
        Predictor.from_item(f"{inprocess_hub.url}/models/no-such-model")
    with pytest.raises(Exception, match="not the URL of a model on a hub"):
        Predictor.from_item(f"{inprocess_hub.url}/datasets/seg-model")
