"""Check an MLM item against the ONNX graph it describes, and read what the graph says about its outputs.

``bind`` pairs ``mlm:input``/``mlm:output`` entries with graph tensors (by name, else by position when the
counts match) and refuses contradictions: a different rank, a different fixed size, a different data type.
Where one side fixes a size and the other leaves it open, the fixed size wins. ``activation`` tells whether
a graph output already is a probability (it comes out of ``Softmax``/``Sigmoid``) or raw logits; it scans
the file's protobuf for the nodes only, so a model's weights are not parsed a second time (ONNX Runtime
already loads them).
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eohub.errors import InferenceError

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


def activation(model_path: str | Path, output_name: str) -> str | None:
    """``softmax``, ``sigmoid`` or ``log_softmax`` when that op makes ``output_name``, else None."""
    producers = _producers(model_path)
    name = output_name
    for _ in range(64):
        node = producers.get(name)
        if node is None:
            return None
        op_type, first_input = node
        if op_type in ACTIVATIONS:
            return ACTIVATIONS[op_type]
        if op_type not in PASS_THROUGH or not first_input:
            return None
        name = first_input
    return None


def _producers(model_path: str | Path) -> dict[str, tuple[str, str | None]]:
    """Output name -> (op type, first input) of the main graph's nodes, read without loading the weights."""
    try:
        with open(model_path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            view = memoryview(data)
            try:
                return _scan_nodes(view)
            except (ValueError, IndexError, UnicodeDecodeError):
                pass
            finally:
                view.release()
    except (OSError, ValueError):
        pass
    try:  # not a plain protobuf file we can scan: let onnx parse it
        import onnx

        model = onnx.load(str(model_path), load_external_data=False)
    except Exception:  # noqa: BLE001 - ONNX Runtime could read it, so only this hint is lost
        return {}
    return {o: (n.op_type, n.input[0] if n.input else None) for n in model.graph.node for o in n.output}


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("bad varint")


def _fields(data: memoryview, start: int, end: int) -> Iterator[tuple[int, int, Any]]:
    """``(field number, wire type, value or (start, end) of a length-delimited field)`` of one message."""
    pos = start
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > end:
                raise ValueError("truncated field")
            yield number, wire, (pos, pos + length)
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            yield number, wire, None
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _scan_nodes(data: memoryview) -> dict[str, tuple[str, str | None]]:
    """The protobuf wire format of ``ModelProto.graph`` (7) -> ``GraphProto.node`` (1) -> ``NodeProto``
    ``input`` (1), ``output`` (2), ``op_type`` (4); initializers and everything else are skipped unread."""
    producers: dict[str, tuple[str, str | None]] = {}
    for number, wire, span in _fields(data, 0, len(data)):
        if number != 7 or wire != 2:
            continue
        for g_number, g_wire, g_span in _fields(data, *span):
            if g_number != 1 or g_wire != 2:
                continue
            inputs, outputs, op_type = [], [], ""
            for n_number, _, (a, b) in (f for f in _fields(data, *g_span) if f[1] == 2):
                if n_number == 1:
                    inputs.append(bytes(data[a:b]).decode())
                elif n_number == 2:
                    outputs.append(bytes(data[a:b]).decode())
                elif n_number == 4:
                    op_type = bytes(data[a:b]).decode()
            for out in outputs:
                producers[out] = (op_type, inputs[0] if inputs else None)
    return producers


def numpy_type(data_type: str) -> np.dtype:
    """The NumPy dtype of an MLM / raster ``data_type``."""
    return np.dtype(data_type)
