"""Check an MLM item against the ONNX graph it describes, and read what the graph says about its outputs.

``bind`` pairs ``mlm:input``/``mlm:output`` entries with graph tensors (by name, else by position when the
counts match) and refuses contradictions: a different rank, a different fixed size, a different data type.
Where one side fixes a size and the other leaves it open, the fixed size wins. ``meaning`` tells what a
graph output holds from the operators that make it (read without the weights, :mod:`.onnx_nodes`):
probabilities out of ``Softmax``/``Sigmoid``, log-probabilities out of ``LogSoftmax``, the class labels
or the scores of an ONNX-ML classifier (``TreeEnsembleClassifier``, ``LinearClassifier``,
``SVMClassifier``, which give probabilities already), or else raw values (logits, for a class output).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eohub.errors import InferenceError
from eohub.inference.onnx_nodes import GraphNodes, Node, read_nodes

ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
    "tensor(uint16)": "uint16",
    "tensor(int16)": "int16",
    "tensor(uint32)": "uint32",
    "tensor(int32)": "int32",
    "tensor(uint64)": "uint64",
    "tensor(int64)": "int64",
    "tensor(bool)": "bool",
}
MLM_TYPES = frozenset(ORT_TYPES.values()) - {"bool"}
# Nodes that keep values as they are (only move or reshape them) between an activation and the output.
PASS_THROUGH = frozenset({"Identity", "Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Cast"})
ACTIVATIONS = {"Softmax": "softmax", "Sigmoid": "sigmoid", "LogSoftmax": "log_softmax"}
DEFAULT_DOMAINS = ("", "ai.onnx")
ML_DOMAIN = "ai.onnx.ml"
# ONNX-ML classifiers: output 0 holds class labels, output 1 per-class scores (probabilities as converted).
CLASSIFIERS = frozenset({"TreeEnsembleClassifier", "LinearClassifier", "SVMClassifier"})


@dataclass(frozen=True)
class Tensor:
    """A graph input or output as ONNX Runtime reports it; ``-1`` marks a symbolic dimension."""

    name: str
    shape: tuple[int, ...]
    data_type: str


@dataclass(frozen=True)
class Binding:
    """An MLM entry, its graph tensor and the shape both agree on (``-1`` where both leave it open)."""

    spec: Any
    tensor: Tensor
    shape: tuple[int, ...]


def tensors(args: Sequence[Any]) -> list[Tensor]:
    """``session.get_inputs()`` or ``get_outputs()`` as :class:`Tensor` objects."""
    out = []
    for a in args:
        shape = tuple(d if isinstance(d, int) and d > 0 else -1 for d in (a.shape or []))
        out.append(Tensor(a.name, shape, ORT_TYPES.get(a.type, a.type)))
    return out


def _pair(specs: Sequence[Any], graph: Sequence[Tensor], kind: str) -> list[tuple[Any, Tensor]]:
    names = {t.name: t for t in graph}
    if all(s.name in names for s in specs):
        return [(s, names[s.name]) for s in specs]
    if len(specs) == len(graph):
        return list(zip(specs, graph, strict=True))
    raise InferenceError(
        f"the MLM item contradicts the model: mlm:{kind} has {len(specs)} entries, the graph has "
        f"{len(graph)} {kind}s ({', '.join(t.name for t in graph)})"
    )


def bind(specs: Sequence[Any], graph: Sequence[Tensor], kind: str) -> list[Binding]:
    """Pair MLM entries (``kind`` is ``input`` or ``output``) with graph tensors and merge their shapes."""
    out = []
    for spec, tensor in _pair(specs, graph, kind):
        where = f"mlm:{kind}[{spec.index}] ({spec.name!r})"
        if spec.data_type not in MLM_TYPES:
            raise InferenceError(f"{where}: data_type {spec.data_type!r} is not supported")
        if spec.data_type != tensor.data_type:
            raise InferenceError(
                f"the MLM item contradicts the model: {where} says {spec.data_type}, "
                f"graph {kind} {tensor.name!r} is {tensor.data_type}"
            )
        if tensor.shape and len(spec.shape) != len(tensor.shape):
            raise InferenceError(
                f"the MLM item contradicts the model: {where} has shape {list(spec.shape)}, "
                f"graph {kind} {tensor.name!r} has {list(tensor.shape)}"
            )
        shape = []
        for axis, declared in enumerate(spec.shape):
            actual = tensor.shape[axis] if tensor.shape else -1
            if declared > 0 and actual > 0 and declared != actual:
                raise InferenceError(
                    f"the MLM item contradicts the model: {where} {spec.dims[axis]} is {declared}, "
                    f"graph {kind} {tensor.name!r} has {actual}"
                )
            shape.append(declared if declared > 0 else actual)
        out.append(Binding(spec, tensor, tuple(shape)))
    return out


@dataclass(frozen=True)
class Classifier:
    """An ONNX-ML classifier node (``TreeEnsembleClassifier``, ``LinearClassifier``, ``SVMClassifier``):
    its outputs (labels, scores), the class value of each score column (None for string labels), and the
    transform it applies to its scores."""

    op_type: str
    outputs: tuple[str, ...]
    labels: tuple[int, ...] | None
    post_transform: str


@dataclass(frozen=True)
class Meaning:
    """What a graph output holds, read from the operators that make it.

    ``activation``: ``softmax``, ``sigmoid``, ``log_softmax``, ``classifier`` (an ONNX-ML classifier's
    scores, used as they are) or None (raw values). ``role`` is ``labels`` or ``scores`` for a classifier's
    outputs; ``zipmap`` tells that the scores reach the output as a ZipMap (a sequence of maps)."""

    activation: str | None = None
    classifier: Classifier | None = None
    role: str | None = None
    zipmap: bool = False


def meaning(nodes: GraphNodes, output_name: str) -> Meaning:
    """What the output ``output_name`` of the graph whose ``nodes`` are given holds (see :class:`Meaning`)."""
    name, zipmap = output_name, False
    for _ in range(64):
        node = nodes.producers.get(name)
        if node is None:
            return Meaning(zipmap=zipmap)
        if node.domain in DEFAULT_DOMAINS and node.op_type in ACTIVATIONS:
            return Meaning(ACTIVATIONS[node.op_type], zipmap=zipmap)
        if node.domain == ML_DOMAIN and node.op_type in CLASSIFIERS:
            classifier = _classifier(node)
            role = "labels" if name == node.outputs[0] else "scores"
            return Meaning("classifier" if role == "scores" else None, classifier, role, zipmap)
        zipmap = zipmap or (node.domain == ML_DOMAIN and node.op_type == "ZipMap")
        kept = _kept_input(nodes, node)
        if kept is None:
            return Meaning(zipmap=zipmap)
        name = kept
    return Meaning(zipmap=zipmap)


def sibling(nodes: GraphNodes, output_name: str) -> str | None:
    """The graph output holding the other result (labels or scores) of the classifier behind
    ``output_name``, or None."""
    mine = meaning(nodes, output_name)
    if mine.classifier is None:
        return None
    for other in nodes.outputs:
        theirs = meaning(nodes, other) if other != output_name else None
        if theirs and theirs.classifier == mine.classifier and theirs.role != mine.role:
            return other
    return None


def activation(model_path: str | Path, output_name: str) -> str | None:
    """``softmax``, ``sigmoid``, ``log_softmax`` or ``classifier`` when that makes ``output_name``."""
    return meaning(read_nodes(model_path), output_name).activation


def _kept_input(nodes: GraphNodes, node: Node) -> str | None:
    """The input whose values ``node`` passes on as they are (moved, reshaped, L1-normalized probabilities,
    columns picked, a ZipMap, a multiplication by 1), or None when it computes something else."""
    if not node.inputs:
        return None
    if node.domain in DEFAULT_DOMAINS:
        if node.op_type in PASS_THROUGH:
            return node.inputs[0]
        if node.op_type in ("Mul", "Div") and len(node.inputs) == 2:
            if nodes.scalars.get(node.inputs[1]) == 1.0:
                return node.inputs[0]
            if node.op_type == "Mul" and nodes.scalars.get(node.inputs[0]) == 1.0:
                return node.inputs[1]
        return None
    if node.domain == ML_DOMAIN:
        l1 = node.op_type == "Normalizer" and node.attributes.get("norm") == b"L1"
        if l1 or node.op_type in ("ZipMap", "ArrayFeatureExtractor"):
            return node.inputs[0]
    return None


def _classifier(node: Node) -> Classifier:
    attrs = node.attributes
    ints = attrs.get("classlabels_int64s") or attrs.get("classlabels_ints")
    labels = tuple(int(v) for v in ints) if ints else None
    transform = attrs.get("post_transform", b"NONE")
    text = transform.decode(errors="replace") if isinstance(transform, bytes) else str(transform)
    return Classifier(node.op_type, node.outputs, labels, text)


def numpy_type(data_type: str) -> np.dtype:
    """The NumPy dtype of an MLM / raster ``data_type``."""
    return np.dtype(data_type)
