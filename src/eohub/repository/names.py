"""Names of models and datasets, kinds, and the paths files are stored under.

A repository name is 3 to 64 characters: ASCII letters, digits and ``-`` (``EuroSAT-RGB``); names are
unique per kind regardless of case. A stored path is a normalized relative POSIX path inside a version:
never absolute, no ``..``, ``.`` or empty components, no backslashes. It is what lands under the download
folder, so it is checked when a version is built, when a manifest is read, and again before writing.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Literal, cast

from eohub.errors import IntegrityError, InvalidNameError, UsageError

Kind = Literal["model", "dataset"]
KINDS: tuple[Kind, ...] = ("model", "dataset")
PLURALS: dict[str, str] = {"model": "models", "dataset": "datasets"}

_NAME = re.compile(r"^[A-Za-z0-9-]{3,64}$")


def check_kind(kind: str) -> Kind:
    """Return ``kind`` if it is ``model`` or ``dataset``, else raise :class:`UsageError`."""
    if kind not in KINDS:
        raise UsageError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return cast(Kind, kind)


def check_name(name: str, what: str = "name") -> str:
    """Return ``name`` if it is a valid repository (or user) name, else raise :class:`InvalidNameError`."""
    if not isinstance(name, str) or not _NAME.match(name):
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
        not path
        or "\\" in path
        or "\x00" in path
        or path.startswith("/")
        or re.match(r"^[A-Za-z]:", path) is not None
    )
    parts = PurePosixPath(path).parts if not bad else ()
    if bad or any(p in ("", ".", "..") for p in parts) or PurePosixPath(*parts).as_posix() != path:
        raise IntegrityError(
            f"unsafe stored path {path!r}: paths must be relative and stay inside the version"
        )
    return path
