"""What the repository pages show, read from a version's STAC documents: model cards and dataset contents.

A **model card** comes from each item using MLM: architecture, tasks, framework and its version, parameter
count, every ``mlm:input`` (shape with its named dimensions, data type, bands with their
``value_scaling``) and ``mlm:output`` (shape, ``classification:classes`` with their ``color_hint``), and its
assets (model, weights, training and inference runtimes, code...) with their roles and what their href is
(:mod:`eohub.core.hrefs`): a file of the version, a web link, or a container image reference to copy.
Values are taken as the item states them; a malformed field shows as missing, never as an error, since a
Q0/Q1 version may hold anything. A **dataset** shows its collections and items. Templates format these
plain objects; nothing here knows HTML.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from eohub.core.hrefs import HrefKind, href_kind, is_web_url
from eohub.repository.manifest import Manifest

COLOR_HINT = re.compile(r"^[0-9A-Fa-f]{6}$")
MAX_ITEMS_LISTED = 200


@dataclass
class Dimension:
    name: str
    size: str


@dataclass
class Tensor:
    """A shape with its named dimensions (``dim_order``) and a data type."""

    dimensions: list[Dimension]
    data_type: str

    @property
    def shape(self) -> str:
        """``[-1, 4, 64, 64]``: the shape as the item writes it."""
        return "[" + ", ".join(d.size for d in self.dimensions) + "]"


@dataclass
class Band:
    name: str
    common_name: str = ""
    wavelength: str = ""
    scaling: str = ""


@dataclass
class ModelInput:
    name: str
    description: str
    tensor: Tensor
    bands: list[Band] = field(default_factory=list)
    scaling: list[str] = field(default_factory=list)  # when it is not one entry per band
    resize_type: str = ""
    pre_processing: str = ""


@dataclass
class OutputClass:
    value: str
    name: str
    description: str
    color: str | None  # "#RRGGBB" from color_hint, checked


@dataclass
class ModelOutput:
    name: str
    description: str
    tasks: list[str]
    tensor: Tensor
    classes: list[OutputClass] = field(default_factory=list)
    post_processing: str = ""


@dataclass
class ModelAsset:
    """An asset of an MLM item: where it is (``link``: local, url or image) and what it is for (roles)."""

    key: str
    href: str
    media_type: str
    artifact_type: str
    roles: list[str] = field(default_factory=list)
    title: str = ""
    link: str = HrefKind.LOCAL.value
    stored_path: str | None = None
    """For a local href: the version's file it names (``None`` when the version has no such file)."""

    @property
    def web(self) -> bool:
        """An ``http(s)://`` URL a browser can open (other URLs and image references are shown as text)."""
        return self.link == HrefKind.URL.value and is_web_url(self.href)


@dataclass
class ModelCard:
    """One MLM item as a model card."""

    item_id: str
    path: str
    title: str
    description: str
    architecture: str
    tasks: list[str]
    framework: str
    framework_version: str
    total_parameters: int | None
    pretrained: str
    accelerator: str
    memory_size: int | None
    batch_size: str
    inputs: list[ModelInput]
    outputs: list[ModelOutput]
    assets: list[ModelAsset]


@dataclass
class CollectionView:
    id: str
    path: str
    title: str
    description: str
    license: str
    bbox: list[float] | None
    interval: tuple[str, str] | None
    items: int


@dataclass
class ItemView:
    id: str
    path: str
    collection: str
    when: str
    bbox: list[float] | None
    geometry: str


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def tensor(spec: dict[str, Any]) -> Tensor:
    """``{"shape": [-1, 4], "dim_order": ["batch", "bands"], "data_type": ...}`` with named dimensions."""
    shape = _list(spec.get("shape"))
    names = [str(n) for n in _list(spec.get("dim_order"))]
    if len(names) != len(shape):
        names = [f"dim {i}" for i in range(len(shape))]
    dims = [Dimension(n, "any" if s == -1 else _number(s)) for n, s in zip(names, shape, strict=True)]
    return Tensor(dims, _text(spec.get("data_type")))


SCALING_PARAMETERS = ("minimum", "maximum", "mean", "stddev", "value", "format", "expression")


def scaling_text(scaling: Any) -> str:
    """``z-score (mean 1200, stddev 400)``: one ``value_scaling`` entry in words."""
    scaling = _dict(scaling)
    kind = _text(scaling.get("type")) or "scaling"
    parts = [f"{key} {_number(scaling[key])}" for key in SCALING_PARAMETERS if key in scaling]
    return f"{kind} ({', '.join(parts)})" if parts else kind


def _processing(value: Any) -> str:
    """A processing expression (or a list of them) as ``format: expression``."""
    out = []
    for entry in _list(value):
        entry = _dict(entry)
        if entry:
            out.append(f"{_text(entry.get('format'))}: {_text(entry.get('expression'))}")
    return "; ".join(out)


def _band_details(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Band name -> its description in the item (``bands`` or ``eo:bands``, properties or assets)."""
    found: dict[str, dict[str, Any]] = {}
    sources = [_dict(item.get("properties"))] + [_dict(a) for a in _dict(item.get("assets")).values()]
    for source in sources:
        for key in ("bands", "eo:bands"):
            for band in _list(source.get(key)):
                band = _dict(band)
                if band.get("name"):
                    found.setdefault(str(band["name"]), {}).update(band)
    return found


def _bands(spec: dict[str, Any], details: dict[str, dict[str, Any]]) -> tuple[list[Band], list[str]]:
    """The bands of one input, each with its scaling when ``value_scaling`` has one entry per band."""
    names = []
    for band in _list(spec.get("bands")):
        name = _dict(band).get("name") if isinstance(band, dict) else band
        if name:
            names.append(str(name))
    scalings = [scaling_text(s) for s in _list(spec.get("value_scaling"))]
    per_band = bool(names) and len(scalings) == len(names)
    bands = []
    for i, name in enumerate(names):
        detail = details.get(name, {})
        wavelength = detail.get("eo:center_wavelength", detail.get("center_wavelength"))
        bands.append(
            Band(
                name,
                _text(detail.get("eo:common_name", detail.get("common_name"))),
                f"{_number(wavelength)} µm" if isinstance(wavelength, int | float) else "",
                scalings[i] if per_band else "",
            )
        )
    return bands, [] if per_band else scalings


def _classes(spec: dict[str, Any]) -> list[OutputClass]:
    out = []
    for entry in _list(spec.get("classification:classes")):
        entry = _dict(entry)
        hint = _text(entry.get("color_hint"))
        out.append(
            OutputClass(
                _text(entry.get("value")),
                _text(entry.get("name")),
                _text(entry.get("description")),
                f"#{hint.lower()}" if COLOR_HINT.match(hint) else None,
            )
        )
    return out


def is_mlm_item(doc: dict[str, Any]) -> bool:
    props = _dict(doc.get("properties"))
    return doc.get("type") == "Feature" and any(str(k).startswith("mlm:") for k in props)


def _model_asset(key: str, asset: dict[str, Any], path: str, files: Collection[str]) -> ModelAsset:
    href = _text(asset.get("href"))
    kind = href_kind(href)
    stored = None
    if kind is HrefKind.LOCAL and href and not href.startswith("/"):
        candidate = posixpath.normpath(posixpath.join(posixpath.dirname(path), href))
        stored = candidate if candidate in files else None
    return ModelAsset(
        str(key),
        href,
        _text(asset.get("type")),
        _text(asset.get("mlm:artifact_type")),
        [str(r) for r in _list(asset.get("roles"))],
        _text(asset.get("title")),
        kind.value,
        stored,
    )


def model_card(path: str, item: dict[str, Any], files: Collection[str] = frozenset()) -> ModelCard:
    """The card of one MLM item stored at ``path``; ``files`` are the version's file paths."""
    props = _dict(item.get("properties"))
    details = _band_details(item)
    inputs = []
    for spec in _list(props.get("mlm:input")):
        spec = _dict(spec)
        bands, scaling = _bands(spec, details)
        inputs.append(
            ModelInput(
                _text(spec.get("name")),
                _text(spec.get("description")),
                tensor(_dict(spec.get("input"))),
                bands,
                scaling,
                _text(spec.get("resize_type")),
                _processing(spec.get("pre_processing_function")),
            )
        )
    outputs = [
        ModelOutput(
            _text(spec.get("name")),
            _text(spec.get("description")),
            [str(t) for t in _list(spec.get("tasks"))],
            tensor(_dict(spec.get("result"))),
            _classes(spec),
            _processing(spec.get("post_processing_function")),
        )
        for spec in map(_dict, _list(props.get("mlm:output")))
    ]
    assets = [
        _model_asset(key, asset, path, files)
        for key, asset in _dict(item.get("assets")).items()
        if isinstance(asset, dict)
    ]
    pretrained = props.get("mlm:pretrained")
    source = _text(props.get("mlm:pretrained_source"))
    return ModelCard(
        item_id=_text(item.get("id")),
        path=path,
        title=_text(props.get("mlm:name")) or _text(item.get("id")),
        description=_text(props.get("description")),
        architecture=_text(props.get("mlm:architecture")),
        tasks=[str(t) for t in _list(props.get("mlm:tasks"))],
        framework=_text(props.get("mlm:framework")),
        framework_version=_text(props.get("mlm:framework_version")),
        total_parameters=_int(props.get("mlm:total_parameters")),
        pretrained=("yes" + (f" ({source})" if source else "")) if pretrained is True else "",
        accelerator=_text(props.get("mlm:accelerator")),
        memory_size=_int(props.get("mlm:memory_size")),
        batch_size=_text(props.get("mlm:batch_size_suggestion")),
        inputs=inputs,
        outputs=outputs,
        assets=assets,
    )


def model_cards(manifest: Manifest) -> list[ModelCard]:
    """A card for every MLM item of a version, by stored path."""
    files = {e.path for e in manifest.files}
    return [model_card(p, d, files) for p, d in sorted(manifest.documents.items()) if is_mlm_item(d)]


def _bbox(value: Any) -> list[float] | None:
    if isinstance(value, list) and len(value) in (4, 6) and all(isinstance(v, int | float) for v in value):
        return [float(v) for v in value]
    return None


def _interval(collection: dict[str, Any]) -> tuple[str, str] | None:
    intervals = _list(_dict(_dict(collection.get("extent")).get("temporal")).get("interval"))
    first = _list(intervals[0]) if intervals else []
    if len(first) != 2:
        return None
    return (_text(first[0]) or "open", _text(first[1]) or "open")


def collections(manifest: Manifest) -> list[CollectionView]:
    """The STAC collections of a version, with how many items name each one."""
    items = [d for d in manifest.documents.values() if d.get("type") == "Feature"]
    out = []
    for path, doc in sorted(manifest.documents.items()):
        if doc.get("type") != "Collection":
            continue
        spatial = _list(_dict(_dict(doc.get("extent")).get("spatial")).get("bbox"))
        out.append(
            CollectionView(
                id=_text(doc.get("id")),
                path=path,
                title=_text(doc.get("title")),
                description=_text(doc.get("description")),
                license=_text(doc.get("license")),
                bbox=_bbox(spatial[0]) if spatial else None,
                interval=_interval(doc),
                items=sum(1 for i in items if i.get("collection") == doc.get("id")),
            )
        )
    return out


def items(manifest: Manifest) -> list[ItemView]:
    """Every STAC item of a version, by stored path."""
    out = []
    for path, doc in sorted(manifest.documents.items()):
        if doc.get("type") != "Feature":
            continue
        props = _dict(doc.get("properties"))
        when = _text(props.get("datetime"))
        if not when and (props.get("start_datetime") or props.get("end_datetime")):
            when = f"{_text(props.get('start_datetime'))} – {_text(props.get('end_datetime'))}"
        out.append(
            ItemView(
                id=_text(doc.get("id")),
                path=path,
                collection=_text(doc.get("collection")),
                when=when,
                bbox=_bbox(doc.get("bbox")),
                geometry=_text(_dict(doc.get("geometry")).get("type")) or "none",
            )
        )
    return out
