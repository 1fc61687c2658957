"""How long transfers report progress: a tiny protocol the CLI implements with a progress bar.

Library code never draws anything; it calls a :class:`Progress` given by the caller (``None`` means
silent). One ``begin``/``end`` pair per phase ("uploading", "downloading"), ``advance`` per chunk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, Protocol


class Progress(Protocol):
    """Receives progress of one phase at a time."""

    def begin(self, description: str, total_bytes: int, total_files: int) -> None: ...

    def advance(self, nbytes: int) -> None: ...

    def file_done(self) -> None: ...

    def end(self) -> None: ...


class Silent:
    """The progress of callers that want none."""

    def begin(self, description: str, total_bytes: int, total_files: int) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def file_done(self) -> None:
        pass

    def end(self) -> None:
        pass


class CountingReader:
    """A read-only file wrapper that reports the bytes read to a :class:`Progress`."""

    def __init__(self, raw: BinaryIO, progress: Progress) -> None:
        self.raw = raw
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.progress.advance(len(data))
        return data


def counted(chunks: Iterator[bytes], progress: Progress) -> Iterator[bytes]:
    """Pass ``chunks`` through, reporting their sizes."""
    for chunk in chunks:
        progress.advance(len(chunk))
        yield chunk
