"""Resumable uploads: what a hub holds of a blob until its last byte arrives and verifies.

:class:`Uploads` is what the hub's routes see; two implementations:

- :class:`UploadArea` (a local store): bytes pass through the hub and are appended to
  ``<root>/<uploader>/<sha256>.part``, whose size is the confirmed offset. ``root`` is under
  ``EOHUB_HOME``, so every hub process of one machine (``eohub serve --workers N``) shares it, and the
  appends of all of them take turns on a file lock.
- :class:`eohub.storage.s3_uploads.S3Uploads` (an S3 store): the state lives in the database and in S3;
  clients send the bytes straight to S3 through presigned URLs (:meth:`Uploads.plan`), or through the
  hub, which relays them into S3 parts.

An upload is named by its uploader and the SHA-256 the client says the blob has; uploads of different
users never share anything, so each proves on its own that it holds the bytes. Each append states the
offset it starts at; a different offset is refused with the real one (:class:`OffsetMismatch`). When the
declared length is reached, the bytes are hashed; a mismatch discards them, a match puts them in the
:class:`BlobStore` (or, when the store has the blob already, just proves possession: one copy is kept).

Local uploads are hashed as the bytes arrive (the hasher is kept in the process between requests, and
used only for the very file it hashed: it holds that file open, so the name cannot have moved to another
file of the same size), so the last byte costs no second read; a request's bytes are hashed on one
thread while another writes them (:mod:`eohub.storage.hashing`). They are flushed to the disk once, when
the blob enters the store; the disk write of each batch is started as soon as it is written
(:mod:`eohub.storage.writeback`), so that flush has little left to wait for. A hub that crashes may lose
unflushed bytes of a partial upload: the file is then shorter, its size is still the offset to continue
from, and whatever it holds is hashed before it can become a blob.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from eohub.errors import AlreadyExistsError, BusyError, EohubError, IntegrityError, UsageError
from eohub.storage.base import AbandonedWrite, BlobStore, check_digest, sha256_file, verify_digest
from eohub.storage.hashing import hash_beside
from eohub.storage.writeback import start_writeback

log = logging.getLogger(__name__)
T = TypeVar("T")

LOCK_WAIT_SECONDS = 30.0
_UPLOADER = re.compile(r"[A-Za-z0-9-]{1,64}")
PART_SUFFIX = ".part"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_TARGETS = 64
"""Presigned part URLs one plan lists (the client asks again for the next ones)."""


class OffsetMismatch(AlreadyExistsError):
    """An append started at another offset than the bytes already received; ``offset`` is the real one."""

    def __init__(self, digest: str, offset: int, given: int) -> None:
        super().__init__(
            f"upload of {digest[:12]}... is at byte {offset}, not {given}: continue from byte {offset}"
        )
        self.offset = offset


def check_uploader(uploader: str) -> str:
    if not isinstance(uploader, str) or not _UPLOADER.fullmatch(uploader):
        raise UsageError(f"not an uploader name: {uploader!r}")
    return uploader


@dataclass(frozen=True)
class Target:
    """One request a client makes straight to the store: ``PUT url`` with ``headers`` and the bytes
    ``[offset, offset + length)`` of the file; ``part`` is the part number (``None``: the whole blob)."""

    url: str
    headers: dict[str, str]
    offset: int
    length: int
    part: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "headers": self.headers,
            "offset": self.offset,
            "length": self.length,
            "part": self.part,
        }


@dataclass
class UploadPlan:
    """How a client sends one blob: ``method`` ``"patch"`` (through the hub, from ``offset``) or
    ``"direct"`` (the ``targets``, straight to the store, then ``POST /api/uploads/complete``)."""

    digest: str
    length: int
    offset: int = 0
    complete: bool = False
    method: str = "patch"
    targets: list[Target] = field(default_factory=list)
    more: bool = False
    """More parts remain than ``targets`` lists: ask again once these are sent."""
    expires_in: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.digest,
            "length": self.length,
            "offset": self.offset,
            "complete": self.complete,
            "method": self.method,
            "targets": [t.to_dict() for t in self.targets],
            "more": self.more,
            "expires_in": self.expires_in,
        }


class UploadWriter(ABC):
    """The bytes of one ``PATCH`` request, written as they arrive (called off the event loop)."""

    offset: int

    @abstractmethod
    def write(self, pieces: Sequence[bytes]) -> int:
        """Take the next bytes, in ``pieces`` as they arrived; return the offset confirmed so far."""

    def close(self) -> int:
        """The request's body has ended (or the client left): return the confirmed offset."""
        return self.offset


class Uploads(ABC):
    """Uploads in progress for one hub (see the module docstring)."""

    store: BlobStore
    through_hub: bool = True
    """Whether the bytes of new blobs come through the hub (planned ``"patch"``, or ``"batch"``)."""

    @abstractmethod
    def offset(self, uploader: str, digest: str) -> int:
        """How many bytes of ``digest`` ``uploader`` has sent (0 when none)."""

    @abstractmethod
    def writer(self, uploader: str, digest: str, offset: int, length: int) -> UploadWriter:
        """Receive bytes through the hub from ``offset`` (:class:`OffsetMismatch` if it is not the
        confirmed one)."""

    @abstractmethod
    def complete(self, uploader: str, digest: str, length: int | None = None) -> int:
        """Verify a fully received blob and put it in the store (once); return its size.

        Raises :class:`IntegrityError` (and forgets the bytes) when they do not hash to ``digest``."""

    def plan(self, uploader: str, digest: str, length: int, parts: int | None = None) -> UploadPlan:
        """How ``uploader`` sends the blob: through the hub from the confirmed offset, unless the store
        takes bytes straight from clients. ``parts`` bounds how many targets the answer lists."""
        return UploadPlan(digest, length, self.offset(uploader, digest))

    def plan_many(self, uploader: str, wanted: dict[str, int], parts: int | None = None) -> list[UploadPlan]:
        """:meth:`plan` of every blob of ``wanted`` (digest: length), in order."""
        return _each(lambda d: self.plan(uploader, d, wanted[d], parts), list(wanted))

    def complete_many(self, uploader: str, digests: list[str]) -> list[int | EohubError]:
        """:meth:`complete` of every blob (length as received), in order: its size, or why not."""

        def one(digest: str) -> int | EohubError:
            try:
                return self.complete(uploader, digest)
            except EohubError as exc:
                return exc

        return _each(one, digests)

    @abstractmethod
    def discard(self, uploader: str, digest: str) -> None:
        """Forget a partial upload."""

    @abstractmethod
    def abandoned(self, older_than: float) -> list[AbandonedWrite]:
        """Uploads untouched since ``older_than`` (epoch seconds), for housekeeping."""


THREADS = 8
"""Blobs of one batch handled at once (each costs a few requests to the store or the disk)."""


def _each(work: Callable[[str], T], digests: list[str]) -> list[T]:
    if len(digests) <= 1:
        return [work(d) for d in digests]
    with ThreadPoolExecutor(min(THREADS, len(digests))) as pool:
        return list(pool.map(work, digests))


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


class _RunningHashes:
    """SHA-256 states of partial files this process has appended to, each valid for one file at one size.

    An entry holds its own descriptor of the file it hashed: while it is open the file cannot be
    replaced by another with the same inode, so "same inode and same size" means "the same bytes" (part
    files are only ever appended to). Bounded: the oldest entries are dropped (their uploads are then
    hashed from the file at the end)."""

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self.entries: OrderedDict[Path, tuple[int, int, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def take(self, path: Path, handle: BinaryIO, size: int) -> Any | None:
        """The hasher of ``handle``'s file at ``size`` bytes, removed from the cache; else ``None``."""
        with self.lock:
            entry = self.entries.pop(path, None)
        if entry is None:
            return None
        fd, known, hasher = entry
        try:
            same = os.fstat(fd)[1:3] == os.fstat(handle.fileno())[1:3] and known == size
        finally:
            os.close(fd)
        return hasher if same else None

    def keep(self, path: Path, handle: BinaryIO, size: int, hasher: Any) -> None:
        """Remember ``hasher`` as the state of ``handle``'s file at ``size`` bytes. The entry opens the
        file anew (a ``dup`` would share, and so keep, the writer's lock)."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return
        if os.fstat(fd)[1:3] != os.fstat(handle.fileno())[1:3]:
            os.close(fd)
            return
        with self.lock:
            old = self.entries.pop(path, None)
            self.entries[path] = (fd, size, hasher)
            evicted = [self.entries.popitem(last=False) for _ in range(len(self.entries) - self.capacity)]
        for entry in ([old] if old else []) + [e for _, e in evicted]:
            os.close(entry[0])


class UploadArea(Uploads):
    """Partial uploads under ``root`` on this machine (see the module docstring)."""

    def __init__(self, root: str | Path, store: BlobStore) -> None:
        self.root = Path(root)
        self.store = store
        self._hashes = _RunningHashes()

    def _part(self, uploader: str, digest: str) -> Path:
        return self.root / check_uploader(uploader) / f"{check_digest(digest)}{PART_SUFFIX}"

    def offset(self, uploader: str, digest: str) -> int:
        try:
            return self._part(uploader, digest).stat().st_size
        except FileNotFoundError:
            return 0

    def writer(self, uploader: str, digest: str, offset: int, length: int) -> UploadWriter:
        return _LocalWriter(self, uploader, digest, offset, length)

    def append(self, uploader: str, digest: str, offset: int, length: int, chunks: Iterable[bytes]) -> int:
        """Append ``chunks`` at ``offset`` of a blob of ``length`` bytes; return the new offset.

        Bytes written before a broken connection stay written (they are confirmed by the next
        :meth:`offset`). More bytes than ``length`` are refused."""
        writer = _LocalWriter(self, uploader, digest, offset, length)
        try:
            for chunk in chunks:
                writer.write([chunk])
        finally:
            writer.close()
        return writer.offset

    def complete(self, uploader: str, digest: str, length: int | None = None) -> int:
        part = self._part(uploader, digest)
        if length is None and not part.is_file():
            raise UsageError(f"no upload of {digest[:12]}... is in progress: send its bytes first")
        with locked(part, "ab") as held:
            size = part.stat().st_size
            if length is None:
                length = size
            if size == 0 < length and self.store.exists(digest):
                # another request of the same uploader completed this very upload while this one waited
                part.unlink(missing_ok=True)
                return length
            if size != length:
                raise UsageError(f"upload of {digest[:12]}... has {size} of its {length} bytes")
            hasher = self._hashes.take(part, held, size)
            actual = hasher.hexdigest() if hasher is not None else sha256_file(part)[0]
            try:
                verify_digest(digest, actual)
            except IntegrityError:
                part.unlink(missing_ok=True)
                raise
            if not self.store.exists(digest):
                self.store.adopt(digest, part, verified=True)  # flushed to the disk once, here
            part.unlink(missing_ok=True)
        log.info("blob %s received from %s (%d bytes)", digest, uploader, length)
        return size

    def discard(self, uploader: str, digest: str) -> None:
        self._part(uploader, digest).unlink(missing_ok=True)

    def parts(self) -> Iterator[Path]:
        """Every partial upload file (for housekeeping)."""
        if self.root.is_dir():
            yield from self.root.glob(f"*/*{PART_SUFFIX}")

    def abandoned(self, older_than: float) -> list[AbandonedWrite]:
        found: list[AbandonedWrite] = []
        for part in self.parts():
            try:
                info = part.stat()
            except FileNotFoundError:
                continue
            if info.st_mtime < older_than:
                found.append(
                    AbandonedWrite(str(part), info.st_size, lambda p=part: p.unlink(missing_ok=True))
                )
        return found


class _LocalWriter(UploadWriter):
    """The bytes of one request appended to the part file, which stays locked until :meth:`close`;
    hashed as they are written (the hash state is kept for the next request, see :class:`_RunningHashes`)."""

    def __init__(self, area: UploadArea, uploader: str, digest: str, offset: int, length: int) -> None:
        if length < 0 or offset < 0:
            raise UsageError("upload offsets and lengths are not negative")
        self.area, self.digest, self.length = area, digest, length
        self.part = area._part(uploader, digest)
        self.part.parent.mkdir(parents=True, exist_ok=True)
        self._held = locked(self.part, "ab")
        self.out = self._held.__enter__()
        try:
            self.offset = self.out.seek(0, os.SEEK_END)
            if self.offset != offset:
                raise OffsetMismatch(digest, self.offset, offset)
            self.hasher = area._hashes.take(self.part, self.out, self.offset)
            if self.hasher is None and self.offset == 0:
                self.hasher = hashlib.sha256()
        except BaseException:
            self._held.__exit__(None, None, None)
            raise

    def write(self, pieces: Sequence[bytes]) -> int:
        if self.out.closed:
            raise UsageError(f"upload of {self.digest[:12]}... was closed")
        size = sum(map(len, pieces))
        if self.offset + size > self.length:
            self.close(keep=False)
            raise UsageError(f"upload of {self.digest[:12]}... sends more than its {self.length} bytes")
        hashing = hash_beside(self.hasher, pieces, size) if self.hasher is not None else None
        try:
            self.out.writelines(pieces)
        except BaseException:
            self.close(keep=False)  # what the file holds now is not known: hash it at the end
            raise
        finally:
            if hashing is not None:
                hashing.result()
        start_writeback(self.out.fileno(), self.offset, size)
        self.offset += size
        return self.offset

    def close(self, keep: bool = True) -> int:
        if self.out.closed:
            return self.offset
        try:
            self.out.flush()  # to the kernel; the disk gets it once, when the blob enters the store
            if keep and self.hasher is not None:
                self.area._hashes.keep(self.part, self.out, self.offset, self.hasher)
        finally:
            self._held.__exit__(None, None, None)
        return self.offset
