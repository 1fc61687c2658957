"""Validate STAC documents against the core schema of their version and every declared extension.

Everything is offline: schemas come from :mod:`eohub.mlm.schemas`. An extension whose schema is not
shipped is reported as ``not validated (schema not available offline)`` with severity ``info``; a
``stac_version`` whose core schema is not shipped is an error (nothing would check the object at all).

=======  ========  ==================================================================================
code     severity  finding
=======  ========  ==================================================================================
STAC001  error     the object breaks the core schema or an extension schema (with a hint where the
                   MLM v1.5.2 schema contradicts its README, or an old MLM layout needs a migration)
STAC002  info      an extension schema, or a schema it references, is not available offline
STAC003  error     not a STAC Item, Collection or Catalog (no ``type``/``stac_version``)
STAC004  error     a child or item link cannot be followed (missing target, not a JSON object)
STAC005  error     no core schema is shipped for the object's ``stac_version``
=======  ========  ==================================================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pystac

from eohub.errors import SchemaNotAvailableError, UsageError
from eohub.mlm.documents import StacDocument, list_field, walk_all
from eohub.mlm.report import Finding, Report, Severity, pointer
from eohub.mlm.schemas import (
    CORE_SCHEMA_PATHS,
    SCHEMA_ROOT,
    core_schema_url,
    local_path_for,
    parse_extension_url,
    validator_for,
)

if TYPE_CHECKING:
    import jsonschema

SCHEMA_ERROR = "STAC001"
SCHEMA_UNAVAILABLE = "STAC002"
NOT_STAC = "STAC003"
UNKNOWN_STAC_VERSION = "STAC005"
_VERSION = re.compile(r"\d+\.\d+\.\d+(?:-[\w.]+)?")
MIGRATE_HINT = "this is the layout before MLM v1.0; `eohub mlm migrate ITEM -o ITEM` upgrades it"

# The MLM v1.5.2 schema disagrees with its own README in these places; explain rather than just fail.
KNOWN_DISAGREEMENTS = {
    "mlm:accelerator": (
        "the MLM v1.5.2 README lists 'cpu' and friends as accelerator values but the schema enum does not; "
        "use 'amd64' (or another schema value) or null for CPU-only models"
    ),
    "summaries": (
        "the MLM v1.5.2 schema wants every Collection summary to be an object of MLM fields (like item "
        "properties), so array-valued summaries, which the STAC spec and the MLM README describe, are "
        "rejected; describe MLM fields in 'item_assets' or drop the MLM extension from the Collection's "
        "stac_extensions"
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
    old_layout = path in (["properties", "mlm:input"], ["properties", "mlm:output"])
    if old_layout and isinstance(error.instance, dict):
        return MIGRATE_HINT
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


def _core_versions() -> list[str]:
    return sorted(p.name.removeprefix("v") for p in (SCHEMA_ROOT / "stac").glob("v*") if p.is_dir())


def validate_document(doc: StacDocument) -> Report:
    """Validate one STAC object against its core schema and its extensions."""
    report = Report(files=[doc.label])
    data = doc.data
    stac_type, version = doc.stac_type, data.get("stac_version")
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
    core_url = core_schema_url(version, stac_type) if _VERSION.fullmatch(version) else ""
    if not core_url or local_path_for(core_url) is None:
        versions = _core_versions()
        shipped = ", ".join(versions)
        report.findings.append(
            Finding(
                UNKNOWN_STAC_VERSION,
                Severity.ERROR,
                doc.label,
                "/stac_version",
                f"stac_version {version!r} is not validated: eohub ships the core schemas of STAC {shipped}",
                f"write the object as STAC {versions[-1]} (as pystac does) and say so in stac_version",
            )
        )
    targets: list[tuple[str, str | None, int | None]] = []
    if core_url and local_path_for(core_url) is not None:
        targets.append((core_url, None, None))
    # A stac_extensions that is not a list of strings is the core schema's to report, not a list of URLs.
    for index, url in enumerate(list_field(data, "stac_extensions")):
        if isinstance(url, str):
            ext = parse_extension_url(url)
            targets.append((url, ext.name if ext else None, index))
    from referencing.exceptions import Unresolvable

    for url, ext_name, index in targets:
        try:
            report.findings.extend(_errors_for(doc, url, ext_name))
        except SchemaNotAvailableError:
            report.findings.append(_unavailable(doc, url, index, ""))
        except Unresolvable as exc:
            ref = getattr(exc, "ref", "")
            report.findings.append(_unavailable(doc, url, index, f"it references {ref}"))
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
