"""Uploads straight to S3 keep proof of possession and immutability (docs/security.md).

A hub on PostgreSQL + S3 (SeaweedFS) hands out presigned URLs: each names a random staging key of the
caller, never a blob's key, and a blob becomes referenceable only once the hub has checked its SHA-256.
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


def test_a_presigned_url_names_a_random_staging_key_of_its_user_never_a_blob(s3_hub: HubServer):
    data = b"shared bytes" * 1000
    digest = hashlib.sha256(data).hexdigest()
    alice, bob = (urlsplit(_plan(s3_hub, user, data)["targets"][0]["url"]) for user in ("alice", "bob"))
    assert "/uploads/alice/" in alice.path and "/uploads/bob/" in bob.path
    assert digest not in alice.path and digest not in bob.path
    blob_url = alice._replace(path=alice.path.rsplit("/uploads/", 1)[0] + "/" + digest).geturl()
    assert httpx.put(blob_url, content=data).status_code == 403  # the signature covers the key
