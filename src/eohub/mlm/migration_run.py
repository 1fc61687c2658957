"""A migration in progress (:class:`Run`) and what the shipped MLM schemas say, for the migration steps.

Each step edits ``run.data`` in place and records what it changed (``run.change``) or what it cannot
decide (``run.problem``); :mod:`eohub.mlm.migrate` runs the steps and decides what to do with the result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import PurePosixPath
from typing import Any

from eohub.mlm.report import pointer
from eohub.mlm.schemas import MLM_VERSIONS, SCHEMA_ROOT


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
        return [(k, a) for k, a in self.assets.items() if isinstance(a, dict) and "mlm:model" in roles(a)]


def roles(asset: dict[str, Any]) -> list[str]:
    """An asset's roles (an empty list when it has none or they are malformed)."""
    value = asset.get("roles")
    return [str(r) for r in value] if isinstance(value, list) else []


def suffix(asset: dict[str, Any]) -> str:
    """The lower-case file suffix of an asset's href (``.onnx``), without query or fragment."""
    href = str(asset.get("href") or "").split("?", 1)[0].split("#", 1)[0]
    return PurePosixPath(href).suffix.lower()
