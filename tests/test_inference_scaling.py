"""value_scaling, resize_type, processing expressions and the --allow-code gate, through real models."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from eohub.errors import InferenceError
from eohub.inference.predictor import Predictor
from eohub.inference.resize import resize, weights
from eohub.inference.scaling import parse_scaling
from tests.inference_helpers import make_identity, mlm_item, write_item, write_raster

BANDS = ["B02", "B03", "B04"]
DIMS = ["batch", "bands", "height", "width"]


def add_ten(array: np.ndarray) -> np.ndarray:
    """A pre-processing entry point used by these tests."""
    return array + 10


def negate(array: np.ndarray) -> np.ndarray:
    """A post-processing entry point used by these tests."""
    return -array


def identity(tmp_path, scaling=None, size=None, bands=BANDS, **kw) -> Predictor:
    make_identity(tmp_path / "id.onnx", len(bands), size=size)
    s = size or -1
    shape = [-1, len(bands), s, s]
    item = mlm_item(
        tmp_path / "id.onnx", bands, shape, DIMS, shape, DIMS, ["regression"], scaling=scaling, **kw
    )
    return Predictor.from_item(write_item(tmp_path / "id.json", item), allow_code=kw.pop("allow", False))


def sample(bands: int = 3) -> np.ndarray:
    return np.random.default_rng(5).uniform(0, 300, (2, bands, 4, 5)).astype(np.float32)


SCALINGS = [
    ({"type": "min-max", "minimum": 10, "maximum": 260}, lambda x: (x - 10) / 250),
    ({"type": "z-score", "mean": 120, "stddev": 40}, lambda x: (x - 120) / 40),
    ({"type": "clip", "minimum": 50, "maximum": 200}, lambda x: np.clip(x, 50, 200)),
    ({"type": "clip-min", "minimum": 50}, lambda x: np.maximum(x, 50)),
    ({"type": "clip-max", "maximum": 200}, lambda x: np.minimum(x, 200)),
    ({"type": "offset", "value": 100}, lambda x: x - 100),
    ({"type": "scale", "value": 4}, lambda x: x / 4),
]
SCALING_IDS = ["min-max", "z-score", "clip", "clip-min", "clip-max", "offset", "scale"]


@pytest.mark.parametrize(("scaling", "formula"), SCALINGS, ids=SCALING_IDS)
def test_every_scaling_type_follows_the_mlm_formula(tmp_path, scaling, formula) -> None:
    x = sample()
    out = identity(tmp_path, [scaling]).predict(x)
    np.testing.assert_allclose(out, formula(x.astype(np.float64)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("scaling", "formula"), SCALINGS, ids=SCALING_IDS)
def test_every_scaling_type_is_applied_the_same_way_on_a_raster(tmp_path, scaling, formula) -> None:
    data = np.random.default_rng(6).integers(1, 300, (3, 20, 24)).astype(np.uint16)
    raster = write_raster(tmp_path / "in.tif", data, BANDS, block=16)
    out = identity(tmp_path, [scaling]).run(raster, tmp_path / "out.tif", tile=8, overlap=0, region=16)
    with rasterio.open(out) as src:
        np.testing.assert_allclose(src.read(), formula(data.astype(np.float64)), rtol=1e-5, atol=1e-5)


def test_one_scaling_object_per_band_applies_to_its_band(tmp_path) -> None:
    scaling = [{"type": "offset", "value": 1}, None, {"type": "scale", "value": 2}]
    x = sample()
    out = identity(tmp_path, scaling).predict(x)
    np.testing.assert_allclose(out[:, 0], x[:, 0] - 1, rtol=1e-6)
    np.testing.assert_array_equal(out[:, 1], x[:, 1])
    np.testing.assert_allclose(out[:, 2], x[:, 2] / 2, rtol=1e-6)


def test_a_scaling_count_other_than_one_or_the_band_count_is_refused(tmp_path) -> None:
    with pytest.raises(InferenceError, match="2 scaling objects for 3 bands"):
        identity(tmp_path, [{"type": "offset", "value": 1}] * 2)


@pytest.mark.parametrize(
    ("scaling", "message"),
    [
        ({"type": "z-score", "mean": 1, "stddev": 0}, "stddev 0 divides by zero"),
        ({"type": "min-max", "minimum": 3, "maximum": 3}, "maximum == minimum"),
        ({"type": "scale", "value": 0}, "scale by 0"),
        ({"type": "log", "value": 1}, "unknown value_scaling type 'log'"),
        ({"type": "z-score", "mean": 1}, "needs a number 'stddev'"),
    ],
)
def test_scalings_that_cannot_be_computed_are_refused_when_loading(tmp_path, scaling, message) -> None:
    with pytest.raises(InferenceError, match=message):
        identity(tmp_path, [scaling])


def test_processing_scaling_runs_only_with_allow_code(tmp_path) -> None:
    scaling = [
        {"type": "processing", "format": "gdal-calc", "expression": "A * logical_or(A <= 177, A >= 185)"}
    ]
    with pytest.raises(
        InferenceError, match=r"value_scaling\[0\] runs gdal-calc expression .* pass --allow-code"
    ):
        identity(tmp_path, scaling)
    x = sample()
    out = identity(tmp_path, scaling, allow=True).predict(x)
    np.testing.assert_allclose(out, x * ((x <= 177) | (x >= 185)), rtol=1e-6)


def test_python_pre_and_post_processing_are_refused_with_the_entry_point_named(tmp_path) -> None:
    pre = {"format": "python", "expression": "tests.test_inference_scaling:add_ten"}
    with pytest.raises(InferenceError, match="pre_processing_function runs Python entry point "
                       "'tests.test_inference_scaling:add_ten'; pass --allow-code"):  # fmt: skip
        identity(tmp_path, pre_processing_function=pre)
    post = {"format": "python", "expression": "tests.test_inference_scaling.negate"}
    with pytest.raises(InferenceError, match="post_processing_function runs Python entry point"):
        identity(tmp_path, post_processing_function=post)
    with pytest.raises(InferenceError, match="format 'docker' is not supported"):
        identity(
            tmp_path, pre_processing_function={"format": "docker", "expression": "ghcr.io/x:1"}, allow=True
        )


def test_preprocessing_order_is_scaling_then_resize_then_function_then_model_then_post(tmp_path) -> None:
    predictor = identity(
        tmp_path,
        [{"type": "offset", "value": 1}],
        size=4,
        resize_type="pad",
        pre_processing_function={"format": "python", "expression": "tests.test_inference_scaling:add_ten"},
        post_processing_function={"format": "python", "expression": "tests.test_inference_scaling:negate"},
        allow=True,
    )
    x = np.full((1, 3, 2, 2), 5, np.float32)
    out = predictor.predict(x)
    assert out.shape == (1, 3, 4, 4)  # padded to the model size
    assert np.all(out[:, :, 1:3, 1:3] == -(5 - 1 + 10))  # scaled, then the function, then post-processing
    assert np.all(out[:, :, 0, :] == -10)  # padding (0) happened before the function, after scaling


def test_band_expressions_come_before_scaling(tmp_path) -> None:
    bands = ["B02", {"name": "DOUBLE", "format": "gdal-calc", "expression": "B02 * 2"}]
    make_identity(tmp_path / "id.onnx", 2)
    shape = [-1, 2, -1, -1]
    item = mlm_item(tmp_path / "id.onnx", bands, shape, DIMS, shape, DIMS, ["regression"],
                    scaling=[{"type": "offset", "value": 1}])  # fmt: skip
    path = write_item(tmp_path / "id.json", item)
    data = np.arange(1, 17, dtype=np.uint16).reshape(1, 4, 4)
    raster = write_raster(tmp_path / "in.tif", data, ["B02"])
    with pytest.raises(
        InferenceError, match="DOUBLE'\\) runs gdal-calc expression 'B02 \\* 2'; pass --allow-code"
    ):
        Predictor.from_item(path).run(raster, tmp_path / "out.tif", tile=4, overlap=0)
    assert not (tmp_path / "out.tif").exists()
    out = Predictor.from_item(path, allow_code=True).run(raster, tmp_path / "out.tif", tile=4, overlap=0)
    with rasterio.open(out) as src:
        values = src.read()
    np.testing.assert_array_equal(values[0], data[0] - 1)
    np.testing.assert_array_equal(values[1], data[0] * 2 - 1)


def test_a_whole_input_arithmetic_pre_processing_sees_bands_as_letters(tmp_path) -> None:
    make_identity(tmp_path / "one.onnx", 1)
    shape = [-1, 1, -1, -1]
    pre = {"format": "gdal-calc", "expression": "(A - B) / (A + B)"}
    item = mlm_item(tmp_path / "one.onnx", ["B04", "B08"], shape, DIMS, shape, DIMS, ["regression"],
                    pre_processing_function=pre)  # fmt: skip
    predictor = Predictor.from_item(write_item(tmp_path / "nd.json", item), allow_code=True)
    x = np.stack([np.full((2, 2), 3.0), np.full((2, 2), 1.0)])[None].astype(np.float32)
    np.testing.assert_allclose(predictor.predict(x), np.full((1, 1, 2, 2), 0.5))


@pytest.mark.parametrize(
    "method",
    ["interpolation-nearest", "interpolation-linear", "interpolation-cubic", "interpolation-area",
     "interpolation-lanczos4"],
)  # fmt: skip
def test_interpolations_keep_a_constant_image_constant_and_rows_sum_to_one(method) -> None:
    x = np.full((1, 2, 7, 9), 3.5, np.float32)
    out = resize(x, 4, 12, method)
    assert out.shape == (1, 2, 4, 12)
    np.testing.assert_allclose(out, 3.5, rtol=1e-6)
    np.testing.assert_allclose(weights(9, 4, method).sum(axis=1), 1)


def test_area_and_max_downsampling_average_and_take_the_maximum() -> None:
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    np.testing.assert_allclose(resize(x, 2, 2, "interpolation-area"), [[[2.5, 4.5], [10.5, 12.5]]])
    np.testing.assert_allclose(resize(x, 2, 2, "interpolation-max"), [[[5, 7], [13, 15]]])
    np.testing.assert_allclose(resize(x, 2, 2, "crop"), [[[5, 6], [9, 10]]])
    with pytest.raises(InferenceError, match="declares no resize_type"):
        resize(x, 2, 2, None)


def test_a_different_input_size_is_resized_with_the_declared_method(tmp_path) -> None:
    predictor = identity(tmp_path, size=4, resize_type="interpolation-linear")
    x = np.tile(np.arange(8, dtype=np.float32), (1, 3, 8, 1))
    out = predictor.predict(x)
    assert out.shape == (1, 3, 4, 4)
    np.testing.assert_allclose(out[0, 0, 0], [0.5, 2.5, 4.5, 6.5])


def test_scaling_parses_nulls_and_broadcasts_one_object() -> None:
    scaling = parse_scaling([{"type": "offset", "value": 2}], 4, "v")
    assert scaling is not None and list(scaling.shift) == [-2, -2, -2, -2]
    assert parse_scaling(None, 3, "v") is None
    assert list(parse_scaling([None, {"type": None}], 2, "v").scale) == [1, 1]


def test_casting_to_an_integer_data_type_rounds_and_clips() -> None:
    from eohub.inference.predictor import cast

    values = np.array([-3.0, 0.4, 0.6, 254.5, 300.0], np.float32)
    assert cast(values, np.dtype(np.uint8)).tolist() == [0, 0, 1, 254, 255]
    assert cast(values, np.dtype(np.float32)) is values
