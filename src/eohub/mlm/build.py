"""Build a STAC 1.1.0 / MLM v1.5.2 item from an ONNX file and what the file cannot tell (``eohub mlm init``).

The graph gives the inputs, outputs, data types, symbolic dimensions (``-1``) and the parameter count;
the caller gives the name, tasks, architecture, band names, class names and per-band scaling. Dimensions
are named by layout: ``[batch, bands|channel, height, width]`` (or channels-last when only that matches
the band count) for inputs, ``[batch, class]`` or ``[batch, class, height, width]`` for class outputs.

A graph does not say what its outputs mean (``[batch, 10]`` may be ten classes or ten regressed values), so
tasks not given are guessed from the first output's rank (classification up to ``[batch, n]``, else
semantic segmentation) and the guess is said, in one line, to ``on_assumption`` (default: a warning log).

Why STAC 1.1.0: band names live in core ``bands``, so no eo/raster extension is needed, and it is what
pystac writes. It comes with a trap: MLM wants ``properties.bands`` for named input bands, while the
STAC 1.1.0 core schema only allows item-level ``bands`` when an asset has ``bands`` too. The item carries
both, the same list on the model asset, and validates against the core, MLM and file schemas.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pystac

from eohub.errors import ModelGraphError, UsageError
from eohub.mlm.onnx_graph import GraphSignature, TensorSpec, read_signature
from eohub.mlm.schemas import LATEST_MLM_SCHEMA
from eohub.mlm.vocabulary import mlm_enum, mlm_pattern

log = logging.getLogger(__name__)
FILE_SCHEMA = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
ONNX_MEDIA_TYPE = "application/octet-stream; application=onnx"
CLASS_TASKS = frozenset({"classification", "scene-classification", "detection", "object-detection"}) | {
    f"{kind}segmentation" for kind in ("", "semantic-", "instance-", "panoptic-")
}
SPATIAL = ("height", "width")


def sha256_multihash(path: Path) -> str:
    """``file:checksum`` of a file: the multihash of its SHA-256 (``1220`` + hex digest)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return "1220" + digest.hexdigest()


def _generic_dims(rank: int) -> list[str]:
    return ["batch"] + [f"dim-{chr(ord('a') + i)}" for i in range(rank - 1)]


def _input_dims(shape: list[int], bands: int | None, band_dim: str) -> list[str]:
    """Name an input's dimensions; channels-last only when the band count says so."""
    layouts = {
        2: (["batch", band_dim], None),
        3: ([band_dim, *SPATIAL], [*SPATIAL, band_dim]),
        4: (["batch", band_dim, *SPATIAL], ["batch", *SPATIAL, band_dim]),
        5: (["batch", "time", band_dim, *SPATIAL], ["batch", "time", *SPATIAL, band_dim]),
    }
    if len(shape) not in layouts:
        return _generic_dims(len(shape))
    first, last = layouts[len(shape)]
    if last and bands and shape[first.index(band_dim)] not in (bands, -1) and shape[-1] == bands:
        return last
    return first


def _output_dims(shape: list[int], class_dim: str) -> list[str]:
    return {
        1: ["batch"],
        2: ["batch", class_dim],
        3: ["batch", *SPATIAL],
        4: ["batch", class_dim, *SPATIAL],
    }.get(len(shape)) or _generic_dims(len(shape))


def _floats(values: Sequence[float] | None, option: str) -> list[float] | None:
    if values is None:
        return None
    if not values:
        raise UsageError(f"{option} needs at least one value")
    return [float(v) for v in values]


def _value_scaling(
    mean: Sequence[float] | None,
    std: Sequence[float] | None,
    minimum: Sequence[float] | None,
    maximum: Sequence[float] | None,
) -> list[dict[str, Any]] | None:
    """Per-band ``z-score`` or ``min-max`` entries; :class:`UsageError` for an incomplete or mixed set."""
    mean, std = _floats(mean, "--mean"), _floats(std, "--std")
    minimum, maximum = _floats(minimum, "--min"), _floats(maximum, "--max")
    zscore, minmax = mean is not None or std is not None, minimum is not None or maximum is not None
    if zscore and minmax:
        raise UsageError("give either --mean/--std (z-score) or --min/--max (min-max) scaling, not both")
    if zscore:
        if mean is None or std is None:
            raise UsageError("--mean and --std go together")
        if len(mean) != len(std):
            raise UsageError(f"--mean has {len(mean)} values but --std has {len(std)}")
        if any(s == 0 for s in std):
            raise UsageError("--std values must not be 0")
        return [{"type": "z-score", "mean": m, "stddev": s} for m, s in zip(mean, std, strict=True)]
    if minmax:
        if minimum is None or maximum is None:
            raise UsageError("--min and --max go together")
        if len(minimum) != len(maximum):
            raise UsageError(f"--min has {len(minimum)} values but --max has {len(maximum)}")
        if any(lo >= hi for lo, hi in zip(minimum, maximum, strict=True)):
            raise UsageError("every --min value must be below its --max value")
        return [
            {"type": "min-max", "minimum": lo, "maximum": hi} for lo, hi in zip(minimum, maximum, strict=True)
        ]
    return None


def _first_input(
    tensor: TensorSpec, bands: list[str] | None, scaling: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """The model's first input: band names, the band dimension and scaling checked against the graph."""
    shape = list(tensor.shape)
    band_dim = "bands" if bands else "channel"
    dims = _input_dims(shape, len(bands) if bands else None, band_dim)
    axis = dims.index(band_dim) if band_dim in dims else None
    channels = shape[axis] if axis is not None else None
    if bands:
        if axis is None:
            raise UsageError(f"--bands given but input {tensor.name!r} {shape} has no band dimension")
        if channels not in (-1, len(bands)):
            raise UsageError(
                f"--bands has {len(bands)} names but input {tensor.name!r} {shape} has {channels} bands"
            )
        shape[axis] = channels = len(bands)
    entry: dict[str, Any] = {
        "name": tensor.name,
        "bands": list(bands or []),
        "input": {"shape": shape, "dim_order": dims, "data_type": tensor.data_type},
    }
    if scaling:
        if len(scaling) > 1 and (channels is None or channels < 0):
            raise UsageError(
                f"{len(scaling)} scaling values but input {tensor.name!r} {shape} has no fixed number of "
                "bands; pass --bands or one value for all bands"
            )
        if len(scaling) not in (1, channels):
            raise UsageError(
                f"{len(scaling)} scaling values for the {channels} bands of input {tensor.name!r}: "
                f"give 1 or {channels}"
            )
        entry["value_scaling"] = scaling
    return entry


def _outputs(sig: GraphSignature, tasks: list[str], classes: list[str] | None) -> list[dict[str, Any]]:
    class_dim = "class" if classes or CLASS_TASKS & set(tasks) else "channel"
    entries = []
    for tensor in sig.outputs:
        shape = list(tensor.shape)
        dims = _output_dims(shape, class_dim)
        if classes and class_dim in dims:
            axis = dims.index(class_dim)
            if shape[axis] not in (-1, 1, len(classes)):
                raise UsageError(
                    f"--classes has {len(classes)} names but output {tensor.name!r} {shape} has "
                    f"{shape[axis]} classes"
                )
            shape[axis] = shape[axis] if shape[axis] == 1 else len(classes)
        entry: dict[str, Any] = {
            "name": tensor.name,
            "tasks": list(tasks),
            "result": {"shape": shape, "dim_order": dims, "data_type": tensor.data_type},
        }
        if classes:
            entry["classification:classes"] = [
                {"value": i, "name": c, "description": c} for i, c in enumerate(classes)
            ]
        entries.append(entry)
    if classes and not any(
        class_dim in e["result"]["dim_order"] or len(e["result"]["shape"]) == 3 for e in entries
    ):
        raise UsageError("--classes given but no model output has a class dimension")
    return entries


def _guessed_tasks(sig: GraphSignature) -> tuple[list[str], str]:
    """The tasks guessed from the first output's rank, and the one line that says so."""
    first = sig.outputs[0]  # read_signature refuses a graph without outputs
    tasks = ["classification"] if len(first.shape) <= 2 else ["semantic-segmentation"]
    return tasks, (
        f"mlm:tasks not given: assumed {', '.join(tasks)} from output {first.name!r} {first.shape}; "
        "set them with --tasks"
    )


def _checked_tasks(tasks: Sequence[str]) -> list[str]:
    allowed = mlm_enum("mlm:tasks")
    unknown = [t for t in tasks if t not in allowed]
    if unknown:
        raise UsageError(f"unknown task(s) {', '.join(unknown)}; MLM knows {', '.join(allowed)}")
    return list(dict.fromkeys(tasks))


def checked_names(values: Sequence[str] | None, option: str) -> list[str] | None:
    """Names given for ``option``, stripped; :class:`UsageError` for an empty one or one given twice."""
    if values is None:
        return None
    names = [str(v).strip() for v in values]
    if not names or not all(names):
        raise UsageError(f"{option} needs non-empty names")
    if len(set(names)) != len(names):
        raise UsageError(f"{option} lists a name twice")
    return names


def _model_name(name: str | None, model_path: Path) -> str:
    """``name``, checked against the MLM pattern; by default a valid name made from the file name."""
    if name is not None:
        if not mlm_pattern("mlm:name").match(name):
            raise UsageError(
                f"--name {name!r} is not a valid mlm:name: start with a letter, end with a letter or digit, "
                "at least 3 characters of letters, digits, spaces, '_', '.' or '-'"
            )
        return name
    return mlm_name(model_path.stem)


def mlm_name(text: str) -> str:
    """A valid ``mlm:name`` made from any text (a file name, a hub name): other characters become ``-``."""
    pattern = mlm_pattern("mlm:name")
    stem = re.sub(r"[^A-Za-z0-9_.\-\s]+", "-", text).strip("-_. ")
    return next((c for c in (stem, f"model {stem}") if pattern.match(c)), "model")


def _check_describable(model_path: Path, sig: GraphSignature) -> None:
    """:class:`ModelGraphError` for what MLM cannot describe: no input, no recorded shape, a scalar."""
    if not sig.inputs:
        raise ModelGraphError(f"{model_path}: the ONNX graph has no inputs to describe")
    for kind, tensors in (("input", sig.inputs), ("output", sig.outputs)):
        for tensor in tensors:
            if not tensor.rank_known:
                raise ModelGraphError(
                    f"{model_path}: graph {kind} {tensor.name!r} has no recorded shape, and MLM needs one; "
                    "save the model with shape information (onnx.shape_inference.infer_shapes)"
                )
            if not tensor.shape:
                raise ModelGraphError(
                    f"{model_path}: graph {kind} {tensor.name!r} is a scalar; MLM describes tensors of at "
                    "least one dimension"
                )


def build_item(
    model_path: str | Path,
    *,
    name: str | None = None,
    tasks: Sequence[str] | None = None,
    architecture: str | None = None,
    bands: Sequence[str] | None = None,
    classes: Sequence[str] | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    minimum: Sequence[float] | None = None,
    maximum: Sequence[float] | None = None,
    item_id: str | None = None,
    href: str | None = None,
    created: datetime | None = None,
    on_assumption: Callable[[str], None] | None = None,
) -> pystac.Item:
    """An MLM v1.5.2 item describing the ONNX model at ``model_path``.

    ``href`` is the model asset's href (default: the file name, for an item written next to the model);
    ``created`` the item's datetime (default: the file's modification time). Contradictions between the
    options and the graph (band or class counts, scaling lengths) raise :class:`UsageError`; a graph that MLM
    cannot describe (no inputs, a tensor without a recorded shape, a scalar) :class:`ModelGraphError`.
    What was guessed (the tasks, when not given) goes to ``on_assumption``, one line each, once the item is
    built; by default it is logged as a warning.
    """
    model_path = Path(model_path)
    sig = read_signature(model_path)
    _check_describable(model_path, sig)
    bands_, classes_ = checked_names(bands, "--bands"), checked_names(classes, "--classes")
    given_tasks = checked_names(tasks, "--tasks")
    assumed: list[str] = []
    if given_tasks is not None:
        tasks_ = _checked_tasks(given_tasks)
    else:
        tasks_, line = _guessed_tasks(sig)
        assumed.append(line)
    scaling = _value_scaling(mean, std, minimum, maximum)
    inputs = [_first_input(sig.inputs[0], bands_, scaling)]
    inputs += [_first_input(t, None, None) for t in sig.inputs[1:]]
    model_name = _model_name(name, model_path)
    properties: dict[str, Any] = {
        "mlm:name": model_name,
        "mlm:architecture": architecture or "unknown",
        "mlm:tasks": tasks_,
        "mlm:framework": "ONNX",
        "mlm:framework_version": sig.onnx_version,
        "mlm:total_parameters": sig.total_parameters,
        "mlm:input": inputs,
        "mlm:output": _outputs(sig, tasks_, classes_),
    }
    band_objects = [{"name": b} for b in bands_ or []]
    if band_objects:
        properties["bands"] = band_objects
    when = created or datetime.fromtimestamp(model_path.stat().st_mtime, tz=UTC).replace(microsecond=0)
    item = pystac.Item(
        id=item_id or re.sub(r"[^A-Za-z0-9_.-]+", "-", model_name).strip("-") or "model",
        geometry=None,
        bbox=None,
        datetime=when,
        properties=properties,
        stac_extensions=[LATEST_MLM_SCHEMA, FILE_SCHEMA],
    )
    extra: dict[str, Any] = {
        "mlm:artifact_type": "onnx",
        "file:size": model_path.stat().st_size,
        "file:checksum": sha256_multihash(model_path),
    }
    if band_objects:
        extra["bands"] = band_objects
    item.add_asset(
        "model",
        pystac.Asset(
            href=href or model_path.name,
            title=f"{model_name} (ONNX)",
            media_type=ONNX_MEDIA_TYPE,
            roles=["mlm:model"],
            extra_fields=extra,
        ),
    )
    for line in assumed:
        (on_assumption or log.warning)(line)
    return item
