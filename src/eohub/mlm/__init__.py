"""The MLM toolkit as a Python API: the operations behind ``eohub mlm`` and ``eohub quality``.

Every function takes what the CLI takes (a path, a folder holding ``catalog.json``, or several) or an
in-memory object (a dict or a pystac Item, Collection or Catalog), and returns a typed report that
serializes itself with ``to_dict``/``from_dict``; none of them prints or touches the network::

    from eohub import mlm

    item = mlm.build("model.onnx", name="Tiny CNN", bands=["red", "green", "blue"])  # pystac.Item
    report = mlm.validate(item)                   # Report: .ok, .errors, .findings (Finding objects)
    report = mlm.lint("catalog/")                 # walks every child and item link
    result = mlm.migrate("old-item.json")         # MigrationResult: .data, .changes, .to_pystac()

The quality levels built on these are :func:`eohub.quality.assess_quality` (``QualityReport``).

User mistakes raise the named exceptions of :mod:`eohub.errors` (``UsageError``, ``ModelGraphError``,
``MigrationError``...), never a bare ``Exception``. The functions ``validate``, ``lint``, ``migrate`` and
``build`` share their names with the submodules that implement them, so import from a submodule with
``from eohub.mlm.validate import validate_document``, not ``import eohub.mlm.validate``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pystac

from eohub.mlm.build import build_item
from eohub.mlm.documents import write_json
from eohub.mlm.lint import lint as _lint_paths
from eohub.mlm.lint import lint_data, lint_document
from eohub.mlm.migrate import MigrationResult, UnmigratableError, migrate_data, migrate_file
from eohub.mlm.onnx_graph import GraphSignature, TensorSpec, read_signature
from eohub.mlm.report import Finding, Report, Severity
from eohub.mlm.schemas import LATEST_MLM_SCHEMA, LATEST_MLM_VERSION, MLM_VERSIONS
from eohub.mlm.validate import validate as _validate_paths
from eohub.mlm.validate import validate_data, validate_document

__all__ = [
    "LATEST_MLM_SCHEMA",
    "LATEST_MLM_VERSION",
    "MLM_VERSIONS",
    "Finding",
    "GraphSignature",
    "MigrationResult",
    "Report",
    "Severity",
    "TensorSpec",
    "UnmigratableError",
    "build",
    "build_item",
    "lint",
    "lint_data",
    "lint_document",
    "migrate",
    "migrate_data",
    "migrate_file",
    "read_signature",
    "validate",
    "validate_data",
    "validate_document",
]

Target = str | Path | Iterable[str | Path] | dict[str, Any] | pystac.STACObject


def _in_memory(target: Target) -> bool:
    return isinstance(target, dict | pystac.STACObject)


def validate(target: Target) -> Report:
    """Validate STAC objects offline against the core schema of their version and their extensions.

    ``target`` is a file, a catalog folder, several of them, a dict or a pystac object.
    """
    return validate_data(target) if _in_memory(target) else _validate_paths(target)


def lint(target: Target, base_dir: str | Path | None = None) -> Report:
    """Lint MLM metadata for what the schema cannot see (codes ``MLM001``... in :mod:`eohub.mlm.lint`).

    For an in-memory object, ``base_dir`` resolves relative asset hrefs (the model file is then checked
    against its ONNX graph); files resolve them against their own folder.
    """
    if _in_memory(target):
        return lint_data(target, base_dir)
    return _lint_paths(target)


def migrate(
    target: str | Path | dict[str, Any] | pystac.Item | pystac.Collection,
    to: str = LATEST_MLM_VERSION,
    output: str | Path | None = None,
) -> MigrationResult:
    """Upgrade MLM metadata (v1.0.0 to v1.4.0, or the pre-v1.0 object layout) to ``to``.

    A file may be written to ``output`` (which may be the same file); nothing is written when the
    migration fails (:class:`UnmigratableError` lists every field that needs a human).
    """
    if _in_memory(target):
        result = migrate_data(target, to)
        if output is not None:
            write_json(Path(output), result.data)
        return result
    return migrate_file(target, to, output)


build = build_item
"""``build(model_path, name=..., tasks=..., bands=..., classes=..., mean=..., std=...)``: a pystac Item."""
