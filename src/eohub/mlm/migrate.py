"""Upgrade MLM metadata to a newer MLM version (v1.5.2 unless told otherwise).

``migrate_data`` works on a copy of an Item (or Collection) and returns the upgraded document with the
list of changes; the rules themselves, and what is inferred, are in :mod:`eohub.mlm.migration_steps`.
Anything that needs a human is collected, field by field, into one :class:`UnmigratableError`
(a :class:`~eohub.errors.MigrationError`), and ``migrate_file`` then writes nothing. The result is
validated against the target schema before it is returned: a migration never hands back an invalid
document.

Versions covered: v1.0.0 to v1.5.2 (the schema host moved from ``crim-ca.github.io/mlm-extension`` to
``stac-extensions.github.io/mlm`` at v1.4.0) and the pre-v1.0 object layout of the EOTDL tutorial.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eohub.errors import MigrationError, UsageError
from eohub.mlm.documents import read_json
from eohub.mlm.migration_steps import ITEM_STEPS, Run
from eohub.mlm.schemas import LATEST_MLM_VERSION, MLM_VERSIONS, parse_extension_url
from eohub.mlm.validate import validate_data

__all__ = ["LATEST_MLM_VERSION", "MigrationResult", "UnmigratableError", "migrate_data", "migrate_file"]


class UnmigratableError(MigrationError):
    """Some fields need a human; ``problems`` lists them as ``pointer: what to do`` after a ``summary``."""

    def __init__(self, summary: str, problems: list[str]) -> None:
        super().__init__(f"{summary}: {'; '.join(problems)}")
        self.summary = summary
        self.problems = problems


@dataclass
class MigrationResult:
    """The upgraded document, the MLM version it declared before and after, and every change made."""

    data: dict[str, Any]
    from_version: str | None
    to_version: str
    changes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "from_version": self.from_version,
            "to_version": self.to_version,
            "changes": list(self.changes),
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MigrationResult:
        return cls(data["data"], data.get("from_version"), data["to_version"], list(data.get("changes", [])))


def schema_url(version: str) -> str:
    """The MLM schema URL of ``version`` on the host that version was published on."""
    if MLM_VERSIONS.index(version) >= MLM_VERSIONS.index("v1.4.0"):
        return f"https://stac-extensions.github.io/mlm/{version}/schema.json"
    return f"https://crim-ca.github.io/mlm-extension/{version}/schema.json"


def target_version(to: str) -> str:
    """Normalize ``1.5.2`` / ``v1.5.2``; raise :class:`UsageError` for a version eohub does not ship."""
    version = to if to.startswith("v") else f"v{to}"
    if version not in MLM_VERSIONS:
        raise UsageError(f"unknown MLM version {to!r}; choose one of {', '.join(MLM_VERSIONS)}")
    return version


def declared_version(data: dict[str, Any]) -> str | None:
    """The newest MLM version in ``stac_extensions`` (``None`` when no MLM schema is declared)."""
    versions = []
    for url in data.get("stac_extensions") or []:
        ext = parse_extension_url(str(url))
        if ext and ext.name == "mlm" and ext.version in MLM_VERSIONS:
            versions.append(ext.version)
    return max(versions, key=MLM_VERSIONS.index) if versions else None


def _has_mlm_fields(data: dict[str, Any]) -> bool:
    holders = [data.get("properties"), data.get("summaries"), *(data.get("assets") or {}).values()]
    return any(isinstance(h, dict) and any(str(k).startswith("mlm:") for k in h) for h in holders)


def _set_extension(run: Run) -> None:
    extensions = [str(e) for e in run.data.get("stac_extensions") or []]
    url = schema_url(run.target)
    kept: list[str] = []
    for ext in extensions:
        parsed = parse_extension_url(ext)
        if (parsed and parsed.name == "mlm") or ext.rstrip("/").endswith("/mlm-extension"):
            if url not in kept:
                kept.append(url)
            if ext != url:
                run.change("/stac_extensions", f"{ext} -> {url}")
        elif ext not in kept:
            kept.append(ext)
    if url not in kept:
        kept.append(url)
        run.change("/stac_extensions", f"added {url}")
    run.data["stac_extensions"] = kept


def migrate_data(
    data: dict[str, Any], to: str = LATEST_MLM_VERSION, label: str = "<memory>"
) -> MigrationResult:
    """Upgrade an MLM Item or Collection (not modified) to MLM version ``to``.

    Raises :class:`UnmigratableError` listing every field that needs a human, and :class:`UsageError` for
    an unknown target or a downgrade.
    """
    target = target_version(to)
    source = declared_version(data)
    if source and MLM_VERSIONS.index(source) > MLM_VERSIONS.index(target):
        raise UsageError(f"{label}: declares MLM {source}; eohub does not downgrade to {target}")
    stac_type = data.get("type")
    if stac_type not in ("Feature", "Collection"):
        raise MigrationError(
            f"{label}: only STAC Items and Collections carry MLM metadata (type {stac_type!r})"
        )
    if source is None and not _has_mlm_fields(data):
        raise MigrationError(
            f"{label}: no MLM extension in stac_extensions and no mlm:* field; nothing to migrate"
        )
    run = Run(copy.deepcopy(data), target)
    if stac_type == "Feature":
        for step in ITEM_STEPS:
            step(run)
    _set_extension(run)
    if run.problems:
        raise _unmigratable(label, target, run.problems)
    invalid = [f"{f.pointer or '/'}: {f.message}" for f in validate_data(run.data, label).errors]
    if invalid:
        raise _unmigratable(label, target, invalid, "the upgraded document is still invalid")
    return MigrationResult(run.data, source, target, run.changes)


def _unmigratable(label: str, target: str, problems: list[str], why: str = "") -> UnmigratableError:
    why = why or f"{len(problems)} field(s) need a human"
    return UnmigratableError(f"{label}: cannot migrate to MLM {target} automatically ({why})", problems)


def migrate_file(
    path: str | Path, to: str = LATEST_MLM_VERSION, output: str | Path | None = None
) -> MigrationResult:
    """Migrate the JSON document at ``path``; write it to ``output`` (may be ``path``) only on success."""
    path = Path(path)
    result = migrate_data(read_json(path), to, label=str(path))
    if output is not None:
        write_json(Path(output), result.data)
    return result


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically: a temporary file in the same folder, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
