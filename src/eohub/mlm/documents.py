"""Read STAC documents from files or catalog folders, following child and item links; write JSON safely.

:func:`walk` raises :class:`~eohub.errors.UsageError` for anything it cannot read, links included, which is
what ingest wants (a catalog with a broken link is not stored). Validate, lint and quality want to go on:
given a ``broken`` list, a child or item link whose target is missing or is not a JSON object becomes a
:class:`~eohub.mlm.report.Finding` (``STAC004``, at the link's JSON pointer) and the rest is walked. A
path given by the caller that cannot be read is always a usage error.

:func:`list_field` and :func:`dict_field` read a field of a possibly malformed document (the schema
reports the malformation; the readers only need not to crash on it).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eohub.errors import UsageError
from eohub.mlm.report import Finding, Severity, pointer

WALKED_RELS = ("child", "item")
BROKEN_LINK = "STAC004"


@dataclass
class StacDocument:
    """A STAC JSON object and the file it was read from."""

    path: Path
    data: dict[str, Any]

    @property
    def stac_type(self) -> str:
        value = self.data.get("type")
        return value if isinstance(value, str) else ""

    @property
    def label(self) -> str:
        return str(self.path)


def list_field(data: Any, key: str) -> list[Any]:
    """``data[key]`` when ``data`` is an object and the field a list, else ``[]``."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, list) else []


def dict_field(data: Any, key: str) -> dict[str, Any]:
    """``data[key]`` when ``data`` is an object and the field an object, else ``{}``."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object, raising :class:`UsageError` for a missing, unreadable or non-JSON file."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path}: is a folder, not a JSON file")
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a JSON document ({exc})") from exc
    except OSError as exc:
        raise UsageError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not a JSON document ({exc})") from exc
    except RecursionError:
        raise UsageError(f"{path}: not a JSON document (nested too deeply)") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a STAC document must be a JSON object")
    return data


def _start(path: Path) -> Path:
    """A file, or the ``catalog.json`` (else ``collection.json``) a folder stands for."""
    if not path.is_dir():
        return path
    for name in ("catalog.json", "collection.json"):
        if (path / name).is_file():
            return path / name
    raise UsageError(f"{path}: folder has no catalog.json")


def walk(path: Path, broken: list[Finding] | None = None) -> list[StacDocument]:
    """The document at ``path`` and, for catalogs and collections, every local child and item below it.

    A folder stands for its ``catalog.json`` (or ``collection.json``). Remote links are not followed. A link
    that cannot be followed raises :class:`UsageError`, or is appended to ``broken`` when it is given.
    """
    first = _start(Path(path)).resolve()
    seen: set[Path] = set()
    out: list[StacDocument] = []
    pending: list[tuple[Path, StacDocument | None, str]] = [(first, None, "")]
    while pending:
        current, parent, where = pending.pop(0)
        current = current.resolve()
        if current in seen:
            continue
        seen.add(current)
        try:
            doc = StacDocument(current, read_json(current))
        except UsageError as exc:
            if parent is None or broken is None:
                raise
            broken.append(
                Finding(
                    BROKEN_LINK,
                    Severity.ERROR,
                    parent.label,
                    where,
                    f"cannot follow the link: {exc}",
                    "fix the href (relative hrefs resolve against this document's folder) or remove the link",
                )
            )
            continue
        out.append(doc)
        for index, link in enumerate(list_field(doc.data, "links")):
            if not isinstance(link, dict) or link.get("rel") not in WALKED_RELS:
                continue
            href = link.get("href")
            # Remote links are not walked; a missing or non-string href is the schema's to report.
            if not isinstance(href, str) or not href or "://" in href:
                continue
            pending.append((current.parent / href, doc, pointer("links", index, "href")))
    return out


def walk_all(paths: list[Path], broken: list[Finding] | None = None) -> list[StacDocument]:
    """:func:`walk` over several paths, each document once."""
    docs: list[StacDocument] = []
    seen: set[Path] = set()
    for p in paths:
        for doc in walk(Path(p), broken):
            if doc.path not in seen:
                seen.add(doc.path)
                docs.append(doc)
    return docs


def _os_reason(exc: OSError) -> str:
    """``File exists: out`` from an OSError: what failed, on which path."""
    return f"{exc.strerror}: {exc.filename}" if exc.strerror and exc.filename else str(exc)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically: a temporary file in the same folder, then a rename.

    A path that cannot be written (a folder, a parent that is a file, no permission) is a
    :class:`UsageError`, and whatever was at ``path`` is left as it was.
    """
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path}: is a folder; give the file to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({_os_reason(exc)})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write ({_os_reason(exc)})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
