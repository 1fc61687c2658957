"""Per-pixel models (``mlm:input`` ``[batch, bands]``): scikit-learn and LightGBM classifiers converted to
ONNX and run over a scene by ``eohub predict`` give their library's own ``predict_proba``, pixel by pixel."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import rasterio
from typer.testing import CliRunner

from eohub.cli.main import app
from eohub.errors import InferenceError
from eohub.inference.predictor import Predictor
from eohub.inference.raster_input import RasterInput
from eohub.quality.run import run_check
from tests.inference_helpers import (
    PIXEL_BANDS,
    PIXEL_SCALE,
    PREDICT_DATA,
    pixel_classifier_item,
    pixel_features,
    regressor_item,
    train_pixel_classifier,
    write_item,
    write_raster,
)

HEIGHT, WIDTH = 190, 230
runner = CliRunner()
CASES = {
    "forest": ("forest", (1, 2, 5), "pixel-classifier"),  # TreeEnsembleClassifier
    "logistic": ("logistic", (1, 2, 5), "pixel-classifier"),  # LinearClassifier + Normalizer
    "svm": ("svm", (1, 2, 5), "pixel-classifier"),  # SVMClassifier with probabilities
    "lightgbm": ("lightgbm", (0, 1), "cloud-detector"),  # TreeEnsembleClassifier, onnxmltools
}


def scene_numbers(seed: int = 5) -> np.ndarray:
    """Digital numbers ``(4, H, W)`` with nodata (0): a corner, and one pixel where only one band is 0."""
    dn = np.random.default_rng(seed).integers(1, PIXEL_SCALE, (len(PIXEL_BANDS), HEIGHT, WIDTH))
    dn = dn.astype(np.uint16)
    dn[:, :20, :30] = 0
    dn[2, 100, 101] = 0
    return dn


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scene")
    dn = scene_numbers()
    return write_raster(folder / "scene.tif", dn, PIXEL_BANDS, nodata=0, block=64), dn


def predict(*args: str):
    return runner.invoke(app, ["predict", *args])


def read(path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read()


def check_against_library(model, dn: np.ndarray, classes: np.ndarray, scores: np.ndarray) -> None:
    """Scores equal ``predict_proba`` and classes ``predict`` on every valid pixel (at a near-tie of the
    two best probabilities, either tied class); nodata pixels are nodata in both rasters."""
    valid = (dn != 0).all(axis=0)
    features = pixel_features(dn[:, valid])
    expected = model.predict_proba(features)
    np.testing.assert_allclose(scores[:, valid].T, expected, rtol=1e-5, atol=1e-6)
    assert np.isnan(scores[:, ~valid]).all()
    assert np.all(classes[~valid] == 255)
    top = np.sort(expected, axis=1)
    clear = top[:, -1] - top[:, -2] > 1e-5
    assert np.array_equal(classes[valid][clear], model.predict(features)[clear])
    near = expected[~clear] >= top[~clear, -1:] - 1e-5
    index = {int(v): i for i, v in enumerate(model.classes_)}
    assert all(near[n, index[int(c)]] for n, c in enumerate(classes[valid][~clear]))


@pytest.mark.parametrize("zipmap", [False, True], ids=["tensor", "zipmap"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_pixel_classifier_run_by_the_command_equals_its_librarys_predict_proba(
    tmp_path, scene, case, zipmap
) -> None:
    kind, labels, item = CASES[case]
    model = train_pixel_classifier(kind, labels)
    path = pixel_classifier_item(tmp_path, model, zipmap, item)
    raster, dn = scene
    result = predict(str(path), str(raster), "-o", str(tmp_path / "out.tif"), "--batch", "5000")
    assert result.exit_code == 0, result.output
    classes, scores = read(tmp_path / "out.tif")[0], read(tmp_path / "out-scores.tif")
    assert scores.shape == (len(labels), HEIGHT, WIDTH)
    check_against_library(model, dn, classes, scores)
    predictor = Predictor.from_item(path)
    assert predictor.per_pixel and predictor.primary.activation == "classifier"  # never a second softmax


def test_class_values_follow_the_classifiers_labels_whatever_the_items_order(tmp_path, scene) -> None:
    model = train_pixel_classifier("forest", (1, 2, 5))
    path = pixel_classifier_item(tmp_path, model)  # the item lists shadow (5), clear (1), cloud (2)
    raster, _ = scene
    Predictor.from_item(path).run(raster, tmp_path / "out.tif")
    with rasterio.open(tmp_path / "out.tif") as src:
        assert set(np.unique(src.read(1))) <= {1, 2, 5, 255}
        assert src.colormap(1)[5][:3] == (64, 64, 64) and src.colormap(1)[2][:3] == (255, 255, 255)
    with rasterio.open(tmp_path / "out-scores.tif") as src:
        assert src.descriptions == ("clear", "cloud", "shadow")  # score column i is the i-th label
    written = json.loads((tmp_path / "out.json").read_text())["assets"]["prediction"]
    assert [c["value"] for c in written["classification:classes"]] == [1, 2, 5, 255]


def test_an_item_declaring_only_the_probabilities_still_takes_classes_from_the_label_output(
    tmp_path, scene
) -> None:
    model = train_pixel_classifier("lightgbm", (0, 1))
    path = pixel_classifier_item(tmp_path, model, item="cloud-detector")
    data = json.loads(path.read_text())
    data["properties"]["mlm:output"] = data["properties"]["mlm:output"][:1]  # the graph has two
    predictor = Predictor.from_item(write_item(path, data))
    assert predictor.readings[0].labels == "label" and predictor.primary.labels == (0, 1)
    raster, dn = scene
    predictor.run(raster, tmp_path / "out.tif")
    check_against_library(model, dn, read(tmp_path / "out.tif")[0], read(tmp_path / "out-scores.tif"))


def test_an_item_whose_classes_differ_from_the_classifiers_is_refused(tmp_path) -> None:
    path = pixel_classifier_item(tmp_path, train_pixel_classifier("forest", (1, 2, 5)))
    data = json.loads(path.read_text())
    for output in data["properties"]["mlm:output"]:
        output["classification:classes"].append({"value": 7, "name": "snow", "description": "snow"})
    with pytest.raises(InferenceError, match=r"lists \[7\], which the model never predicts"):
        Predictor.from_item(write_item(path, data))
    for output in data["properties"]["mlm:output"]:
        output["classification:classes"] = output["classification:classes"][1:3]
    with pytest.raises(InferenceError, match=r"lacks class values the model predicts: \[5\]"):
        Predictor.from_item(write_item(path, data))


def test_a_pixel_model_streams_block_regions_and_batches_of_pixels(tmp_path, scene, monkeypatch) -> None:
    model = train_pixel_classifier("lightgbm", (0, 1))
    predictor = Predictor.from_item(pixel_classifier_item(tmp_path, model, item="cloud-detector"))
    raster, dn = scene
    reads: list[tuple[int, int, int, int]] = []
    original_read = RasterInput.read

    def recording_read(self, sources, row, col, height, width):
        reads.append((row, col, min(height, self.height - row), min(width, self.width - col)))
        return original_read(self, sources, row, col, height, width)

    calls: list[tuple[int, ...]] = []
    original_run = predictor._run_model

    def recording_run(x):
        calls.append(x.shape)
        return original_run(x)

    monkeypatch.setattr(RasterInput, "read", recording_read)
    monkeypatch.setattr(predictor, "_run_model", recording_run)
    predictor.run(raster, tmp_path / "out.tif", region=64, batch=1000)
    # regions are the 64-pixel blocks of the file, every pixel read once
    assert len(reads) == 3 * 4 and all(row % 64 == 0 and col % 64 == 0 for row, col, _, _ in reads)
    covered = np.zeros((HEIGHT, WIDTH), int)
    for row, col, h, w in reads:
        covered[row : row + h, col : col + w] += 1
    assert np.all(covered == 1) and max(h * w for *_, h, w in reads) == 64 * 64
    # the model sees [pixels, bands] batches of at most 1000 pixels, each pixel once
    assert {len(shape) for shape in calls} == {2} and {shape[1] for shape in calls} == {len(PIXEL_BANDS)}
    assert max(shape[0] for shape in calls) == 1000 and sum(shape[0] for shape in calls) == HEIGHT * WIDTH
    check_against_library(model, dn, read(tmp_path / "out.tif")[0], read(tmp_path / "out-scores.tif"))


def test_dask_workers_give_the_single_process_result_for_a_pixel_model(tmp_path, scene) -> None:
    path = pixel_classifier_item(tmp_path, train_pixel_classifier("forest", (1, 2, 5)), zipmap=True)
    raster, _ = scene
    assert predict(str(path), str(raster), "-o", str(tmp_path / "one.tif")).exit_code == 0
    result = predict(str(path), str(raster), "-o", str(tmp_path / "two.tif"), "--workers", "2")
    assert result.exit_code == 0, result.output
    for name in ("", "-scores"):
        one, two = read(tmp_path / f"one{name}.tif"), read(tmp_path / f"two{name}.tif")
        assert np.array_equal(one, two, equal_nan=True)


@pytest.mark.parametrize("zipmap", [False, True], ids=["tensor", "zipmap"])
def test_the_q3_check_runs_a_pixel_classifier_as_its_item_describes(tmp_path, zipmap) -> None:
    path = pixel_classifier_item(tmp_path, train_pixel_classifier("forest", (1, 2, 5)), zipmap)
    props = json.loads(path.read_text())["properties"]
    check = run_check(tmp_path / "model.onnx", props["mlm:input"], props["mlm:output"])
    assert check.problems == [] and check.input_shapes == {"x": [1, 4]}


def test_pixel_model_options_and_layouts_that_cannot_work_are_one_line_errors(tmp_path, scene) -> None:
    path = pixel_classifier_item(tmp_path, train_pixel_classifier("logistic", (1, 2, 5)))
    raster, _ = scene
    result = predict(str(path), str(raster), "-o", str(tmp_path / "out.tif"), "--tile", "64")
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        "error: the model predicts each pixel on its own: --tile and --overlap do not apply"
    ]
    data = json.loads(path.read_text())
    entry = data["properties"]["mlm:input"][0]["input"]
    entry["shape"], entry["dim_order"] = [-1, 4], ["batch", "height"]
    with pytest.raises(InferenceError, match="dim_order has height but not the other"):
        Predictor.from_item(write_item(path, data))
    assert not (tmp_path / "out.tif").exists()


# -- real-world input the command used to crash on (issue 13, part 7) ----------------------------------------


def eohub(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eohub", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("described", [True, False], ids=["band-descriptions", "no-band-names"])
def test_a_stac_item_whose_asset_has_no_band_metadata_runs_with_the_files_bands(tmp_path, described) -> None:
    item = shutil.copy(PREDICT_DATA / "scene-without-band-metadata.json", tmp_path / "scene.json")
    data = np.random.default_rng(3).integers(1, 3000, (3, 40, 50)).astype(np.uint16)
    write_raster(tmp_path / "scene.tif", data, ["B02", "B03", "B04"] if described else None)  # no nodata
    model = regressor_item(tmp_path, ["B02", "B03", "B04"])
    result = eohub("predict", str(model), str(item), "-o", str(tmp_path / "out.tif"))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    with rasterio.open(tmp_path / "out.tif") as src:
        assert src.read().shape == (2, 40, 50) and not np.isnan(src.read()).any()
    assert json.loads((tmp_path / "out.json").read_text())["properties"]["datetime"] == "2024-06-01T10:00:00Z"


def test_an_onnx_file_given_as_the_model_gets_a_one_line_hint_to_mlm_init(tmp_path) -> None:
    regressor_item(tmp_path, ["B02", "B03", "B04"])
    raster = write_raster(tmp_path / "in.tif", np.ones((3, 20, 20), np.uint16), ["B02", "B03", "B04"])
    result = eohub("predict", str(tmp_path / "reg.onnx"), str(raster), "-o", str(tmp_path / "out.tif"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'reg.onnx'} is an ONNX file, not an MLM item: describe it first with "
        f"`eohub mlm init {tmp_path / 'reg.onnx'} -o item.json`, then run that item"
    ]
    assert not (tmp_path / "out.tif").exists()
