"""Uploads straight to S3 keep proof of possession and immutability (docs/security.md).

A hub on PostgreSQL + S3 (SeaweedFS) hands out presigned URLs: a random staging key of the caller, or,
for a blob not stored yet, the blob's own key with a PUT that can only create it, only with the signed
checksum's bytes, and that records which upload wrote it. A blob becomes referenceable by a caller only
once the hub has checked that the caller's upload holds its bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.hub_server import HubServer, start_hub

MiB = 1024 * 1024


@pytest.fixture
def s3_hub(tmp_path: Path, postgres_url: str, s3_location: str, s3_server: object) -> Iterator[HubServer]:
    env = {
        "EOHUB_DATABASE_URL": postgres_url,
        "EOHUB_STORAGE": s3_location,
        "EOHUB_S3_SINGLE_PUT_BYTES": str(5 * MiB),
        "EOHUB_S3_PART_BYTES": str(5 * MiB),
        **s3_server.env,  # type: ignore[attr-defined]
    }
    hub = start_hub(tmp_path / "hub", env)
    yield hub
    hub.stop()


def _auth(hub: HubServer, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {hub.token(user)}"}


def _plan(hub: HubServer, user: str, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    body = {"uploads": [{"sha256": digest, "length": len(data)}]}
    answer = httpx.post(f"{hub.url}/api/uploads", json=body, headers=_auth(hub, user), timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["uploads"][0]


def _complete(hub: HubServer, user: str, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    answer = httpx.post(
        f"{hub.url}/api/uploads/complete", json={"digests": [digest]}, headers=_auth(hub, user), timeout=60
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["uploads"][0]


def _missing(hub: HubServer, user: str, data: bytes) -> bool:
    digest = hashlib.sha256(data).hexdigest()
    answer = httpx.post(f"{hub.url}/api/blobs/missing", json={"digests": [digest]}, headers=_auth(hub, user))
    return digest in answer.json()["missing"]


def test_a_presigned_put_of_other_bytes_is_refused_and_proves_nothing(s3_hub: HubServer):
    wanted, other = b"the bytes the digest names" * 100, b"other bytes, same length!!" * 100
    target = _plan(s3_hub, "mallory", wanted)["targets"][0]
    assert httpx.put(target["url"], content=other, headers=target["headers"]).status_code == 400
    assert httpx.put(target["url"], content=other).status_code == 403  # the checksum header is signed
    answer = _complete(s3_hub, "mallory", wanted)
    assert answer["complete"] is False and answer["status"] < 500
    assert _missing(s3_hub, "mallory", wanted)


def test_parts_whose_bytes_differ_from_the_digest_never_become_a_blob(s3_hub: HubServer):
    wanted = bytes(range(256)) * (24 * 1024)  # 6 MiB: two parts
    forged = bytes(reversed(range(256))) * (24 * 1024)
    plan = _plan(s3_hub, "mallory", wanted)
    assert [t["part"] for t in plan["targets"]] == [1, 2]
    for t in plan["targets"]:  # parts carry no checksum S3 could compare with the whole file's
        assert httpx.put(t["url"], content=forged[t["offset"] : t["offset"] + t["length"]]).status_code == 200
    answer = _complete(s3_hub, "mallory", wanted)
    assert answer["complete"] is False and answer["status"] == 422
    assert _missing(s3_hub, "mallory", wanted)
    again = _plan(s3_hub, "mallory", wanted)  # the forged parts are gone: the upload starts over
    assert again["offset"] == 0 and [t["part"] for t in again["targets"]] == [1, 2]


def test_completing_an_upload_never_sent_does_not_prove_possession(s3_hub: HubServer):
    secret = b"alice's private weights" * 1000
    target = _plan(s3_hub, "alice", secret)["targets"][0]
    assert httpx.put(target["url"], content=secret, headers=target["headers"]).status_code == 200
    assert _complete(s3_hub, "alice", secret)["complete"] is True
    answer = _complete(s3_hub, "bob", secret)  # bob knows the digest, never sent the bytes
    assert answer["complete"] is False and answer["status"] < 500
    assert _missing(s3_hub, "bob", secret)


def _put(target: dict, data: bytes, **headers: str) -> int:
    return httpx.put(target["url"], content=data, headers={**target["headers"], **headers}).status_code


def _path(target: dict) -> str:
    return urlsplit(target["url"]).path


def test_a_new_blob_is_written_at_its_key_only_once_only_with_its_bytes(s3_hub: HubServer):
    data = b"new bytes" * 1000
    digest = hashlib.sha256(data).hexdigest()
    target = _plan(s3_hub, "alice", data)["targets"][0]
    assert _path(target).endswith("/" + digest) and "/uploads/" not in _path(target)
    for dropped in ("If-None-Match", "x-amz-meta-eohub-upload", "x-amz-checksum-sha256"):
        bare = {k: v for k, v in target["headers"].items() if k != dropped}
        assert httpx.put(target["url"], content=data, headers=bare).status_code == 403, dropped  # signed
    from eohub.storage.s3_staging import UNSIGNED_PROBE_HEADERS

    for extra in (UNSIGNED_PROBE_HEADERS, {"x-amz-acl": "public-read"}, {"x-amz-meta-eohub-x": "1"}):
        assert _put(target, data, **extra) == 403, extra  # nothing the hub did not sign
    other = {**target, "headers": {**target["headers"], "x-amz-meta-eohub-upload": "0" * 32}}
    assert _put(other, data) == 403  # the upload's token is part of the signature
    assert _put(target, b"not-bytes" * 1000) == 400  # S3 checks the signed SHA-256
    assert _put(target, data) == 200
    assert _put(target, data) == 412  # created once, never replaced
    assert _complete(s3_hub, "alice", data)["complete"] is True
    assert not _missing(s3_hub, "alice", data)


def test_a_blob_another_upload_wrote_proves_nothing_until_the_caller_sends_it(s3_hub: HubServer):
    secret = b"alice's private weights, not stored yet" * 500
    bob = _plan(s3_hub, "bob", secret)["targets"][0]  # bob knows the digest, plans before alice sends
    alice = _plan(s3_hub, "alice", secret)["targets"][0]
    assert _path(bob) == _path(alice) and bob["headers"] != alice["headers"]
    assert _put(alice, secret) == 200
    assert _complete(s3_hub, "alice", secret)["complete"] is True
    answer = _complete(s3_hub, "bob", secret)  # the blob is there, but bob's upload did not write it
    assert answer["complete"] is False and answer["status"] < 500
    assert _missing(s3_hub, "bob", secret)
    assert _put(bob, secret) == 412  # bob's URL cannot replace alice's object
    again = _plan(s3_hub, "bob", secret)["targets"][0]  # now bob must send the bytes to a staging key
    assert "/uploads/bob/" in _path(again)
    assert _put(again, secret) == 200
    assert _complete(s3_hub, "bob", secret)["complete"] is True
    assert not _missing(s3_hub, "bob", secret)


def test_a_stored_blob_is_sent_to_a_random_staging_key_of_the_caller(s3_hub: HubServer):
    data = b"shared bytes" * 1000
    digest = hashlib.sha256(data).hexdigest()
    first = _plan(s3_hub, "alice", data)["targets"][0]
    assert _put(first, data) == 200 and _complete(s3_hub, "alice", data)["complete"] is True
    bob, carol = (urlsplit(_plan(s3_hub, user, data)["targets"][0]["url"]) for user in ("bob", "carol"))
    assert "/uploads/bob/" in bob.path and "/uploads/carol/" in carol.path
    assert digest not in bob.path and digest not in carol.path
    blob_url = bob._replace(path=bob.path.rsplit("/uploads/", 1)[0] + "/" + digest).geturl()
    assert httpx.put(blob_url, content=data).status_code == 403  # the signature covers the key


def test_content_headers_an_uploader_sent_do_not_reach_downloaders(s3_hub: HubServer, tmp_path: Path):
    from eohub.client import RemoteRepository
    from tests.repository_helpers import write_q0_model

    folder = tmp_path / "m"
    write_q0_model(folder, name="tricky-model")
    weights = folder / "weights.bin"
    weights.write_bytes(b"\x1f\x8b but not gzip" * 4096)
    target = _plan(s3_hub, "mallory", weights.read_bytes())["targets"][0]
    tricks = {"Content-Encoding": "gzip", "Content-Type": "text/html"}
    assert _put(target, weights.read_bytes(), **tricks) == 200
    with RemoteRepository(s3_hub.url, s3_hub.token("mallory")) as remote:
        remote.ingest("model", folder)
    auth = _auth(s3_hub, "alice")
    redirect = httpx.get(f"{s3_hub.url}/api/models/tricky-model/versions/1/files/weights.bin", headers=auth)
    assert redirect.status_code == 307
    with httpx.stream("GET", redirect.headers["location"]) as answer:
        assert answer.headers.get("content-encoding", "identity") == "identity"
        assert answer.headers["content-type"] == "application/octet-stream"
        assert b"".join(answer.iter_bytes()) == weights.read_bytes()
    with RemoteRepository(s3_hub.url, s3_hub.token("alice")) as remote:
        got = remote.download("model", "tricky-model", tmp_path / "get")
    assert (got / "weights.bin").read_bytes() == weights.read_bytes()


def test_a_blob_written_at_its_key_but_never_completed_is_collected(
    s3_hub: HubServer, s3_location: str, s3_server: object
):
    import time

    from .test_housekeeping import _gc

    data = b"sent, never completed" * 700
    digest = hashlib.sha256(data).hexdigest()
    target = _plan(s3_hub, "alice", data)["targets"][0]
    assert _put(target, data) == 200
    bucket, prefix = s3_location.removeprefix("s3://").split("/", 1)
    client = s3_server.client()  # type: ignore[attr-defined]
    assert client.head_object(Bucket=bucket, Key=f"{prefix}/{digest}")["ContentLength"] == len(data)
    assert "would remove 0 blobs no version references" in _gc(s3_hub)  # fresh: an upload in progress
    s3_hub.env["EOHUB_UPLOAD_TTL_SECONDS"] = "0"
    time.sleep(1.1)  # touched_at is stored with a resolution of seconds on some databases
    report = _gc(s3_hub, "--delete")
    assert "removed 1 blobs no version references" in report and "removed 1 abandoned uploads" in report
    assert client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/{digest}").get("KeyCount") == 0
    assert _missing(s3_hub, "alice", data)


def test_a_client_whose_upload_lost_the_race_sends_the_bytes_to_a_staging_key(
    s3_hub: HubServer, tmp_path: Path
):
    from eohub.client import RemoteRepository
    from tests.repository_helpers import write_q0_model

    folder = write_q0_model(tmp_path / "m", name="Raced-Model")
    weights = folder / "weights.bin"
    weights.write_bytes(b"both users hold these bytes" * 2000)
    data = weights.read_bytes()
    _plan(s3_hub, "bob", data)  # bob's upload session names the blob's key
    alice = _plan(s3_hub, "alice", data)["targets"][0]
    assert _put(alice, data) == 200 and _complete(s3_hub, "alice", data)["complete"] is True
    with RemoteRepository(s3_hub.url, s3_hub.token("bob")) as bob:
        bob.ingest("model", folder)  # the hub moves bob's session to a staging key; the client follows
        assert not bob.missing_blobs({hashlib.sha256(data).hexdigest()})
        got = bob.download("model", "Raced-Model", tmp_path / "get")
    assert (got / "weights.bin").read_bytes() == data


def test_a_client_whose_create_only_put_is_refused_plans_again_and_sends_to_staging(
    s3_hub: HubServer, tmp_path: Path, s3_location: str, s3_server: object, caplog: pytest.LogCaptureFixture
):
    import logging

    from eohub.client import RemoteRepository
    from tests.repository_helpers import write_q0_model

    folder = write_q0_model(tmp_path / "m", name="Refused-Model")
    weights = folder / "weights.bin"
    weights.write_bytes(b"written at the key, never completed" * 2000)
    data = weights.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert _put(_plan(s3_hub, "alice", data)["targets"][0], data) == 200  # alice never completes it
    fresh = _plan(s3_hub, "carol", data)["targets"][0]
    assert _path(fresh).endswith("/" + digest)  # a new plan still names the blob's key: the PUT gets 412
    with RemoteRepository(s3_hub.url, s3_hub.token("bob")) as bob, caplog.at_level(logging.INFO):
        bob.ingest("model", folder)  # 412 on the blob's key, a new plan, the bytes to a staging key
    assert any("refused by the storage (412" in r.getMessage() for r in caplog.records)
    with RemoteRepository(s3_hub.url, s3_hub.token("bob")) as bob:
        assert not bob.missing_blobs({digest})
        got = bob.download("model", "Refused-Model", tmp_path / "get")
    assert (got / "weights.bin").read_bytes() == data
    bucket, prefix = s3_location.removeprefix("s3://").split("/", 1)
    head = s3_server.client().head_object(Bucket=bucket, Key=f"{prefix}/{digest}")  # type: ignore[attr-defined]
    assert head["ContentLength"] == len(data)


def test_blobs_are_checked_in_groups_while_the_next_ones_are_sent(
    s3_hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from eohub.client import RemoteRepository, uploads
    from tests.repository_helpers import write_q0_model

    folder = write_q0_model(tmp_path / "m", name="Grouped-Model")
    (folder / "parts").mkdir()
    for i in range(12):
        (folder / "parts" / f"p{i}.bin").write_bytes(bytes([i]) * 5000)
    monkeypatch.setattr(uploads, "COMPLETE_GROUP", 3)
    monkeypatch.setattr(
        uploads, "UPLOAD_THREADS", 1
    )  # files done one by one: the groups do not hang on timing
    groups: list[int] = []
    complete = uploads.HubUploads._complete

    def counted(self: uploads.HubUploads, digests: list[str]) -> dict[str, str]:
        groups.append(len(digests))
        return complete(self, digests)

    monkeypatch.setattr(uploads.HubUploads, "_complete", counted)
    with RemoteRepository(s3_hub.url, s3_hub.token("alice")) as alice:
        alice.ingest("model", folder)
        got = alice.download("model", "Grouped-Model", tmp_path / "get")
    assert len(groups) >= 4 and sum(groups) >= 12  # in groups, not one request at the end
    assert all((got / "parts" / f"p{i}.bin").read_bytes() == bytes([i]) * 5000 for i in range(12))
