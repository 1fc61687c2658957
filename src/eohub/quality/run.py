"""Run an MLM item's ONNX model on a synthetic input and compare what comes out with ``mlm:output``.

The input is built from ``mlm:input``: its declared ``shape`` and ``data_type``, with every ``-1``
replaced by the graph's static size when the ONNX file fixes one, else 1 for ``batch``, 64 for spatial
axes (height, width, y, x...), the number of named bands for a bands/channel axis, and 1 otherwise.
Its size is checked against a bound before anything is allocated: a larger input is not built, and the
check says "not verified: input too large". Values are seeded random numbers, so a run is reproducible.
Each output must have the declared rank, every declared size that is not ``-1``, and the declared data
type. :func:`run_check` returns the problems found (empty when the model runs as described) and the
shapes it saw. It runs the model in the calling process: :mod:`eohub.quality.sandbox` calls it in a
child process with memory and time limits.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from eohub.errors import EohubError
from eohub.mlm.onnx_graph import MLM_DATA_TYPES, OTHER, GraphSignature, TensorSpec, read_signature
from eohub.quality.report import RunCheck

log = logging.getLogger(__name__)

SPATIAL_SIZE = 64
SPATIAL_AXES = frozenset({"height", "width", "y", "x", "rows", "cols", "lat", "lon", "latitude", "longitude"})
BAND_AXES = frozenset({"bands", "band", "channel", "channels"})
MAX_RANK = 32  # numpy allows 64 dimensions; no Earth observation tensor has more than a handful
MLM_NUMPY = {"cfloat32": "complex64", "cfloat64": "complex128"}
NUMPY_MLM = {v: k for k, v in MLM_NUMPY.items()}
MiB = 1024 * 1024
# "/onnxruntime_src/.../reshape_helper.h:91 onnxruntime::ReshapeHelper::ReshapeHelper(...) " in messages
_SOURCE_LOCATION = re.compile(r"/\S+\.(?:h|cc|cpp):\d+ \S+?\([^)]*\) ")
# ONNX Runtime's words when an allocation fails (its arena, or a C++ std::bad_alloc it caught)
_ALLOCATION_FAILED = re.compile(r"Failed to allocate memory|bad_alloc|bad allocation")


@dataclass(frozen=True)
class InputPlan:
    """The synthetic input of one graph input, before it is built: its shape and numpy type."""

    name: str
    shape: list[int]
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        """The size of the built array (exact: Python integers do not overflow)."""
        return math.prod(self.shape) * self.dtype.itemsize

    def describe(self) -> str:
        return f"input {self.name!r} {_clip(self.shape)} {NUMPY_MLM.get(self.dtype.name, self.dtype.name)}"


def _pair(
    declared: Sequence[dict[str, Any]], graph: Sequence[TensorSpec], what: str
) -> list[tuple[Any, Any]]:
    """MLM entries paired with graph tensors: by name when every name matches, else by position."""
    by_name = {t.name: t for t in graph}
    names = [str(d.get("name")) for d in declared]
    if all(n in by_name for n in names):
        return [(d, by_name[n]) for d, n in zip(declared, names, strict=True)]
    if len(declared) == len(graph):
        return list(zip(declared, graph, strict=True))
    raise EohubError(
        f"cannot match mlm:{what} {names} with the graph's {what}s {[t.name for t in graph]} "
        "(neither by name nor by position)"
    )


def _size(declared: int, graph: int, axis: str, bands: int) -> int:
    if declared >= 0:
        return declared
    if graph > 0:
        return graph
    if axis == "batch":
        return 1
    if axis in SPATIAL_AXES:
        return SPATIAL_SIZE
    if axis in BAND_AXES and bands:
        return bands
    return 1


def _whole(value: Any) -> int | None:
    """A dimension as an int (JSON Schema's integers include ``64.0``), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _clip(value: Any, limit: int = 120) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def plan_input(entry: dict[str, Any], tensor: TensorSpec, graph_dtype: np.dtype | None = None) -> InputPlan:
    """The shape and type of the input ``entry`` (an ``mlm:input`` object) declares, ``-1`` filled in.

    ``other`` (a type MLM cannot name, e.g. ``bool``) takes the graph's own type, ``graph_dtype``.
    Raises :class:`EohubError` when the declaration does not fit the graph or cannot be an array."""
    struct = entry.get("input") or {}
    shape, order, data_type = struct.get("shape"), struct.get("dim_order"), struct.get("data_type")
    name = entry.get("name")
    if not isinstance(shape, list) or not isinstance(order, list) or len(shape) != len(order):
        raise EohubError(f"input {name!r}: shape and dim_order must be lists of equal length")
    if len(shape) > MAX_RANK:
        raise EohubError(f"input {name!r}: declares {len(shape)} dimensions, more than {MAX_RANK}")
    dims = [_whole(d) for d in shape]
    if not all(d is not None and d >= -1 for d in dims):
        raise EohubError(f"input {name!r}: shape {_clip(shape)} must hold whole numbers, -1 or more")
    if tensor.rank_known and len(tensor.shape) != len(shape):
        raise EohubError(f"input {name!r}: declares rank {len(shape)}, the graph input has {tensor.shape}")
    if tensor.data_type != data_type:
        raise EohubError(f"input {name!r}: declares {data_type}, the graph input is {tensor.data_type}")
    graph_shape = tensor.shape if tensor.rank_known else [-1] * len(shape)
    for declared, graph in zip(dims, graph_shape, strict=True):
        if declared >= 0 and graph > 0 and declared != graph:
            raise EohubError(
                f"input {name!r}: declares shape {_clip(shape)}, the graph input has {tensor.shape}"
            )
    bands = len(entry.get("bands") or [])
    axes = [str(a).lower() for a in order]
    sizes = [_size(d, int(g), a, bands) for d, g, a in zip(dims, graph_shape, axes, strict=True)]
    if data_type == OTHER:
        if graph_dtype is None:
            raise EohubError(f"input {name!r}: declares 'other' and the graph's element type is unknown")
        dtype = graph_dtype
    else:
        dtype = np.dtype(MLM_NUMPY.get(data_type, data_type))
    return InputPlan(tensor.name, sizes, dtype)


def build_input(plan: InputPlan, rng: np.random.Generator) -> np.ndarray:
    """The seeded random array ``plan`` describes."""
    sizes, dtype = plan.shape, plan.dtype
    if dtype.kind == "O":  # ONNX strings
        return rng.integers(0, 2, sizes).astype(str).astype(object)
    if dtype.kind == "f":
        return rng.random(sizes).astype(dtype)
    if dtype.kind == "c":
        return (rng.random(sizes) + 1j * rng.random(sizes)).astype(dtype)
    return rng.integers(0, 2, sizes).astype(dtype)


def synthetic_input(
    entry: dict[str, Any], tensor: TensorSpec, rng: np.random.Generator, graph_dtype: np.dtype | None = None
) -> np.ndarray:
    """A seeded random array shaped and typed as ``entry`` (an ``mlm:input`` object) declares."""
    return build_input(plan_input(entry, tensor, graph_dtype), rng)


def size_text(size: int) -> str:
    """``10,300 MiB``: sizes in reasons, in the unit the memory bounds are given in."""
    if size >= 10**18:
        return "more than 10^18 bytes"
    return f"{size / MiB:,.0f} MiB" if size >= MiB else f"{size:,} bytes"


def too_large(plans: Sequence[InputPlan], bound: int) -> tuple[str, str] | None:
    """``("input too large", detail)`` when the inputs together take more than ``bound`` bytes."""
    total = sum(p.nbytes for p in plans)
    if total <= bound:
        return None
    described = ", ".join(f"{p.describe()} takes {size_text(p.nbytes)}" for p in plans)
    if len(plans) > 1:
        described += f", {size_text(total)} in all"
    return "input too large", (
        f"{described}, more than the {size_text(bound)} bound (EOHUB_RATING_INPUT_BYTES)"
    )


def _compare(entry: dict[str, Any], array: np.ndarray) -> list[str]:
    result = entry.get("result") or {}
    shape, data_type = result.get("shape"), result.get("data_type")
    name, actual = entry.get("name"), list(array.shape)
    problems = []
    if not isinstance(shape, list) or len(shape) != len(actual):
        problems.append(f"output {name!r}: the model returned shape {actual}, the item declares {shape}")
    elif any(d >= 0 and d != a for d, a in zip(shape, actual, strict=True)):
        problems.append(f"output {name!r}: the model returned shape {actual}, the item declares {shape}")
    returned = NUMPY_MLM.get(array.dtype.name, array.dtype.name)
    # 'other' is MLM's name for every type it cannot name (bool, string, bfloat16...).
    if returned != data_type and not (data_type == OTHER and returned not in MLM_DATA_TYPES.values()):
        problems.append(f"output {name!r}: the model returned {returned}, the item declares {data_type}")
    return problems


def _as_array(value: Any) -> np.ndarray:
    """An output as an array: a ZipMap's rows of ``{class: probability}`` (skl2onnx's default for
    classifiers) as the float32 ``[rows, classes]`` tensor it wraps, which is how eohub predict reads it."""
    if isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
        return np.asarray([list(row.values()) for row in value], np.float32)
    return np.asarray(value)


def _runtime_message(exc: Exception, limit: int = 400) -> str:
    """ONNX Runtime's message on one line, without the C++ source location it embeds."""
    message = _SOURCE_LOCATION.sub("", " ".join(str(exc).split()))
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _graph_dtypes(model_path: Path) -> dict[str, np.dtype]:
    """The numpy type of every graph input, by name (read only when an input is declared ``other``)."""
    import onnx

    model = onnx.load(str(model_path), format="protobuf", load_external_data=False)
    return {
        v.name: np.dtype(onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type))
        for v in model.graph.input
        if v.type.HasField("tensor_type") and v.type.tensor_type.elem_type
    }


def run_check(
    model_path: Path,
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    max_input_bytes: int | None = None,
) -> RunCheck:
    """Run the ONNX model at ``model_path`` once on synthetic inputs and compare its outputs.

    An input larger than ``max_input_bytes`` is not built (``unverified``). Raises :class:`MemoryError`
    when Python or ONNX Runtime cannot allocate what the model needs."""
    check = RunCheck()
    try:
        signature: GraphSignature = read_signature(model_path)
        pairs_in = _pair(inputs, signature.inputs, "input")
        dtypes = _graph_dtypes(model_path) if any(t.data_type == OTHER for _, t in pairs_in) else {}
        plans = [plan_input(entry, tensor, dtypes.get(tensor.name)) for entry, tensor in pairs_in]
        pairs = _pair(outputs, signature.outputs, "output")
    except EohubError as exc:
        check.problems.append(str(exc))
        return check
    if max_input_bytes is not None and (refused := too_large(plans, max_input_bytes)):
        check.unverified = refused
        return check
    feeds = {plan.name: build_input(plan, np.random.default_rng(0)) for plan in plans}
    check.input_shapes = {k: list(v.shape) for k, v in feeds.items()}
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 4  # failures are reported, not logged
    try:
        session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        names = [tensor.name for _, tensor in pairs]
        arrays = session.run(names, feeds)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - any runtime failure means "does not run"; report it, don't crash
        message = _runtime_message(exc)
        if _ALLOCATION_FAILED.search(message):
            raise MemoryError(message) from exc
        check.problems.append(f"ONNX Runtime failed: {message}")
        return check
    for (entry, tensor), value in zip(pairs, arrays, strict=True):
        array = _as_array(value)
        check.output_shapes[tensor.name] = list(array.shape)
        check.problems.extend(_compare(entry, array))
    log.info("ran %s: inputs %s, outputs %s", model_path, check.input_shapes, check.output_shapes)
    return check
