"""``POST /api/uploads/batch`` proves possession of exactly the blobs whose bytes match, never changes a
stored blob, and refuses a malformed or oversized body with a 4xx that stores nothing; ``POST .../files``
answers only what the caller may read, within its bounds. Against real hubs over HTTP, on SQLite + files
and on PostgreSQL + S3."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from eohub.client import RemoteRepository
from eohub.core.blob_batch import MEDIA_TYPE, decode, encode_head
from tests.hub_server import HubServer

from .attacks import commit, entry, headers, victim_model


def _batch(hub: HubServer, user: str, blobs: list[tuple[str, bytes]]) -> httpx.Response:
    body = encode_head([(d, len(b)) for d, b in blobs]) + b"".join(b for _, b in blobs)
    return _post(hub, user, body)


def _post(hub: HubServer, user: str | None, body: bytes) -> httpx.Response:
    sent = {"Content-Type": MEDIA_TYPE, **(headers(hub, user) if user else {})}
    return httpx.post(f"{hub.url}/api/uploads/batch", content=body, headers=sent, timeout=60)


def _missing(hub: HubServer, user: str, digests: list[str]) -> list[str]:
    answer = httpx.post(f"{hub.url}/api/blobs/missing", json={"digests": digests}, headers=headers(hub, user))
    return answer.json()["missing"]


def test_wrong_bytes_under_a_stored_private_digest_prove_nothing(sqlite_hub: HubServer, tmp_path: Path):
    victim = victim_model(sqlite_hub, tmp_path / "victim", private=True)
    digest = victim["sha256"]
    real = (tmp_path / "victim" / "model.onnx").read_bytes()
    mine = b"mallory's own bytes"
    answer = _batch(
        sqlite_hub, "mallory", [(digest, b"not the victim's bytes"), (hashlib.sha256(mine).hexdigest(), mine)]
    )
    assert answer.status_code == 200
    first, second = answer.json()["uploads"]
    assert (first["complete"], first["status"]) == (False, 422)
    assert second["complete"] is True
    assert _missing(sqlite_hub, "mallory", [digest]) == [digest]
    assert commit(sqlite_hub, "mallory", "Stolen", [{**victim, "path": "stolen.onnx"}]).status_code == 422
    assert commit(sqlite_hub, "mallory", "Mine", [entry(mine, "mine.bin")]).status_code == 201
    victim_file = httpx.get(
        f"{sqlite_hub.url}/api/models/Victim-Model/versions/1/files/model.onnx",
        headers=headers(sqlite_hub, "alice"),
        follow_redirects=True,
    )
    assert victim_file.content == real  # the stored blob is untouched


def test_a_hub_on_s3_takes_no_batches(any_hub: HubServer):
    data = b"would go through the hub"
    answer = _batch(any_hub, "bob", [(hashlib.sha256(data).hexdigest(), data)])
    assert answer.status_code == (400 if any_hub.env else 200)  # S3: the bytes go straight to storage


def test_the_right_bytes_in_a_batch_prove_possession(sqlite_hub: HubServer, tmp_path: Path):
    victim = victim_model(sqlite_hub, tmp_path / "victim", private=True)
    real = (tmp_path / "victim" / "model.onnx").read_bytes()
    answer = _batch(sqlite_hub, "bob", [(victim["sha256"], real)])
    assert answer.json()["uploads"] == [{"sha256": victim["sha256"], "complete": True}]
    assert commit(sqlite_hub, "bob", "Bob-Model", [{**victim, "path": "model.onnx"}]).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        b"no first line",
        b'{"blobs": [["not-a-digest", 1]]}\nx',
        b'{"blobs": [["' + b"a" * 64 + b'", 5]]}\nabc',
        b'{"blobs": [["' + b"a" * 64 + b'", -1]]}\n',
        b'{"blobs": ' + b"[" * 50_000 + b"\n",
        b"\xff\xfe\n",
    ],
)
def test_a_malformed_batch_is_a_4xx_and_stores_nothing(sqlite_hub: HubServer, body: bytes):
    before = {p.name for p in (sqlite_hub.home / "blobs").rglob("*") if p.is_file()}
    answer = _post(sqlite_hub, "mallory", body)
    assert 400 <= answer.status_code < 500
    assert "detail" in answer.json()
    assert {p.name for p in (sqlite_hub.home / "blobs").rglob("*") if p.is_file()} == before


def test_a_batch_larger_than_a_request_body_is_a_413(sqlite_hub: HubServer):
    data = b"x" * (1024 * 1024)
    assert _batch(sqlite_hub, "mallory", [(hashlib.sha256(data).hexdigest(), data)]).status_code == 413


def test_a_batch_needs_a_token(sqlite_hub: HubServer):
    data = b"anonymous"
    assert _batch(sqlite_hub, None, [(hashlib.sha256(data).hexdigest(), data)]).status_code == 401  # type: ignore[arg-type]


def _files(hub: HubServer, user: str | None, name: str, paths: list[str]) -> httpx.Response:
    url = f"{hub.url}/api/models/{name}/versions/1/files"
    return httpx.post(url, json={"paths": paths}, headers=headers(hub, user) if user else {}, timeout=60)


def test_files_of_a_private_version_go_only_to_its_owner(any_hub: HubServer, tmp_path: Path):
    victim_model(any_hub, tmp_path / "victim", private=True)
    real = (tmp_path / "victim" / "model.onnx").read_bytes()
    assert _files(any_hub, "mallory", "Victim-Model", ["model.onnx"]).status_code == 404
    assert _files(any_hub, None, "Victim-Model", ["model.onnx"]).status_code == 404
    answer = _files(any_hub, "alice", "Victim-Model", ["absent.bin", "model.onnx", "README.md"])
    assert answer.status_code == 200
    blobs = decode(answer.content)
    readme = (tmp_path / "victim" / "README.md").read_bytes()
    assert [(d, bytes(b)) for d, b in blobs] == [
        (hashlib.sha256(real).hexdigest(), real),
        (hashlib.sha256(readme).hexdigest(), readme),
    ]  # in the order asked, the absent path left out


def test_files_above_the_group_bounds_are_a_400(sqlite_hub: HubServer, tmp_path: Path):
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "README.md").write_text("# Big\n\nFiles above the group bounds.\n")
    for i in range(5):
        (folder / f"part-{i}.bin").write_bytes(bytes([i]) * (1024 * 1024))
    (folder / "huge.bin").write_bytes(b"h" * (1024 * 1024 + 1))
    with RemoteRepository(sqlite_hub.url, sqlite_hub.token("alice")) as alice:
        alice.ingest("model", folder, name="Big-Files")
    assert _files(sqlite_hub, "alice", "Big-Files", ["huge.bin"]).status_code == 400
    assert _files(sqlite_hub, "alice", "Big-Files", [f"part-{i}.bin" for i in range(5)]).status_code == 400
    assert _files(sqlite_hub, "alice", "Big-Files", [f"part-{i}.bin" for i in range(4)]).status_code == 200
    assert _files(sqlite_hub, "alice", "Big-Files", ["x"] * 1001).status_code == 400
