"""Small ONNX models built with ``onnx.helper``, for the demo hub, tests and benchmarks.

Nothing is downloaded: the weights are drawn from a seeded random generator, so the same call
always writes the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _dim(value: int | None, name: str) -> int | str:
    return name if value is None else value


def _conv(name: str, x: str, rng: np.random.Generator, c_in: int, c_out: int, k: int) -> tuple[list, list]:
    w = numpy_helper.from_array(
        (rng.standard_normal((c_out, c_in, k, k)) * 0.1).astype(np.float32), f"{name}_w"
    )
    b = numpy_helper.from_array(np.zeros(c_out, np.float32), f"{name}_b")
    node = helper.make_node("Conv", [x, w.name, b.name], [name], pads=[k // 2] * 4, name=name)
    return [node], [w, b]


def make_classifier(
    path: str | Path,
    bands: int = 3,
    classes: int = 10,
    size: int | None = 64,
    batch: int | None = None,
    hidden: int = 8,
    seed: int = 0,
    input_name: str = "input",
    output_name: str = "logits",
) -> Path:
    """Write a tiny CNN classifier ``[batch, bands, size, size] -> [batch, classes]`` (float32 logits).

    ``size=None`` or ``batch=None`` make those dimensions symbolic.
    """
    rng = np.random.default_rng(seed)
    nodes, inits = _conv("conv1", input_name, rng, bands, hidden, 3)
    nodes.append(helper.make_node("Relu", ["conv1"], ["relu1"]))
    nodes.append(helper.make_node("GlobalAveragePool", ["relu1"], ["pool"]))
    nodes.append(helper.make_node("Flatten", ["pool"], ["flat"], axis=1))
    fc_w = numpy_helper.from_array((rng.standard_normal((classes, hidden)) * 0.5).astype(np.float32), "fc_w")
    fc_b = numpy_helper.from_array(np.zeros(classes, np.float32), "fc_b")
    inits += [fc_w, fc_b]
    nodes.append(helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], [output_name], transB=1))
    h = _dim(size, "height")
    w = _dim(size, "width")
    n = _dim(batch, "batch")
    graph = helper.make_graph(
        nodes,
        "classifier",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [n, bands, h, w])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [n, classes])],
        inits,
    )
    return _save(graph, path)


def make_segmenter(
    path: str | Path,
    bands: int = 4,
    classes: int = 3,
    size: int | None = 64,
    batch: int | None = None,
    hidden: int = 8,
    seed: int = 0,
    input_name: str = "input",
    output_name: str = "scores",
) -> Path:
    """Write a tiny fully convolutional segmenter ``[batch, bands, H, W] -> [batch, classes, H, W]``."""
    rng = np.random.default_rng(seed)
    nodes, inits = _conv("conv1", input_name, rng, bands, hidden, 3)
    nodes.append(helper.make_node("Relu", ["conv1"], ["relu1"]))
    more_nodes, more_inits = _conv(output_name, "relu1", rng, hidden, classes, 1)
    nodes += more_nodes
    inits += more_inits
    h = _dim(size, "height")
    w = _dim(size, "width")
    n = _dim(batch, "batch")
    graph = helper.make_graph(
        nodes,
        "segmenter",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [n, bands, h, w])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [n, classes, h, w])],
        inits,
    )
    return _save(graph, path)


def _save(graph: onnx.GraphProto, path: str | Path) -> Path:
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="eohub.demo"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    return path
