"""Small files go to and come from a hub on local storage many per request (``POST /api/uploads/batch``,
``POST .../versions/{n}/files``).

Against a real hub (uvicorn on a thread of this process): an ingest of many small files makes a few
batch requests and no ``PATCH``, its download a few group requests and no ``GET`` per file, a file above
the batch share still goes alone, the version downloads byte for byte, and an older client (no
``"batch": true``) is still planned ``"patch"``. The body's format and the client's grouping are checked
on their own.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from eohub.client import RemoteRepository, upload_batches
from eohub.client.file_batches import FileBatches
from eohub.client.uploads import UPLOAD_THREADS
from eohub.core.blob_batch import MAX_BLOBS, decode, encode_head
from eohub.errors import IntegrityError, LimitError, UsageError
from eohub.repository.manifest import FileEntry
from eohub.repository.scan import PlannedFile

from .hub_server import InProcessHub


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[InProcessHub]:
    server = InProcessHub(tmp_path / "hub-home").start()
    yield server
    server.stop()


def _dataset(folder: Path, files: int, size: int, seed: int = 0) -> dict[str, bytes]:
    (folder / "data").mkdir(parents=True)
    (folder / "README.md").write_text("# Small files\n\nMany small files.\n")
    contents = {}
    for i in range(files):
        data = hashlib.sha256(f"{seed}-{i}".encode()).digest() * (size // 32) + bytes([i % 256])
        (folder / "data" / f"tile-{i:04d}.bin").write_bytes(data)
        contents[f"data/tile-{i:04d}.bin"] = data
    return contents


def _counted(remote: RemoteRepository) -> Counter[str]:
    """Requests by method and path, a file's path cut off (``GET .../files``), those of the span sender
    too."""
    seen: Counter[str] = Counter()

    def count(request: httpx.Request) -> None:
        path = request.url.path
        path = path.split("/files/", 1)[0] + "/files" if "/files/" in path else path.rsplit("/", 1)[0]
        seen.update([f"{request.method} {path}"])

    remote.session.http.event_hooks["request"].append(count)
    sender = remote._span_sender()  # file bytes go out through it, not through httpx
    send = sender.send

    def counted_send(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        count(httpx.Request(method, url))
        return send(method, url, *args, **kwargs)

    sender.send = counted_send  # type: ignore[method-assign]
    return seen


def test_small_files_go_in_a_few_batches_and_download_byte_for_byte(hub: InProcessHub, tmp_path: Path):
    contents = _dataset(tmp_path / "small", files=300, size=4096)
    with RemoteRepository(hub.url, hub.token("alice")) as remote:
        seen = _counted(remote)
        result = remote.ingest("dataset", tmp_path / "small", name="small-files")
        assert result.version == 1
        assert seen["PATCH /api/uploads"] == 0
        assert 1 <= seen["POST /api/uploads"] - seen["POST /api/uploads/complete"] <= 2 + UPLOAD_THREADS
        seen.clear()
        target = remote.download("dataset", "small-files", tmp_path / "out")
        assert seen["GET /api/datasets/small-files/versions/1/files"] == 0
        assert (
            1 <= seen["POST /api/datasets/small-files/versions/1"] <= 3
        )  # a group of 250, and its locations
    for path, data in contents.items():
        assert (target / path).read_bytes() == data


def test_a_file_above_the_batch_share_goes_alone_through_patch(hub: InProcessHub, tmp_path: Path):
    _dataset(tmp_path / "mixed", files=20, size=1024)
    big = os.urandom(300 * 1024)  # above 1/8 of the default 1 MiB request body
    (tmp_path / "mixed" / "data" / "big.bin").write_bytes(big)
    with RemoteRepository(hub.url, hub.token("alice")) as remote:
        seen = _counted(remote)
        remote.ingest("dataset", tmp_path / "mixed", name="mixed")
        assert seen["PATCH /api/uploads"] == 1
        target = remote.download("dataset", "mixed", tmp_path / "out")
    assert (target / "data" / "big.bin").read_bytes() == big


def test_files_with_the_same_bytes_download_from_one_group(hub: InProcessHub, tmp_path: Path):
    contents = _dataset(tmp_path / "twins", files=5, size=64)
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / "twins" / "data" / name).write_bytes(b"same bytes\n")
    with RemoteRepository(hub.url, hub.token("alice")) as remote:
        remote.ingest("dataset", tmp_path / "twins", name="twins")
        seen = _counted(remote)
        target = remote.download("dataset", "twins", tmp_path / "out")
        assert seen["GET /api/datasets/twins/versions/1/files"] == 0
    for name in ("a.txt", "b.txt", "c.txt"):
        assert (target / "data" / name).read_bytes() == b"same bytes\n"
    for path, data in contents.items():
        assert (target / path).read_bytes() == data


def test_a_hub_allowing_large_batches_still_gets_only_small_files_in_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("EOHUB_MAX_REQUEST_BYTES", str(256 * 1024 * 1024))  # plans files up to 32 MiB "batch"
    server = InProcessHub(tmp_path / "hub-home").start()
    try:
        _dataset(tmp_path / "mixed", files=10, size=1024)
        (tmp_path / "mixed" / "data" / "two-mib.bin").write_bytes(os.urandom(2 * 1024 * 1024))
        with RemoteRepository(server.url, server.token("alice")) as remote:
            seen = _counted(remote)
            remote.ingest("dataset", tmp_path / "mixed", name="mixed")
            assert seen["PATCH /api/uploads"] == 1  # the client keeps batches to files of 1 MiB at most
    finally:
        server.stop()


def test_a_client_that_does_not_ask_for_batches_is_planned_patch(hub: InProcessHub):
    wanted = [{"sha256": hashlib.sha256(b"x%d" % i).hexdigest(), "length": 2} for i in range(3)]
    headers = {"Authorization": f"Bearer {hub.token('alice')}"}
    old = httpx.post(f"{hub.url}/api/uploads", json={"uploads": wanted}, headers=headers).json()
    assert {p["method"] for p in old["uploads"]} == {"patch"}
    asked = {"uploads": wanted, "batch": True}
    new = httpx.post(f"{hub.url}/api/uploads", json=asked, headers=headers).json()
    assert {p["method"] for p in new["uploads"]} == {"batch"}
    assert new["batch_bytes"] == 1024 * 1024


def test_an_empty_batch_names_nothing():
    assert decode(b'{"blobs": []}\n') == []


def test_a_batch_body_round_trips():
    blobs = [(hashlib.sha256(b"%d" % i).hexdigest(), b"%d" % i * i) for i in range(5)]
    body = encode_head([(d, len(b)) for d, b in blobs]) + b"".join(b for _, b in blobs)
    assert [(d, bytes(v)) for d, v in decode(body)] == blobs


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'{"blobs": [["a", 1]]}',  # no newline
        b"[]\n",
        b'{"blobs": [["a", -1]]}\n',
        b'{"blobs": [["a", 1.5]]}\n',
        b'{"blobs": [["a", true]]}\n',
        b'{"blobs": [["a"]]}\n',
        b'{"blobs": [[1, 1]]}\n',
        b'{"blobs": [["a", 1], ["a", 1]]}\nxx',
        b'{"blobs": [["a", 2]]}\nx',
        b'{"blobs": [["a", 1]]}\nxx',
        b'{"blobs": [["a", 1' + b"0" * 5000 + b"]]}\nx",
        b'{"blobs": [[[[[[["a"]]]]]]]}\n',
        b'{"blobs": ' + b"[" * 100_000 + b"\n",
        b'{"blobs": [' + b'["a", 0],' * (MAX_BLOBS + 1) + b'["b", 0]]}\n',
        b" " * 200_000 + b"\n",
    ],
)
def test_a_malformed_batch_body_is_refused(body: bytes):
    with pytest.raises((UsageError, LimitError)):  # a 400 or a 413
        decode(body)


def _planned(tmp_path: Path, sizes: list[int]) -> list[PlannedFile]:
    files = []
    for i, size in enumerate(sizes):
        path = tmp_path / f"f{i}"
        path.write_bytes(b"z" * size)
        entry = FileEntry(f"f{i}", size, hashlib.sha256(b"z" * size).hexdigest())
        files.append(PlannedFile(entry, path))
    return files


def test_groups_fit_the_budget_and_keep_every_thread_busy(tmp_path: Path):
    files = _planned(tmp_path, [16 * 1024] * 100)
    groups = upload_batches.groups(files, 1024 * 1024, 8)
    assert [f for g in groups for f in g] == files
    assert 8 <= len(groups) <= 9
    for group in groups:
        assert len(upload_batches.body(group)) <= 1024 * 1024
    assert len(upload_batches.groups(files, 256 * 1024, 1)) == 7  # each under the budget, in order


def test_a_file_that_changed_since_the_scan_is_an_integrity_error(tmp_path: Path):
    files = _planned(tmp_path, [10, 20])
    files[1].source.write_bytes(b"z" * 21)
    with pytest.raises(IntegrityError, match="size changed since it was scanned"):
        upload_batches.body(files)


@pytest.mark.parametrize(
    "answer",
    [
        None,
        [],
        {"uploads": "x"},
        {"uploads": []},
        {"uploads": [{"sha256": "b" * 64, "complete": True}]},
        {"uploads": ["a" * 64]},
    ],
)
def test_a_malformed_answer_to_a_batch_is_an_integrity_error(answer: object):
    with pytest.raises(IntegrityError, match="malformed answer"):
        upload_batches.outcomes(answer, ["a" * 64], "http://hub", "sending an upload batch")


def test_refusals_are_returned_and_wrong_bytes_raise():
    digests = ["a" * 64, "b" * 64]
    refused = {"sha256": "b" * 64, "complete": False, "error": "x"}
    answer = {"uploads": [{"sha256": "a" * 64, "complete": True}, refused]}
    assert upload_batches.outcomes(answer, digests, "h", "w") == {"b" * 64: "x"}
    refused["status"] = 422
    with pytest.raises(IntegrityError, match="bbbbbbbbbbbb...: x"):
        upload_batches.outcomes(answer, digests, "h", "w")


def _answering(asked: list[list[str]], entries: dict[str, tuple[FileEntry, bytes]]):
    def ask(paths: list[str], most: int) -> bytes:
        asked.append(paths)
        blobs = [(entries[p][0].sha256, entries[p][1]) for p in paths]
        body = encode_head([(d, len(b)) for d, b in blobs]) + b"".join(b for _, b in blobs)
        assert len(body) <= most
        return body

    return ask


def _entries(count: int, size: int) -> dict[str, tuple[FileEntry, bytes]]:
    out = {}
    for i in range(count):
        data = i.to_bytes(4, "big") * (size // 4) + bytes(size % 4)
        out[f"f{i:04d}"] = (FileEntry(f"f{i:04d}", size, hashlib.sha256(data).hexdigest()), data)
    return out


def test_file_groups_are_asked_once_each_in_order_and_read_ahead():
    entries = _entries(1000, 4096)
    asked: list[list[str]] = []
    groups = FileBatches(_answering(asked, entries), [e for e, _ in entries.values()])
    for entry, data in entries.values():
        assert groups.bytes_of(entry) == data
    assert [len(paths) for paths in asked] == [250, 250, 250, 250]
    assert [p for paths in asked for p in paths] == list(entries)
    groups.close()


def test_a_group_far_behind_the_others_is_dropped_and_its_files_fetched_alone():
    entries = _entries(3000, 4096)  # 12 groups of 250
    asked: list[list[str]] = []
    groups = FileBatches(_answering(asked, entries), [e for e, _ in entries.values()])
    assert groups.bytes_of(entries["f0000"][0]) == entries["f0000"][1]  # one thread stays in the first group
    for g in range(1, 10):  # the others race ahead
        assert groups.bytes_of(entries[f"f{g * 250:04d}"][0]) is not None
    assert groups.bytes_of(entries["f0001"][0]) is None  # dropped: memory stays at KEPT_GROUPS groups
    assert sum("f0001" in paths for paths in asked) == 1  # and not asked for again
    groups.close()


def test_files_with_the_same_bytes_are_asked_for_once_and_all_served():
    entries = _entries(3, 64)
    twin = FileEntry("twin", 64, entries["f0001"][0].sha256)
    asked: list[list[str]] = []
    groups = FileBatches(_answering(asked, entries), [e for e, _ in entries.values()] + [twin])
    assert groups.bytes_of(twin) == entries["f0001"][1]
    assert groups.bytes_of(entries["f0001"][0]) == entries["f0001"][1]
    assert asked == [["f0000", "f0001", "f0002"]]


def test_large_and_empty_files_are_never_in_a_group():
    entries = {
        **_entries(3, 10),
        "big": (FileEntry("big", 300 * 1024, "a" * 64), b""),
        "empty": (FileEntry("empty", 0, "b" * 64), b""),
    }
    asked: list[list[str]] = []
    groups = FileBatches(_answering(asked, entries), [e for e, _ in entries.values()])
    assert groups.bytes_of(entries["big"][0]) is None
    assert groups.bytes_of(entries["empty"][0]) is None
    assert groups.bytes_of(entries["f0001"][0]) == entries["f0001"][1]
    assert asked == [["f0000", "f0001", "f0002"]]


def test_a_download_that_fails_stops_reading_ahead(
    hub: InProcessHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    _dataset(tmp_path / "small", files=1500, size=2048)
    original = FileBatches._fetch

    def slow(self: FileBatches, group: list[FileEntry]) -> dict[str, bytes]:
        time.sleep(0.2)
        return original(self, group)

    monkeypatch.setattr(FileBatches, "_fetch", slow)
    with RemoteRepository(hub.url, hub.token("alice")) as remote:
        remote.ingest("dataset", tmp_path / "small", name="read-ahead")
        fetcher = remote.fetcher
        calls = 0

        def failing(*args: object) -> object:
            fetch = fetcher(*args)  # type: ignore[arg-type]

            def first_then_fail(entry: FileEntry, start: int, end: int | None = None) -> object:
                nonlocal calls
                calls += 1
                if calls > 3:
                    raise IntegrityError("stop here")
                return fetch(entry, start, end)

            first_then_fail.close = fetch.close  # type: ignore[attr-defined]
            return first_then_fail

        monkeypatch.setattr(remote, "fetcher", failing)
        with pytest.raises(IntegrityError, match="stop here"):
            remote.download("dataset", "read-ahead", tmp_path / "out")
        alive = [t.name for t in threading.enumerate() if t.name.startswith("eohub-file-batch")]
        assert alive == []  # the groups read ahead were dropped or finished, their threads gone
