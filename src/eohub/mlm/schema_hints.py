"""Explanations for schema messages that do not say what to do.

"None of ['batch', 'channel'] are valid under the given schema" is what the MLM v1.5 schema answers when an
input lists bands and ``dim_order`` has no ``bands`` axis; "False schema does not allow [...]" is eo
v1.1.0 refusing ``eo:bands`` in Item properties. :func:`hint_for` recognises such messages by the shape of
the failing schema and the document around it (never by the message text) and says what the schema
wants, in the words of the MLM README. Where MLM v1.5.2's schema contradicts its own README, it says so.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from typing import Any

from eohub.mlm.schema_errors import Problem

MIGRATE_HINT = "this is the layout before MLM v1.0; `eohub mlm migrate ITEM -o ITEM` upgrades it"
BANDS_HINT = (
    "an input or output names bands but the item does not define them: with STAC 1.1.0 add "
    "properties.bands AND 'bands' on the model asset; with STAC 1.0.0 declare the eo extension and add "
    "eo:bands, or the raster extension with raster:bands (each with a 'name') on the model asset"
)
GPU_ACCELERATORS = "for a GPU use 'cuda' (NVIDIA), 'amd-rocm', 'intel-ipex-gpu' or 'macos-arm'"
GPU_NAMES = ("gpu", "nvidia", "cuda-gpu")

# The MLM v1.5.2 schema disagrees with its own README in these places; explain rather than just fail.
KNOWN_DISAGREEMENTS = {
    "mlm:accelerator": (
        "the MLM v1.5.2 README lists 'cpu' and friends as accelerator values but the schema enum does not; "
        "use 'amd64' (or another schema value) or null for CPU-only models"
    ),
    "summaries": (
        "the MLM v1.5.2 schema wants every Collection summary to be an object of MLM fields (like item "
        "properties), so array-valued summaries, which the STAC spec and the MLM README describe, are "
        "rejected; describe MLM fields in 'item_assets' or drop the MLM extension from the Collection's "
        "stac_extensions"
    ),
}
# Names people write for MLM values (tasks, normalizations), and what MLM calls them.
VALUE_ALIASES = {
    "standardize": "z-score",
    "standardization": "z-score",
    "zscore": "z-score",
    "normalize": "min-max",
    "normalization": "min-max",
    "minmax": "min-max",
    "bilinear": "interpolation-linear",
    "linear": "interpolation-linear",
    "nearest": "interpolation-nearest",
    "bicubic": "interpolation-cubic",
    "cubic": "interpolation-cubic",
    "pixel-classification": "semantic-segmentation",
    "landcover-classification": "classification (one label per image) or semantic-segmentation (per pixel)",
    "image-classification": "classification or scene-classification",
    "land-cover-classification": "classification (one label per image) or semantic-segmentation (per pixel)",
    "change-detection": "segmentation (a per-pixel change mask) or classification",
    "building-detection": "object-detection (boxes) or semantic-segmentation (a mask)",
}


def _value(node: Any) -> str:
    return json.dumps(node, sort_keys=True, default=str)


def _contains_const(problem: Problem) -> str | None:
    schema = problem.error.schema if isinstance(problem.error.schema, dict) else {}
    contains = schema.get("contains")
    if problem.validator == "contains" and isinstance(contains, dict) and "const" in contains:
        return str(contains["const"])
    not_ = schema.get("not")
    if problem.validator == "not" and isinstance(not_, dict) and isinstance(not_.get("contains"), dict):
        return "!" + str(not_["contains"].get("const"))
    return None


def _contains(problem: Problem, data: dict[str, Any]) -> str:
    wanted = _contains_const(problem)
    last = problem.path[-1] if problem.path else ""
    if (
        problem.validator == "const"
        and problem.error.validator_value == "mlm:model"
        and "roles" in problem.path
    ):
        return "no asset has the role 'mlm:model': add it to the roles of the asset that holds the model file"
    if wanted is None:
        return ""
    if last == "dim_order" and wanted == "bands":
        return (
            "this entry lists bands, so since MLM v1.5.0 the axis that carries them must be called 'bands' "
            "in dim_order (e.g. [batch, bands, height, width], or [batch, bands] for a per-pixel model): "
            "rename 'channel' to 'bands'"
        )
    if last == "dim_order" and wanted == "!bands":
        return (
            "'bands' in dim_order is reserved since MLM v1.5.0 for an axis whose bands are listed in the "
            "entry's 'bands': list them there, or call the axis 'channel'"
        )
    if last == "roles" and wanted == "code":
        return (
            "an asset with mlm:entrypoint must have the role 'code': add it to its roles (or drop "
            "mlm:entrypoint)"
        )
    if last == "roles" and wanted == "mlm:model":
        return "the asset that holds the model file needs the role 'mlm:model'"
    if problem.path == ("stac_extensions",):
        return f"declare {wanted} in stac_extensions"
    if wanted.startswith("!"):
        return f"the list must not contain {wanted[1:]!r}"
    return f"the list must contain {wanted!r}"


def _alternatives(problem: Problem, data: dict[str, Any]) -> str:
    if not problem.alternatives:
        return ""
    branches = _value(problem.error.validator_value)
    if "stac_extensions_raster" in branches and "stac_extensions_eo" in branches:
        return BANDS_HINT
    if '"mlm:model"' in branches and problem.path in ((), ("assets",)):
        return "no asset has the role 'mlm:model': add it to the roles of the asset that holds the model file"
    if '"mlm:entrypoint"' in branches:
        return "an asset with mlm:entrypoint must have the role 'code': add it to its roles"
    return ""


def _artifact_type(problem: Problem, data: dict[str, Any]) -> str:
    instance = problem.error.instance
    at_asset = len(problem.path) == 2 and problem.path[0] == "assets"
    if (
        problem.validator == "not"
        and at_asset
        and isinstance(instance, dict)
        and "mlm:artifact_type" in instance
    ):
        return (
            "since MLM v1.4.0 only the asset with the role 'mlm:model' may have mlm:artifact_type: add the "
            "role to this asset if it holds the model, or remove the field"
        )
    if problem.validator == "required" and "'mlm:artifact_type'" in problem.message:
        return (
            "say how the model file was saved, e.g. 'onnx', 'torch.save', 'torch.jit.save', "
            "'safetensors.torch.save_file'"
        )
    return ""


def _forbidden(problem: Problem, data: dict[str, Any]) -> str:
    if problem.error.validator is not None:
        return ""
    if problem.path == ("properties", "eo:bands"):
        return (
            "eo v1.1.0 allows eo:bands in Item properties only when an asset has eo:bands as well: put the "
            "band list on the model asset too"
        )
    return "the schema does not allow this field here"


def _stac_11(problem: Problem, data: dict[str, Any]) -> str:
    if problem.path == ("stac_version",) and problem.validator == "pattern":
        return 'band definitions in properties.bands need STAC 1.1.0 (stac_version "1.1.0")'
    return ""


def _close(value: str, choices: list[str]) -> list[str]:
    by_lower = {str(c).lower(): str(c) for c in choices}
    if value.lower() in by_lower:
        return [by_lower[value.lower()]]
    return [by_lower[m] for m in difflib.get_close_matches(value.lower(), list(by_lower), n=2, cutoff=0.75)]


def _enum(problem: Problem, data: dict[str, Any]) -> str:
    value = problem.instance
    choices = list(problem.allowed) if problem.kind == "enum" else problem.error.validator_value
    if problem.value_kind != "enum" or not isinstance(value, str) or not isinstance(choices, list):
        return ""
    alias = VALUE_ALIASES.get(value.lower())
    if alias and alias.split(" ", 1)[0] in choices:
        return f"MLM calls this {alias}"
    if value.lower() in GPU_NAMES and "cuda" in choices:
        return GPU_ACCELERATORS
    close = _close(value, choices)
    return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _unexpected_keys(problem: Problem) -> list[str]:
    schema = problem.error.schema if isinstance(problem.error.schema, dict) else {}
    known = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    patterns = schema.get("patternProperties") if isinstance(schema.get("patternProperties"), dict) else {}
    instance = problem.instance
    if not isinstance(instance, dict):
        return []
    return [str(k) for k in instance if k not in known and not any(re.search(p, str(k)) for p in patterns)]


def _unexpected(problem: Problem, data: dict[str, Any]) -> str:
    if problem.validator != "additionalProperties":
        return ""
    schema = problem.error.schema if isinstance(problem.error.schema, dict) else {}
    known = list(schema.get("properties") or {})
    notes = []
    for key in _unexpected_keys(problem):
        close = [c for c in _close(key, known) if c not in problem.instance] or [
            c for c in known if c.startswith(key) and c not in problem.instance
        ][:1]
        if close:
            notes.append(f"did you mean {close[0]!r} for {key!r}?")
        elif key.startswith("mlm:"):
            notes.append(
                f"{key!r} is not an MLM field: since v1.4.0 the schema rejects mlm: fields it does not "
                "define (rename it without the mlm: prefix, or remove it)"
            )
    return " ".join(notes)


def _required(problem: Problem, data: dict[str, Any]) -> str:
    path = problem.path
    if (
        problem.validator == "required"
        and "'bands'" in problem.message
        and len(path) == 3
        and path[1] == "mlm:input"
    ):
        return (
            "MLM before v1.5.0 requires 'bands' on every input: list the band names, or [] for unnamed "
            "channels"
        )
    return ""


def _pattern(problem: Problem, data: dict[str, Any]) -> str:
    if problem.validator == "pattern" and problem.path[-1:] == ("mlm:framework_version",):
        return "write the version as MAJOR.MINOR.PATCH, e.g. '2.1.0'"
    return ""


def _shapes(problem: Problem, data: dict[str, Any]) -> str:
    """Values written in the wrong form: an expression as a string, class names, WKT geometry."""
    last = problem.path[-1] if problem.path else ""
    value = problem.instance
    if problem.value_kind != "type" or not isinstance(value, str):
        return ""
    if last in ("pre_processing_function", "post_processing_function", "expression"):
        return (
            f'a processing expression is an object: {{"format": "python", "expression": {json.dumps(value)}}}'
        )
    if len(problem.path) >= 2 and problem.path[-2] == "classification:classes":
        return (
            "write each class as an object with 'value' (its index) and 'name'; `eohub mlm migrate` "
            "converts a list of names"
        )
    if last == "geometry" and re.match(r"^\s*(MULTI)?(POINT|LINESTRING|POLYGON)", value, re.IGNORECASE):
        return 'geometry is GeoJSON, not WKT: {"type": "Polygon", "coordinates": [[[lon, lat], ...]]}'
    return ""


def _mlm(problem: Problem, data: dict[str, Any]) -> str:
    path = [str(p) for p in problem.path]
    if "mlm:accelerator" in path:
        value = problem.error.instance
        if isinstance(value, str) and value.lower() in GPU_NAMES:
            return GPU_ACCELERATORS
        return KNOWN_DISAGREEMENTS["mlm:accelerator"]
    if data.get("type") == "Collection" and path[:1] == ["summaries"]:
        return KNOWN_DISAGREEMENTS["summaries"]
    old_layout = path in (["properties", "mlm:input"], ["properties", "mlm:output"])
    if old_layout and isinstance(problem.error.instance, dict):
        return MIGRATE_HINT
    return ""


Rule = Callable[[Problem, dict[str, Any]], str]
RULES: tuple[Rule, ...] = (
    _contains,
    _alternatives,
    _artifact_type,
    _forbidden,
    _stac_11,
    _required,
    _pattern,
    _enum,
    _unexpected,
    _shapes,
)


def hint_for(data: dict[str, Any], problem: Problem, ext_name: str | None) -> str:
    """What the author should do about ``problem`` (empty when the message says it already)."""
    if ext_name == "mlm" and (hint := _mlm(problem, data)):
        return hint
    for rule in RULES:
        if hint := rule(problem, data):
            return hint
    return ""
