"""Read what an MLM item says about running its model: inputs, outputs, bands and the model asset.

``parse_item`` turns ``mlm:input`` / ``mlm:output`` into typed specs with canonical dimension names
(see ``DIM_ALIASES``), and ``choose_model_asset`` picks the ``mlm:model`` asset eohub can run. Nothing
here touches the model file; comparing the metadata with the ONNX graph is :mod:`eohub.inference.graph`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eohub.errors import InferenceError

log = logging.getLogger(__name__)

# dim_order names eohub understands, mapped to one canonical name per axis kind.
DIM_ALIASES: dict[str, str] = {
    "batch": "batch",
    "channel": "channel",
    "channels": "channel",
    "bands": "channel",
    "height": "height",
    "y": "height",
    "rows": "height",
    "width": "width",
    "x": "width",
    "cols": "width",
    "time": "time",
    "t": "time",
}
# Output axes that hold one value per class (scores, logits or probabilities).
CLASS_AXIS_NAMES = frozenset({"class", "classes", "score", "scores", "logits", "probabilities"})

CLASSIFICATION_TASKS = frozenset({"classification", "scene-classification"})
SEGMENTATION_TASKS = frozenset({"segmentation", "semantic-segmentation"})
UNSUPPORTED_TASKS = frozenset(
    {"detection", "object-detection", "instance-segmentation", "panoptic-segmentation", "image-captioning"}
)
ONNX_MEDIA_HINTS = ("onnx",)


@dataclass(frozen=True)
class Expression:
    """A processing expression (``format`` + ``expression``) and where it was found, for messages."""

    format: str
    expression: Any
    where: str


@dataclass(frozen=True)
class BandRef:
    """One entry of ``mlm:input.bands``: a band name, optionally derived by an expression."""

    name: str
    expression: Expression | None = None


@dataclass(frozen=True)
class BandInfo:
    """A band as described by STAC (``eo:bands``, ``raster:bands``, ``bands``) or by a raster file."""

    name: str | None
    common_name: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class ClassSpec:
    """One ``classification:classes`` entry; ``color`` is RGBA when a colour hint is given."""

    value: int
    name: str
    color: tuple[int, int, int, int] | None = None
    nodata: bool = False
    title: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class InputSpec:
    """One ``mlm:input`` with its dimension names made canonical (``batch``, ``channel``, ...)."""

    index: int
    name: str
    bands: tuple[BandRef, ...]
    shape: tuple[int, ...]
    dims: tuple[str, ...]
    data_type: str
    value_scaling: tuple[Any, ...] | None
    resize_type: str | None
    pre_processing: tuple[Expression, ...]


@dataclass(frozen=True)
class OutputSpec:
    """One ``mlm:output``; ``dims`` are canonical, with ``class`` for an axis of per-class values."""

    index: int
    name: str
    tasks: tuple[str, ...]
    shape: tuple[int, ...]
    dims: tuple[str, ...]
    data_type: str
    classes: tuple[ClassSpec, ...]
    post_processing: tuple[Expression, ...]

    @property
    def spatial(self) -> bool:
        """True when the output has height and width (a prediction per pixel)."""
        return "height" in self.dims and "width" in self.dims

    @property
    def is_classes(self) -> bool:
        """True for classification and segmentation outputs (a class per patch or per pixel)."""
        return bool(set(self.tasks) & (CLASSIFICATION_TASKS | SEGMENTATION_TASKS)) or bool(self.classes)


@dataclass(frozen=True)
class ModelAsset:
    """The ``mlm:model`` asset that runs: its key, resolved href and artifact type."""

    key: str
    href: str
    artifact_type: str


@dataclass
class ModelMetadata:
    """Everything eohub reads from an MLM item to run its model."""

    item: dict[str, Any]
    base: Path | None
    name: str
    tasks: tuple[str, ...]
    inputs: list[InputSpec]
    outputs: list[OutputSpec]
    asset: ModelAsset
    band_defs: list[BandInfo] = field(default_factory=list)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    batch_size_suggestion: int | None = None
    href: str | None = None

    def hyperparameter(self, *names: str) -> Any:
        """The first of ``names`` present in ``mlm:hyperparameters`` (runner hints), else None."""
        for name in names:
            if name in self.hyperparameters:
                return self.hyperparameters[name]
        return None


def canonical_dims(dim_order: list[str], where: str, output: bool = False) -> tuple[str, ...]:
    """Map ``dim_order`` names to canonical ones; unknown or repeated axis kinds are an error."""
    dims: list[str] = []
    for raw in dim_order:
        name = str(raw).lower()
        if output and name in CLASS_AXIS_NAMES:
            canonical = "class"
        elif name in DIM_ALIASES:
            canonical = DIM_ALIASES[name]
        else:
            known = sorted(set(DIM_ALIASES) | (CLASS_AXIS_NAMES if output else set()))
            raise InferenceError(
                f"{where}.dim_order: unknown dimension {raw!r} (eohub knows {', '.join(known)})"
            )
        if canonical in dims:
            raise InferenceError(f"{where}.dim_order: two dimensions mean {canonical!r} ({dim_order})")
        dims.append(canonical)
    return tuple(dims)


def _expressions(value: Any, where: str) -> tuple[Expression, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    out = []
    for i, entry in enumerate(items):
        if entry is None:
            continue
        if not isinstance(entry, Mapping) or "format" not in entry or "expression" not in entry:
            raise InferenceError(f"{where}: a processing expression needs 'format' and 'expression'")
        label = f"{where}[{i}]" if isinstance(value, list) else where
        out.append(Expression(str(entry["format"]), entry["expression"], label))
    return tuple(out)


def _band_ref(entry: Any, where: str) -> BandRef:
    if isinstance(entry, str):
        return BandRef(entry)
    if isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
        expr = None
        if entry.get("expression") is not None:
            expr = Expression(
                str(entry.get("format", "")), entry["expression"], f"{where} ({entry['name']!r})"
            )
        return BandRef(entry["name"], expr)
    raise InferenceError(f"{where}: a band is a name or an object with 'name'")


def _shape_dims(structure: Any, where: str, output: bool) -> tuple[tuple[int, ...], tuple[str, ...], str]:
    if not isinstance(structure, Mapping):
        raise InferenceError(f"{where}: missing")
    shape, dim_order, data_type = (
        structure.get("shape"),
        structure.get("dim_order"),
        structure.get("data_type"),
    )
    if not isinstance(shape, list) or not isinstance(dim_order, list) or not isinstance(data_type, str):
        raise InferenceError(f"{where}: needs 'shape', 'dim_order' and 'data_type'")
    if len(shape) != len(dim_order):
        raise InferenceError(f"{where}: shape {shape} and dim_order {dim_order} have different lengths")
    return tuple(int(s) for s in shape), canonical_dims(dim_order, where, output), data_type


def parse_input(entry: Mapping[str, Any], index: int) -> InputSpec:
    """One ``mlm:input`` object as an :class:`InputSpec`."""
    where = f"mlm:input[{index}]"
    shape, dims, data_type = _shape_dims(entry.get("input"), f"{where}.input", output=False)
    bands = tuple(_band_ref(b, f"{where}.bands[{i}]") for i, b in enumerate(entry.get("bands") or []))
    scaling = entry.get("value_scaling")
    if scaling is not None and not isinstance(scaling, list):
        raise InferenceError(f"{where}.value_scaling: must be a list of scaling objects or null")
    return InputSpec(
        index=index,
        name=str(entry.get("name", f"input{index}")),
        bands=bands,
        shape=shape,
        dims=dims,
        data_type=data_type,
        value_scaling=tuple(scaling) if scaling else None,
        resize_type=entry.get("resize_type"),
        pre_processing=_expressions(entry.get("pre_processing_function"), f"{where}.pre_processing_function"),
    )


def parse_color(hint: Any) -> tuple[int, int, int, int] | None:
    """A ``color_hint`` (``"00FF00"`` as the classification extension says, or ``[r, g, b]``) as RGBA."""
    if isinstance(hint, str) and len(hint.lstrip("#")) in (6, 8):
        text = hint.lstrip("#")
        try:
            rgba = [int(text[i : i + 2], 16) for i in range(0, len(text), 2)]
        except ValueError:
            return None
        return (rgba[0], rgba[1], rgba[2], rgba[3] if len(rgba) == 4 else 255)
    if isinstance(hint, list) and len(hint) in (3, 4) and all(isinstance(v, int) for v in hint):
        return (hint[0], hint[1], hint[2], hint[3] if len(hint) == 4 else 255)
    return None


def parse_classes(raw: Any, where: str) -> tuple[ClassSpec, ...]:
    """``classification:classes`` entries as :class:`ClassSpec` (values must be distinct integers)."""
    classes = []
    for i, c in enumerate(raw or []):
        if not isinstance(c, Mapping) or not isinstance(c.get("value"), int):
            raise InferenceError(f"{where}[{i}]: a class needs an integer 'value'")
        name = str(c.get("name") or c.get("title") or c["value"])
        color = parse_color(c.get("color_hint"))
        description = c.get("description") if isinstance(c.get("description"), str) else None
        classes.append(ClassSpec(c["value"], name, color, bool(c.get("nodata")), c.get("title"), description))
    values = [c.value for c in classes]
    if len(set(values)) != len(values):
        raise InferenceError(f"{where}: class values repeat ({values})")
    return tuple(classes)


def parse_output(entry: Mapping[str, Any], index: int) -> OutputSpec:
    """One ``mlm:output`` object as an :class:`OutputSpec` (old ``classification_classes`` accepted too)."""
    where = f"mlm:output[{index}]"
    shape, dims, data_type = _shape_dims(entry.get("result"), f"{where}.result", output=True)
    raw_classes = entry.get("classification:classes", entry.get("classification_classes"))
    return OutputSpec(
        index=index,
        name=str(entry.get("name", f"output{index}")),
        tasks=tuple(entry.get("tasks") or ()),
        shape=shape,
        dims=dims,
        data_type=data_type,
        classes=parse_classes(raw_classes, f"{where}.classification:classes"),
        post_processing=_expressions(
            entry.get("post_processing_function"), f"{where}.post_processing_function"
        ),
    )


def _band_infos(raw: Any) -> list[BandInfo]:
    out = []
    for b in raw or []:
        if isinstance(b, Mapping):
            out.append(
                BandInfo(b.get("name"), b.get("common_name") or b.get("eo:common_name"), b.get("description"))
            )
    return out


def band_definitions(properties: Mapping[str, Any], asset: Mapping[str, Any] | None) -> list[BandInfo]:
    """Band objects of the model item (model asset first, then item properties), in any STAC flavour."""
    defs: list[BandInfo] = []
    for holder in (asset or {}, properties):
        for key in ("bands", "eo:bands", "raster:bands"):
            defs.extend(_band_infos(holder.get(key)))
    return defs


def _is_onnx(asset: Mapping[str, Any]) -> tuple[bool, int]:
    artifact = str(asset.get("mlm:artifact_type") or "").lower()
    href = str(asset.get("href") or "").lower().split("?")[0]
    media = str(asset.get("type") or "").lower()
    if "onnx" in artifact:
        return True, 0
    if href.endswith(".onnx") or any(h in media for h in ONNX_MEDIA_HINTS):
        return True, 1
    return False, 9


def choose_model_asset(assets: Mapping[str, Any], base: Path | None) -> ModelAsset:
    """The ``mlm:model`` asset that runs: ONNX by ``mlm:artifact_type`` first, then by file name or type.

    Among equally good candidates the first in the item's asset order wins.
    """
    models = [
        (k, a) for k, a in assets.items() if isinstance(a, Mapping) and "mlm:model" in (a.get("roles") or [])
    ]
    if not models:
        raise InferenceError("the item has no asset with role 'mlm:model'")
    ranked = sorted(((rank, i, k, a) for i, (k, a) in enumerate(models) for ok, rank in [_is_onnx(a)] if ok))
    if not ranked:
        found = ", ".join(f"{k} ({a.get('mlm:artifact_type') or a.get('type') or '?'})" for k, a in models)
        raise InferenceError(f"no mlm:model asset eohub can run (ONNX only); found {found}")
    _, _, key, asset = ranked[0]
    if len(ranked) > 1:
        log.info("several ONNX mlm:model assets; running %r", key)
    return ModelAsset(
        key, resolve_href(str(asset.get("href") or ""), base), str(asset.get("mlm:artifact_type") or "")
    )


def resolve_href(href: str, base: Path | None) -> str:
    """An asset href made absolute against the item's folder (URLs are returned unchanged)."""
    if not href:
        raise InferenceError("the mlm:model asset has no href")
    if "://" in href and not href.startswith("file://"):
        return href
    path = Path(href.removeprefix("file://"))
    if not path.is_absolute() and base is not None:
        path = base / path
    return str(path)


def parse_item(item: Mapping[str, Any], base: Path | None = None, href: str | None = None) -> ModelMetadata:
    """Parse an MLM item (a dict) into :class:`ModelMetadata`; ``base`` resolves relative asset hrefs."""
    props = item.get("properties")
    if not isinstance(props, Mapping) or "mlm:input" not in props or "mlm:output" not in props:
        raise InferenceError("not an MLM item: properties need 'mlm:input' and 'mlm:output'")
    inputs = [parse_input(e, i) for i, e in enumerate(props["mlm:input"] or [])]
    outputs = [parse_output(e, i) for i, e in enumerate(props["mlm:output"] or [])]
    if not inputs or not outputs:
        raise InferenceError("the item describes no model input or no model output")
    assets = item.get("assets") or {}
    asset = choose_model_asset(assets, base)
    hyper = props.get("mlm:hyperparameters") or {}
    return ModelMetadata(
        item=dict(item),
        base=base,
        name=str(props.get("mlm:name") or item.get("id") or "model"),
        tasks=tuple(props.get("mlm:tasks") or ()),
        inputs=inputs,
        outputs=outputs,
        asset=asset,
        band_defs=band_definitions(props, assets.get(asset.key)),
        hyperparameters=dict(hyper) if isinstance(hyper, Mapping) else {},
        batch_size_suggestion=props.get("mlm:batch_size_suggestion") or None,
        href=href,
    )
