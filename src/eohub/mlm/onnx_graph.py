"""Read what an ONNX file says about itself: inputs, outputs, data types, parameter count, versions.

Only the graph structure is loaded (``load_external_data=False``), so a model whose weights live in
external files is read without them. Data types use the names MLM takes from the raster extension
(``float32``, ``uint8``...); ONNX types without such a name (``bool``, ``bfloat16``, ``string``, the
float8 and int4 families) become ``other``, the schema's catch-all. A symbolic or unknown dimension is
``-1``. Graph inputs that have an initializer are weights with a default value, not model inputs: they
are left out of :attr:`GraphSignature.inputs` and counted (once) in ``total_parameters``.
``onnx_version`` is the earliest ONNX release that supports the model's IR version and opset (from
``onnx.helper.VERSION_TABLE``), i.e. the ONNX version the file needs, not the one eohub happens to run.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eohub.errors import ModelGraphError, UsageError

if TYPE_CHECKING:
    import onnx

OTHER = "other"
# ONNX ``TensorProto.DataType`` numbers (fixed by the ONNX IR), so that reading this table does not
# import onnx: the commands that never open a graph (``eohub predict`` among them) start faster.
MLM_DATA_TYPES = {
    2: "uint8",
    3: "int8",
    4: "uint16",
    5: "int16",
    12: "uint32",
    6: "int32",
    13: "uint64",
    7: "int64",
    10: "float16",
    1: "float32",
    11: "float64",
    14: "cfloat32",
    15: "cfloat64",
}
DEFAULT_DOMAINS = ("", "ai.onnx")


@dataclass(frozen=True)
class TensorSpec:
    """A graph input or output. ``shape`` is ``[]`` with ``rank_known=False`` when ONNX records no shape."""

    name: str
    shape: list[int]
    data_type: str
    rank_known: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GraphSignature:
    """The interface and size of an ONNX model, as far as the file tells without running it."""

    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    total_parameters: int
    opset: int
    ir_version: int
    producer: str
    onnx_version: str

    def input(self, name: str) -> TensorSpec | None:
        return next((t for t in self.inputs if t.name == name), None)

    def output(self, name: str) -> TensorSpec | None:
        return next((t for t in self.outputs if t.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["inputs"] = [t.to_dict() for t in self.inputs]
        data["outputs"] = [t.to_dict() for t in self.outputs]
        return data


def mlm_data_type(elem_type: int) -> str:
    """The MLM (raster extension) name of an ONNX ``TensorProto`` element type, else ``other``."""
    return MLM_DATA_TYPES.get(elem_type, OTHER)


def _tensor_spec(value: onnx.ValueInfoProto) -> TensorSpec:
    tensor = value.type.tensor_type
    if not value.type.HasField("tensor_type"):
        return TensorSpec(value.name, [], OTHER, rank_known=False)
    if not tensor.HasField("shape"):
        return TensorSpec(value.name, [], mlm_data_type(tensor.elem_type), rank_known=False)
    shape = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else -1 for d in tensor.shape.dim]
    return TensorSpec(value.name, shape, mlm_data_type(tensor.elem_type))


def _load(path: Path) -> onnx.ModelProto:
    if path.is_dir():
        raise UsageError(f"{path}: is a folder, not an ONNX file")
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    import onnx

    try:
        # Always the binary format ONNX Runtime runs: onnx.load would otherwise pick a JSON or text
        # parser from the file name (model.json, model.onnxtxt), whose failures it does not wrap.
        model = onnx.load(str(path), format="protobuf", load_external_data=False)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    except Exception as exc:  # noqa: BLE001 - whatever the parser raises, the file is not an ONNX model
        raise ModelGraphError(f"{path}: not an ONNX model ({_one_line(exc)})") from exc
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.output:
        raise ModelGraphError(f"{path}: not an ONNX model (no IR version or no graph outputs)")
    return model


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def onnx_release(ir_version: int, opset: int) -> str:
    """The first ONNX release reading IR ``ir_version`` with ai.onnx ``opset`` (else the installed one)."""
    import onnx

    for release, ir, ai_onnx, *_ in onnx.helper.VERSION_TABLE:
        if ir >= ir_version and ai_onnx >= opset:
            return str(release)
    return onnx.__version__


def read_signature(path: str | Path) -> GraphSignature:
    """Read an ONNX file's signature; :class:`ModelGraphError` when it is not a readable ONNX model."""
    path = Path(path)
    model = _load(path)
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    parameters = sum(math.prod(t.dims) for t in initializers.values())
    parameters += sum(math.prod(t.dims) for t in graph.sparse_initializer)
    opset = max((o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS), default=0)
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    return GraphSignature(
        inputs=[_tensor_spec(v) for v in graph.input if v.name not in initializers],
        outputs=[_tensor_spec(v) for v in graph.output],
        total_parameters=int(parameters),
        opset=int(opset),
        ir_version=int(model.ir_version),
        producer=producer,
        onnx_version=onnx_release(model.ir_version, opset),
    )
