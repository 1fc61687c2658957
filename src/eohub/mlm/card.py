"""An MLM item as a model card: plain objects the web page and the notebook display both format.

A **model card** comes from each item using MLM: architecture, tasks, framework and its version, parameter
count, every ``mlm:input`` (shape with its named dimensions, data type, bands with their
``value_scaling``) and ``mlm:output`` (shape, ``classification:classes`` with their ``color_hint``), and its
assets (model, weights, training and inference runtimes, code...) with their roles and what their href is
(:mod:`eohub.core.hrefs`): a file of the version, a web link, or a container image reference to copy.
Values are taken as the item states them; a malformed field shows as missing, never as an error, since a
Q0/Q1 version may hold anything. Nothing here knows HTML: the web templates and
:mod:`eohub.mlm.card_html` (notebooks) format these objects, escaping every value.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from eohub.core.hrefs import HrefKind, href_kind, is_web_url

COLOR_HINT = re.compile(r"^[0-9A-Fa-f]{6}$")


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

    def _repr_html_(self) -> str:
        """The card as a notebook shows it (:func:`eohub.mlm.card_html.card_html`)."""
        from eohub.mlm.card_html import card_html

        return card_html(self)


def as_text(value: Any) -> str:
    """A field as text (``""`` when absent): the readers below accept whatever a document holds."""
    return "" if value is None else str(value)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def tensor(spec: dict[str, Any]) -> Tensor:
    """``{"shape": [-1, 4], "dim_order": ["batch", "bands"], "data_type": ...}`` with named dimensions."""
    shape = as_list(spec.get("shape"))
    names = [str(n) for n in as_list(spec.get("dim_order"))]
    if len(names) != len(shape):
        names = [f"dim {i}" for i in range(len(shape))]
    dims = [Dimension(n, "any" if s == -1 else _number(s)) for n, s in zip(names, shape, strict=True)]
    return Tensor(dims, as_text(spec.get("data_type")))


SCALING_PARAMETERS = ("minimum", "maximum", "mean", "stddev", "value", "format", "expression")


def scaling_text(scaling: Any) -> str:
    """``z-score (mean 1200, stddev 400)``: one ``value_scaling`` entry in words."""
    scaling = as_dict(scaling)
    kind = as_text(scaling.get("type")) or "scaling"
    parts = [f"{key} {_number(scaling[key])}" for key in SCALING_PARAMETERS if key in scaling]
    return f"{kind} ({', '.join(parts)})" if parts else kind


def _processing(value: Any) -> str:
    """A processing expression (or a list of them) as ``format: expression``."""
    out = []
    for entry in as_list(value):
        entry = as_dict(entry)
        if entry:
            out.append(f"{as_text(entry.get('format'))}: {as_text(entry.get('expression'))}")
    return "; ".join(out)


def _band_details(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Band name -> its description in the item (``bands`` or ``eo:bands``, properties or assets)."""
    found: dict[str, dict[str, Any]] = {}
    sources = [as_dict(item.get("properties"))] + [as_dict(a) for a in as_dict(item.get("assets")).values()]
    for source in sources:
        for key in ("bands", "eo:bands"):
            for band in as_list(source.get(key)):
                band = as_dict(band)
                if band.get("name"):
                    found.setdefault(str(band["name"]), {}).update(band)
    return found


def _bands(spec: dict[str, Any], details: dict[str, dict[str, Any]]) -> tuple[list[Band], list[str]]:
    """The bands of one input, each with its scaling when ``value_scaling`` has one entry per band."""
    names = []
    for band in as_list(spec.get("bands")):
        name = as_dict(band).get("name") if isinstance(band, dict) else band
        if name:
            names.append(str(name))
    scalings = [scaling_text(s) for s in as_list(spec.get("value_scaling"))]
    per_band = bool(names) and len(scalings) == len(names)
    bands = []
    for i, name in enumerate(names):
        detail = details.get(name, {})
        wavelength = detail.get("eo:center_wavelength", detail.get("center_wavelength"))
        bands.append(
            Band(
                name,
                as_text(detail.get("eo:common_name", detail.get("common_name"))),
                f"{_number(wavelength)} µm" if isinstance(wavelength, int | float) else "",
                scalings[i] if per_band else "",
            )
        )
    return bands, [] if per_band else scalings


def _classes(spec: dict[str, Any]) -> list[OutputClass]:
    out = []
    for entry in as_list(spec.get("classification:classes")):
        entry = as_dict(entry)
        hint = as_text(entry.get("color_hint"))
        out.append(
            OutputClass(
                as_text(entry.get("value")),
                as_text(entry.get("name")),
                as_text(entry.get("description")),
                f"#{hint.lower()}" if COLOR_HINT.match(hint) else None,
            )
        )
    return out


def is_mlm_item(doc: dict[str, Any]) -> bool:
    props = as_dict(doc.get("properties"))
    return doc.get("type") == "Feature" and any(str(k).startswith("mlm:") for k in props)


def _model_asset(key: str, asset: dict[str, Any], path: str, files: Collection[str]) -> ModelAsset:
    href = as_text(asset.get("href"))
    kind = href_kind(href)
    stored = None
    if kind is HrefKind.LOCAL and href and not href.startswith("/"):
        candidate = posixpath.normpath(posixpath.join(posixpath.dirname(path), href))
        stored = candidate if candidate in files else None
    return ModelAsset(
        str(key),
        href,
        as_text(asset.get("type")),
        as_text(asset.get("mlm:artifact_type")),
        [str(r) for r in as_list(asset.get("roles"))],
        as_text(asset.get("title")),
        kind.value,
        stored,
    )


def model_card(path: str, item: dict[str, Any], files: Collection[str] = frozenset()) -> ModelCard:
    """The card of one MLM item stored at ``path``; ``files`` are the version's file paths."""
    props = as_dict(item.get("properties"))
    details = _band_details(item)
    inputs = []
    for spec in as_list(props.get("mlm:input")):
        spec = as_dict(spec)
        bands, scaling = _bands(spec, details)
        inputs.append(
            ModelInput(
                as_text(spec.get("name")),
                as_text(spec.get("description")),
                tensor(as_dict(spec.get("input"))),
                bands,
                scaling,
                as_text(spec.get("resize_type")),
                _processing(spec.get("pre_processing_function")),
            )
        )
    outputs = [
        ModelOutput(
            as_text(spec.get("name")),
            as_text(spec.get("description")),
            [str(t) for t in as_list(spec.get("tasks"))],
            tensor(as_dict(spec.get("result"))),
            _classes(spec),
            _processing(spec.get("post_processing_function")),
        )
        for spec in map(as_dict, as_list(props.get("mlm:output")))
    ]
    assets = [
        _model_asset(key, asset, path, files)
        for key, asset in as_dict(item.get("assets")).items()
        if isinstance(asset, dict)
    ]
    pretrained = props.get("mlm:pretrained")
    source = as_text(props.get("mlm:pretrained_source"))
    return ModelCard(
        item_id=as_text(item.get("id")),
        path=path,
        title=as_text(props.get("mlm:name")) or as_text(item.get("id")),
        description=as_text(props.get("description")),
        architecture=as_text(props.get("mlm:architecture")),
        tasks=[str(t) for t in as_list(props.get("mlm:tasks"))],
        framework=as_text(props.get("mlm:framework")),
        framework_version=as_text(props.get("mlm:framework_version")),
        total_parameters=_int(props.get("mlm:total_parameters")),
        pretrained=("yes" + (f" ({source})" if source else "")) if pretrained is True else "",
        accelerator=as_text(props.get("mlm:accelerator")),
        memory_size=_int(props.get("mlm:memory_size")),
        batch_size=as_text(props.get("mlm:batch_size_suggestion")),
        inputs=inputs,
        outputs=outputs,
        assets=assets,
    )


def model_cards(documents: Mapping[str, dict[str, Any]], files: Collection[str]) -> list[ModelCard]:
    """A card for every MLM item among a version's STAC ``documents`` (by stored path), sorted by path."""
    return [model_card(p, d, files) for p, d in sorted(documents.items()) if is_mlm_item(d)]
