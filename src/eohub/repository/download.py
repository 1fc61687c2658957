"""Write a version to ``{path}/{name}/v{N}``: streamed, verified, all or nothing.

- Every file is streamed chunk by chunk from its source and hashed on the way; a SHA-256 mismatch
  raises :class:`IntegrityError`. Memory does not grow with file size.
- Nothing is written outside the target: every stored path is checked (relative, no ``..``), every
  written path must stay inside the target once resolved, and files are created exclusively (``xb``) in a
  fresh folder, so a planted symlink can never be followed.
- The version is written to a temporary sibling folder first. Only when everything is verified does it
  take the target's place; with ``force`` the old folder is swapped out and removed afterwards. Any failure
  removes the temporary folder and leaves whatever was at the target untouched.
- STAC documents are written as stored: their hrefs are relative to the documents, so the downloaded
  catalog opens with pystac and its assets resolve to the downloaded files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from eohub.errors import AlreadyExistsError, IntegrityError, UsageError
from eohub.repository.manifest import FileEntry, Manifest
from eohub.repository.names import check_stored_path
from eohub.repository.progress import Progress, Silent

log = logging.getLogger(__name__)

Fetch = Callable[[FileEntry], Iterator[bytes]]


def version_folder(path: str | Path, name: str, number: int) -> Path:
    """Where version ``number`` of ``name`` goes under ``path``: ``path/name/vN``."""
    return Path(path) / name / f"v{number}"


def _inside(root: Path, stored: str) -> Path:
    check_stored_path(stored)
    dest = root / stored
    resolved_root = root.resolve()
    if not dest.parent.resolve().is_relative_to(resolved_root) or dest.is_symlink():
        raise IntegrityError(f"refusing to write {stored!r}: it would leave the download folder")
    return dest


def _write_file(root: Path, entry: FileEntry, fetch: Fetch, progress: Progress) -> None:
    dest = _inside(root, entry.path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _inside(root, entry.path)  # the folders just created are real folders inside the root
    h = hashlib.sha256()
    size = 0
    try:
        with open(dest, "xb") as out:
            for chunk in fetch(entry):
                h.update(chunk)
                out.write(chunk)
                size += len(chunk)
                progress.advance(len(chunk))
    except FileExistsError:
        raise IntegrityError(
            f"refusing to write {entry.path!r} twice (duplicate path in the manifest)"
        ) from None
    if h.hexdigest() != entry.sha256 or size != entry.size:
        raise IntegrityError(
            f"{entry.path}: downloaded content does not match its SHA-256 "
            f"(expected {entry.sha256}, {entry.size} bytes; got {h.hexdigest()}, {size} bytes)"
        )
    progress.file_done()


def _write_documents(root: Path, manifest: Manifest) -> None:
    for stored, data in manifest.documents.items():
        dest = _inside(root, stored)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(dest, "x", encoding="utf-8") as out:
            json.dump(data, out, indent=2, ensure_ascii=False)
            out.write("\n")


def write_version(
    manifest: Manifest, target: Path, fetch: Fetch, force: bool = False, progress: Progress | None = None
) -> Path:
    """Write ``manifest`` into ``target`` (see the module docstring); return ``target``."""
    progress = progress or Silent()
    if target.exists() or target.is_symlink():
        if not force:
            raise AlreadyExistsError(f"{target} already exists (use force=True or --force to replace it)")
        if not target.is_dir() or target.is_symlink():
            raise UsageError(f"{target} exists and is not a folder; remove it yourself")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    except OSError as exc:
        raise UsageError(f"cannot write to {target.parent}: {exc.strerror or exc}") from None
    try:
        progress.begin(f"downloading {target}", manifest.size, len(manifest.files))
        try:
            for entry in manifest.files:
                _write_file(tmp, entry, fetch, progress)
        finally:
            progress.end()
        _write_documents(tmp, manifest)
        _swap(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
        raise
    log.info("downloaded %d files to %s", len(manifest.files), target)
    return target


def _swap(tmp: Path, target: Path) -> None:
    """Put ``tmp`` at ``target``; an existing target is moved aside first and removed at the end."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old / "v")
    try:
        os.replace(tmp, target)
    except BaseException:
        if old is not None:
            os.replace(old / "v", target)
            old.rmdir()
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
