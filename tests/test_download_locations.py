"""Downloads from a hub on S3 read each file straight from storage, with presigned URLs asked for a
thousand files at a time (``POST .../locations``); a hub on local storage gives none and serves the bytes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from eohub.client import RemoteRepository
from tests.hub_server import HubServer, start_hub

FILES = {f"data/f{i:02d}.bin": bytes([i]) * (1000 + i) for i in range(30)} | {"data/empty.bin": b""}


@pytest.fixture
def s3_hub(tmp_path: Path, s3_location: str, s3_server: object) -> Iterator[HubServer]:
    hub = start_hub(tmp_path / "hub", {"EOHUB_STORAGE": s3_location, **s3_server.env})  # type: ignore[attr-defined]
    yield hub
    hub.stop()


def _dataset(hub: HubServer, folder: Path, private: bool = False) -> None:
    (folder / "data").mkdir(parents=True)
    (folder / "README.md").write_text("---\nname: Many-Files\n---\nMany small files.\n")
    for path, data in FILES.items():
        (folder / path).write_bytes(data)
    with RemoteRepository(hub.url, hub.token("alice")) as alice:
        alice.ingest("dataset", folder, private=private)


def _locations(hub: HubServer, user: str, paths: list[str]) -> httpx.Response:
    return httpx.post(
        f"{hub.url}/api/datasets/Many-Files/versions/latest/locations",
        json={"paths": paths},
        headers={"Authorization": f"Bearer {hub.token(user)}"},
    )


def test_a_hub_on_s3_gives_the_storage_urls_of_many_files_in_one_answer(s3_hub: HubServer, tmp_path: Path):
    _dataset(s3_hub, tmp_path / "d", private=True)
    asked = [*FILES, "data/not-there.bin"]
    answer = _locations(s3_hub, "alice", asked)
    assert answer.status_code == 200, answer.text
    urls = answer.json()["locations"]
    assert set(urls) == {p for p, data in FILES.items() if data}  # not the empty file, not unknown paths
    for path, url in urls.items():
        assert hashlib.sha256(httpx.get(url).content).digest() == hashlib.sha256(FILES[path]).digest()
    assert _locations(s3_hub, "bob", asked).status_code == 404  # private: bob learns nothing
    assert _locations(s3_hub, "alice", ["x"] * 1001).status_code == 400  # at most a thousand at once


def test_a_download_from_a_hub_on_s3_reads_every_file_from_storage(
    s3_hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    _dataset(s3_hub, tmp_path / "d")

    def through_the_hub(*args: object, **kwargs: object) -> Iterator[bytes]:
        raise AssertionError("a file was read through the hub")

    monkeypatch.setattr(RemoteRepository, "read_file", through_the_hub)
    with RemoteRepository(s3_hub.url, s3_hub.token("bob")) as bob:
        got = bob.download("dataset", "Many-Files", tmp_path / "get")
    assert {p: (got / p).read_bytes() for p in FILES} == FILES


def test_expired_storage_urls_fall_back_to_the_hub(
    tmp_path: Path,
    s3_location: str,
    s3_server: object,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    import logging

    env = {"EOHUB_STORAGE": s3_location, "EOHUB_PRESIGN_SECONDS": "1", **s3_server.env}  # type: ignore[attr-defined]
    hub = start_hub(tmp_path / "hub", env)
    try:
        _dataset(hub, tmp_path / "d")
        _expire_every_url(monkeypatch)
        with RemoteRepository(hub.url, hub.token("bob")) as bob, caplog.at_level(logging.INFO):
            got = bob.download("dataset", "Many-Files", tmp_path / "get")
        assert {p: (got / p).read_bytes() for p in FILES} == FILES
        assert any(
            "from storage stopped at byte 0 (the storage answered 403)" in r.getMessage()
            for r in caplog.records
        )
    finally:
        hub.stop()


def test_a_hub_on_local_storage_gives_no_urls_and_serves_the_bytes(tmp_path: Path):
    hub = start_hub(tmp_path / "hub")
    try:
        _dataset(hub, tmp_path / "d")
        answer = _locations(hub, "alice", list(FILES))
        assert answer.status_code == 200 and answer.json()["locations"] == {}
        with RemoteRepository(hub.url, hub.token("bob")) as bob:
            got = bob.download("dataset", "Many-Files", tmp_path / "get")
        assert {p: (got / p).read_bytes() for p in FILES} == FILES
    finally:
        hub.stop()


@pytest.mark.parametrize("expired", [False, True], ids=["fresh-urls", "expired-urls"])
def test_a_large_file_is_read_from_storage_in_spans(
    tmp_path: Path,
    s3_location: str,
    s3_server: object,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    expired: bool,
):
    import logging
    import os

    from eohub.repository import download

    monkeypatch.setattr(download, "PART_BYTES", 1024 * 1024)  # spans of BULK_BYTES: read by SpanReader
    monkeypatch.setattr(download, "PARTS_FROM", 1024 * 1024)
    seconds = "1" if expired else "900"
    env = {"EOHUB_STORAGE": s3_location, "EOHUB_PRESIGN_SECONDS": seconds, **s3_server.env}  # type: ignore[attr-defined]
    hub = start_hub(tmp_path / "hub", env)
    try:
        folder = tmp_path / "m"
        folder.mkdir()
        (folder / "README.md").write_text("---\nname: Large-Model\n---\nOne large file.\n")
        data = os.urandom(3 * 1024 * 1024 + 12345)
        (folder / "weights.bin").write_bytes(data)
        with RemoteRepository(hub.url, hub.token("alice")) as alice:
            alice.ingest("model", folder)
        if expired:
            _expire_every_url(monkeypatch)
        else:
            monkeypatch.setattr(RemoteRepository, "read_file", _never)
        with RemoteRepository(hub.url, hub.token("bob")) as bob, caplog.at_level(logging.INFO):
            got = bob.download("model", "Large-Model", tmp_path / "get")
        assert (got / "weights.bin").read_bytes() == data
        refused = [r for r in caplog.records if "the storage answered 403" in r.getMessage()]
        assert bool(refused) == expired  # expired: each span through the hub instead
    finally:
        hub.stop()


def _never(*args: object, **kwargs: object) -> Iterator[bytes]:
    raise AssertionError("a file was read through the hub")


def _expire_every_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """URLs of a hub presigning for 1 s are used however old they are, and only after 2 s: S3 says 403."""
    from eohub.client import locations

    monkeypatch.setattr(locations, "MARGIN_SECONDS", -3600)
    fill = locations.Locations._fill

    def late(self: locations.Locations, start: int, end: int) -> None:
        fill(self, start, end)
        time.sleep(2)

    monkeypatch.setattr(locations.Locations, "_fill", late)


def test_nul_characters_in_names_and_paths_are_a_400_on_postgresql(tmp_path: Path, postgres_url: str):
    hub = start_hub(tmp_path / "hub", {"EOHUB_DATABASE_URL": postgres_url})
    try:
        _dataset(hub, tmp_path / "d")
        auth = {"Authorization": f"Bearer {hub.token('alice')}"}
        base = f"{hub.url}/api/datasets"
        locations = httpx.post(
            f"{base}/Many-Files/versions/1/locations", json={"paths": ["data/a\x00b"]}, headers=auth
        )
        assert locations.status_code == 400, locations.text
        for url in (f"{base}/Many-Files/versions/1/files/data/a%00b", f"{base}/Many%00Files"):
            answer = httpx.get(url, headers=auth)
            assert 400 <= answer.status_code < 500, (url, answer.status_code, answer.text)
    finally:
        hub.stop()
