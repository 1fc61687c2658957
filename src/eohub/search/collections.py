"""STAC collection ids of the hub: ``models.{name}`` and ``datasets.{name}``."""

from __future__ import annotations

from eohub.core.names import Kind

PREFIXES: dict[str, Kind] = {"models.": "model", "datasets.": "dataset"}


def collection_id(kind: str, name: str) -> str:
    """The collection id of a repository."""
    return f"{kind}s.{name}"


def parse_collection_id(value: str) -> tuple[Kind, str] | None:
    """``(kind, name)`` of a collection id, or ``None`` when it names no kind."""
    for prefix, kind in PREFIXES.items():
        if value.startswith(prefix) and len(value) > len(prefix):
            return kind, value[len(prefix) :]
    return None
