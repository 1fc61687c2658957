"""The part layout of an upload into S3 and the relay of bytes that reach the hub into S3 parts.

A :class:`Session` is a snapshot of an ``uploads`` row (:mod:`eohub.storage.s3_uploads`): its parts are
``part_size`` bytes each but the last. :class:`RelayWriter` takes the bytes of a ``PATCH`` (clients that
send through the hub) and uploads each full part as soon as it has it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eohub.errors import UsageError
from eohub.storage.s3 import _MIN_PART_SIZE, MAX_PARTS
from eohub.storage.s3_staging import S3Staging
from eohub.storage.uploads import UploadWriter

PUT, PARTS, BLOB = "put", "parts", "blob"
"""Upload modes: one PUT to a staging key, a multipart upload to a staging key, one PUT to the blob's
own key (:meth:`~eohub.storage.s3_staging.S3Staging.presign_put` with a token)."""
_MiB = 1024 * 1024


@dataclass(frozen=True)
class Session:
    """A snapshot of an ``uploads`` row."""

    id: int
    digest: str
    length: int
    key: str
    mode: str
    multipart_id: str | None
    part_size: int
    token: str

    @property
    def count(self) -> int:
        """How many parts the blob has (at least one)."""
        return max(1, -(-self.length // self.part_size))

    def span(self, number: int) -> tuple[int, int]:
        """``(offset, length)`` of part ``number``."""
        start = (number - 1) * self.part_size
        return start, min(self.part_size, self.length - start)


def part_size_for(length: int, wanted: int) -> int:
    """``wanted`` bytes per part, at least S3's 5 MiB and enough that ``length`` needs ≤ 10,000 parts."""
    size = max(wanted, _MIN_PART_SIZE, -(-length // MAX_PARTS))
    return -(-size // _MiB) * _MiB


class RelayWriter(UploadWriter):
    """Bytes of a ``PATCH`` relayed into S3 parts: each full part is uploaded as soon as it is received;
    a tail shorter than a part, unless it ends the blob, is dropped (the client sends it again from the
    confirmed offset, which is always at a part boundary)."""

    def __init__(self, staging: S3Staging, session: Session, offset: int) -> None:
        self.staging = staging
        self.session = session
        self.offset = offset
        self.buffer = bytearray()

    def write(self, pieces: Sequence[bytes]) -> int:
        if self.offset + len(self.buffer) + sum(map(len, pieces)) > self.session.length:
            raise UsageError(
                f"upload of {self.session.digest[:12]}... sends more than its {self.session.length} bytes"
            )
        for piece in pieces:
            self.buffer += piece
        size = self.session.part_size
        while len(self.buffer) >= size:
            self._send(size)
        return self.offset

    def _send(self, size: int) -> None:
        number = self.offset // self.session.part_size + 1
        assert self.session.multipart_id is not None
        with memoryview(self.buffer) as view:
            self.staging.put_part(self.session.key, self.session.multipart_id, number, view[:size])
        del self.buffer[:size]
        self.offset += size

    def close(self) -> int:
        if self.buffer and self.offset + len(self.buffer) == self.session.length:
            self._send(len(self.buffer))
        self.buffer = bytearray()
        return self.offset
