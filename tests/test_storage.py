"""The BlobStore contract, run against every implementation: local files and a real S3 server."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from pathlib import Path

import pytest

from eohub.errors import IntegrityError, NotFoundError, UsageError
from eohub.storage import BlobStore, LocalBlobStore, open_store
from eohub.storage.s3 import PART_SIZE, S3BlobStore

MB = 1024 * 1024


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class PatternReader(io.RawIOBase):
    """``size`` pseudo-random bytes made on the fly, so the test itself holds no more than one block."""

    def __init__(self, size: int, block: bytes) -> None:
        self.remaining = size
        self.block = block
        self.counter = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        """Each block starts with its own number, so no two blocks are equal."""
        view = memoryview(buffer)
        n = min(len(view), len(self.block), self.remaining)
        k = min(n, 8)
        view[:k] = self.counter.to_bytes(8, "little")[:k]
        view[k:n] = memoryview(self.block)[k:n]
        self.counter += 1
        self.remaining -= n
        return n


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """A new, empty blob store of each kind, opened as eohub opens a configured location."""
    if request.param == "local":
        return open_store(str(tmp_path / "blobs"))
    return open_store(request.getfixturevalue("s3_location"), s3_endpoint=os.environ["EOHUB_S3_ENDPOINT"])


def test_written_blob_reads_back_whole_with_its_size(store: BlobStore) -> None:
    data = os.urandom(3000)
    digest = digest_of(data)
    assert store.write(digest, io.BytesIO(data)) == 3000
    assert store.exists(digest)
    assert store.size(digest) == 3000
    assert b"".join(store.read(digest)) == data


def test_empty_blob_is_a_valid_blob(store: BlobStore) -> None:
    digest = digest_of(b"")
    assert store.write(digest, io.BytesIO(b"")) == 0
    assert store.size(digest) == 0
    assert b"".join(store.read(digest)) == b""


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, 1), (5, 10), (100, None), (999, 1000), (990, 5000), (500, 500), (1000, None), (2000, 3000)],
)
def test_range_read_returns_exactly_the_requested_bytes(
    store: BlobStore, start: int, end: int | None
) -> None:
    data = os.urandom(1000)
    digest = digest_of(data)
    store.write(digest, io.BytesIO(data))
    assert b"".join(store.read(digest, start, end)) == data[start:end]


def test_missing_lists_only_blobs_not_stored(store: BlobStore) -> None:
    stored, absent = b"stored", b"absent"
    store.write(digest_of(stored), io.BytesIO(stored))
    assert store.missing([digest_of(stored), digest_of(absent)]) == {digest_of(absent)}
    assert not store.exists(digest_of(absent))


def test_missing_blob_cannot_be_read_or_sized(store: BlobStore) -> None:
    digest = digest_of(b"never written")
    with pytest.raises(NotFoundError):
        store.read(digest)
    with pytest.raises(NotFoundError):
        store.read(digest, 0, 0)
    with pytest.raises(NotFoundError):
        store.size(digest)


def test_delete_removes_the_blob_and_deleting_again_is_fine(store: BlobStore) -> None:
    data = b"to delete"
    digest = digest_of(data)
    store.write(digest, io.BytesIO(data))
    store.delete(digest)
    assert not store.exists(digest)
    store.delete(digest)
    assert not store.exists(digest)


@pytest.mark.parametrize("size", [100, PART_SIZE + 1000], ids=["one-part", "multipart"])
def test_digest_mismatch_raises_and_stores_nothing(store: BlobStore, size: int) -> None:
    data = os.urandom(size)
    claimed = digest_of(b"something else")
    with pytest.raises(IntegrityError, match="does not match"):
        store.write(claimed, io.BytesIO(data))
    assert not store.exists(claimed)
    assert not store.exists(digest_of(data))


def test_rewriting_a_stored_blob_keeps_it_unchanged(store: BlobStore, tmp_path: Path) -> None:
    data = os.urandom(2000)
    digest = digest_of(data)
    store.write(digest, io.BytesIO(data))
    assert store.write(digest, io.BytesIO(data)) == 2000
    (tmp_path / "same.bin").write_bytes(data)
    assert store.write_file(tmp_path / "same.bin") == (digest, 2000)
    assert b"".join(store.read(digest)) == data


def test_a_digest_that_is_not_sha256_hex_is_a_usage_error(store: BlobStore) -> None:
    with pytest.raises(UsageError, match="SHA-256"):
        store.write("../../etc/passwd", io.BytesIO(b"x"))
    with pytest.raises(UsageError):
        store.exists("ABC")


def test_large_blob_streams_in_and_out_with_flat_memory(store: BlobStore) -> None:
    size, block = 50 * MB, os.urandom(MB)
    h = hashlib.sha256()
    reader = PatternReader(size, block)
    while chunk := reader.read(MB):
        h.update(chunk)
    digest = h.hexdigest()

    tracemalloc.start()
    try:
        assert store.write(digest, PatternReader(size, block)) == size
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        back = hashlib.sha256()
        for chunk in store.read(digest):
            back.update(chunk)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert back.hexdigest() == digest
    assert write_peak < size / 3, f"write held {write_peak / MB:.1f} MB for a {size / MB:.0f} MB blob"
    assert read_peak < size / 10, f"read held {read_peak / MB:.1f} MB for a {size / MB:.0f} MB blob"


# --- S3-only behaviour ----------------------------------------------------------------------------------


def test_failed_multipart_write_leaves_no_pending_upload(s3_location: str, s3_server) -> None:
    store = open_store(s3_location, s3_endpoint=s3_server.endpoint)
    assert isinstance(store, S3BlobStore)
    with pytest.raises(IntegrityError):
        store.write(digest_of(b"claimed"), io.BytesIO(os.urandom(2 * PART_SIZE + 10)))
    pending = s3_server.client().list_multipart_uploads(Bucket=store.bucket, Prefix=store.prefix)
    assert pending.get("Uploads", []) == []


def test_s3_blobs_live_under_the_configured_prefix(s3_location: str, s3_server) -> None:
    store = open_store(s3_location, s3_endpoint=s3_server.endpoint)
    data = b"where am I"
    store.write(digest_of(data), io.BytesIO(data))
    listed = s3_server.client().list_objects_v2(Bucket=s3_server.bucket, Prefix=store.prefix + "/")
    assert [o["Key"] for o in listed["Contents"]] == [f"{store.prefix}/{digest_of(data)}"]


def test_wrong_s3_credentials_give_a_one_line_error_naming_the_variables(
    s3_location: str, s3_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    store = open_store(s3_location, s3_endpoint=s3_server.endpoint)
    with pytest.raises(UsageError, match="AWS_SECRET_ACCESS_KEY") as raised:
        store.exists(digest_of(b"x"))
    assert "\n" not in str(raised.value)


def test_missing_bucket_is_a_usage_error(s3_server, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    store = open_store("s3://no-such-bucket-here/x", s3_endpoint=s3_server.endpoint)
    with pytest.raises(UsageError, match="no-such-bucket-here"):
        store.write(digest_of(b"x"), io.BytesIO(b"x"))


@pytest.mark.parametrize("url", ["s3://", "s3:///prefix", "http://bucket/prefix"])
def test_malformed_s3_location_is_a_usage_error(url: str) -> None:
    with pytest.raises(UsageError, match="s3://bucket/prefix"):
        S3BlobStore.from_url(url)


def test_local_location_opens_a_local_store(tmp_path: Path) -> None:
    assert isinstance(open_store(str(tmp_path)), LocalBlobStore)
