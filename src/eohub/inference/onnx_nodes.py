"""The nodes of an ONNX graph, read from the file's protobuf without parsing its weights.

ONNX Runtime loads the weights already; to learn what an output means (which operator makes it, what
class labels an ONNX-ML classifier declares) eohub only needs the node list. :func:`read_nodes` walks the
protobuf wire format of ``ModelProto.graph`` (7): its ``node`` (1), ``initializer`` (5) and ``output`` (12)
fields. Of a node it keeps inputs (1), outputs (2), ``op_type`` (4), ``domain`` (7) and the few attributes
(5) in :data:`WANTED_ATTRIBUTES`; of the initializers only one-value ones (scalars such as a ``Mul`` by 1);
everything else (weights, tree arrays) is skipped by its length, unread.
"""

from __future__ import annotations

import logging
import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Attributes of ONNX-ML classifiers eohub reads: their class labels, the transform of their scores, and
# what a Normalizer does.
WANTED_ATTRIBUTES = frozenset(
    {"classlabels_ints", "classlabels_int64s", "classlabels_strings", "post_transform", "norm", "prob_a"}
)
SCALAR_BYTES = 64  # an initializer message this short may hold one value; longer ones are skipped unread


@dataclass(frozen=True)
class Node:
    """One node: what it is, what it reads and makes, and the wanted attributes it carries."""

    op_type: str
    domain: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class GraphNodes:
    """The main graph's nodes by the names of what they make, its outputs, and its one-value constants."""

    producers: dict[str, Node] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    scalars: dict[str, float] = field(default_factory=dict)


def read_nodes(model_path: str | Path) -> GraphNodes:
    """The nodes of the model at ``model_path``; empty when the file cannot be read this way."""
    try:
        with open(model_path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            view = memoryview(data)
            try:
                return _scan(view)
            except (ValueError, IndexError, UnicodeDecodeError, struct.error):
                pass
            finally:
                view.release()
    except (OSError, ValueError):
        pass
    return _with_onnx(model_path)


def _with_onnx(model_path: str | Path) -> GraphNodes:
    """Not a plain protobuf file we can scan: let onnx parse it (without external weights)."""
    try:
        import onnx

        model = onnx.load(str(model_path), load_external_data=False)
    except Exception:  # noqa: BLE001 - ONNX Runtime could read it, so only the hints are lost
        log.debug("cannot read the nodes of %s", model_path)
        return GraphNodes()
    nodes = GraphNodes(outputs=[o.name for o in model.graph.output])
    for n in model.graph.node:
        attributes = {
            a.name: onnx.helper.get_attribute_value(a) for a in n.attribute if a.name in WANTED_ATTRIBUTES
        }
        node = Node(n.op_type, n.domain, tuple(n.input), tuple(n.output), attributes)
        for out in n.output:
            nodes.producers[out] = node
    for t in model.graph.initializer:
        if len(t.dims) == 0 or (len(t.dims) == 1 and t.dims[0] == 1):
            values = onnx.numpy_helper.to_array(t).reshape(-1)
            if values.size == 1 and values.dtype.kind == "f":
                nodes.scalars[t.name] = float(values[0])
    return nodes


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
    """``(field number, wire type, value)`` of one message: a varint's value, the ``(start, end)`` of a
    length-delimited field, the raw bytes of a fixed32/fixed64 one."""
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
            size = 8 if wire == 1 else 4
            if pos + size > end:
                raise ValueError("truncated field")
            yield number, wire, bytes(data[pos : pos + size])
            pos += size
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _text(data: memoryview, span: tuple[int, int]) -> str:
    return bytes(data[span[0] : span[1]]).decode()


def _scan(data: memoryview) -> GraphNodes:
    nodes = GraphNodes()
    for number, wire, span in _fields(data, 0, len(data)):
        if number != 7 or wire != 2:
            continue
        for g_number, g_wire, g_span in _fields(data, *span):
            if g_wire != 2:
                continue
            if g_number == 1:
                node = _node(data, g_span)
                for out in node.outputs:
                    nodes.producers[out] = node
            elif g_number == 12:
                name = next((_text(data, v) for n, w, v in _fields(data, *g_span) if n == 1 and w == 2), "")
                nodes.outputs.append(name)
            elif g_number == 5 and g_span[1] - g_span[0] <= SCALAR_BYTES:
                scalar = _scalar(data, g_span)
                if scalar is not None:
                    nodes.scalars[scalar[0]] = scalar[1]
    return nodes


def _node(data: memoryview, span: tuple[int, int]) -> Node:
    """``NodeProto``: input (1), output (2), op_type (4), attribute (5), domain (7)."""
    inputs, outputs, op_type, domain = [], [], "", ""
    attributes: dict[str, Any] = {}
    for number, wire, value in _fields(data, *span):
        if wire != 2:
            continue
        if number == 1:
            inputs.append(_text(data, value))
        elif number == 2:
            outputs.append(_text(data, value))
        elif number == 4:
            op_type = _text(data, value)
        elif number == 7:
            domain = _text(data, value)
        elif number == 5:
            attribute = _attribute(data, value)
            if attribute is not None:
                attributes[attribute[0]] = attribute[1]
    return Node(op_type, domain, tuple(inputs), tuple(outputs), attributes)


def _attribute(data: memoryview, span: tuple[int, int]) -> tuple[str, Any] | None:
    """A wanted ``AttributeProto``: name (1), s (4), ints (8, packed or not), floats (7), strings (9).

    An attribute whose name (its first field, as ONNX writes it) is not wanted is left unread."""
    fields = _fields(data, *span)
    name = None
    ints: list[int] = []
    floats: list[float] = []
    strings: list[bytes] = []
    text: bytes | None = None
    for number, wire, value in fields:
        if number == 1 and wire == 2:
            name = _text(data, value)
            if name not in WANTED_ATTRIBUTES:
                return None
        elif number == 4 and wire == 2:
            text = bytes(data[value[0] : value[1]])
        elif number == 8 and wire == 0:
            ints.append(value)
        elif number == 8 and wire == 2:
            ints.extend(_packed_varints(data, value))
        elif number == 7 and wire == 5:
            floats.append(struct.unpack("<f", value)[0])
        elif number == 7 and wire == 2:
            floats.extend(struct.unpack(f"<{(value[1] - value[0]) // 4}f", data[value[0] : value[1]]))
        elif number == 9 and wire == 2:
            strings.append(bytes(data[value[0] : value[1]]))
    if name is None:
        return None
    if text is not None:
        return name, text
    if strings:
        return name, strings
    return name, ints if ints else floats


def _packed_varints(data: memoryview, span: tuple[int, int]) -> list[int]:
    out, pos = [], span[0]
    while pos < span[1]:
        value, pos = _varint(data, pos)
        out.append(value - (1 << 64) if value >= 1 << 63 else value)
    return out


def _scalar(data: memoryview, span: tuple[int, int]) -> tuple[str, float] | None:
    """A one-value float ``TensorProto``: dims (1), data_type (2), float_data (4), name (8), raw_data (9),
    double_data (10)."""
    dims: list[int] = []
    name, data_type, values, raw = "", 0, [], b""
    for number, wire, value in _fields(data, *span):
        if number == 1:
            dims.extend([value] if wire == 0 else _packed_varints(data, value))
        elif number == 2 and wire == 0:
            data_type = value
        elif number == 8 and wire == 2:
            name = _text(data, value)
        elif number in (4, 10):
            size, code = (4, "f") if number == 4 else (8, "d")
            chunk = value if wire in (1, 5) else bytes(data[value[0] : value[1]])
            values.extend(struct.unpack(f"<{len(chunk) // size}{code}", chunk))
        elif number == 9 and wire == 2:
            raw = bytes(data[value[0] : value[1]])
    if raw and data_type in (1, 11):
        size, code = (4, "f") if data_type == 1 else (8, "d")
        values.extend(struct.unpack(f"<{len(raw) // size}{code}", raw))
    if name and len(values) == 1 and all(d == 1 for d in dims):
        return name, float(values[0])
    return None
