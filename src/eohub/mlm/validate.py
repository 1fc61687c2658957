"""Validate STAC documents against the core schema of their version and every declared extension.

Everything is offline: schemas come from :mod:`eohub.mlm.schemas`. Every schema error is reported, the
branches of ``oneOf``/``anyOf`` included (:mod:`eohub.mlm.schema_errors`), once per JSON pointer and
message, in document order, with a hint where the schema's own words do not say what to do
(:mod:`eohub.mlm.schema_hints`).

A document that declares a schema eohub does not ship is *not validated*, which is not the same as
valid: a ``stac_version`` or an MLM version beyond the shipped schemas (MLM v1.6.0, say) is an error of
its own (``STAC005``/``STAC006``; the CLI exits 3 when nothing else is wrong). Any other extension whose
schema is not shipped (a project's own schema, ``classification/v2.0.0``) is an ``info``: the document
is valid, with those extensions not checked (:func:`unchecked_extensions`).

=======  ========  ==================================================================================
code     severity  finding
=======  ========  ==================================================================================
STAC001  error     the object breaks the core schema or an extension schema (with a hint where the
                   message is opaque, the MLM v1.5.2 schema contradicts its README, or an old MLM
                   layout needs a migration)
STAC002  info      an extension schema, or a schema it references, is not available offline
STAC003  error     not a STAC Item, Collection or Catalog (no ``type``/``stac_version``)
STAC004  error     a child or item link cannot be followed (missing target, not a JSON object)
STAC005  error     not validated: no core schema is shipped for the object's ``stac_version``
STAC006  error     not validated: no MLM schema is shipped for the declared MLM version
=======  ========  ==================================================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pystac

from eohub.errors import SchemaNotAvailableError, UsageError
from eohub.mlm.documents import StacDocument, list_field, walk_all
from eohub.mlm.report import Finding, Report, Severity, pointer
from eohub.mlm.schema_errors import grouped, problems, sort_key
from eohub.mlm.schema_hints import KNOWN_DISAGREEMENTS, MIGRATE_HINT, hint_for
from eohub.mlm.schemas import (
    CORE_SCHEMA_PATHS,
    LATEST_MLM_VERSION,
    MLM_VERSIONS,
    ExtensionRef,
    core_schema_url,
    core_versions,
    local_path_for,
    newer_than,
    parse_extension_url,
    validator_for,
)

__all__ = [
    "KNOWN_DISAGREEMENTS",
    "MIGRATE_HINT",
    "NOT_VALIDATED",
    "as_paths",
    "not_validated",
    "unchecked_extensions",
    "validate",
    "validate_data",
    "validate_document",
]

SCHEMA_ERROR = "STAC001"
SCHEMA_UNAVAILABLE = "STAC002"
NOT_STAC = "STAC003"
UNKNOWN_STAC_VERSION = "STAC005"
UNKNOWN_MLM_VERSION = "STAC006"
NOT_VALIDATED = frozenset({UNKNOWN_STAC_VERSION, UNKNOWN_MLM_VERSION})
UNAVAILABLE = ": not validated (schema not available offline"
_VERSION = re.compile(r"\d+\.\d+\.\d+(?:-[\w.]+)?")
_Target = tuple[str, str | None, int | None]


def _schema_errors(doc: StacDocument, url: str, ext_name: str | None) -> list[tuple[Any, str, Finding]]:
    """``(sort key, finding)`` for every problem the schema at ``url`` finds in the document."""
    schema_name = f"{ext_name} extension" if ext_name else "STAC core"
    found = [p for error in validator_for(url).iter_errors(doc.data) for p in problems(error, doc.data)]
    result = []
    seen: set[tuple[Any, ...]] = set()
    for problem in grouped(found):
        # Two enums or JSON types on one value (a GeoJSON geometry checked twice by STAC core) say one thing.
        if problem.value_kind:
            key = (problem.path, problem.value_kind, repr(problem.instance))
            if key in seen:
                continue
            seen.add(key)
        finding = Finding(
            code=SCHEMA_ERROR,
            severity=Severity.ERROR,
            file=doc.label,
            pointer=pointer(*problem.path),
            message=f"{schema_name}: {problem.message}",
            hint=hint_for(doc.data, problem, ext_name),
        )
        result.append((sort_key(problem.path), problem.message, finding))
    return result


def _unavailable(doc: StacDocument, url: str, index: int | None, why: str) -> Finding:
    where = pointer("stac_extensions", index) if index is not None else ""
    return Finding(
        code=SCHEMA_UNAVAILABLE,
        severity=Severity.INFO,
        file=doc.label,
        pointer=where,
        message=f"{url}{UNAVAILABLE}{': ' + why if why else ''})",
    )


def _unknown_core(doc: StacDocument, version: str, core_url: str) -> Finding:
    versions = core_versions()
    schema = f"schema {core_url}" if core_url else "schema"
    if newer_than(version, versions[-1]):
        hint = (
            f"eohub validates STAC up to {versions[-1]}: upgrade eohub, or write the object as STAC "
            f"{versions[-1]}"
        )
    else:
        hint = f"write the object as STAC {versions[-1]} (as pystac does) and say so in stac_version"
    return Finding(
        UNKNOWN_STAC_VERSION,
        Severity.ERROR,
        doc.label,
        "/stac_version",
        f"stac_version {version!r} is not validated: {schema} not available offline (eohub ships the core "
        f"schemas of STAC {', '.join(versions)})",
        hint,
    )


def _unknown_mlm(doc: StacDocument, ext: ExtensionRef, index: int) -> Finding:
    if newer_than(ext.version, LATEST_MLM_VERSION):
        what = f"MLM {ext.version} is newer than {LATEST_MLM_VERSION}, the newest schema eohub ships"
        hint = (
            f"upgrade eohub to validate MLM {ext.version}; if the item is written to MLM "
            f"{LATEST_MLM_VERSION}, declare that schema instead"
        )
    else:
        what = f"{ext.version} is not an MLM version eohub knows"
        hint = f"declare one of {', '.join(MLM_VERSIONS)}"
    return Finding(
        UNKNOWN_MLM_VERSION,
        Severity.ERROR,
        doc.label,
        pointer("stac_extensions", index),
        f"MLM {ext.version} is not validated: schema {ext.url} not available offline ({what})",
        hint,
    )


def _targets(doc: StacDocument, report: Report) -> list[_Target]:
    """The schemas to run (core first), reporting those that cannot be run."""
    data = doc.data
    version = data["stac_version"]
    core_url = core_schema_url(version, doc.stac_type) if _VERSION.fullmatch(version) else ""
    targets: list[_Target] = []
    if core_url and local_path_for(core_url) is not None:
        targets.append((core_url, None, None))
    else:
        report.findings.append(_unknown_core(doc, version, core_url))
    # A stac_extensions that is not a list of strings is the core schema's to report, not a list of URLs.
    for index, url in enumerate(list_field(data, "stac_extensions")):
        if not isinstance(url, str):
            continue
        ext = parse_extension_url(url)
        if ext is not None and ext.name == "mlm" and not ext.available:
            report.findings.append(_unknown_mlm(doc, ext, index))
            continue
        targets.append((url, ext.name if ext else None, index))
    return targets


def validate_document(doc: StacDocument) -> Report:
    """Validate one STAC object against its core schema and its extensions."""
    report = Report(files=[doc.label])
    data = doc.data
    if doc.stac_type not in CORE_SCHEMA_PATHS or not isinstance(data.get("stac_version"), str):
        report.findings.append(
            Finding(
                NOT_STAC,
                Severity.ERROR,
                doc.label,
                "",
                "not a STAC Item, Collection or Catalog (needs 'type' and 'stac_version')",
            )
        )
        return report
    from referencing.exceptions import Unresolvable

    errors: list[tuple[Any, str, Finding]] = []
    for url, ext_name, index in _targets(doc, report):
        try:
            errors.extend(_schema_errors(doc, url, ext_name))
        except SchemaNotAvailableError:
            report.findings.append(_unavailable(doc, url, index, ""))
        except Unresolvable as exc:
            ref = getattr(exc, "ref", "")
            report.findings.append(_unavailable(doc, url, index, f"it references {ref}"))
    seen: set[tuple[str, str]] = set()
    for _, text, finding in sorted(errors, key=lambda e: e[0]):
        if (finding.pointer, text) not in seen:
            seen.add((finding.pointer, text))
            report.findings.append(finding)
    return report


def validate_data(data: dict[str, Any] | pystac.STACObject, label: str = "<memory>") -> Report:
    """Validate an in-memory STAC object: a dict, or a pystac Item, Collection or Catalog."""
    if isinstance(data, pystac.STACObject):
        data = data.to_dict(include_self_link=False)
    if not isinstance(data, dict):
        raise UsageError(f"{label}: a STAC document must be a JSON object, not {type(data).__name__}")
    return validate_document(StacDocument(Path(label), data))


def as_paths(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """One path or several, as a list of :class:`~pathlib.Path` (a string is one path, not characters)."""
    if isinstance(paths, str | Path):
        return [Path(paths)]
    return [Path(p) for p in paths]


def validate(paths: str | Path | Iterable[str | Path]) -> Report:
    """Validate files and catalog folders (walked through every local child and item link).

    A path that cannot be read raises :class:`~eohub.errors.UsageError`; a link inside a catalog that
    cannot be followed is a ``STAC004`` error in the report.
    """
    report = Report()
    broken: list[Finding] = []
    for doc in walk_all(as_paths(paths), broken):
        report.extend(validate_document(doc))
    report.findings.extend(broken)
    return report


def not_validated(report: Report) -> bool:
    """True when the report's only errors say a schema is not shipped (nothing was found wrong)."""
    return bool(report.errors) and all(f.code in NOT_VALIDATED for f in report.errors)


def unchecked_extensions(report: Report) -> list[str]:
    """The extension schema URLs a report could not check (``STAC002``), each once, in order."""
    urls = [f.message.split(UNAVAILABLE, 1)[0] for f in report.findings if f.code == SCHEMA_UNAVAILABLE]
    return list(dict.fromkeys(urls))
