"""``eohub predict``: results, one-line errors for bad input, and no partial output left behind."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from typer.testing import CliRunner

from eohub.cli.main import app
from tests.inference_helpers import segmenter_item, write_raster
from tests.test_inference_tiling import smooth_scene

BANDS = ["B02", "B03", "B04"]
runner = CliRunner()
calls = {"n": 0}


def fail_on_third_batch(array: np.ndarray) -> np.ndarray:
    """Post-processing that breaks in the middle of a run."""
    calls["n"] += 1
    if calls["n"] == 3:
        raise RuntimeError("boom")
    return array


def predict(*args: str):
    return runner.invoke(app, ["predict", *args])


def listing(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def model(tmp_path):
    return segmenter_item(tmp_path, BANDS, size=32)


def test_predict_writes_the_raster_and_its_item(tmp_path, model) -> None:
    raster = write_raster(tmp_path / "in.tif", smooth_scene(50, 60).astype(np.uint16), BANDS, block=16)
    result = predict(
        str(model), str(raster), "-o", str(tmp_path / "out.tif"), "--overlap", "8", "--batch", "4"
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(tmp_path / "out.tif")
    with rasterio.open(tmp_path / "out.tif") as src:
        assert src.read(1).shape == (50, 60)
    assert json.loads((tmp_path / "out.json").read_text())["assets"]["prediction"]["href"] == "out.tif"


def test_a_folder_output_takes_each_input_as_a_scene(tmp_path, model) -> None:
    a = write_raster(tmp_path / "a.tif", smooth_scene(40, 40).astype(np.uint16), BANDS)
    b = write_raster(tmp_path / "b.tif", smooth_scene(30, 50).astype(np.uint16), BANDS)
    result = predict(str(model), str(a), str(b), "-o", str(tmp_path / "maps"))
    assert result.exit_code == 0, result.output
    assert listing(tmp_path / "maps") == ["a.json", "a.tif", "b.json", "b.tif"]


def test_local_dask_workers_give_the_single_process_result(tmp_path, model) -> None:
    raster = write_raster(tmp_path / "in.tif", smooth_scene(300, 80).astype(np.uint16), BANDS, block=32)
    assert predict(str(model), str(raster), "-o", str(tmp_path / "one.tif"), "--overlap", "8").exit_code == 0
    result = predict(
        str(model), str(raster), "-o", str(tmp_path / "two.tif"), "--overlap", "8", "--workers", "2"
    )
    assert result.exit_code == 0, result.output
    with rasterio.open(tmp_path / "one.tif") as one, rasterio.open(tmp_path / "two.tif") as two:
        assert np.array_equal(one.read(), two.read())


def _raster_cases(tmp_path):
    good = smooth_scene(40, 40).astype(np.uint16)
    (tmp_path / "text.tif").write_text("not a raster")
    return {
        "wrong band count": (write_raster(tmp_path / "two.tif", good[:2], None),
                             "wrong band count: the model takes 3 bands, the input has 2"),
        "missing band": (write_raster(tmp_path / "named.tif", good, ["B02", "B03", "B08"]),
                         "input lacks bands the model needs: B04 (input has: B02, B03, B08)"),
        "unsupported type": (write_raster(tmp_path / "cplx.tif", good.astype(np.complex64), BANDS),
                             "data type complex64 is not supported"),
        "unreadable raster": (tmp_path / "text.tif", "text.tif: not a readable raster"),
    }  # fmt: skip


@pytest.mark.parametrize(
    "case", ["wrong band count", "missing band", "unsupported type", "unreadable raster"]
)
def test_bad_input_is_a_one_line_error_and_leaves_no_output(tmp_path, model, case) -> None:
    raster, message = _raster_cases(tmp_path)[case]
    before = listing(tmp_path)
    result = predict(str(model), str(raster), "-o", str(tmp_path / "out.tif"))
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("error: ")
    assert message in result.output
    assert listing(tmp_path) == before


def test_a_bad_scene_among_several_fails_before_any_output_is_written(tmp_path, model) -> None:
    good = write_raster(tmp_path / "a.tif", smooth_scene(40, 40).astype(np.uint16), BANDS)
    bad = write_raster(tmp_path / "b.tif", smooth_scene(40, 40).astype(np.uint16), ["B02", "B03", "B08"])
    for extra in ([], ["--workers", "1"]):
        result = predict(str(model), str(good), str(bad), "-o", str(tmp_path / "maps"), *extra)
        assert result.exit_code == 1 and result.output.count("\n") == 1
        assert "input lacks bands the model needs: B04" in result.output
        assert not (tmp_path / "maps").exists()  # not even a.tif, which was fine


def test_a_model_contradicting_its_graph_is_refused(tmp_path, model) -> None:
    data = json.loads(model.read_text())
    data["properties"]["mlm:input"][0]["input"]["data_type"] = "uint8"
    model.write_text(json.dumps(data))
    raster = write_raster(tmp_path / "in.tif", smooth_scene(40, 40).astype(np.uint16), BANDS)
    result = predict(str(model), str(raster), "-o", str(tmp_path / "out.tif"))
    assert result.exit_code == 1
    assert "error: the MLM item contradicts the model: mlm:input[0] ('x') says uint8" in result.output
    assert not (tmp_path / "out.tif").exists()


def test_code_in_the_item_needs_allow_code_and_a_failure_midway_leaves_nothing(tmp_path, model) -> None:
    data = json.loads(model.read_text())
    hook = {"format": "python", "expression": "tests.test_inference_cli:fail_on_third_batch"}
    data["properties"]["mlm:output"][0]["post_processing_function"] = hook
    model.write_text(json.dumps(data))
    raster = write_raster(tmp_path / "in.tif", smooth_scene(200, 200).astype(np.uint16), BANDS, block=32)
    before = listing(tmp_path)
    refused = predict(str(model), str(raster), "-o", str(tmp_path / "out.tif"))
    assert refused.exit_code == 1
    assert (
        "runs Python entry point 'tests.test_inference_cli:fail_on_third_batch'; pass --allow-code"
        in refused.output
    )
    calls["n"] = 0
    failed = predict(str(model), str(raster), "-o", str(tmp_path / "out.tif"), "--allow-code", "--batch", "2")
    assert failed.exit_code == 1 and "failed: boom" in failed.output
    assert listing(tmp_path) == before  # no output, no part or temporary files


def test_usage_mistakes_exit_2(tmp_path, model) -> None:
    raster = write_raster(tmp_path / "in.tif", smooth_scene(40, 40).astype(np.uint16), BANDS)
    missing = predict(str(model), str(tmp_path / "nope.tif"), "-o", str(tmp_path / "out.tif"))
    assert missing.exit_code == 2 and "nope.tif: no such file" in missing.output
    overlap = predict(str(model), str(raster), "-o", str(tmp_path / "out.tif"), "--overlap", "32")
    assert overlap.exit_code == 2 and "overlap must be at least 0 and smaller than the tile" in overlap.output
    zero = predict(str(model), str(raster), "-o", str(tmp_path / "out.tif"), "--tile", "0")
    assert zero.exit_code == 2 and "--tile must be a whole number >= 1 (got 0)" in zero.output
    for flag in ("--streams", "--threads"):
        bad = predict(str(model), str(raster), "-o", str(tmp_path / "out.tif"), flag, "0")
        assert bad.exit_code == 2 and f"{flag} must be a whole number >= 1 (got 0)" in bad.output
    no_model = predict(str(tmp_path / "nothing.json"), str(raster), "-o", str(tmp_path / "out.tif"))
    assert no_model.exit_code == 2


def test_streams_and_threads_share_the_cores_between_them(monkeypatch) -> None:
    from eohub.inference import options

    monkeypatch.setattr(options.os, "cpu_count", lambda: 8)
    assert options.default_streams() == 2
    assert options.session_threads(2) == 4
    assert options.session_threads(1) is None  # one stream: ONNX Runtime's own default
    assert options.default_streams(workers=4) == 2 and options.session_threads(2, workers=4) == 1
    assert options.default_streams(workers=8) == 1 and options.session_threads(1, workers=8) == 1
    assert options.default_streams(scheduler="tcp://x:1") == 1
    assert options.session_threads(2, scheduler="tcp://x:1") is None  # each worker decides
    monkeypatch.setattr(options.os, "cpu_count", lambda: 1)
    assert options.default_streams() == 1
