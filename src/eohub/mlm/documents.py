"""Load STAC documents from files or catalog folders, following child and item links."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eohub.errors import UsageError

WALKED_RELS = ("child", "item")


@dataclass
class StacDocument:
    """A STAC JSON object and the file it was read from."""

    path: Path
    data: dict[str, Any]

    @property
    def stac_type(self) -> str:
        return str(self.data.get("type", ""))

    @property
    def label(self) -> str:
        return str(self.path)


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object, raising :class:`UsageError` for a missing file or a non-JSON one."""
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a JSON document ({exc})") from exc
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a STAC document must be a JSON object")
    return data


def walk(path: Path) -> list[StacDocument]:
    """The document at ``path`` and, for catalogs and collections, every local child and item below it.

    A folder stands for its ``catalog.json`` (or ``collection.json``). Remote links are not followed.
    """
    path = Path(path)
    if path.is_dir():
        for name in ("catalog.json", "collection.json"):
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise UsageError(f"{path}: folder has no catalog.json")
    seen: set[Path] = set()
    out: list[StacDocument] = []
    pending = [path]
    while pending:
        current = pending.pop(0).resolve()
        if current in seen:
            continue
        seen.add(current)
        doc = StacDocument(current, read_json(current))
        out.append(doc)
        for link in doc.data.get("links", []) or []:
            if not isinstance(link, dict) or link.get("rel") not in WALKED_RELS:
                continue
            href = str(link.get("href", ""))
            if "://" in href:
                continue
            pending.append((current.parent / href))
    return out


def walk_all(paths: list[Path]) -> list[StacDocument]:
    """:func:`walk` over several paths, each document once."""
    docs: list[StacDocument] = []
    seen: set[Path] = set()
    for p in paths:
        for doc in walk(Path(p)):
            if doc.path not in seen:
                seen.add(doc.path)
                docs.append(doc)
    return docs
