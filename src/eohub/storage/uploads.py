"""Resumable uploads: partial blobs on the hub's disk until their last byte arrives and verifies.

An upload is named by its uploader and the SHA-256 the client says the blob has. Its bytes are appended
to ``<root>/<uploader>/<sha256>.part``; the file's size is the confirmed offset, so an upload survives a
dropped connection, a killed client and a restarted server, and continues from exactly where the bytes
stopped. Uploads of different users never share a file: each proves on its own that it holds the bytes.

Each append states the offset it starts at; a different offset is refused with the real one
(:class:`OffsetMismatch`). Two appends to the same upload at once take turns (the second waits for the
first's batch, then finds the offset moved). When the declared length is reached, the partial file is
hashed; a mismatch discards it, a match moves it into the :class:`BlobStore` (or, when the store has the
blob already, just proves possession and is removed: the store keeps one copy).
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from eohub.errors import AlreadyExistsError, BusyError, IntegrityError, UsageError
from eohub.storage.base import BlobStore, check_digest, sha256_file, verify_digest

log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 30.0
_UPLOADER = re.compile(r"[A-Za-z0-9-]{1,64}")
PART_SUFFIX = ".part"


class OffsetMismatch(AlreadyExistsError):
    """An append started at another offset than the bytes already received; ``offset`` is the real one."""

    def __init__(self, digest: str, offset: int, given: int) -> None:
        super().__init__(
            f"upload of {digest[:12]}... is at byte {offset}, not {given}: continue from byte {offset}"
        )
        self.offset = offset


@contextmanager
def locked(path: Path, mode: str, wait: float = LOCK_WAIT_SECONDS) -> Iterator[BinaryIO]:
    """``path`` opened and exclusively locked (``flock``), waiting up to ``wait`` seconds for another
    holder; :class:`BusyError` if it does not let go.

    The lock is taken on what the path names *when the lock is granted*: a holder may have renamed the
    file away meanwhile (a completed upload moves its part file into the blob store), so a descriptor
    opened before that is dropped and the path opened again. Nothing ever writes through a descriptor
    of a file that has left this area."""
    deadline = time.monotonic() + wait
    while True:
        out = open(path, mode)  # noqa: SIM115 - closed below or by the caller's with
        try:
            while True:
                try:
                    fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise BusyError(f"{path.name} is busy; try again in a moment") from None
                    time.sleep(0.05)
            if _same_file(out, path):
                break
        except BaseException:
            out.close()
            raise
        out.close()  # renamed or removed while we waited: open what the path names now
    try:
        yield out  # type: ignore[misc]
    finally:
        out.close()


def _same_file(handle: BinaryIO, path: Path) -> bool:
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    opened = os.fstat(handle.fileno())
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


class UploadArea:
    """Partial uploads under ``root`` (see the module docstring)."""

    def __init__(self, root: str | Path, store: BlobStore) -> None:
        self.root = Path(root)
        self.store = store

    def _part(self, uploader: str, digest: str) -> Path:
        if not _UPLOADER.fullmatch(uploader):
            raise UsageError(f"not an uploader name: {uploader!r}")
        return self.root / uploader / f"{check_digest(digest)}{PART_SUFFIX}"

    def offset(self, uploader: str, digest: str) -> int:
        """How many bytes of ``digest`` ``uploader`` has sent (0 when none)."""
        try:
            return self._part(uploader, digest).stat().st_size
        except FileNotFoundError:
            return 0

    def append(
        self,
        uploader: str,
        digest: str,
        offset: int,
        length: int,
        chunks: Iterable[bytes],
        sync: bool = False,
    ) -> int:
        """Append ``chunks`` at ``offset`` of a blob of ``length`` bytes; return the new offset.

        Bytes written before a broken connection stay written (they are confirmed by the next
        :meth:`offset`). More bytes than ``length`` are refused. ``sync`` also flushes them to the disk
        (the last append of a request does), which a server crash cannot undo.
        """
        if length < 0 or offset < 0:
            raise UsageError("upload offsets and lengths are not negative")
        part = self._part(uploader, digest)
        part.parent.mkdir(parents=True, exist_ok=True)
        with locked(part, "ab") as out:
            current = out.seek(0, os.SEEK_END)
            if current != offset:
                raise OffsetMismatch(digest, current, offset)
            try:
                for chunk in chunks:
                    current += len(chunk)
                    if current > length:
                        raise UsageError(f"upload of {digest[:12]}... sends more than its {length} bytes")
                    out.write(chunk)
            finally:
                out.flush()
                if sync:
                    os.fsync(out.fileno())
            return current

    def complete(self, uploader: str, digest: str, length: int) -> int:
        """Verify a fully received blob and put it in the store (once); return its size."""
        part = self._part(uploader, digest)
        with locked(part, "ab"):
            size = part.stat().st_size
            if size == 0 < length and self.store.exists(digest):
                # another request of the same uploader completed this very upload while this one waited
                part.unlink(missing_ok=True)
                return length
            if size != length:
                raise UsageError(f"upload of {digest[:12]}... has {size} of its {length} bytes")
            actual, _ = sha256_file(part)
            try:
                verify_digest(digest, actual)
            except IntegrityError:
                part.unlink(missing_ok=True)
                raise
            if not self.store.exists(digest):
                self.store.adopt(digest, part, verified=True)
            part.unlink(missing_ok=True)
        log.info("blob %s received from %s (%d bytes)", digest, uploader, length)
        return size

    def discard(self, uploader: str, digest: str) -> None:
        """Forget a partial upload."""
        self._part(uploader, digest).unlink(missing_ok=True)

    def parts(self) -> Iterator[Path]:
        """Every partial upload file (for housekeeping)."""
        if self.root.is_dir():
            yield from self.root.glob(f"*/*{PART_SUFFIX}")
