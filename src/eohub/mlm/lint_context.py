"""A read-only view of one STAC document for the lint rules: its MLM version, inputs, outputs and assets.

Both layouts are seen the same way: the array layout of MLM v1.0+ (``mlm:input`` and ``mlm:output`` as
lists of objects) and the older object layout of the EOTDL tutorial (one object each, with the structure
under ``input``/``result``). Malformed parts (a string where an object belongs) are skipped here: the
schema reports them, the rules only look at what they can read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eohub.core.hrefs import HrefKind, href_kind
from eohub.core.hrefs import local_path as href_path
from eohub.errors import UsageError
from eohub.mlm.report import Finding, Severity, pointer
from eohub.mlm.schemas import MLM_VERSIONS, parse_extension_url, version_key

MODEL_ROLE = "mlm:model"
BAND_DIMS = ("bands", "channel", "channels")
CLASS_DIMS = ("class", "classes")
MODEL_SUFFIXES = (".onnx", ".pt", ".pth", ".pt2", ".ckpt", ".h5", ".keras", ".pb", ".tflite", ".safetensors")


@dataclass(frozen=True)
class Entry:
    """One ``mlm:input`` (``kind='input'``) or ``mlm:output`` entry and where it sits in the document."""

    kind: str
    data: dict[str, Any]
    path: tuple[str | int, ...]

    @property
    def structure_key(self) -> str:
        return "input" if self.kind == "input" else "result"

    @property
    def structure(self) -> dict[str, Any]:
        value = self.data.get(self.structure_key)
        return value if isinstance(value, dict) else {}

    @property
    def name(self) -> str:
        return str(self.data.get("name", ""))

    @property
    def shape(self) -> list[int] | None:
        shape = self.structure.get("shape")
        if isinstance(shape, list) and all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
            return shape
        return None

    @property
    def dim_order(self) -> list[str] | None:
        dims = self.structure.get("dim_order")
        return [str(d) for d in dims] if isinstance(dims, list) else None

    def dim_size(self, names: tuple[str, ...]) -> tuple[int, int] | None:
        """``(axis, size)`` of the first dimension called one of ``names``, when shape and dim_order agree."""
        shape, dims = self.shape, self.dim_order
        if shape is None or dims is None or len(shape) != len(dims):
            return None
        axis = next((i for i, d in enumerate(dims) if d in names), None)
        return None if axis is None else (axis, shape[axis])

    def list_of(self, key: str) -> list[Any]:
        value = self.data.get(key)
        return value if isinstance(value, list) else []

    def pointer(self, *parts: str | int) -> str:
        return pointer(*self.path, *parts)

    def structure_pointer(self, *parts: str | int) -> str:
        return self.pointer(self.structure_key, *parts)

    @property
    def where(self) -> str:
        """How findings name the entry: ``mlm:input[0] 'name'``."""
        index = f"[{self.path[-1]}]" if isinstance(self.path[-1], int) else ""
        name = self.name if len(self.name) <= 40 else self.name[:37] + "..."
        return f"mlm:{self.kind}{index}" + (f" {name!r}" if name else "")


@dataclass
class LintContext:
    """One document being linted; rules read it and call :meth:`add`."""

    data: dict[str, Any]
    label: str
    base_dir: Path | None
    findings: list[Finding] = field(default_factory=list)

    def add(self, code: str, severity: Severity, ptr: str, message: str, hint: str = "") -> None:
        self.findings.append(Finding(code, severity, self.label, ptr, message, hint))

    @property
    def stac_type(self) -> str:
        return str(self.data.get("type", ""))

    @property
    def stac_version(self) -> str:
        return str(self.data.get("stac_version", ""))

    @property
    def core_bands(self) -> bool:
        """STAC 1.1 or newer: ``bands`` is a core field."""
        return (version_key(self.stac_version) or (0, 0, 0)) >= (1, 1, 0)

    @property
    def properties(self) -> dict[str, Any]:
        props = self.data.get("properties")
        return props if isinstance(props, dict) else {}

    @property
    def extensions(self) -> list[str]:
        exts = self.data.get("stac_extensions")
        return [str(e) for e in exts] if isinstance(exts, list) else []

    def extension(self, name: str) -> tuple[int, str] | None:
        """``(index in stac_extensions, version)`` of extension ``name`` (e.g. ``mlm``), if declared."""
        for index, url in enumerate(self.extensions):
            ext = parse_extension_url(url)
            if ext and ext.name == name:
                return index, ext.version
        return None

    def extension_version(self, name: str) -> str | None:
        """The version (``v1.5.2``) of extension ``name`` in ``stac_extensions``, if declared."""
        found = self.extension(name)
        return found[1] if found else None

    @property
    def mlm_version(self) -> str | None:
        return self.extension_version("mlm")

    def mlm_at_least(self, version: str) -> bool:
        """True when the declared MLM version is ``version`` or newer (unknown versions count as new)."""
        declared = self.mlm_version
        if declared is None:
            return False
        if declared not in MLM_VERSIONS:
            return True
        return MLM_VERSIONS.index(declared) >= MLM_VERSIONS.index(version)

    @property
    def uses_mlm(self) -> bool:
        return self.mlm_version is not None or any(str(k).startswith("mlm:") for k in self.properties)

    def entries(self, kind: str) -> list[Entry]:
        """The ``mlm:input`` or ``mlm:output`` entries, in either layout."""
        key = f"mlm:{kind}"
        value = self.properties.get(key)
        if isinstance(value, dict):
            return [Entry(kind, value, ("properties", key))]
        if isinstance(value, list):
            return [
                Entry(kind, v, ("properties", key, i)) for i, v in enumerate(value) if isinstance(v, dict)
            ]
        return []

    @property
    def inputs(self) -> list[Entry]:
        return self.entries("input")

    @property
    def outputs(self) -> list[Entry]:
        return self.entries("output")

    @property
    def assets(self) -> dict[str, dict[str, Any]]:
        assets = self.data.get("assets")
        if not isinstance(assets, dict):
            return {}
        return {str(k): v for k, v in assets.items() if isinstance(v, dict)}

    def model_assets(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Assets with the ``mlm:model`` role; failing that, assets whose file looks like a model."""
        with_role = [(k, a) for k, a in self.assets.items() if MODEL_ROLE in asset_roles(a)]
        yield from with_role or [(k, a) for k, a in self.assets.items() if looks_like_model(a)]

    def local_path(self, href: str) -> Path | None:
        """The file a local ``href`` points at; ``None`` for remote hrefs or relative ones without a base."""
        if not href or href_kind(href) is not HrefKind.LOCAL:
            return None
        try:
            path = Path(href_path(href))
        except UsageError:
            return None
        if path.is_absolute():
            return path
        # Lexically, so '..' works even when the item's own folder does not exist yet.
        return None if self.base_dir is None else Path(os.path.normpath(self.base_dir / path))


def asset_roles(asset: dict[str, Any]) -> list[Any]:
    """An asset's ``roles``; ``[]`` when they are missing or not a list (the schema reports that)."""
    roles = asset.get("roles")
    return roles if isinstance(roles, list) else []


def looks_like_model(asset: dict[str, Any]) -> bool:
    """An asset whose href, media type or artifact type names a model file format."""
    href = str(asset.get("href", "")).lower().split("?", 1)[0]
    return (
        href.endswith(MODEL_SUFFIXES) or "mlm:artifact_type" in asset or "onnx" in str(asset.get("type", ""))
    )


def is_onnx(asset: dict[str, Any]) -> bool:
    """An asset that holds an ONNX model, by artifact type, media type or file name."""
    href = str(asset.get("href", "")).lower().split("?", 1)[0]
    artifact = str(asset.get("mlm:artifact_type", "")).lower()
    return artifact == "onnx" or href.endswith(".onnx") or "onnx" in str(asset.get("type", "")).lower()


def is_image_reference(href: str) -> bool:
    """An OCI/Docker image reference (``ghcr.io/org/name:latest``, ``docker://...``), not a file path."""
    return href_kind(href) is HrefKind.IMAGE
