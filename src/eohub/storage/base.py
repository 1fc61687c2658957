"""The one small interface every blob store implements.

A blob is immutable bytes named by the hex SHA-256 of its content. ``write`` streams the bytes in,
checks the digest, and makes the blob visible only when it is complete and correct, so a reader never
sees a partial blob and a failed write leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from eohub.errors import IntegrityError, UsageError

CHUNK = 1024 * 1024
_DIGEST = re.compile(r"[0-9a-f]{64}")


def check_digest(digest: str) -> str:
    """Return ``digest`` if it is a lowercase hex SHA-256, else raise :class:`UsageError`."""
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise UsageError(f"not a SHA-256 hex digest: {digest!r}")
    return digest


def verify_digest(expected: str, actual: str) -> None:
    """Raise :class:`IntegrityError` when streamed bytes hashed to ``actual`` instead of ``expected``."""
    if actual != expected:
        raise IntegrityError(f"content does not match its SHA-256: expected {expected}, got {actual}")


def sha256_stream(source: BinaryIO) -> tuple[str, int]:
    """The SHA-256 hex digest and size of what ``source`` reads, in chunks (memory stays flat)."""
    h = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


def sha256_file(path: str | Path) -> tuple[str, int]:
    """The SHA-256 hex digest and size of a file, read in chunks (memory stays flat)."""
    with open(path, "rb") as f:
        return sha256_stream(f)


@dataclass(frozen=True)
class StoredBlob:
    """A blob as the store lists it: digest, size, and when it was written (epoch seconds)."""

    digest: str
    size: int
    modified: float


@dataclass(frozen=True)
class AbandonedWrite:
    """What a write that never finished left in the store (a killed process): its name and size."""

    name: str
    size: int
    remove: Callable[[], None]


class BlobStore(ABC):
    """Content-addressed storage of immutable blobs."""

    @abstractmethod
    def exists(self, digest: str) -> bool:
        """True when the complete blob is stored."""

    def missing(self, digests: Iterable[str]) -> set[str]:
        """The digests among ``digests`` that are not stored."""
        return {d for d in set(digests) if not self.exists(d)}

    @abstractmethod
    def write(self, digest: str, source: BinaryIO) -> int:
        """Stream ``source`` into the blob ``digest``; verify the SHA-256; return the size.

        Raises :class:`eohub.errors.IntegrityError` (and stores nothing) when the bytes do not match.
        Writing a blob that already exists is allowed and leaves it unchanged.
        """

    @abstractmethod
    def size(self, digest: str) -> int:
        """The size in bytes of a stored blob (raises :class:`eohub.errors.NotFoundError`)."""

    @abstractmethod
    def read(self, digest: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream the bytes ``[start, end)`` of a blob in chunks (raises ``NotFoundError``)."""

    @abstractmethod
    def delete(self, digest: str) -> None:
        """Remove a blob; removing a missing blob is not an error."""

    @abstractmethod
    def stored(self) -> Iterator[StoredBlob]:
        """Every complete blob (for housekeeping)."""

    @abstractmethod
    def abandoned_writes(self, older_than: float) -> list[AbandonedWrite]:
        """Writes no process is finishing any more, started before ``older_than`` (epoch seconds)."""

    def local_path(self, digest: str) -> Path | None:
        """The blob as a file on this machine, when the store keeps it as one (else ``None``)."""
        return None

    def adopt(self, digest: str, path: Path, verified: bool = False) -> int:
        """Store the file at ``path`` as the blob ``digest``; the file may be moved, not copied.

        The store checks the SHA-256 unless the caller has just done so (``verified``)."""
        with open(path, "rb") as f:
            return self.write(digest, f)

    def write_file(self, path: str | Path, digest: str | None = None) -> tuple[str, int]:
        """Store a local file, hashing it first unless ``digest`` is given; return (digest, size)."""
        if digest is None:
            digest, _ = sha256_file(path)
        with open(path, "rb") as f:
            size = self.write(digest, f)
        return digest, size
