"""Lint MLM metadata for what the JSON schema cannot see: contradictions a runner would trip over.

Lint is about meaning, not form: it does not run the schemas (``eohub mlm validate`` does; the quality
levels run both). It reads what it can and skips what is malformed, so it never crashes on a document
the schema would reject. Where a rule and the schema meet (the bands trap, ``mlm:artifact_type``, the
places the v1.5.2 schema contradicts its README) lint adds the explanation and the fix the schema's raw
error lacks. Items and Collections that use no MLM field are not linted.

Every finding has a stable code:

=======  ========  ==================================================================================
code     severity  finding
=======  ========  ==================================================================================
MLM001   error     ``dim_order`` and ``shape`` have different lengths (an input or an output)
MLM002   error     the size of the axis that carries the classes differs from the number of
                   ``classification:classes``: a class axis, or the channel axis of a segmentation or
                   classification output (``[batch, channel, height, width]``)
MLM003   error     the number of ``bands`` (``variables``) differs from the size of the bands/channel
                   (variables) dimension; a warning when a ``pre_processing_function`` may combine them
MLM004   error     ``value_scaling`` has neither one entry nor one per band
MLM005   error     no asset has the role ``mlm:model``
MLM006   error     a local model asset's href points at a file that does not exist
MLM007   error     a local ONNX model asset cannot be read as an ONNX graph
MLM008   error     ``mlm:input``/``mlm:output`` cannot be paired with the graph's inputs/outputs
MLM009   warning   an entry's ``name`` is not a graph tensor name (paired by position instead)
MLM010   error     a declared rank contradicts the ONNX graph
MLM011   error     a declared fixed size contradicts the ONNX graph
MLM012   error     a declared data type contradicts the ONNX graph
MLM013   warning   ``mlm:total_parameters`` differs from the graph's parameter count
MLM014   warning   the MLM version is older than the newest shipped one (``eohub mlm migrate``); not for
                   v1.5.1, which v1.5.2 left unchanged
MLM015   info      ``mlm:name`` is just a file name
MLM016   warning   a legacy key a v1.4+ runner ignores (``norm_type``, ``norm_by_channel``, ``norm_clip``,
                   ``statistics``) or the misspelt ``classification_classes``
MLM017   error     a model asset without ``mlm:artifact_type`` (a warning before MLM v1.4.0)
MLM018   warning   an output's ``tasks`` are not a subset of ``mlm:tasks``
MLM019   error     an input lists bands the document does not define where MLM looks (the STAC 1.1 / MLM
                   bands trap); the definitions it has elsewhere, and why they do not count
MLM020   error     ``mlm:accelerator`` outside the schema's enum (the v1.5.2 schema/README disagreement)
MLM021   error     array-valued Collection ``summaries`` with MLM (the schema/README disagreement)
MLM022   error     the pre-v1.0 object layout of ``mlm:input``/``mlm:output`` (``eohub mlm migrate``)
MLM023   warning   ``mlm:*`` fields without the MLM extension in ``stac_extensions``
MLM024   warning   an input band name that is neither the ``name`` nor the eo ``common_name`` of a band the
                   document defines (a runner matching bands by name will not find it)
MLM025   warning   an MLM version eohub ships no schema for (newer, e.g. v1.6.0): not validated, linted
                   with the rules of the newest shipped one; tasks unknown to that version; a
                   ``stac_version`` newer than the shipped core schemas
MLM026   error     a band name wrapped in quotes (``"\\"B01\\""``) or padded with spaces (``" B01 "``)
MLM027   error     an asset that is not a model (source code, a notebook, a container image, a runtime)
                   carries the role ``mlm:model``
MLM028   error     since MLM v1.5.0: an entry lists bands but ``dim_order`` has no ``bands`` axis (the schema
                   says "None of [...] are valid under the given schema"), or the reverse
=======  ========  ==================================================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pystac

from eohub.errors import UsageError
from eohub.mlm.documents import StacDocument, walk_all
from eohub.mlm.lint_bands import check_band_axis, check_band_names, check_bands_trap, check_quoted_band_names
from eohub.mlm.lint_context import BAND_DIMS, CLASS_DIMS, MODEL_SUFFIXES, Entry, LintContext
from eohub.mlm.lint_model import check_model_assets
from eohub.mlm.report import Finding, Report, Severity, pointer
from eohub.mlm.schema_hints import GPU_ACCELERATORS, GPU_NAMES
from eohub.mlm.schemas import LATEST_MLM_VERSION, MLM_VERSIONS, core_versions, newer_than
from eohub.mlm.validate import KNOWN_DISAGREEMENTS, as_paths
from eohub.mlm.vocabulary import mlm_enum

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
MIGRATE_HINT = "run `eohub mlm migrate ITEM -o ITEM` to upgrade it"
LEGACY_INPUT_KEYS = {
    "norm_type": "value_scaling",
    "norm_by_channel": "value_scaling (one entry per band)",
    "norm_clip": "value_scaling entries of type 'clip'",
    "statistics": "value_scaling (z-score mean/stddev or min-max)",
}
# MLM v1.5.2 changed no field of v1.5.1 (a schema fix), so a v1.5.1 item has nothing to migrate.
SAME_AS_LATEST = ("v1.5.1",)
CHANNEL_DIMS = ("channel", "channels")
CLASS_TASKS = (
    "semantic-segmentation", "segmentation", "instance-segmentation", "panoptic-segmentation",
    "classification", "scene-classification",
)  # fmt: skip
FILE_NAME = re.compile(r"^[^/\\\s]+(" + "|".join(re.escape(s) for s in MODEL_SUFFIXES) + r")$", re.IGNORECASE)


def _check_layout(ctx: LintContext) -> None:
    for kind, structure in (("input", "input"), ("output", "result")):
        if isinstance(ctx.properties.get(f"mlm:{kind}"), dict):
            ctx.add(
                "MLM022",
                ERROR,
                pointer("properties", f"mlm:{kind}"),
                f"mlm:{kind} is one object with a nested '{structure}' (the layout before MLM v1.0); "
                f"runners expect a list of {kind} objects",
                MIGRATE_HINT,
            )


def _check_version(ctx: LintContext) -> None:
    shipped = core_versions()[-1]
    if newer_than(ctx.stac_version, shipped):
        ctx.add(
            "MLM025",
            WARNING,
            "/stac_version",
            f"STAC {ctx.stac_version} is newer than {shipped}, the newest core schema eohub ships: the "
            "document is not validated",
            "upgrade eohub to check this STAC version",
        )
    declared = ctx.extension("mlm")
    if declared is None:
        if ctx.uses_mlm:
            ctx.add(
                "MLM023",
                WARNING,
                "/stac_extensions",
                "mlm:* fields are used but the MLM extension is not declared, so no schema checks them",
                f"add https://stac-extensions.github.io/mlm/{LATEST_MLM_VERSION}/schema.json",
            )
        return
    index, version = declared
    if version not in MLM_VERSIONS:
        _unknown_version(ctx, index, version)
    elif not ctx.mlm_at_least(LATEST_MLM_VERSION) and version not in SAME_AS_LATEST:
        ctx.add(
            "MLM014",
            WARNING,
            pointer("stac_extensions", index),
            f"MLM {version} is older than {LATEST_MLM_VERSION}, the newest eohub ships",
            MIGRATE_HINT,
        )


def _unknown_version(ctx: LintContext, index: int, version: str) -> None:
    """MLM025: a version without a shipped schema; its tasks are checked against the newest vocabulary."""
    newer = newer_than(version, LATEST_MLM_VERSION)
    what = (
        f"newer than {LATEST_MLM_VERSION}, the newest eohub ships" if newer else "not a version eohub knows"
    )
    ctx.add(
        "MLM025",
        WARNING,
        pointer("stac_extensions", index),
        f"MLM {version} is {what}: its schema is not validated, and lint applies the rules of "
        f"{LATEST_MLM_VERSION}",
        "upgrade eohub to check this MLM version" if newer else f"declare one of {', '.join(MLM_VERSIONS)}",
    )
    tasks = ctx.properties.get("mlm:tasks")
    known = mlm_enum("mlm:tasks")
    for i, task in enumerate(tasks if isinstance(tasks, list) else []):
        if isinstance(task, str) and task not in known:
            ctx.add(
                "MLM025",
                WARNING,
                pointer("properties", "mlm:tasks", i),
                f"{task!r} is not a task of MLM {LATEST_MLM_VERSION} (the MLM {version} schema was not "
                "checked)",
                f"MLM {LATEST_MLM_VERSION} tasks: {', '.join(known)}",
            )


def _check_dim_order(ctx: LintContext, entry: Entry) -> None:
    shape, dims = entry.shape, entry.dim_order
    if shape is not None and dims is not None and len(shape) != len(dims):
        ctx.add(
            "MLM001",
            ERROR,
            entry.structure_pointer("dim_order"),
            f"{entry.where}: dim_order {dims} names {len(dims)} dimensions, shape {shape} has {len(shape)}",
            "name every dimension of the shape once, in order (e.g. [batch, class] for [-1, 10])",
        )


def _classes(entry: Entry) -> list[Any]:
    return entry.list_of("classification:classes") or entry.list_of("classification_classes")


def _class_axis(ctx: LintContext, entry: Entry) -> tuple[int, int, str] | None:
    """``(axis, size, why)`` of the axis that holds the classes: a class axis, else for a segmentation or
    classification output its channel axis (fAIr's U-Net: ``[batch, channel, height, width]``)."""
    found = entry.dim_size(CLASS_DIMS)
    if found is not None:
        return (*found, "the class dimension")
    tasks = entry.list_of("tasks") or ctx.properties.get("mlm:tasks")
    task = next((t for t in tasks or [] if t in CLASS_TASKS), None) if isinstance(tasks, list) else None
    found = entry.dim_size(CHANNEL_DIMS) if entry.kind == "output" and task else None
    if found is None:
        return None
    name = (entry.dim_order or [])[found[0]]
    return (*found, f"the {name} dimension (which carries the classes of a {task} output)")


def _check_classes(ctx: LintContext, entry: Entry) -> None:
    classes, found = _classes(entry), _class_axis(ctx, entry)
    if not classes or found is None:
        return
    axis, size, what = found
    counted = [c for c in classes if not (isinstance(c, dict) and c.get("nodata") is True)]
    # A class dimension of size 1 holds a class index (or one score for a binary model).
    if size > 1 and size not in (len(classes), len(counted)):
        ctx.add(
            "MLM002",
            ERROR,
            entry.structure_pointer("shape", axis),
            f"{entry.where}: {what} has size {size} but {len(classes)} classes are listed",
            "list one class per index of that dimension, or fix the shape",
        )


def _check_band_count(ctx: LintContext, entry: Entry) -> None:
    for key, dims in (("bands", BAND_DIMS), ("variables", ("variables",))):
        listed, found = entry.list_of(key), entry.dim_size(dims)
        if not listed or found is None or found[1] <= 0 or found[1] == len(listed):
            continue
        axis, size = found
        combined = entry.data.get("pre_processing_function") not in (None, [])
        dim = (entry.dim_order or [])[axis]
        message = f"{entry.where}: {len(listed)} {key} listed but the {dim} dimension has size {size}"
        ctx.add(
            "MLM003",
            WARNING if combined else ERROR,
            entry.pointer(key),
            message + (" (fine if pre_processing_function combines them)" if combined else ""),
            f"list exactly the {size} {key} the model reads, in order, or fix the shape",
        )


def _check_value_scaling(ctx: LintContext, entry: Entry) -> None:
    scaling = entry.list_of("value_scaling")
    found = entry.dim_size(BAND_DIMS)
    per_band = found[1] if found and found[1] > 0 else len(entry.list_of("bands")) or None
    if len(scaling) <= 1 or per_band is None or len(scaling) == per_band:
        return
    ctx.add(
        "MLM004",
        ERROR,
        entry.pointer("value_scaling"),
        f"{entry.where}: {len(scaling)} value_scaling entries for {per_band} bands",
        f"give one entry for all bands or exactly {per_band}, in band order",
    )


def _check_legacy_keys(ctx: LintContext, entry: Entry) -> None:
    if entry.kind == "input" and ctx.mlm_at_least("v1.4.0"):
        for key, replacement in LEGACY_INPUT_KEYS.items():
            if key in entry.data:
                ctx.add(
                    "MLM016",
                    WARNING,
                    entry.pointer(key),
                    f"{entry.where}: '{key}' was removed in MLM v1.4.0; the schema still lets it through but "
                    "runners ignore it",
                    f"express it as {replacement}",
                )
    if "classification_classes" in entry.data:
        ctx.add(
            "MLM016",
            WARNING,
            entry.pointer("classification_classes"),
            f"{entry.where}: 'classification_classes' is not an MLM field, so runners ignore the classes",
            "rename it to 'classification:classes'",
        )


def _check_output_tasks(ctx: LintContext, entry: Entry) -> None:
    declared = ctx.properties.get("mlm:tasks")
    if entry.kind != "output" or not isinstance(declared, list):
        return
    extra = [t for t in entry.list_of("tasks") if t not in declared]
    if extra:
        ctx.add(
            "MLM018",
            WARNING,
            entry.pointer("tasks"),
            f"{entry.where}: tasks {extra} are not in mlm:tasks {declared}",
            "add them to mlm:tasks or remove them from the output",
        )


def _check_name(ctx: LintContext) -> None:
    name = ctx.properties.get("mlm:name")
    if isinstance(name, str) and FILE_NAME.match(name):
        ctx.add(
            "MLM015",
            INFO,
            pointer("properties", "mlm:name"),
            f"mlm:name {name!r} is a file name; it should name the model",
            "use a human-readable model name (the file belongs in the model asset's href)",
        )


def _check_accelerator(ctx: LintContext) -> None:
    value = ctx.properties.get("mlm:accelerator")
    allowed = mlm_enum("mlm:accelerator")
    if isinstance(value, str) and value not in allowed:
        ctx.add(
            "MLM020",
            ERROR,
            pointer("properties", "mlm:accelerator"),
            f"mlm:accelerator {value!r} is rejected by the MLM schema, whose enum is {', '.join(allowed)}",
            GPU_ACCELERATORS if value.lower() in GPU_NAMES else KNOWN_DISAGREEMENTS["mlm:accelerator"],
        )


def _check_summaries(ctx: LintContext) -> None:
    summaries = ctx.data.get("summaries")
    if ctx.stac_type != "Collection" or ctx.mlm_version is None or not isinstance(summaries, dict):
        return
    for key, value in summaries.items():
        if isinstance(value, list):
            ctx.add(
                "MLM021",
                ERROR,
                pointer("summaries", key),
                f"summary {key!r} is a list, as STAC and the MLM README describe, but the MLM "
                f"{ctx.mlm_version} schema rejects every array-valued summary",
                KNOWN_DISAGREEMENTS["summaries"],
            )


def _lint(ctx: LintContext) -> None:
    if ctx.stac_type not in ("Feature", "Collection") or not ctx.uses_mlm:
        return
    _check_version(ctx)
    _check_summaries(ctx)
    if ctx.stac_type != "Feature":
        return
    _check_layout(ctx)
    _check_name(ctx)
    _check_accelerator(ctx)
    for entry in ctx.inputs + ctx.outputs:
        _check_dim_order(ctx, entry)
        _check_classes(ctx, entry)
        _check_band_count(ctx, entry)
        _check_value_scaling(ctx, entry)
        _check_legacy_keys(ctx, entry)
        _check_output_tasks(ctx, entry)
    check_bands_trap(ctx)
    check_band_names(ctx)
    check_quoted_band_names(ctx)
    check_band_axis(ctx)
    check_model_assets(ctx)


def lint_data(
    data: dict[str, Any] | pystac.STACObject, base_dir: str | Path | None = None, label: str = "<memory>"
) -> Report:
    """Lint an in-memory STAC object (a dict or a pystac object).

    ``base_dir`` resolves relative asset hrefs; without it they are not checked.
    """
    if isinstance(data, pystac.STACObject):
        data = data.to_dict(include_self_link=False)
    if not isinstance(data, dict):
        raise UsageError(f"{label}: a STAC document must be a JSON object, not {type(data).__name__}")
    ctx = LintContext(data, label, Path(base_dir) if base_dir is not None else None)
    _lint(ctx)
    return Report(findings=ctx.findings, files=[label])


def lint_document(doc: StacDocument) -> Report:
    """Lint one document read from disk; relative hrefs resolve against its folder."""
    return lint_data(doc.data, doc.path.parent, doc.label)


def lint(paths: str | Path | Iterable[str | Path]) -> Report:
    """Lint files and catalog folders (walked through every local child and item link).

    A link that cannot be followed is reported as validate reports it (``STAC004``).
    """
    report = Report()
    broken: list[Finding] = []
    for doc in walk_all(as_paths(paths), broken):
        report.extend(lint_document(doc))
    report.findings.extend(broken)
    return report
