"""Stored content is immutable and owned: another user can neither change a stored blob nor reference one
they never had, whatever they know of its digest (issue 12, part 1). Against real hubs over HTTP, on
SQLite + files and on PostgreSQL + S3."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import httpx
import pytest

from eohub.client import RemoteRepository
from tests.hub_server import HubServer

from .attacks import commit, entry, headers, upload, victim_model


def _download_verifies(hub: HubServer, user: str, name: str, target: Path) -> Path:
    with RemoteRepository(hub.url, hub.token(user)) as repo:
        return repo.download("model", name, target)  # every file's SHA-256 is checked


def test_a_file_at_a_documents_path_cannot_overwrite_anothers_blob(any_hub: HubServer, tmp_path: Path):
    victim = victim_model(any_hub, tmp_path / "victim")
    catalog = {"type": "Catalog", "id": "x", "stac_version": "1.0.0", "description": "x", "links": []}
    answer = commit(
        any_hub,
        "mallory",
        "Mallory-Model",
        [{**victim, "path": "catalog.json"}],
        {"catalog.json": catalog},
    )
    assert answer.status_code == 422, answer.text
    assert "catalog.json" in answer.json()["detail"]
    folder = _download_verifies(any_hub, "alice", "Victim-Model", tmp_path / "get")
    assert hashlib.sha256((folder / "model.onnx").read_bytes()).hexdigest() == victim["sha256"]


def test_stored_blobs_are_read_only_files(sqlite_hub: HubServer, tmp_path: Path):
    victim = victim_model(sqlite_hub, tmp_path / "victim")
    digest = victim["sha256"]
    blob = sqlite_hub.home / "blobs" / digest[:2] / digest[2:4] / digest
    assert blob.stat().st_mode & 0o777 == 0o444


def test_knowing_the_digest_of_a_private_file_gives_nothing(any_hub: HubServer, tmp_path: Path):
    victim = victim_model(any_hub, tmp_path / "victim", private=True)
    digest = victim["sha256"]
    mallory = headers(any_hub, "mallory")
    missing = httpx.post(f"{any_hub.url}/api/blobs/missing", json={"digests": [digest]}, headers=mallory)
    assert missing.json() == {"missing": [digest]}  # indistinguishable from a blob the hub lacks
    state = httpx.get(f"{any_hub.url}/api/uploads/{digest}", headers=mallory).json()
    assert state == {"offset": 0, "complete": False}
    answer = commit(any_hub, "mallory", "Stolen", [{**victim, "path": "stolen.onnx"}])
    assert answer.status_code == 422
    assert digest in answer.json()["detail"]
    assert httpx.get(f"{any_hub.url}/api/models/Stolen", headers=mallory).status_code == 404
    absent = {**victim, "path": "stolen.onnx", "sha256": hashlib.sha256(b"stored nowhere").hexdigest()}
    other = commit(any_hub, "mallory", "Stolen", [absent]).json()["detail"]
    assert answer.json()["detail"].replace(digest, "D") == other.replace(absent["sha256"], "D")  # no oracle


def test_blobs_of_a_deleted_repository_stop_being_referenceable(any_hub: HubServer, tmp_path: Path):
    victim = victim_model(any_hub, tmp_path / "victim")
    # while alice's version is public, anyone who can read it may reference what it holds
    assert (
        commit(any_hub, "bob", "Bob-Copy", [{**victim, "path": "copy.onnx"}], private=True).status_code == 201
    )
    deleted = httpx.delete(f"{any_hub.url}/api/models/Victim-Model", headers=headers(any_hub, "alice"))
    assert deleted.status_code == 204
    answer = commit(any_hub, "mallory", "After-Delete", [{**victim, "path": "copy.onnx"}])
    assert answer.status_code == 422
    assert victim["sha256"] in answer.json()["detail"]
    # bob's own (private) version still holds it: he may go on referencing it
    assert commit(any_hub, "bob", "Bob-Copy-2", [{**victim, "path": "copy.onnx"}]).status_code == 201


def test_uploading_the_bytes_proves_possession_and_keeps_one_copy(any_hub: HubServer, tmp_path: Path):
    victim = victim_model(any_hub, tmp_path / "victim", private=True)
    data = (tmp_path / "victim" / "model.onnx").read_bytes()  # bob has the same file
    folder = tmp_path / "bob"
    folder.mkdir()
    (folder / "README.md").write_text(
        (tmp_path / "victim" / "README.md").read_text().replace("Victim", "Bob")
    )
    (folder / "model.onnx").write_bytes(data)
    with RemoteRepository(any_hub.url, any_hub.token("bob")) as bob:
        result = bob.ingest("model", folder, name="Bob-Model")
        assert result.version == 1
        assert bob.bytes_sent >= len(data)  # he had to send the bytes, not just the digest
    assert _download_verifies(any_hub, "bob", "Bob-Model", tmp_path / "get").is_dir()
    if not any_hub.env:  # local files: the store still holds one copy
        blobs = [p for p in (any_hub.home / "blobs").rglob(victim["sha256"])]
        assert len(blobs) == 1


def test_a_wrong_uploaded_digest_proves_nothing(sqlite_hub: HubServer):
    data = b"mallory's bytes"
    claimed = hashlib.sha256(b"something else").hexdigest()
    answer = httpx.patch(
        f"{sqlite_hub.url}/api/uploads/{claimed}",
        content=data,
        headers={**headers(sqlite_hub, "mallory"), "Upload-Offset": "0", "Upload-Length": str(len(data))},
    )
    assert answer.status_code == 422
    assert (
        commit(sqlite_hub, "mallory", "Claimed", [entry(data, "x.bin") | {"sha256": claimed}]).status_code
        == 422
    )


@pytest.mark.parametrize("declared", [10**15, 1, 0])
def test_sizes_come_from_the_store(any_hub: HubServer, declared: int):
    data = b"0123456789" * 100
    assert upload(any_hub, "bob", data).status_code == 200
    answer = commit(any_hub, "bob", "Bob-Sizes", [entry(data, "data.bin") | {"size": declared}])
    assert answer.status_code == 422
    assert "size" in answer.json()["detail"]
    good = commit(any_hub, "bob", "Bob-Sizes", [entry(data, "data.bin")])
    assert good.status_code == 201
    assert good.json()["version"]["size"] == len(data)


def test_an_upload_longer_than_the_largest_file_is_refused_before_any_byte(sqlite_hub: HubServer):
    digest = hashlib.sha256(b"").hexdigest()
    answer = httpx.patch(
        f"{sqlite_hub.url}/api/uploads/{digest}",
        content=b"x",
        headers={**headers(sqlite_hub, "bob"), "Upload-Offset": "0", "Upload-Length": str(10**18)},
    )
    assert answer.status_code == 413
    assert "EOHUB_MAX_FILE_BYTES" in answer.json()["detail"]
    assert not list((sqlite_hub.home / "uploads").rglob("*.part"))


def test_two_users_uploading_the_same_blob_at_once_both_succeed(any_hub: HubServer, tmp_path: Path):
    data = hashlib.sha256(b"seed").digest() * (3 * 1024 * 1024 // 32)  # 3 MiB, several PATCH batches
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    errors: list[BaseException] = []
    tokens = {user: any_hub.token(user) for user in ("alice", "bob", "carol")}

    def ingest(user: str) -> None:
        folder = tmp_path / user
        folder.mkdir()
        (folder / "big.bin").write_bytes(data)
        readme = f"---\nname: {user}-big\nauthors: [x]\nlicense: MIT\nsource: https://x.org\n---\n"
        (folder / "README.md").write_text(readme)
        try:
            with RemoteRepository(any_hub.url, tokens[user]) as repo:
                assert repo.ingest("dataset", folder).version == 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=(u,)) for u in ("alice", "bob", "carol")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_an_append_racing_the_completing_upload_never_writes_into_the_stored_blob(tmp_path: Path):
    """A second PATCH that opened the partial file before the first completed it (its part file renamed
    into the store) must not write through its descriptor into the stored blob."""
    from eohub.errors import AlreadyExistsError
    from eohub.storage import LocalBlobStore
    from eohub.storage.uploads import UploadArea, locked

    data = b"the stored blob"
    digest = hashlib.sha256(data).hexdigest()
    store = LocalBlobStore(tmp_path / "blobs")
    area = UploadArea(tmp_path / "uploads", store)
    assert area.append("bob", digest, 0, len(data), [data]) == len(data)
    part = area._part("bob", digest)
    entered, done = threading.Event(), threading.Event()
    outcome: list[object] = []

    def racing_append() -> None:
        entered.wait()
        try:  # opens the part while the completion holds its lock, then waits for the lock
            outcome.append(area.append("bob", digest, len(data), len(data) + 5, [b"EVIL!"]))
        except AlreadyExistsError as exc:  # the offset moved: the upload it appended to is gone
            outcome.append(exc)
        done.set()

    racer = threading.Thread(target=racing_append)
    racer.start()
    with locked(part, "ab"):  # what complete() holds while it hashes and moves the part
        entered.set()
        time.sleep(0.3)
        store.adopt(digest, part, verified=True)
    done.wait(10)
    racer.join()
    assert (tmp_path / "blobs" / digest[:2] / digest[2:4] / digest).read_bytes() == data
    assert len(outcome) == 1 and isinstance(outcome[0], AlreadyExistsError)
