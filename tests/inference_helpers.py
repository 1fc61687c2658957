"""Test models (built with onnx.helper), MLM items and rasters for the inference tests."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import rasterio
from onnx import TensorProto, helper, numpy_helper
from rasterio.transform import from_origin

from eohub.demo import make_classifier, make_segmenter

OPSET = 17
TRANSFORM = from_origin(500000, 4000000, 10, 10)
CRS = "EPSG:32631"
S2_BANDS = [
    ("B02", "blue"), ("B03", "green"), ("B04", "red"), ("B08", "nir"), ("B11", "swir16"), ("B12", "swir22"),
]  # fmt: skip


def save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def make_identity(path: Path, bands: int, dims: str = "NCHW", size: int | None = None) -> Path:
    """A model whose output equals its (pre-processed) input: ``[N, C, H, W] -> [N, C, H, W]`` float32."""
    shape = ["N" if d == "N" else bands if d == "C" else (size or d) for d in dims]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
    )
    return save(graph, path)


def make_conv_regressor(
    path: Path, bands: int, outputs: int = 1, dims: str = "NCHW", size: int | None = None, seed: int = 1
) -> Path:
    """A 3x3 convolution ``bands -> outputs`` whose input layout is ``dims`` (any of N, T, C, H, W).

    The graph transposes/reshapes its input to NCHW first, so every layout computes the same thing.
    """
    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array((rng.standard_normal((outputs, bands, 3, 3)) * 0.2).astype(np.float32), "w")
    b = numpy_helper.from_array(np.linspace(-0.5, 0.5, outputs).astype(np.float32), "b")
    h = size or "H"
    wd = size or "W"
    sizes = {"N": "N", "T": 1, "C": bands, "H": h, "W": wd}
    in_shape = [sizes[d] for d in dims]
    nodes = []
    current = "x"
    inits = [w, b]
    if "T" in dims:
        nodes.append(helper.make_node("Squeeze", [current, "t_axis"], ["no_t"]))
        inits.append(numpy_helper.from_array(np.array([dims.index("T")], np.int64), "t_axis"))
        current = "no_t"
        dims = dims.replace("T", "")
    if "N" not in dims:
        nodes.append(helper.make_node("Unsqueeze", [current, "n_axis"], ["with_n"]))
        inits.append(numpy_helper.from_array(np.array([0], np.int64), "n_axis"))
        current = "with_n"
        dims = "N" + dims
    perm = [dims.index(d) for d in "NCHW"]
    nodes.append(helper.make_node("Transpose", [current], ["nchw"], perm=perm))
    nodes.append(helper.make_node("Conv", ["nchw", "w", "b"], ["y"], pads=[1, 1, 1, 1]))
    graph = helper.make_graph(
        nodes,
        "regressor",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", outputs, h, wd])],
        inits,
    )
    return save(graph, path)


def write_raster(
    path: Path,
    data: np.ndarray,
    names: list[str] | None = None,
    nodata: float | None = None,
    block: int = 64,
) -> Path:
    """A tiled GeoTIFF with band descriptions ``names``."""
    count, height, width = data.shape
    profile = {
        "driver": "GTiff", "width": width, "height": height, "count": count, "dtype": data.dtype.name,
        "crs": CRS, "transform": TRANSFORM, "nodata": nodata,
    }  # fmt: skip
    if height >= block and width >= block:
        profile.update(tiled=True, blockxsize=block, blockysize=block)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for i, name in enumerate(names or []):
            dst.set_band_description(i + 1, name)
    return path


def mlm_item(
    model: Path,
    bands: list[str],
    shape: list[int],
    dim_order: list[str],
    out_shape: list[int],
    out_dims: list[str],
    tasks: list[str],
    classes: list[dict[str, Any]] | None = None,
    scaling: list[Any] | None = None,
    data_type: str = "float32",
    out_type: str = "float32",
    **extra: Any,
) -> dict[str, Any]:
    """A v1.5.2 MLM item dict for a local ONNX file (href relative to the item's folder)."""
    inp: dict[str, Any] = {
        "name": "x",
        "bands": bands,
        "input": {"shape": shape, "dim_order": dim_order, "data_type": data_type},
        "value_scaling": scaling,
        "resize_type": extra.pop("resize_type", None),
    }
    if "pre_processing_function" in extra:
        inp["pre_processing_function"] = extra.pop("pre_processing_function")
    out: dict[str, Any] = {
        "name": "y",
        "tasks": tasks,
        "result": {"shape": out_shape, "dim_order": out_dims, "data_type": out_type},
    }
    if classes is not None:
        out["classification:classes"] = classes
    if "post_processing_function" in extra:
        out["post_processing_function"] = extra.pop("post_processing_function")
    props: dict[str, Any] = {
        "datetime": None,
        "start_datetime": "2020-01-01T00:00:00Z",
        "end_datetime": "2020-12-31T00:00:00Z",
        "mlm:name": "test-model",
        "mlm:architecture": "CNN",
        "mlm:tasks": tasks,
        "mlm:input": [inp],
        "mlm:output": [out],
        **extra.pop("properties", {}),
    }
    asset = {"href": model.name, "type": "application/octet-stream; framework=onnx", "roles": ["mlm:model"],
             "mlm:artifact_type": "onnx", **extra.pop("asset", {})}  # fmt: skip
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": ["https://stac-extensions.github.io/mlm/v1.5.2/schema.json"],
        "id": "test-model",
        "geometry": None,
        "properties": props,
        "assets": {"model": asset},
        "links": [],
    }


def write_item(path: Path, item: dict[str, Any]) -> Path:
    path.write_text(json.dumps(item, indent=2))
    return path


def segmenter_item(
    folder: Path, bands: list[str], classes: int = 3, size: int | None = None, **kw: Any
) -> Path:
    """A demo segmenter and its item file in ``folder``; class colours set."""
    make_segmenter(folder / "seg.onnx", bands=len(bands), classes=classes, size=size)
    s = size or -1
    palette = ["0000FF", "00FF00", "FF0000", "FFFF00", "00FFFF"]
    cls = [{"value": i, "name": f"c{i}", "color_hint": palette[i % 5]} for i in range(classes)]
    dims = ["batch", "bands", "height", "width"]
    out_dims = ["batch", "class", "height", "width"]
    shape, out_shape = [-1, len(bands), s, s], [-1, classes, s, s]
    item = mlm_item(
        folder / "seg.onnx", bands, shape, dims, out_shape, out_dims, ["semantic-segmentation"], cls, **kw
    )
    return write_item(folder / "seg.json", item)


def classifier_item(folder: Path, bands: list[str], classes: int = 4, size: int = 32, **kw: Any) -> Path:
    """A demo patch classifier and its item file in ``folder``."""
    make_classifier(folder / "cls.onnx", bands=len(bands), classes=classes, size=size)
    cls = [{"value": i, "name": f"k{i}"} for i in range(classes)]
    dims = ["batch", "bands", "height", "width"]
    shape = [-1, len(bands), size, size]
    item = mlm_item(
        folder / "cls.onnx",
        bands,
        shape,
        dims,
        [-1, classes],
        ["batch", "class"],
        ["classification"],
        cls,
        **kw,
    )
    return write_item(folder / "cls.json", item)


def regressor_item(folder: Path, bands: list[str], outputs: int = 2, **kw: Any) -> Path:
    """A 3x3-conv regressor (any size) and its item file in ``folder``."""
    make_conv_regressor(folder / "reg.onnx", len(bands), outputs)
    dims = ["batch", "bands", "height", "width"]
    out_dims = ["batch", "channel", "height", "width"]
    shape, out_shape = [-1, len(bands), -1, -1], [-1, outputs, -1, -1]
    item = mlm_item(folder / "reg.onnx", bands, shape, dims, out_shape, out_dims, ["regression"], **kw)
    return write_item(folder / "reg.json", item)


# -- pixel classifiers trained and converted in the tests ----------------------------------------------------

PIXEL_BANDS = ["B02", "B03", "B04", "B08"]
PIXEL_SCALE = 8192  # features are DN / 8192: exact in float32, so thresholds compare the same everywhere
PREDICT_DATA = Path(__file__).parent / "data" / "realworld" / "predict"


def pixel_features(dn: np.ndarray) -> np.ndarray:
    """Features ``(pixels, bands)`` of digital numbers ``(bands, ...)``, as the items' scaling makes them."""
    return (dn.reshape(dn.shape[0], -1).T.astype(np.float32) / np.float32(PIXEL_SCALE)).astype(np.float32)


def pixel_training_set(labels: tuple[int, ...], n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Digital numbers ``(4, n)`` in 1..8191 and a class of ``labels`` for each, from simple band rules."""
    rng = np.random.default_rng(seed)
    dn = rng.integers(1, PIXEL_SCALE, (len(PIXEL_BANDS), n)).astype(np.uint16)
    x = dn.astype(np.float64) / PIXEL_SCALE
    score = x[0] + x[1] - x[3] + 0.3 * rng.standard_normal(n)
    y = np.where(score > 0.9, labels[-1], np.where(score > 0.2, labels[min(1, len(labels) - 1)], labels[0]))
    return dn, np.asarray(y)


def train_pixel_classifier(kind: str, labels: tuple[int, ...], seed: int = 0) -> Any:
    """A fitted scikit-learn or LightGBM classifier: ``forest``, ``logistic``, ``svm`` or ``lightgbm``."""
    dn, y = pixel_training_set(labels, seed=seed)
    if kind == "forest":
        from sklearn.ensemble import RandomForestClassifier

        model = RandomForestClassifier(n_estimators=8, max_depth=6, random_state=seed)
    elif kind == "logistic":
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(max_iter=500)
    elif kind == "svm":
        from sklearn.svm import SVC

        model = SVC(probability=True, random_state=seed)
    elif kind == "lightgbm":
        import lightgbm

        model = lightgbm.LGBMClassifier(n_estimators=12, num_leaves=8, random_state=seed, verbose=-1)
    else:
        raise ValueError(kind)
    with warnings.catch_warnings():  # SVC's probabilities are deprecated in scikit-learn 1.9
        warnings.simplefilter("ignore", FutureWarning)
        return model.fit(pixel_features(dn), y)


def convert_pixel_classifier(model: Any, path: Path, zipmap: bool = False) -> Path:
    """``model`` as ONNX at ``path``: skl2onnx for scikit-learn, onnxmltools for LightGBM."""
    bands = len(PIXEL_BANDS)
    if type(model).__module__.startswith("lightgbm"):
        import onnxmltools
        from onnxmltools.convert.common.data_types import FloatTensorType

        onx = onnxmltools.convert_lightgbm(
            model, initial_types=[("x", FloatTensorType([None, bands]))], zipmap=zipmap, target_opset=15
        )
    else:
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            onx = convert_sklearn(
                model,
                initial_types=[("x", FloatTensorType([None, bands]))],
                options={id(model): {"zipmap": zipmap}},
                target_opset={"": 17, "ai.onnx.ml": 3},
            )
    path.write_bytes(onx.SerializeToString())
    return path


def pixel_classifier_item(
    folder: Path, model: Any, zipmap: bool = False, item: str = "pixel-classifier"
) -> Path:
    """``model`` converted into ``folder`` beside a copy of ``tests/data/realworld/predict/ITEM.json``,
    its output names those the converter gave (``label``/``probabilities``, or the ZipMap's)."""
    path = convert_pixel_classifier(model, folder / "model.onnx", zipmap)
    data = json.loads((PREDICT_DATA / f"{item}.json").read_text())
    label, scores = [o.name for o in onnx.load(path, load_external_data=False).graph.output]
    for entry in data["properties"]["mlm:output"]:
        entry["name"] = label if entry["result"]["dim_order"] == ["batch"] else scores
    return write_item(folder / f"{item}.json", data)
