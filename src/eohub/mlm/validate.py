"""Validate STAC documents against the core schema of their version and every declared extension.

Everything is offline: schemas come from :mod:`eohub.mlm.schemas`. An extension whose schema is not
shipped is reported as ``not validated (schema not available offline)`` with severity ``info``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
from referencing.exceptions import Unresolvable

from eohub.errors import SchemaNotAvailableError
from eohub.mlm.documents import StacDocument, walk_all
from eohub.mlm.report import Finding, Report, Severity, pointer
from eohub.mlm.schemas import CORE_SCHEMA_PATHS, core_schema_url, parse_extension_url, validator_for

SCHEMA_ERROR = "STAC001"
SCHEMA_UNAVAILABLE = "STAC002"
NOT_STAC = "STAC003"

# The MLM v1.5.2 schema disagrees with its own README in these places; explain rather than just fail.
KNOWN_DISAGREEMENTS = {
    "mlm:accelerator": (
        "the MLM v1.5.2 README lists 'cpu' and friends as accelerator values but the schema enum does not; "
        "use 'amd64' (or another schema value) or null for CPU-only models"
    ),
    "summaries": (
        "the MLM v1.5.2 schema checks Collection summaries as if they were item properties, so array-valued "
        "summaries (as the STAC spec and MLM README describe) are rejected; summarize MLM fields in "
        "'item_assets' or drop the MLM extension from the Collection's stac_extensions"
    ),
}


def _hint_for(doc: StacDocument, error: jsonschema.ValidationError, ext_name: str | None) -> str:
    if ext_name != "mlm":
        return ""
    path = [str(p) for p in error.absolute_path]
    if "mlm:accelerator" in path or "mlm:accelerator" in error.message:
        return KNOWN_DISAGREEMENTS["mlm:accelerator"]
    if doc.stac_type == "Collection" and path[:1] == ["summaries"]:
        return KNOWN_DISAGREEMENTS["summaries"]
    return ""


def _leaf_errors(error: jsonschema.ValidationError) -> Iterable[jsonschema.ValidationError]:
    """The most specific error under ``oneOf``/``anyOf`` branches: the one deepest in the document.

    A branch that failed deep inside the instance is the one the author meant; a branch that failed at
    the top (e.g. "'Collection' was expected" for an Item) is noise.
    """
    if not error.context:
        yield error
        return
    deepest = max(error.context, key=lambda e: (len(e.absolute_path), -len(e.schema_path)))
    yield from _leaf_errors(deepest)


def _errors_for(doc: StacDocument, url: str, ext_name: str | None) -> list[Finding]:
    validator = validator_for(url)
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for error in validator.iter_errors(doc.data):
        for leaf in _leaf_errors(error):
            ptr = pointer(*leaf.absolute_path)
            key = (ptr, leaf.message)
            if key in seen:
                continue
            seen.add(key)
            schema_name = f"{ext_name} extension" if ext_name else "STAC core"
            findings.append(
                Finding(
                    code=SCHEMA_ERROR,
                    severity=Severity.ERROR,
                    file=doc.label,
                    pointer=ptr,
                    message=f"{schema_name}: {_short(leaf.message)}",
                    hint=_hint_for(doc, leaf, ext_name),
                )
            )
    return findings


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _unavailable(doc: StacDocument, url: str, index: int | None, why: str) -> Finding:
    where = pointer("stac_extensions", index) if index is not None else ""
    return Finding(
        code=SCHEMA_UNAVAILABLE,
        severity=Severity.INFO,
        file=doc.label,
        pointer=where,
        message=f"{url}: not validated (schema not available offline{': ' + why if why else ''})",
    )


def validate_document(doc: StacDocument) -> Report:
    """Validate one STAC object against its core schema and its extensions."""
    report = Report(files=[doc.label])
    data = doc.data
    stac_type = data.get("type")
    version = data.get("stac_version")
    if stac_type not in CORE_SCHEMA_PATHS or not isinstance(version, str):
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
    targets: list[tuple[str, str | None, int | None]] = [(core_schema_url(version, stac_type), None, None)]
    for index, url in enumerate(data.get("stac_extensions") or []):
        ext = parse_extension_url(str(url))
        targets.append((str(url), ext.name if ext else None, index))
    for url, ext_name, index in targets:
        try:
            report.findings.extend(_errors_for(doc, url, ext_name))
        except SchemaNotAvailableError:
            report.findings.append(_unavailable(doc, url, index, ""))
        except Unresolvable as exc:
            ref = getattr(exc, "ref", "")
            report.findings.append(_unavailable(doc, url, index, f"it references {ref}"))
    return report


def validate_data(data: dict[str, Any], label: str = "<memory>") -> Report:
    """Validate an in-memory STAC object (e.g. ``item.to_dict()``)."""
    return validate_document(StacDocument(Path(label), data))


def validate(paths: Iterable[str | Path]) -> Report:
    """Validate files and catalog folders (walked through every local child and item link)."""
    report = Report()
    for doc in walk_all([Path(p) for p in paths]):
        report.extend(validate_document(doc))
    return report
