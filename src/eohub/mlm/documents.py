"""Read STAC documents from files or catalog folders, following child and item links; write JSON safely.

:func:`walk` raises :class:`~eohub.errors.UsageError` for anything it cannot read, links included, which is
what ingest wants (a catalog with a broken link is not stored). Validate, lint and quality want to go on:
given a ``broken`` list, a child or item link whose target is missing or is not a JSON object becomes a
:class:`~eohub.mlm.report.Finding` (``STAC004``, at the link's JSON pointer) and the rest is walked. A
path given by the caller that cannot be read is always a usage error.

A walk stays inside its roots: by default the folder of the first document (a folder given by the caller,
or the folder holding the file given). A child or item link whose target, symbolic links resolved, leaves
every root is not read; it is an error like any other link that cannot be followed. Ingest passes its own
roots (the folder and any ``--allow-outside`` folder).

Every document read is bounded before it is parsed: a regular file (checked with ``stat`` before it is
opened and with ``fstat`` on the open descriptor, so a FIFO or device is never read and a file swapped in
between is noticed) of at most :data:`MAX_DOCUMENT_BYTES` (64 MiB, far above any real STAC document),
UTF-8, JSON nested at most ``Limits.max_json_depth`` deep (``EOHUB_MAX_JSON_DEPTH``, counted on the text
before it is parsed, without recursion).

:func:`list_field` and :func:`dict_field` read a field of a possibly malformed document (the schema
reports the malformation; the readers only need not to crash on it).
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eohub.config import MiB, load_settings
from eohub.core.jsonbounds import FINITE, json_depth
from eohub.errors import UsageError
from eohub.mlm.report import Finding, Severity, pointer

WALKED_RELS = ("child", "item")
BROKEN_LINK = "STAC004"
MAX_DOCUMENT_BYTES = 64 * MiB
"""The largest STAC document read from disk; a larger file is refused before it is read."""
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)


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


def shown(path: str | os.PathLike[str]) -> str:
    """A path as one printable line: bytes that are not UTF-8 as ``\\xNN``, control characters escaped."""
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    return text if text.isprintable() else repr(text)[1:-1]


def file_kind(mode: int) -> str:
    """What an ``lstat`` mode names, for a refusal: ``a folder``, ``a FIFO``, ``a device``..."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


def _too_large(where: str) -> UsageError:
    return UsageError(f"{where}: larger than {MAX_DOCUMENT_BYTES // MiB} MiB, too large for a STAC document")


def _read_bytes(path: Path, follow_links: bool) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_DOCUMENT_BYTES`; anything else is refused."""
    where = shown(path)
    try:
        before = os.stat(path) if follow_links else os.lstat(path)
        if not stat.S_ISREG(before.st_mode):
            raise UsageError(f"{where}: is {file_kind(before.st_mode)}, not a JSON file")
        if before.st_size > MAX_DOCUMENT_BYTES:
            raise _too_large(where)
        fd = os.open(path, _OPEN_FLAGS | (0 if follow_links else os.O_NOFOLLOW))
    except (FileNotFoundError, NotADirectoryError):
        raise UsageError(f"{where}: no such file") from None
    except OSError as exc:
        raise UsageError(f"{where}: cannot read file ({exc.strerror or exc})") from None
    except ValueError:  # a NUL character
        raise UsageError(f"{where}: not a valid file name") from None
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
            raise UsageError(f"{where}: replaced while it was being opened")
        try:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)
        except OSError as exc:
            raise UsageError(f"{where}: cannot read file ({exc.strerror or exc})") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise _too_large(where)
    return data


def read_json(path: Path, follow_links: bool = True) -> dict[str, Any]:
    """Read a JSON object, raising :class:`UsageError` for a missing, unreadable or non-JSON file.

    The bounds of the module docstring apply. ``follow_links=False`` refuses a symbolic link as the
    last component (the caller resolved the path and checked where it leads).
    """
    path = Path(path)
    where = shown(path)
    raw = _read_bytes(path, follow_links)
    limit = load_settings().limits.max_json_depth
    if json_depth(raw) > limit:
        raise UsageError(f"{where}: JSON nested deeper than {limit} levels (EOHUB_MAX_JSON_DEPTH)")
    try:
        data = json.loads(raw.decode("utf-8"), **FINITE)
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{where}: not a JSON document (not UTF-8: {exc.reason} at byte {exc.start})"
        ) from None
    except ValueError as exc:  # JSONDecodeError, and NaN or Infinity (FINITE)
        raise UsageError(f"{where}: not a JSON document ({exc})") from None
    except RecursionError:  # a limit set above Python's recursion limit
        raise UsageError(f"{where}: JSON nested deeper than {limit} levels (EOHUB_MAX_JSON_DEPTH)") from None
    if not isinstance(data, dict):
        raise UsageError(f"{where}: a STAC document must be a JSON object")
    return data


def _start(path: Path) -> Path:
    """A file, or the ``catalog.json`` (else ``collection.json``) a folder stands for."""
    try:
        if not path.is_dir():
            return path
        for name in ("catalog.json", "collection.json"):
            if (path / name).is_file():
                return path / name
    except (OSError, ValueError) as exc:
        raise UsageError(f"{shown(path)}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    raise UsageError(f"{shown(path)}: folder has no catalog.json")


def real_path(path: str | os.PathLike[str]) -> Path:
    """``path`` absolute, with every symbolic link resolved (a loop or a missing tail is left as is)."""
    if "\x00" in os.fspath(path):
        raise UsageError(f"{shown(path)}: not a valid file name (it holds a NUL character)")
    return Path(os.path.realpath(path))


Confine = Callable[[Path], None]
"""Called with the resolved path of every document before it is read; raises UsageError to refuse it."""


def inside_folder(root: Path) -> Confine:
    """The default confinement of :func:`walk`: documents under ``root`` (a resolved path) only."""

    def confine(target: Path) -> None:
        if not target.is_relative_to(root):
            raise UsageError(
                f"{shown(target)} is outside {shown(root)}; links are followed only inside the folder"
            )

    return confine


def walk(
    path: Path, broken: list[Finding] | None = None, confine: Confine | None = None
) -> list[StacDocument]:
    """The document at ``path`` and, for catalogs and collections, every local child and item below it.

    A folder stands for its ``catalog.json`` (or ``collection.json``). Remote links are not followed. A link
    that cannot be followed raises :class:`UsageError`, or is appended to ``broken`` when it is given.
    Documents are read only where ``confine`` allows (the first one included); without it, linked documents
    only inside the folder of the first one (symbolic links resolved).
    """
    first = real_path(_start(Path(path)))
    confine_first = confine is not None
    confine = confine or inside_folder(first.parent)
    seen: set[Path] = set()
    out: list[StacDocument] = []
    pending: list[tuple[Path, StacDocument | None, str, str]] = [(first, None, "", "")]
    while pending:
        current, parent, where, href = pending.pop(0)
        try:
            current = real_path(current)
            if current in seen:
                continue
            seen.add(current)
            if parent is not None or confine_first:
                confine(current)
            doc = StacDocument(current, read_json(current, follow_links=False))
        except UsageError as exc:
            if parent is None:
                raise
            if broken is None:
                raise UsageError(f"{parent.label}: link {shown_href(href)} at {where}: {exc}") from None
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
            pending.append((current.parent / href, doc, pointer("links", index, "href"), href))
    return out


def shown_href(href: str, limit: int = 200) -> str:
    """An href quoted on one line, cut after ``limit`` characters."""
    text = repr(href if len(href) <= limit else href[:limit])
    return text if len(href) <= limit else f"{text}... ({len(href)} characters)"


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
