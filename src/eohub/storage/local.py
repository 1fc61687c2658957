"""Blobs as files under a folder: ``<root>/ab/cd/abcd...`` (two levels of fan-out)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from eohub.errors import NotFoundError
from eohub.storage.base import (
    _DIGEST,
    CHUNK,
    AbandonedWrite,
    BlobStore,
    StoredBlob,
    check_digest,
    sha256_file,
    verify_digest,
)

TEMP_PREFIX = ".partial-"
BLOB_MODE = 0o444
"""Stored blobs are read-only files: nothing opens them for writing once they are in the store."""


def _locked_by_writer(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return True  # gone, or not ours to judge
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases the lock we may have taken
    return False


class LocalBlobStore(BlobStore):
    """A blob store on the local file system; writes go to a temporary file renamed when verified."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        check_digest(digest)
        return self.root / digest[:2] / digest[2:4] / digest

    def local_path(self, digest: str) -> Path | None:
        path = self.path(digest)
        return path if path.is_file() else None

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def write(self, digest: str, source: BinaryIO) -> int:
        target = self.path(digest)
        if target.is_file():
            return target.stat().st_size
        target.parent.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held while writing: housekeeping removes unlocked ones only
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK):
                    h.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
                verify_digest(digest, h.hexdigest())
                os.chmod(tmp, BLOB_MODE)
                os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return size

    def adopt(self, digest: str, path: Path, verified: bool = False) -> int:
        """Rename ``path`` into the store (same file system), else copy it in; verified unless the
        caller has just hashed it."""
        target = self.path(digest)
        if target.is_file():
            return target.stat().st_size
        if not verified:
            actual, _ = sha256_file(path)
            verify_digest(digest, actual)
        size = path.stat().st_size
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "rb") as f:
                os.fsync(f.fileno())
            os.chmod(path, BLOB_MODE)
            os.replace(path, target)
        except OSError:  # another file system: copy, verifying again
            return super().adopt(digest, path)
        return size

    def stored(self) -> Iterator[StoredBlob]:
        if not self.root.is_dir():
            return
        for path in self.root.glob("*/*/*"):
            if _DIGEST.fullmatch(path.name) and path.parent.parent.parent == self.root:
                try:
                    info = path.stat()
                except FileNotFoundError:
                    continue
                yield StoredBlob(path.name, info.st_size, info.st_mtime)

    def abandoned_writes(self, older_than: float) -> list[AbandonedWrite]:
        """Temporary files whose writer is gone: it held a lock on them while writing."""
        found: list[AbandonedWrite] = []
        if not self.root.is_dir():
            return found
        for path in self.root.glob(f"*/*/{TEMP_PREFIX}*"):
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue
            if info.st_mtime < older_than and not _locked_by_writer(path):
                found.append(
                    AbandonedWrite(str(path), info.st_size, lambda p=path: p.unlink(missing_ok=True))
                )
        return found

    def size(self, digest: str) -> int:
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            raise NotFoundError(f"blob {digest} is not stored") from None

    def read(self, digest: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        path = self.path(digest)
        if not path.is_file():
            raise NotFoundError(f"blob {digest} is not stored")
        return self._chunks(path, start, end)

    @staticmethod
    def _chunks(path: Path, start: int, end: int | None) -> Iterator[bytes]:
        with open(path, "rb") as f:
            f.seek(start)
            remaining = None if end is None else max(0, end - start)
            while remaining is None or remaining > 0:
                chunk = f.read(CHUNK if remaining is None else min(CHUNK, remaining))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def delete(self, digest: str) -> None:
        self.path(digest).unlink(missing_ok=True)
