"""Migration steps for ``mlm:input``/``mlm:output``: layout, tasks, classes, shapes, scaling, band axes.

The rules, and why what they infer is safe, are listed in :mod:`eohub.mlm.migrate`.
"""

from __future__ import annotations

from typing import Any

from eohub.mlm.documents import list_field
from eohub.mlm.migration_run import Run, schema_enum
from eohub.mlm.report import pointer

CLASSIFICATION_TASKS = frozenset({"classification", "scene-classification"})
CHANNEL_NAMES = ("channel", "channels", "band")
LEGACY_SCALING = ("norm_type", "norm_by_channel", "norm_clip", "statistics")
SCALING_FIELDS = {"min-max": ("minimum", "maximum"), "z-score": ("mean", "stddev")}


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
            if not isinstance(v, str):
                fixed.append(v)  # the schema reports a task that is not a string
                continue
            candidate = v.strip().lower().replace(" ", "-").replace("_", "-")
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
    out_tasks = {t for t in list_field(output, "tasks") if isinstance(t, str)}
    n_classes = len(list_field(output, "classification:classes"))
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
