"""A ResNet-18-sized ONNX classifier built with ``onnx.helper`` (seeded random weights) for benchmarks.

The topology is ResNet-18's as exported for inference (batch norm folded into the convolutions): a 7x7/2
stem, a 3x3/2 max pool, four stages of two basic blocks (64, 128, 256, 512 channels), global average
pooling and a fully connected layer: about 11.2 million parameters for 13 bands and 10 classes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def conv(self, x: str, c_in: int, c_out: int, k: int, stride: int = 1, relu: bool = True) -> str:
        name = self.name("conv")
        fan_in = c_in * k * k
        w = (self.rng.standard_normal((c_out, c_in, k, k)) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        self.inits += [
            numpy_helper.from_array(w, f"{name}_w"),
            numpy_helper.from_array(np.zeros(c_out, np.float32), f"{name}_b"),
        ]
        pad = k // 2
        self.nodes.append(
            helper.make_node(
                "Conv", [x, f"{name}_w", f"{name}_b"], [name], strides=[stride, stride], pads=[pad] * 4
            )
        )
        if not relu:
            return name
        out = self.name("relu")
        self.nodes.append(helper.make_node("Relu", [name], [out]))
        return out

    def block(self, x: str, c_in: int, c_out: int, stride: int) -> str:
        y = self.conv(x, c_in, c_out, 3, stride)
        y = self.conv(y, c_out, c_out, 3, 1, relu=False)
        shortcut = x if stride == 1 and c_in == c_out else self.conv(x, c_in, c_out, 1, stride, relu=False)
        added, out = self.name("add"), self.name("relu")
        self.nodes += [
            helper.make_node("Add", [y, shortcut], [added]),
            helper.make_node("Relu", [added], [out]),
        ]
        return out


def make_resnet18(
    path: str | Path, bands: int = 13, classes: int = 10, size: int = 64, seed: int = 0
) -> Path:
    """Write a ResNet-18 classifier ``[batch, bands, size, size] -> [batch, classes]`` (float32 logits)."""
    b = _Builder(seed)
    x = b.conv("input", bands, 64, 7, 2)
    pooled = b.name("pool")
    b.nodes.append(
        helper.make_node("MaxPool", [x], [pooled], kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4)
    )
    x, c_in = pooled, 64
    for c_out, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        x = b.block(x, c_in, c_out, stride)
        x = b.block(x, c_out, c_out, 1)
        c_in = c_out
    b.nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    b.nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], axis=1))
    fc = (b.rng.standard_normal((classes, 512)) * np.sqrt(1.0 / 512)).astype(np.float32)
    b.inits += [
        numpy_helper.from_array(fc, "fc_w"),
        numpy_helper.from_array(np.zeros(classes, np.float32), "fc_b"),
    ]
    b.nodes.append(helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], transB=1))
    graph = helper.make_graph(
        b.nodes,
        "resnet18",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", bands, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])],
        b.inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="eohub.bench"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, path)
    return path


def parameter_count(path: str | Path) -> int:
    """Number of weights in an ONNX file's initializers."""
    return int(sum(np.prod(t.dims) for t in onnx.load(str(path)).graph.initializer))
