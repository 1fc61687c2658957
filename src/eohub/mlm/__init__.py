"""The MLM toolkit as a Python API: the operations behind ``eohub mlm`` and ``eohub quality``.

Every function takes what the CLI takes (a path, a folder holding ``catalog.json``, or several) or an
in-memory object (a dict or a pystac Item, Collection or Catalog), and returns a typed report that
serializes itself with ``to_dict``/``from_dict``; none of them prints or touches the network::

    from eohub import mlm

    item = mlm.build("model.onnx", name="Tiny CNN", bands=["red", "green", "blue"])  # pystac.Item
    report = mlm.validate(item)                   # Report: .ok, .errors, .findings (Finding objects)
    report = mlm.lint("catalog/")                 # walks every child and item link
    result = mlm.migrate("old-item.json")         # MigrationResult: .data, .changes, .to_pystac()
    folder = mlm.package_model("out/", "model.onnx", license="MIT")  # PackagedModel: README, catalog, item

The quality levels built on these are :func:`eohub.quality.assess_quality` (``QualityReport``).

User mistakes raise the named exceptions of :mod:`eohub.errors` (``UsageError``, ``ModelGraphError``,
``MigrationError``...), never a bare ``Exception``. The functions ``validate``, ``lint``, ``migrate`` and
``build`` share their names with the submodules that implement them, so import from a submodule with
``from eohub.mlm.validate import validate_document``, not ``import eohub.mlm.validate``.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eohub.core.lazy import lazy_exports

if TYPE_CHECKING:
    import pystac

    from eohub.mlm.build import build_item
    from eohub.mlm.documents import write_json
    from eohub.mlm.lint import lint_data, lint_document
    from eohub.mlm.migrate import MigrationResult, UnmigratableError, migrate_data, migrate_file
    from eohub.mlm.onnx_graph import GraphSignature, TensorSpec, read_signature
    from eohub.mlm.package import PackagedModel, package_model
    from eohub.mlm.report import Finding, Report, Severity
    from eohub.mlm.schemas import LATEST_MLM_SCHEMA, LATEST_MLM_VERSION, MLM_VERSIONS
    from eohub.mlm.validate import validate_data, validate_document

# Imported on first use (PEP 562): code that needs one submodule (the inference runner reads documents)
# does not load pystac, the linter and the migrator with it.
_LAZY = {
    "LATEST_MLM_SCHEMA": "schemas",
    "LATEST_MLM_VERSION": "schemas",
    "MLM_VERSIONS": "schemas",
    "Finding": "report",
    "Report": "report",
    "Severity": "report",
    "GraphSignature": "onnx_graph",
    "TensorSpec": "onnx_graph",
    "read_signature": "onnx_graph",
    "MigrationResult": "migrate",
    "UnmigratableError": "migrate",
    "migrate_data": "migrate",
    "migrate_file": "migrate",
    "build_item": "build",
    "PackagedModel": "package",
    "package_model": "package",
    "write_json": "documents",
    "lint_data": "lint",
    "lint_document": "lint",
    "validate_data": "validate",
    "validate_document": "validate",
    "build": "build:build_item",  # build(model_path, name=..., tasks=..., bands=...): a pystac Item
}
# Functions of this package named like the submodules that implement them.
_FUNCTIONS = ("validate", "lint", "migrate", "build")

__all__ = [
    "LATEST_MLM_SCHEMA",
    "LATEST_MLM_VERSION",
    "MLM_VERSIONS",
    "Finding",
    "GraphSignature",
    "MigrationResult",
    "PackagedModel",
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
    "package_model",
    "read_signature",
    "validate",
    "validate_data",
    "validate_document",
    "write_json",
]

if TYPE_CHECKING:
    Target = str | Path | Iterable[str | Path] | dict[str, Any] | pystac.STACObject


__getattr__ = lazy_exports(__name__, _LAZY)


class _Toolkit(types.ModuleType):
    """This package, keeping its functions ``validate``, ``lint``, ``migrate`` and ``build`` when the import
    system binds the submodules of the same names to it (the first time one is imported)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FUNCTIONS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Toolkit


def _in_memory(target: Any) -> bool:
    import pystac

    return isinstance(target, dict | pystac.STACObject)


def validate(target: Target) -> Report:
    """Validate STAC objects offline against the core schema of their version and their extensions.

    ``target`` is a file, a catalog folder, several of them, a dict or a pystac object.
    """
    from eohub.mlm.validate import validate as validate_paths
    from eohub.mlm.validate import validate_data

    return validate_data(target) if _in_memory(target) else validate_paths(target)


def lint(target: Target, base_dir: str | Path | None = None) -> Report:
    """Lint MLM metadata for what the schema cannot see (codes ``MLM001``... in :mod:`eohub.mlm.lint`).

    For an in-memory object, ``base_dir`` resolves relative asset hrefs (the model file is then checked
    against its ONNX graph); files resolve them against their own folder.
    """
    from eohub.mlm.lint import lint as lint_paths
    from eohub.mlm.lint import lint_data

    if _in_memory(target):
        return lint_data(target, base_dir)
    return lint_paths(target)


def migrate(
    target: str | Path | dict[str, Any] | pystac.Item | pystac.Collection,
    to: str | None = None,
    output: str | Path | None = None,
) -> MigrationResult:
    """Upgrade MLM metadata (v1.0.0 to v1.4.0, or the pre-v1.0 object layout) to ``to`` (default: the
    latest MLM version, ``LATEST_MLM_VERSION``).

    A file may be written to ``output`` (which may be the same file); nothing is written when the
    migration fails (:class:`UnmigratableError` lists every field that needs a human).
    """
    from eohub.mlm.documents import write_json
    from eohub.mlm.migrate import migrate_data, migrate_file
    from eohub.mlm.schemas import LATEST_MLM_VERSION

    to = to or LATEST_MLM_VERSION
    if _in_memory(target):
        result = migrate_data(target, to)
        if output is not None:
            write_json(Path(output), result.data)
        return result
    return migrate_file(target, to, output)
