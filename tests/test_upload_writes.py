"""How a hub on local storage writes the bytes of a ``PATCH``: in the pieces they arrived in, hashed
beside the write, with the disk write started early (a hint that can never fail the upload)."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import pytest

from eohub.errors import IntegrityError, UsageError
from eohub.storage import LocalBlobStore
from eohub.storage.hashing import BESIDE_BYTES as HASH_BESIDE_BYTES
from eohub.storage.uploads import UploadArea
from eohub.storage.writeback import start_writeback


def _area(tmp_path: Path) -> UploadArea:
    return UploadArea(tmp_path / "uploads", LocalBlobStore(tmp_path / "blobs"))


def _pieces(data: bytes, seed: int) -> list[bytes]:
    """``data`` cut at random places, as a socket would hand it over (1 byte to 300 KiB a piece)."""
    rng = random.Random(seed)
    pieces, at = [], 0
    while at < len(data):
        step = rng.choice([1, 7, 4096, 65536, 300 * 1024])
        pieces.append(data[at : at + step])
        at += step
    return pieces


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pieces_written_in_several_requests_become_the_blob_they_hash_to(tmp_path: Path, seed: int):
    data = random.Random(seed).randbytes(3 * HASH_BESIDE_BYTES + 12345)
    digest = hashlib.sha256(data).hexdigest()
    area = _area(tmp_path)
    pieces = _pieces(data, seed)
    offset = 0
    for request in (pieces[: len(pieces) // 3], pieces[len(pieces) // 3 :]):  # two PATCHes
        writer = area.writer("alice", digest, offset, len(data))
        for start in range(0, len(request), 40):  # batches of pieces, as the route hands them over
            offset = writer.write(request[start : start + 40])
        assert writer.close() == offset
    assert offset == len(data)
    assert area.complete("alice", digest, len(data)) == len(data)
    assert area.store.path(digest).read_bytes() == data


def test_pieces_that_do_not_hash_to_the_upload_s_digest_are_refused_and_forgotten(tmp_path: Path):
    data = os.urandom(2 * HASH_BESIDE_BYTES)
    digest = hashlib.sha256(data).hexdigest()
    area = _area(tmp_path)
    writer = area.writer("alice", digest, 0, len(data))
    writer.write([data[:HASH_BESIDE_BYTES], b"X" + data[HASH_BESIDE_BYTES + 1 :]])
    writer.close()
    with pytest.raises(IntegrityError):
        area.complete("alice", digest, len(data))
    assert not area.store.exists(digest)
    assert area.offset("alice", digest) == 0


def test_pieces_beyond_the_declared_length_are_refused_before_any_is_written(tmp_path: Path):
    data = os.urandom(HASH_BESIDE_BYTES)
    digest = hashlib.sha256(data).hexdigest()
    area = _area(tmp_path)
    writer = area.writer("alice", digest, 0, len(data))
    with pytest.raises(UsageError, match="more than"):
        writer.write([data, b"one more"])
    assert area.offset("alice", digest) == 0


def test_the_writeback_hint_never_fails_whatever_it_is_given(tmp_path: Path):
    target = tmp_path / "file"
    with open(target, "wb") as f:
        f.write(b"x" * 100_000)
        start_writeback(f.fileno(), 0, 100_000)  # a regular file
        start_writeback(f.fileno(), 50_000, 10**15)  # beyond its end
    reader, writer = os.pipe()
    try:
        start_writeback(reader, 0, 10)  # not a file
    finally:
        os.close(reader)
        os.close(writer)
    start_writeback(reader, 0, 10)  # closed
    assert target.read_bytes() == b"x" * 100_000
