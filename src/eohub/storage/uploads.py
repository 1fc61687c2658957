"""Resumable uploads: partial blobs on the hub's disk until their last byte arrives and verifies.

An upload is named by the SHA-256 the client says the blob has. Its bytes are appended to
``<root>/<sha256>.part``; the file's size is the confirmed offset, so an upload survives a dropped
connection, a killed client and a restarted server, and continues from exactly where the bytes stopped.
Each append states the offset it starts at; a different offset is refused with the real one
(:class:`OffsetMismatch`), and a second writer of the same blob at the same time is refused too. When the
declared length is reached, the partial file is streamed into the :class:`BlobStore`, which verifies the
SHA-256 before the blob becomes visible; a mismatch discards the partial file.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from eohub.errors import AlreadyExistsError, IntegrityError, UsageError
from eohub.storage.base import BlobStore, check_digest

log = logging.getLogger(__name__)


class OffsetMismatch(AlreadyExistsError):
    """An append started at another offset than the bytes already received; ``offset`` is the real one."""

    def __init__(self, digest: str, offset: int, given: int) -> None:
        super().__init__(
            f"upload of {digest[:12]}... is at byte {offset}, not {given}: continue from byte {offset}"
        )
        self.offset = offset


class UploadArea:
    """Partial uploads under ``root`` (see the module docstring)."""

    def __init__(self, root: str | Path, store: BlobStore) -> None:
        self.root = Path(root)
        self.store = store

    def _part(self, digest: str) -> Path:
        return self.root / f"{check_digest(digest)}.part"

    def offset(self, digest: str) -> int:
        """How many bytes of ``digest`` have been received (0 when none)."""
        try:
            return self._part(digest).stat().st_size
        except FileNotFoundError:
            return 0

    @contextmanager
    def _locked(self, digest: str) -> Iterator[BinaryIO]:
        self.root.mkdir(parents=True, exist_ok=True)
        out = open(self._part(digest), "ab")
        try:
            try:
                fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise AlreadyExistsError(
                    f"another upload of {digest[:12]}... is in progress; try again when it ends"
                ) from None
            yield out
        finally:
            out.close()

    def append(
        self, digest: str, offset: int, length: int, chunks: Iterable[bytes], sync: bool = False
    ) -> int:
        """Append ``chunks`` at ``offset`` of a blob of ``length`` bytes; return the new offset.

        Bytes written before a broken connection stay written (they are confirmed by the next
        :meth:`offset`). More bytes than ``length`` are refused. ``sync`` also flushes them to the disk
        (the last append of a request does), which a server crash cannot undo.
        """
        if length < 0 or offset < 0:
            raise UsageError("upload offsets and lengths are not negative")
        with self._locked(digest) as out:
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

    def complete(self, digest: str, length: int) -> None:
        """Move a fully received blob into the store, verifying its SHA-256 on the way."""
        part = self._part(digest)
        with self._locked(digest):
            size = part.stat().st_size
            if size != length:
                raise UsageError(f"upload of {digest[:12]}... has {size} of its {length} bytes")
            try:
                self.store.adopt(digest, part)
            except IntegrityError:
                part.unlink(missing_ok=True)
                raise
            part.unlink(missing_ok=True)
        log.info("blob %s complete (%d bytes)", digest, length)

    def discard(self, digest: str) -> None:
        """Forget a partial upload."""
        self._part(digest).unlink(missing_ok=True)
