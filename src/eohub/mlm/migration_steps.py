"""The individual upgrades :mod:`eohub.mlm.migrate` applies to an MLM item, one function per change.

Each step edits the document in place through a :class:`Run`, recording what it changed
(``run.change``) or what it cannot decide (``run.problem``). Steps are idempotent and guarded by the
target version, so the same list upgrades v1.0.0 items, the tutorial's pre-v1.0 layout and items that
only carry leftovers (``classification_classes``, ``norm_type``) under a current extension URL.

What is inferred, and why it is safe:
- ``mlm:input``/``mlm:output`` given as one object become a list of one; ``shape``/``dim_order``/
  ``data_type`` written directly on the object move under ``input``/``result``.
- ``classification:classes`` given as names become class objects whose ``value`` is the list index (the
  only meaning a plain list has); ``color_hint`` ``[r, g, b]`` becomes the ``"RRGGBB"`` string the
  classification extension requires.
- An output whose ``dim_order`` length differs from its ``shape`` length is fixed only in one case:
  a classification output (tasks within classification/scene-classification) with N classes and shape
  ``[batch, N]`` (batch ``-1`` or positive) gets ``dim_order [batch, class]``. That is the tutorial's
  ``shape [-1, 10]`` with ``[batch, height, width]``: a rank-2 tensor whose second size equals the
  number of classes can only be one score per class. Every other mismatch needs the author.
- ``norm_type`` + ``statistics`` become ``value_scaling`` only for ``min-max`` (minimum/maximum) and
  ``z-score`` (mean/stddev), one entry per statistics object. ``norm_clip``, the removed ``norm_type``
  values and statistics without a ``norm_type`` have no exact equivalent and are reported.
- The model asset gets the ``mlm:model`` role when exactly one asset is a model file (by suffix or by
  ``mlm:artifact_type``); ``mlm:artifact_type`` is inferred only for ONNX (the file format fixes it).
- With MLM v1.5, named ``bands`` need a ``bands`` dimension: a single ``channel`` axis is renamed.
- Band names used by ``mlm:input`` with no band definitions anywhere get name-only definitions (eo
  ``eo:bands`` on the model asset for STAC 1.0, ``bands`` for STAC 1.1), with the eo ``common_name``
  when the name is one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import PurePosixPath
from typing import Any

from eohub.mlm.report import pointer
from eohub.mlm.schemas import MLM_VERSIONS, SCHEMA_ROOT

CLASSIFICATION_TASKS = frozenset({"classification", "scene-classification"})
MODEL_SUFFIXES = frozenset(
    {".onnx", ".pt", ".pth", ".pt2", ".ckpt", ".h5", ".keras", ".pb", ".tflite", ".safetensors", ".joblib"}
)
CHANNEL_NAMES = ("channel", "channels", "band")
CPU_ACCELERATORS = frozenset({"cpu", "none", "x86", "x86_64"})
EO_COMMON_NAMES = frozenset(
    {"coastal", "blue", "green", "red", "rededge", "yellow", "pan", "nir", "nir08", "nir09", "cirrus",
     "swir16", "swir22", "lwir", "lwir11", "lwir12"}
)  # fmt: skip
EO_EXTENSION = "https://stac-extensions.github.io/eo/v1.1.0/schema.json"
ASSET_ONLY_FIELDS = ("mlm:artifact_type", "mlm:compile_method")
ITEM_ONLY_FIELDS = ("mlm:name", "mlm:input", "mlm:output", "mlm:hyperparameters")
LEGACY_SCALING = ("norm_type", "norm_by_channel", "norm_clip", "statistics")
SCALING_FIELDS = {"min-max": ("minimum", "maximum"), "z-score": ("mean", "stddev")}


@cache
def mlm_defs(version: str) -> dict[str, Any]:
    """The ``$defs`` of the shipped MLM schema of ``version``."""
    schema = json.loads((SCHEMA_ROOT / "mlm" / version / "schema.json").read_text())
    return schema["$defs"]


def schema_enum(version: str, name: str) -> list[str]:
    """The string enum of MLM definition ``name`` (``mlm:tasks``, ``mlm:accelerator``...) in ``version``."""
    node: Any = mlm_defs(version)[name]
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("enum"), list):
                return [str(v) for v in node["enum"]]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return []


@dataclass
class Run:
    """One migration in progress: the document, the target version, and what happened so far."""

    data: dict[str, Any]
    target: str
    changes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def reaches(self, version: str) -> bool:
        """True when the target is ``version`` or newer."""
        return MLM_VERSIONS.index(self.target) >= MLM_VERSIONS.index(version)

    def change(self, where: str, what: str) -> None:
        self.changes.append(f"{where or '/'}: {what}")

    def problem(self, where: str, what: str) -> None:
        self.problems.append(f"{where or '/'}: {what}")

    @property
    def props(self) -> dict[str, Any]:
        props = self.data.get("properties")
        if not isinstance(props, dict):
            props = self.data["properties"] = {}
        return props

    @property
    def assets(self) -> dict[str, Any]:
        assets = self.data.get("assets")
        return assets if isinstance(assets, dict) else {}

    def entries(self, key: str) -> list[tuple[str, dict[str, Any]]]:
        """``(pointer, object)`` for every object in ``properties[key]`` (a list after :func:`layout`)."""
        value = self.props.get(key)
        if not isinstance(value, list):
            return []
        return [(pointer("properties", key, i), e) for i, e in enumerate(value) if isinstance(e, dict)]

    def model_assets(self) -> list[tuple[str, dict[str, Any]]]:
        return [(k, a) for k, a in self.assets.items() if isinstance(a, dict) and "mlm:model" in _roles(a)]


def _roles(asset: dict[str, Any]) -> list[str]:
    roles = asset.get("roles")
    return [str(r) for r in roles] if isinstance(roles, list) else []


def _suffix(asset: dict[str, Any]) -> str:
    href = str(asset.get("href") or "").split("?", 1)[0].split("#", 1)[0]
    return PurePosixPath(href).suffix.lower()


# --- layout -------------------------------------------------------------------------------------------


def layout(run: Run) -> None:
    """``mlm:input``/``mlm:output`` as lists, with the structure under ``input``/``result``."""
    for key, nested in (("mlm:input", "input"), ("mlm:output", "result")):
        where = pointer("properties", key)
        value = run.props.get(key)
        if isinstance(value, dict):
            run.props[key] = [value]
            run.change(where, "one object became a list of one object (MLM v1.0.0 layout)")
        elif value is None:
            run.problem(
                where, "missing; describe the model's tensors (eohub mlm init MODEL.onnx builds them)"
            )
            continue
        elif not isinstance(value, list):
            run.problem(where, f"must be a list of objects, not {type(value).__name__}")
            continue
        for ptr, entry in run.entries(key):
            loose = {k: entry.pop(k) for k in ("shape", "dim_order", "data_type") if k in entry}
            if loose and not isinstance(entry.get(nested), dict):
                entry[nested] = loose
                run.change(ptr, f"shape/dim_order/data_type moved under '{nested}'")
            elif loose:
                entry.update(loose)
                run.problem(ptr, f"shape/dim_order/data_type given both directly and under '{nested}'")


def tasks(run: Run) -> None:
    """Task names with hyphens (pre-v1.0 used spaces) and outputs that name their tasks."""
    known = set(schema_enum(run.target, "mlm:tasks"))

    def fix(where: str, values: Any) -> Any:
        if not isinstance(values, list):
            return values
        fixed = []
        for v in values:
            candidate = str(v).strip().lower().replace(" ", "-").replace("_", "-")
            if v not in known and candidate in known:
                run.change(where, f"task {v!r} renamed {candidate!r}")
                v = candidate
            fixed.append(v)
        return fixed

    if "mlm:tasks" in run.props:
        run.props["mlm:tasks"] = fix(pointer("properties", "mlm:tasks"), run.props["mlm:tasks"])
    outputs = run.entries("mlm:output")
    for ptr, out in outputs:
        if "tasks" in out:
            out["tasks"] = fix(ptr + "/tasks", out["tasks"])
        elif len(outputs) == 1 and isinstance(run.props.get("mlm:tasks"), list):
            out["tasks"] = list(run.props["mlm:tasks"])
            run.change(ptr + "/tasks", "copied from mlm:tasks (the item's only output)")
        else:
            run.problem(ptr + "/tasks", "missing; say which of mlm:tasks this output serves")


def _hex_color(hint: Any) -> str | None:
    if (
        isinstance(hint, list)
        and len(hint) in (3, 4)
        and all(isinstance(v, int) and 0 <= v < 256 for v in hint)
    ):
        return "".join(f"{v:02X}" for v in hint[:3])
    return None


def _class_object(index: int, entry: Any, where: str, run: Run) -> Any:
    if isinstance(entry, str | int) and not isinstance(entry, bool):
        return {"value": index, "name": str(entry), "description": str(entry)}
    if not isinstance(entry, dict):
        run.problem(where, "a class must be an object with 'value' and 'description'")
        return entry
    entry = dict(entry)
    if "value" not in entry:
        entry["value"] = index
        run.change(where, f"missing class value set to its position {index}")
    if entry.get("description") is None and entry.get("name"):
        entry["description"] = str(entry["name"])
        run.change(where, "description (required by the classification extension) copied from name")
    if "color_hint" in entry and entry["color_hint"] is None:
        del entry["color_hint"]
        run.change(
            where + "/color_hint", "null removed (the classification extension wants a string or nothing)"
        )
    elif "color_hint" in entry and not isinstance(entry["color_hint"], str):
        color = _hex_color(entry["color_hint"])
        if color is None:
            run.problem(where + "/color_hint", "not an RGB triple; give it as 'RRGGBB'")
        else:
            run.change(where + "/color_hint", f"{entry['color_hint']} written as {color!r}")
            entry["color_hint"] = color
    return entry


def classes(run: Run) -> None:
    """``classification:classes`` spelt right and made of class objects."""
    for ptr, out in run.entries("mlm:output"):
        if "classification_classes" in out:
            legacy = out.pop("classification_classes")
            if "classification:classes" in out and out["classification:classes"] != legacy:
                out["classification_classes"] = legacy
                run.problem(
                    ptr, "both classification_classes and classification:classes, with different values"
                )
                continue
            out["classification:classes"] = legacy
            run.change(ptr, "misspelt classification_classes renamed classification:classes")
        raw = out.get("classification:classes")
        if not isinstance(raw, list):
            continue
        where = ptr + "/classification:classes"
        if raw and all(isinstance(c, str) for c in raw):
            run.change(where, f"{len(raw)} class names became class objects (value = position)")
        out["classification:classes"] = [_class_object(i, c, f"{where}/{i}", run) for i, c in enumerate(raw)]


def dims(run: Run) -> None:
    """``shape`` and ``dim_order`` of equal length; see the module docstring for the one inferred case."""
    for key, nested in (("mlm:input", "input"), ("mlm:output", "result")):
        for ptr, entry in run.entries(key):
            struct = entry.get(nested)
            if not isinstance(struct, dict):
                run.problem(f"{ptr}/{nested}", "missing; needs shape, dim_order and data_type")
                continue
            shape, order = struct.get("shape"), struct.get("dim_order")
            if not isinstance(shape, list) or not isinstance(order, list) or len(shape) == len(order):
                continue
            if nested == "result" and _is_class_scores(entry, shape):
                struct["dim_order"] = ["batch", "class"]
                run.change(
                    f"{ptr}/result/dim_order",
                    f"{order} did not match shape {shape}; a classification output with {shape[1]} "
                    "classes and rank 2 is [batch, class]",
                )
            else:
                run.problem(
                    f"{ptr}/{nested}/dim_order",
                    f"{order} has {len(order)} names but shape {shape} has {len(shape)} sizes; "
                    "name every dimension of the tensor",
                )


def _is_class_scores(output: dict[str, Any], shape: list[Any]) -> bool:
    out_tasks = set(output.get("tasks") or [])
    n_classes = len(output.get("classification:classes") or [])
    return (
        bool(out_tasks)
        and out_tasks <= CLASSIFICATION_TASKS
        and n_classes > 0
        and len(shape) == 2
        and shape[1] == n_classes
        and isinstance(shape[0], int)
        and (shape[0] == -1 or shape[0] >= 1)
    )


def processing(run: Run) -> None:
    """Pre/post processing functions must be processing expression objects (``format`` + ``expression``)."""
    for key, field_name in (
        ("mlm:input", "pre_processing_function"),
        ("mlm:output", "post_processing_function"),
    ):
        for ptr, entry in run.entries(key):
            value = entry.get(field_name)
            values = value if isinstance(value, list) else [value]
            if any(v is not None and not isinstance(v, dict) for v in values):
                run.problem(
                    f"{ptr}/{field_name}",
                    "must be a processing expression {format, expression} (or a list of them); "
                    "say which format the function is written in",
                )


# --- item-level fields --------------------------------------------------------------------------------


def framework(run: Run) -> None:
    """Framework names spelt as the schema's list spells them (``scikit-learn``, ``Hugging Face``)."""
    value = run.props.get("mlm:framework")
    if not isinstance(value, str):
        return
    known = {v.lower().replace(" ", "").replace("-", ""): v for v in schema_enum(run.target, "mlm:framework")}
    spelt = known.get(value.lower().replace(" ", "").replace("-", ""))
    if spelt and spelt != value:
        run.props["mlm:framework"] = spelt
        run.change(pointer("properties", "mlm:framework"), f"{value!r} written {spelt!r}")


def accelerator(run: Run) -> None:
    """``mlm:accelerator`` must be a schema value or null; CPU-only spellings become null."""
    if "mlm:accelerator" not in run.props:
        return
    value = run.props["mlm:accelerator"]
    known = schema_enum(run.target, "mlm:accelerator")
    if value is None or value in known:
        return
    where = pointer("properties", "mlm:accelerator")
    if isinstance(value, str) and value.strip().lower() in CPU_ACCELERATORS:
        run.props["mlm:accelerator"] = None
        run.change(where, f"{value!r} is not a schema value; null means no accelerator is needed")
    else:
        run.problem(where, f"{value!r} is not one of {', '.join(known)} (or null for CPU-only models)")


def asset_fields(run: Run) -> None:
    """Since v1.4.0 ``mlm:name``/``input``/``output``/``hyperparameters`` live only in Item properties."""
    if not run.reaches("v1.4.0"):
        return
    for key, asset in run.assets.items():
        if not isinstance(asset, dict):
            continue
        for name in ITEM_ONLY_FIELDS:
            if name not in asset:
                continue
            where = pointer("assets", key, name)
            if name not in run.props:
                run.props[name] = asset.pop(name)
                run.change(where, "moved to the Item properties (not allowed on assets since v1.4.0)")
            elif run.props[name] == asset[name]:
                del asset[name]
                run.change(where, "removed; the Item properties hold the same value")
            else:
                run.problem(
                    where, "differs from the Item's value; keep one (assets may not hold it since v1.4.0)"
                )


def model_asset(run: Run) -> None:
    """At least one asset has the ``mlm:model`` role; inferred when exactly one asset is a model file."""
    if run.model_assets():
        return
    assets = [(k, a) for k, a in run.assets.items() if isinstance(a, dict)]
    candidates = [(k, a) for k, a in assets if "mlm:artifact_type" in a] or [
        (k, a) for k, a in assets if _suffix(a) in MODEL_SUFFIXES
    ]
    if len(candidates) == 1:
        key, asset = candidates[0]
        asset["roles"] = [*_roles(asset), "mlm:model"]
        run.change(
            pointer("assets", key, "roles"), "added 'mlm:model' (the only model file among the assets)"
        )
        return
    found = f" (candidates: {', '.join(k for k, _ in candidates)})" if candidates else ""
    run.problem("/assets", f"no asset has the role 'mlm:model'; add it to the model file's asset{found}")


def artifact_type(run: Run) -> None:
    """Since v1.4.0 every ``mlm:model`` asset, and only those, has ``mlm:artifact_type``."""
    if not run.reaches("v1.4.0"):
        return
    models = run.model_assets()
    for name in ASSET_ONLY_FIELDS:
        if name not in run.props:
            continue
        where = pointer("properties", name)
        if len(models) == 1 and name not in models[0][1]:
            models[0][1][name] = run.props.pop(name)
            run.change(where, f"moved to the model asset '{models[0][0]}' (an asset field since v1.4.0)")
        else:
            run.problem(where, "belongs on the mlm:model asset since v1.4.0; move it there")
    for key, asset in models:
        if "mlm:artifact_type" in asset:
            continue
        where = pointer("assets", key, "mlm:artifact_type")
        onnx = _suffix(asset) == ".onnx" or "onnx" in str(asset.get("type", "")).lower()
        if onnx or (run.props.get("mlm:framework") == "ONNX" and _suffix(asset) not in MODEL_SUFFIXES):
            asset["mlm:artifact_type"] = "onnx"
            run.change(where, "set to 'onnx' (required since v1.4.0; the asset is an ONNX file)")
        else:
            examples = ", ".join(mlm_defs(run.target)["mlm:artifact_type"].get("examples", []))
            run.problem(where, f"required since v1.4.0 and not inferable from the file; e.g. {examples}")
    for key, asset in run.assets.items():
        if isinstance(asset, dict) and "mlm:artifact_type" in asset and "mlm:model" not in _roles(asset):
            run.problem(
                pointer("assets", key, "mlm:artifact_type"),
                "only an asset with the role 'mlm:model' may have it since v1.4.0; add the role or remove it",
            )


def value_scaling(run: Run) -> None:
    """v1.4.0 replaced ``norm_type``/``norm_by_channel``/``norm_clip``/``statistics`` by ``value_scaling``."""
    if not run.reaches("v1.4.0"):
        return
    for ptr, entry in run.entries("mlm:input"):
        legacy = {k: entry.pop(k) for k in LEGACY_SCALING if k in entry}
        if not legacy:
            continue
        try:
            scaling = _scaling_from_legacy(legacy)
        except _Unclear as exc:
            entry.update(legacy)
            run.problem(f"{ptr}/{exc.field}", str(exc))
            continue
        if scaling is None:
            run.change(ptr, f"empty legacy fields removed ({', '.join(legacy)})")
        elif entry.get("value_scaling") not in (None, scaling):
            entry.update(legacy)
            run.problem(ptr + "/value_scaling", "differs from the legacy norm_type + statistics; keep one")
        else:
            entry["value_scaling"] = scaling
            count = f"{len(scaling)} {scaling[0]['type']} entr{'y' if len(scaling) == 1 else 'ies'}"
            run.change(ptr + "/value_scaling", f"{count} from norm_type + statistics")


class _Unclear(Exception):
    """A legacy field whose meaning cannot be carried over; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


def _scaling_from_legacy(legacy: dict[str, Any]) -> list[dict[str, Any]] | None:
    norm_type, stats = legacy.get("norm_type"), legacy.get("statistics")
    if legacy.get("norm_clip"):
        raise _Unclear(
            "norm_clip",
            "has no exact v1.4+ equivalent; write the clipping as value_scaling 'clip'/'clip-max' entries "
            "or a processing expression",
        )
    if norm_type is None and not stats:
        return None
    if norm_type is None:
        raise _Unclear(
            "statistics", "given without norm_type; say how they scale the input (min-max or z-score)"
        )
    if norm_type not in SCALING_FIELDS:
        raise _Unclear(
            "norm_type",
            f"{norm_type!r} was removed in v1.4.0 as ambiguous; "
            "write it as a value_scaling 'processing' expression",
        )
    if not isinstance(stats, list) or not stats:
        raise _Unclear("statistics", f"missing; norm_type {norm_type!r} needs the values to scale with")
    if legacy.get("norm_by_channel") is False and len(stats) > 1:
        raise _Unclear("norm_by_channel", "is false but statistics has one entry per channel")
    names = SCALING_FIELDS[norm_type]
    scaling = []
    for i, stat in enumerate(stats):
        if not isinstance(stat, dict) or any(not isinstance(stat.get(n), int | float) for n in names):
            raise _Unclear(
                f"statistics/{i}", f"lacks {' or '.join(names)}, needed by norm_type {norm_type!r}"
            )
        scaling.append({"type": norm_type, **{n: stat[n] for n in names}})
    return scaling


def unknown_fields(run: Run) -> None:
    """Since v1.4.0 the schema rejects ``mlm:`` fields it does not define."""
    if not run.reaches("v1.4.0"):
        return
    defined = set(mlm_defs(run.target)["fields"]["properties"])
    holders = [(pointer("properties"), run.props)]
    holders += [(pointer("assets", k), a) for k, a in run.assets.items() if isinstance(a, dict)]
    for where, holder in holders:
        for name in holder:
            if name.startswith("mlm:") and name not in defined:
                run.problem(f"{where}/{name}", f"not an MLM {run.target} field; rename or remove it")


# --- bands --------------------------------------------------------------------------------------------


def band_dims(run: Run) -> None:
    """From v1.5.0 a ``bands`` axis exists exactly when bands are named; earlier, ``bands`` is required."""
    for key, nested in (("mlm:input", "input"), ("mlm:output", "result")):
        for ptr, entry in run.entries(key):
            if key == "mlm:input" and "bands" not in entry and not run.reaches("v1.5.0"):
                entry["bands"] = []
                run.change(ptr + "/bands", "added as [] (required before v1.5.0)")
            struct = entry.get(nested)
            if not run.reaches("v1.5.0") or not isinstance(struct, dict):
                continue
            order = struct.get("dim_order")
            if not isinstance(order, list):
                continue
            where = f"{ptr}/{nested}/dim_order"
            named = bool(entry.get("bands"))
            if named and "bands" not in order:
                axes = [i for i, d in enumerate(order) if str(d).lower() in CHANNEL_NAMES]
                if len(axes) == 1:
                    run.change(where, f"{order[axes[0]]!r} renamed 'bands' (v1.5.0: named bands need it)")
                    order[axes[0]] = "bands"
                else:
                    run.problem(where, "names bands but has no single channel dimension to call 'bands'")
            elif not named and "bands" in order:
                order[order.index("bands")] = "channel"
                run.change(where, "'bands' renamed 'channel' (v1.5.0: no band is named)")


def _band_names(run: Run) -> list[str]:
    keys = ("mlm:input", "mlm:output") if run.reaches("v1.5.0") else ("mlm:input",)
    plain: list[str] = []
    derived: list[str] = []
    for key in keys:
        for _, entry in run.entries(key):
            for band in entry.get("bands") or []:
                if isinstance(band, str):
                    plain.append(band)
                elif isinstance(band, dict) and isinstance(band.get("name"), str):
                    (derived if band.get("expression") is not None else plain).append(band["name"])
    return list(dict.fromkeys(plain or derived))


def _has_band_definitions(run: Run) -> bool:
    models = [a for _, a in run.model_assets()]
    extensions = [str(e) for e in run.data.get("stac_extensions") or []]
    eo = any("stac-extensions.github.io/eo/v1." in e for e in extensions)
    raster = any("stac-extensions.github.io/raster/v1." in e for e in extensions)
    stac11 = str(run.data.get("stac_version", "")).startswith("1.1")
    return bool(
        (raster and models and all(a.get("raster:bands") for a in models))
        or (eo and (run.props.get("eo:bands") or (models and all(a.get("eo:bands") for a in models))))
        or (stac11 and run.props.get("bands"))
    )


def band_definitions(run: Run) -> None:
    """Named bands need definitions elsewhere in the item (checked by the schema since v1.1.0)."""
    names = _band_names(run)
    if not names or not run.reaches("v1.1.0") or _has_band_definitions(run):
        return
    models = run.model_assets()
    if not models:
        return  # model_asset() already reported it
    if str(run.data.get("stac_version", "")).startswith("1.1"):
        defs = [{"name": n} for n in names]
        for _, asset in models:
            asset.setdefault("bands", [dict(d) for d in defs])
        run.props["bands"] = defs
        run.change("/properties/bands", f"defined bands {names} by name (also on the model asset)")
        return
    extensions = run.data.setdefault("stac_extensions", [])
    if not any("stac-extensions.github.io/eo/v1." in str(e) for e in extensions):
        extensions.append(EO_EXTENSION)
        run.change("/stac_extensions", f"added {EO_EXTENSION} for the band definitions")
    for key, asset in models:
        asset["eo:bands"] = [
            {"name": n, **({"common_name": n} if n in EO_COMMON_NAMES else {})} for n in names
        ]
        run.change(pointer("assets", key, "eo:bands"), f"defined bands {names} by name (eo extension)")


ITEM_STEPS = (
    layout,
    tasks,
    classes,
    dims,
    processing,
    framework,
    accelerator,
    asset_fields,
    model_asset,
    artifact_type,
    value_scaling,
    unknown_fields,
    band_dims,
    band_definitions,
)
