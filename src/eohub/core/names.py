"""Names of models and datasets, kinds, and the paths files are stored under.

A repository (or user) name is 3 to 64 characters: ASCII letters, digits and ``-`` (``EuroSAT-RGB``),
matched whole by the one rule the hub and every client share; names are unique per kind regardless of
case. A stored path is a normalized relative POSIX path inside a version: never absolute, no ``..``,
``.`` or empty components, no backslashes or control characters. It is what lands under the download
folder, so it is checked when a version is built, when a manifest is read, and again before writing.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any, Literal, cast

from eohub.errors import IntegrityError, InvalidNameError, UsageError

Kind = Literal["model", "dataset"]
KINDS: tuple[Kind, ...] = ("model", "dataset")
PLURALS: dict[str, str] = {"model": "models", "dataset": "datasets"}

_NAME = re.compile(r"[A-Za-z0-9-]{3,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
"""Control characters (NUL, newline, ...): never part of a stored path, whatever the file system allows."""


def check_kind(kind: str) -> Kind:
    """Return ``kind`` if it is ``model`` or ``dataset``, else raise :class:`UsageError`."""
    if kind not in KINDS:
        raise UsageError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return cast(Kind, kind)


def check_name(name: str, what: str = "name") -> str:
    """Return ``name`` if it is a valid repository (or user) name, else raise :class:`InvalidNameError`."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):  # whole: "name\n" is not "name"
        raise InvalidNameError(
            f"invalid {what} {name!r}: use 3 to 64 characters, letters, digits and '-' only "
            "(e.g. EuroSAT-RGB)"
        )
    return name


def name_key(name: str) -> str:
    """The case-insensitive key under which a name is unique."""
    return name.lower()


def check_stored_path(path: str) -> str:
    """Return ``path`` if it is a safe relative POSIX path, else raise :class:`IntegrityError`."""
    bad = (
        not isinstance(path, str)
        or not path
        or "\\" in path
        or _CONTROL.search(path) is not None
        or path.startswith("/")
        or re.match(r"^[A-Za-z]:", path) is not None
    )
    parts = PurePosixPath(path).parts if not bad else ()
    if bad or any(p in ("", ".", "..") for p in parts) or PurePosixPath(*parts).as_posix() != path:
        raise IntegrityError(
            f"unsafe stored path {path!r}: paths must be relative and stay inside the version"
        )
    return path


MAX_VERSION = 2**31 - 1
"""The highest version number a repository can reach (the database column is a 32-bit integer)."""


def check_version(version: Any) -> int:
    """A version number given by a caller (or a hub): a positive integer the database can hold."""
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        big = isinstance(version, int) and version > MAX_VERSION
        shown = "a larger number" if big else repr(version)[:40]
        raise UsageError(f"a version is a whole number from 1 to {MAX_VERSION}, not {shown}")
    return version
