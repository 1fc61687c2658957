"""Where each local file of an ingest goes in the version (see :mod:`eohub.repository.scan`).

Files inside the folder keep their path relative to it. Files outside it are placed under their path
relative to the deepest folder holding all of them: at the version root when that collides with nothing
(no file, no folder of a file, no reserved path), else below ``external/`` (``external-2/``... if that is
taken too). Stored documents point at them with hrefs relative to themselves.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from eohub.core.hrefs import SCHEME
from eohub.errors import UsageError

EXTERNAL_PREFIX = "external"


def _inside(path: Path, root: Path) -> str | None:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None


class Placer:
    """Chooses the stored path of every local file or document the version holds."""

    def __init__(self, root: Path, reserved: set[str]) -> None:
        self.root = root
        self.reserved = reserved
        self.internal: dict[Path, str] = {}
        self.external: set[Path] = set()
        self.placed: dict[Path, str] = {}

    def add(self, path: Path) -> None:
        rel = _inside(path, self.root)
        if rel is None:
            self.external.add(path)
        else:
            self.internal[path] = rel

    def place(self) -> dict[Path, str]:
        self.placed = dict(self.internal)
        if not self.external:
            return self.placed
        common = Path(os.path.commonpath([str(p.parent) for p in self.external]))
        relative = {p: p.relative_to(common).as_posix() for p in self.external}
        taken = set(self.internal.values()) | self.reserved
        taken_dirs = {posixpath.dirname(t) for t in taken}
        taken_dirs |= {d for t in list(taken_dirs) for d in _ancestors(t)}
        for n in range(1, 1000):
            prefix = "" if n == 1 else EXTERNAL_PREFIX if n == 2 else f"{EXTERNAL_PREFIX}-{n - 1}"
            paths = {p: posixpath.join(prefix, rel) if prefix else rel for p, rel in relative.items()}
            if not any(_collides(s, taken, taken_dirs) for s in paths.values()):
                self.placed.update(paths)
                return self.placed
        raise UsageError("cannot find a free folder name for the files outside the catalog folder")

    def __getitem__(self, path: Path) -> str:
        return self.placed[path]

    def folder(self, directory: Path) -> str | None:
        """Where the files of a local folder were placed (``None`` when none of them was)."""
        for path, stored in self.placed.items():
            if path.is_relative_to(directory):
                rel = path.relative_to(directory).as_posix()
                return stored[: -len(rel)].rstrip("/") or "."
        return None


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _collides(path: str, taken: set[str], taken_dirs: set[str]) -> bool:
    return path in taken or path in taken_dirs or any(a in taken for a in _ancestors(path))


def relative_href(from_doc: str, to_path: str, original: str = "") -> str:
    """The href from a stored document to a stored path; an equivalent relative original is kept."""
    href = posixpath.relpath(to_path, posixpath.dirname(from_doc) or ".")
    if original and not posixpath.isabs(original) and not SCHEME.match(original):
        if posixpath.normpath(original) == href:
            return original
    return href
