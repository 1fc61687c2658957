"""SHA-256 fed on another thread while the caller writes the same bytes.

Hashing (about 1 GB/s here) and copying into the page cache both let go of the GIL, so doing them side by
side takes two cores instead of one after the other: a hub receiving an upload, a client writing a
download. Small writes are hashed in place, where a thread hand-off would cost more than it saves.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

BESIDE_BYTES = 1024 * 1024
"""Writes at least this large are hashed on another thread."""
_hashing = ThreadPoolExecutor(max_workers=8, thread_name_prefix="eohub-hash")


Pieces = Sequence[bytes | bytearray | memoryview]


def _update(hasher: Any, pieces: Pieces) -> None:
    for piece in pieces:
        hasher.update(piece)


def hash_beside(
    hasher: Any, pieces: Sequence[bytes | bytearray | memoryview], size: int
) -> Future[None] | None:
    """``pieces`` (``size`` bytes in all) fed to ``hasher`` in order: on another thread when they are
    large, and the caller must wait for the returned future before the next call and before reading the
    digest; else here, returning ``None``. The pieces must not change until then."""
    if size < BESIDE_BYTES:
        _update(hasher, pieces)
        return None
    return _hashing.submit(_update, hasher, pieces)
