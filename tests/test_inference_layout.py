"""dim_order: models taking batch/time/channel/height/width in any order give the same predictions."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from eohub.errors import InferenceError
from eohub.inference import layout
from eohub.inference.predictor import Predictor
from tests.inference_helpers import make_conv_regressor, mlm_item, write_item, write_raster
from tests.test_inference_tiling import smooth_scene

BANDS = ["B02", "B03", "B04"]
NAMES = {"N": "batch", "T": "time", "C": "bands", "H": "height", "W": "width"}
LAYOUTS = ["NCHW", "NHWC", "CHW", "HWC", "NTCHW", "TNHWC", "WHCN"]


def layout_model(tmp_path, dims: str) -> Predictor:
    path = make_conv_regressor(tmp_path / f"{dims}.onnx", len(BANDS), outputs=2, dims=dims)
    sizes = {"N": -1, "T": 1, "C": len(BANDS), "H": -1, "W": -1}
    out_dims = ["batch", "channel", "height", "width"]
    shape, dim_order = [sizes[d] for d in dims], [NAMES[d] for d in dims]
    scaling = [{"type": "scale", "value": 1000}]
    item = mlm_item(path, BANDS, shape, dim_order, [-1, 2, -1, -1], out_dims, ["regression"], scaling=scaling)
    return Predictor.from_item(write_item(tmp_path / f"{dims}.json", item))


@pytest.mark.parametrize("dims", LAYOUTS[1:])
def test_any_dim_order_gives_the_same_scene_prediction(tmp_path, dims) -> None:
    raster = write_raster(tmp_path / "in.tif", smooth_scene(50, 70), BANDS, block=16)
    results = []
    for order in ("NCHW", dims):
        out = layout_model(tmp_path, order).run(
            raster, tmp_path / f"{order}.tif", tile=32, overlap=8, batch=4
        )
        with rasterio.open(out) as src:
            results.append(src.read())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6, atol=1e-6)


def test_predict_takes_arrays_in_the_models_own_layout(tmp_path) -> None:
    x = np.random.default_rng(2).uniform(0, 2000, (2, 3, 8, 8)).astype(np.float32)
    nchw = layout_model(tmp_path, "NCHW").predict(x)
    nhwc = layout_model(tmp_path, "NHWC").predict(x.transpose(0, 2, 3, 1))
    np.testing.assert_allclose(nhwc, nchw, rtol=1e-6)
    chw = layout_model(tmp_path, "CHW")
    np.testing.assert_allclose(chw.predict(x[0]), nchw[:1], rtol=1e-6)
    with pytest.raises(InferenceError, match="takes 3-d arrays"):
        chw.predict(x)


def test_work_layout_round_trips_through_every_order() -> None:
    x = np.arange(2 * 1 * 3 * 4 * 5).reshape(2, 1, 3, 4, 5)
    for dims in (("batch", "channel", "height", "width"), ("height", "width", "time", "channel", "batch")):
        assert np.array_equal(layout.from_model(layout.to_model(x, dims), dims), x)
    with pytest.raises(InferenceError, match="has no batch axis but 2 are given"):
        layout.to_model(x, ("channel", "height", "width"))
    y = np.zeros((4, 5, 2, 3))  # height, width, batch, class
    assert layout.output_to_work(y, ("height", "width", "batch", "class")).shape == (2, 3, 4, 5)
    assert layout.output_to_work(np.zeros((2, 1, 3)), ("batch", "time", "class")).shape == (2, 3)
