"""Upgrade MLM metadata to a newer MLM version (v1.5.2 unless told otherwise).

``migrate_data`` works on a copy of an Item (or Collection) and returns the upgraded document with the
list of changes. Versions covered: v1.0.0 to v1.5.2 (the schema host moved from
``crim-ca.github.io/mlm-extension`` to ``stac-extensions.github.io/mlm`` at v1.4.0) and the pre-v1.0
object layout of the EOTDL tutorial. Steps are idempotent and guarded by the target version, so one
list upgrades v1.0.0 items, the tutorial's layout, and current items that only carry leftovers
(``classification_classes``, ``norm_type``). Anything that needs a human is collected, field by field,
into one :class:`UnmigratableError` (a :class:`~eohub.errors.MigrationError`), and ``migrate_file``
then writes nothing. The result is validated against the target schema before it is returned: a
migration never hands back an invalid document.

What is inferred, and why it is safe:

- ``mlm:input``/``mlm:output`` given as one object become a list of one; ``shape``/``dim_order``/
  ``data_type`` written directly on the object move under ``input``/``result``.
- ``classification:classes`` given as names become class objects whose ``value`` is the list index (the
  only meaning a plain list has); ``classification_classes`` is renamed; ``color_hint`` ``[r, g, b]``
  becomes the ``"RRGGBB"`` string the classification extension requires, a null hint is dropped.
- An output whose ``dim_order`` length differs from its ``shape`` length is fixed in one case only:
  a classification output (tasks within classification/scene-classification) with N classes and shape
  ``[batch, N]`` (batch ``-1`` or positive) gets ``dim_order [batch, class]``. That is the tutorial's
  ``shape [-1, 10]`` with ``[batch, height, width]``: a rank-2 tensor whose second size equals the
  number of classes can only hold one score per class. Every other mismatch needs the author.
- ``norm_type`` + ``statistics`` become ``value_scaling`` (v1.4.0) only for ``min-max``
  (minimum/maximum) and ``z-score`` (mean/stddev), one entry per statistics object. ``norm_clip``, the
  removed ``norm_type`` values and statistics without a ``norm_type`` have no exact equivalent: reported.
- The model asset gets the ``mlm:model`` role when exactly one asset is a model file (by suffix or by
  ``mlm:artifact_type``); ``mlm:artifact_type`` (required since v1.4.0) is inferred only for ONNX, where
  the file format fixes it; ``mlm:artifact_type``/``compile_method`` in Item properties move to it.
- ``mlm:accelerator`` ``"cpu"`` (not a schema value) becomes null, "no accelerator needed"; framework
  and task names are spelt as the schema spells them (``scikit-learn``, ``scene-classification``).
- From v1.5.0 named ``bands`` need a ``bands`` dimension: a single ``channel`` axis is renamed (and a
  ``bands`` axis without named bands becomes ``channel``).
- Band names used by ``mlm:input`` with no band definitions anywhere get name-only definitions (eo
  ``eo:bands`` on the model asset for STAC 1.0, ``bands`` for STAC 1.1), with the eo ``common_name``
  when the name is one; a name in quotes or padded with spaces (``"\\"B01\\""``) is reported, never copied.
- A document declaring an MLM version newer than the target (v1.6.0, which eohub does not ship) is
  refused: migration never moves a document to an older version.
- Unknown ``mlm:`` fields (rejected since v1.4.0) are reported, never dropped.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pystac

from eohub.errors import MigrationError, UsageError
from eohub.mlm import migration_fields, migration_tensors
from eohub.mlm.documents import dict_field, list_field, read_json, write_json
from eohub.mlm.migration_run import Run
from eohub.mlm.schemas import LATEST_MLM_VERSION, MLM_VERSIONS, newer_than, parse_extension_url
from eohub.mlm.validate import validate_data

__all__ = ["LATEST_MLM_VERSION", "MigrationResult", "UnmigratableError", "migrate_data", "migrate_file"]

# In order: later steps read what earlier ones normalized (lists, class objects, the model asset).
ITEM_STEPS = (
    migration_tensors.layout,
    migration_tensors.tasks,
    migration_tensors.classes,
    migration_tensors.dims,
    migration_tensors.processing,
    migration_fields.framework,
    migration_fields.accelerator,
    migration_fields.asset_fields,
    migration_fields.model_asset,
    migration_fields.artifact_type,
    migration_tensors.value_scaling,
    migration_fields.unknown_fields,
    migration_tensors.band_dims,
    migration_fields.band_definitions,
)


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

    def to_pystac(self) -> pystac.Item | pystac.Collection:
        """The upgraded document as a pystac Item (or Collection)."""
        if self.data.get("type") == "Collection":
            return pystac.Collection.from_dict(self.data, migrate=False, preserve_dict=True)
        return pystac.Item.from_dict(self.data, migrate=False, preserve_dict=True)


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
    for url in list_field(data, "stac_extensions"):
        ext = parse_extension_url(url) if isinstance(url, str) else None
        if ext and ext.name == "mlm" and ext.version in MLM_VERSIONS:
            versions.append(ext.version)
    return max(versions, key=MLM_VERSIONS.index) if versions else None


def _newer_versions(data: dict[str, Any], target: str) -> list[str]:
    """MLM versions in ``stac_extensions`` that are newer than ``target``, shipped or not (v1.6.0)."""
    found = []
    for url in list_field(data, "stac_extensions"):
        ext = parse_extension_url(url) if isinstance(url, str) else None
        if ext and ext.name == "mlm" and newer_than(ext.version, target):
            found.append(ext.version)
    return found


def _has_mlm_fields(data: dict[str, Any]) -> bool:
    holders = [data.get("properties"), data.get("summaries"), *dict_field(data, "assets").values()]
    return any(isinstance(h, dict) and any(str(k).startswith("mlm:") for k in h) for h in holders)


def _check_structure(data: dict[str, Any], label: str, target: str) -> None:
    """Refuse what no step can read: migration upgrades MLM fields, it does not repair STAC."""
    problems = []
    extensions = data.get("stac_extensions")
    if extensions is not None and (
        not isinstance(extensions, list) or not all(isinstance(e, str) for e in extensions)
    ):
        problems.append("/stac_extensions: must be a list of schema URLs")
    for key in ("properties", "assets", "summaries"):
        if key in data and not isinstance(data[key], dict):
            problems.append(f"/{key}: must be an object")
    if problems:
        raise _unmigratable(label, target, problems, "fix the STAC structure first")


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
    data: dict[str, Any] | pystac.Item | pystac.Collection,
    to: str = LATEST_MLM_VERSION,
    label: str = "<memory>",
) -> MigrationResult:
    """Upgrade an MLM Item or Collection (a dict or a pystac object, not modified) to MLM version ``to``.

    Raises :class:`UnmigratableError` listing every field that needs a human, and :class:`UsageError` for
    an unknown target or a downgrade (a document declaring a newer MLM than ``to``, including versions
    newer than eohub ships, such as v1.6.0).
    """
    if isinstance(data, pystac.STACObject):
        data = data.to_dict(include_self_link=False)
    if not isinstance(data, dict):
        raise UsageError(f"{label}: a STAC document must be a JSON object, not {type(data).__name__}")
    target = target_version(to)
    source = declared_version(data)
    if newer := _newer_versions(data, target):
        beyond = "" if newer[0] in MLM_VERSIONS else f" (eohub ships MLM up to {LATEST_MLM_VERSION})"
        raise UsageError(f"{label}: declares MLM {newer[0]}{beyond}; eohub does not downgrade to {target}")
    stac_type = data.get("type")
    if stac_type not in ("Feature", "Collection"):
        raise MigrationError(
            f"{label}: only STAC Items and Collections carry MLM metadata (type {stac_type!r})"
        )
    if source is None and not _has_mlm_fields(data):
        raise MigrationError(
            f"{label}: no MLM extension in stac_extensions and no mlm:* field; nothing to migrate"
        )
    _check_structure(data, label, target)
    run = Run(copy.deepcopy(data), target)
    if run.data.get("stac_extensions") is None:
        run.data["stac_extensions"] = []
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
