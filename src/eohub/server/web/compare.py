"""What changed between two versions, for the diff page: files, README metadata and STAC fields.

:func:`eohub.repository.diff` says which paths were added, changed or removed (files and STAC documents
alike). This module splits those into files (with sizes and checksums on both sides) and documents, and
for a changed document lists the JSON pointers whose values differ, so a reader sees
``/properties/mlm:total_parameters: 332 → 1200`` instead of "catalog changed".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from eohub.repository.manifest import FileEntry, Manifest, diff

MAX_FIELDS = 100
MAX_VALUE = 200


@dataclass
class FieldChange:
    pointer: str
    old: str | None  # None: the field is new
    new: str | None  # None: the field was removed


@dataclass
class FileChange:
    path: str
    old: FileEntry | None
    new: FileEntry | None


@dataclass
class DocumentChange:
    path: str
    status: str  # added, changed, removed
    fields: list[FieldChange] = field(default_factory=list)
    more: int = 0  # changed fields not listed


@dataclass
class VersionComparison:
    """Everything the diff page lists between version ``old`` and version ``new``."""

    old: int
    new: int
    files: dict[str, list[FileChange]]  # added, changed, removed
    documents: list[DocumentChange]
    metadata: list[FieldChange]

    @property
    def empty(self) -> bool:
        return not (any(self.files.values()) or self.documents or self.metadata)


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def flatten(value: Any, pointer: str = "") -> dict[str, Any]:
    """Every leaf of a JSON value by JSON pointer (empty objects and lists are leaves)."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, child in value.items():
            out.update(flatten(child, f"{pointer}/{_escape(str(key))}"))
        return out
    if isinstance(value, list) and value:
        out = {}
        for index, child in enumerate(value):
            out.update(flatten(child, f"{pointer}/{index}"))
        return out
    return {pointer or "/": value}


def field_changes(old: Any, new: Any) -> list[FieldChange]:
    """The leaves that differ between two JSON values, by pointer."""
    before, after = flatten(old), flatten(new)
    changes = []
    for pointer in sorted(set(before) | set(after)):
        if pointer in before and pointer in after and before[pointer] == after[pointer]:
            continue
        changes.append(
            FieldChange(
                pointer,
                _shown(before[pointer]) if pointer in before else None,
                _shown(after[pointer]) if pointer in after else None,
            )
        )
    return changes


def compare(old_number: int, old: Manifest, new_number: int, new: Manifest) -> VersionComparison:
    """The changes from ``old`` (version ``old_number``) to ``new``."""
    changes = diff(old, new)
    files: dict[str, list[FileChange]] = {"added": [], "changed": [], "removed": []}
    documents: list[DocumentChange] = []
    for status, paths in (
        ("added", changes.added),
        ("changed", changes.changed),
        ("removed", changes.removed),
    ):
        for path in paths:
            if path in old.documents or path in new.documents:
                fields = []
                if status == "changed":
                    fields = field_changes(old.documents[path], new.documents[path])
                more = max(0, len(fields) - MAX_FIELDS)
                documents.append(DocumentChange(path, status, fields[:MAX_FIELDS], more))
            else:
                files[status].append(FileChange(path, old.file(path), new.file(path)))
    before, after = old.metadata.to_dict(), new.metadata.to_dict()
    metadata = [
        FieldChange(key, _shown(before.get(key)), _shown(after.get(key)))
        for key in before
        if before.get(key) != after.get(key)
    ]
    return VersionComparison(old_number, new_number, files, documents, metadata)
