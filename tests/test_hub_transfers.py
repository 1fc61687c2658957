"""Transfers between the client and a real hub (``eohub serve`` in its own process, on loopback).

Deduplication (only missing blobs are sent), resumable uploads after a killed client and after a
restarted server, downloads that resume, and two clients racing for the next version.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from eohub.client import RemoteRepository
from eohub.errors import IntegrityError, NotFoundError
from eohub.storage import sha256_file

from .hub_server import HubServer, start_hub
from .repository_helpers import write_q0_model

BIG = 48 * 1024 * 1024


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubServer]:
    server = start_hub(tmp_path / "hub-home")
    yield server
    server.stop()


def _model_with_big_file(folder: Path, size: int = BIG, seed: int = 1) -> Path:
    write_q0_model(folder, name="big-model")
    block = os.urandom(1024 * 1024) + bytes([seed])
    with open(folder / "weights.bin", "wb") as out:
        written = 0
        while written < size:
            chunk = block[: min(len(block), size - written)]
            out.write(chunk)
            written += len(chunk)
    return folder


def _remote(hub: HubServer, user: str = "alice", **kwargs: object) -> RemoteRepository:
    return RemoteRepository(hub.url, hub.token(user), **kwargs)


def _offset(hub: HubServer, user: str, digest: str) -> int:
    response = httpx.get(
        f"{hub.url}/api/uploads/{digest}", headers={"Authorization": f"Bearer {hub.token(user)}"}
    )
    return int(response.json()["offset"])


def _stable_offset(hub: HubServer, digest: str, least: int) -> int:
    """The hub's offset for ``digest`` once it has at least ``least`` bytes and stops growing."""
    deadline = time.monotonic() + 60
    last = -1
    while time.monotonic() < deadline:
        now = _offset(hub, "alice", digest)
        if now >= least and now == last:
            return now
        last = now
        time.sleep(0.3)
    raise AssertionError(f"the upload never reached {least} bytes (last offset {last})")


def test_unchanged_reingest_sends_no_bytes_and_a_changed_file_sends_only_itself(
    hub: HubServer, tmp_path: Path
):
    folder = _model_with_big_file(tmp_path / "m", size=4 * 1024 * 1024)
    with _remote(hub) as remote:
        first = remote.ingest("model", folder)
        assert first.version == 1
        total = sum(p.stat().st_size for p in folder.iterdir())
        assert remote.bytes_sent == total

    with _remote(hub) as remote:
        again = remote.ingest("model", folder)
        assert (again.version, again.latest, remote.bytes_sent) == (None, 1, 0)

    (folder / "notes.txt").write_text("one new small file")
    with _remote(hub) as remote:
        third = remote.ingest("model", folder)
        assert third.version == 2
        assert remote.bytes_sent == len("one new small file")


def test_a_killed_client_resumes_its_upload_from_the_last_confirmed_byte(hub: HubServer, tmp_path: Path):
    folder = _model_with_big_file(tmp_path / "m")
    digest, size = sha256_file(folder / "weights.bin")
    script = textwrap.dedent(
        f"""
        import time
        from eohub.client import RemoteRepository

        class Stall:  # after 20 MB have gone out, hang: the test kills this process
            sent = 0
            def begin(self, *a): pass
            def advance(self, n):
                self.sent += n
                if self.sent > 20 * 1024 * 1024:
                    time.sleep(3600)
            def file_done(self): pass
            def end(self): pass

        repository = RemoteRepository({hub.url!r}, {hub.token("alice")!r})
        repository.ingest("model", {str(folder)!r}, progress=Stall())
        """
    )
    client = subprocess.Popen([sys.executable, "-c", script])
    try:
        offset = _stable_offset(hub, digest, 16 * 1024 * 1024)
    finally:
        client.kill()
        client.wait()
    offset = _stable_offset(hub, digest, offset)
    assert 16 * 1024 * 1024 <= offset < size

    with _remote(hub) as remote:
        result = remote.ingest("model", folder)
        weights_sent = remote.bytes_sent - sum(
            p.stat().st_size for p in folder.iterdir() if p.name != "weights.bin"
        )
    assert result.version == 1
    assert weights_sent <= size - offset  # only what the hub did not have (smaller files may be there too)
    target = Path(_remote(hub).download("model", "big-model", tmp_path / "dl"))
    assert sha256_file(target / "weights.bin") == (digest, size)


class _PauseAt:
    """A progress that pauses the upload once ``at`` bytes went out, until ``go`` is set."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.sent = 0
        self.reached = threading.Event()
        self.go = threading.Event()

    def begin(self, *args: object) -> None:
        pass

    def advance(self, n: int) -> None:
        self.sent += n
        if self.sent > self.at and not self.go.is_set():
            self.reached.set()
            self.go.wait(60)

    def file_done(self) -> None:
        pass

    def end(self) -> None:
        pass


def _ingest_in_background(
    remote: RemoteRepository, folder: Path, progress: _PauseAt
) -> tuple[threading.Thread, dict[str, object]]:
    """An ingest started on a thread; its ``"result"`` or ``"error"`` lands in the dict once joined."""
    outcome: dict[str, object] = {}

    def ingest() -> None:
        try:
            outcome["result"] = remote.ingest("model", folder, progress=progress)
        except Exception as exc:  # reported by the caller
            outcome["error"] = exc

    worker = threading.Thread(target=ingest)
    worker.start()
    return worker, outcome


def test_an_upload_survives_a_server_restart_and_continues_where_it_stopped(hub: HubServer, tmp_path: Path):
    folder = _model_with_big_file(tmp_path / "m")
    digest, size = sha256_file(folder / "weights.bin")
    others = sum(p.stat().st_size for p in folder.iterdir() if p.name != "weights.bin")
    progress = _PauseAt(20 * 1024 * 1024)
    remote = _remote(hub, backoff=0.2, attempts=10)
    worker, outcome = _ingest_in_background(remote, folder, progress)
    assert progress.reached.wait(60)
    _stable_offset(hub, digest, 8 * 1024 * 1024)  # the hub has written part of what was sent
    hub.kill()  # as a crash: whatever was in flight is lost
    hub.start()
    kept = _offset(hub, "alice", digest)
    progress.go.set()
    worker.join(120)
    remote.close()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].version == 1  # type: ignore[attr-defined]
    assert 0 < kept < size
    # everything once, plus at most what the crash lost in flight (it was never confirmed)
    lost_in_flight = remote.bytes_sent - others - size
    assert 0 <= lost_in_flight <= 20 * 1024 * 1024 - kept + 8 * 1024 * 1024
    target = Path(_remote(hub).download("model", "big-model", tmp_path / "dl"))
    assert sha256_file(target / "weights.bin") == (digest, size)


def test_a_download_broken_by_a_server_crash_resumes_from_the_bytes_on_disk(hub: HubServer, tmp_path: Path):
    folder = _model_with_big_file(tmp_path / "m")
    with _remote(hub) as remote:
        remote.ingest("model", folder)
    progress = _PauseAt(20 * 1024 * 1024)
    failed: dict[str, Exception] = {}

    def download() -> None:
        try:
            _remote(hub, attempts=1).download("model", "big-model", tmp_path / "dl", progress=progress)
        except Exception as exc:
            failed["error"] = exc

    worker = threading.Thread(target=download)
    worker.start()
    assert progress.reached.wait(60)
    hub.kill()
    progress.go.set()
    worker.join(60)
    assert type(failed.get("error")).__name__ == "TransferError", failed
    partial = tmp_path / "dl" / "big-model" / ".v1.partial" / "weights.bin"
    on_disk = partial.stat().st_size
    assert on_disk > 16 * 1024 * 1024
    hub.start()
    with _remote(hub) as remote:
        target = remote.download("model", "big-model", tmp_path / "dl")
        assert remote.bytes_received <= BIG - on_disk + 64 * 1024
    assert sha256_file(target / "weights.bin") == sha256_file(folder / "weights.bin")
    assert sorted(p.name for p in (tmp_path / "dl" / "big-model").iterdir()) == ["v1"]


def test_two_clients_ingesting_the_same_model_at_once_get_consecutive_versions(
    hub: HubServer, tmp_path: Path
):
    folders = [write_q0_model(tmp_path / f"m{i}", name="shared", seed=i) for i in range(2)]
    with _remote(hub) as remote:
        remote.ingest("model", write_q0_model(tmp_path / "base", name="shared", seed=9))
    results: list[object] = []
    barrier = threading.Barrier(2)

    def ingest(folder: Path) -> None:
        with _remote(hub) as remote:
            barrier.wait()
            results.append((remote.ingest("model", folder).version, folder))

    threads = [threading.Thread(target=ingest, args=(f,)) for f in folders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(v for v, _ in results) == [2, 3]  # type: ignore[misc]
    with _remote(hub) as remote:
        for version, folder in results:  # type: ignore[misc]
            target = remote.download("model", "shared", tmp_path / "dl", version=version)
            assert sha256_file(target / "model.onnx") == sha256_file(folder / "model.onnx")


def test_a_hub_on_postgresql_and_s3_serves_the_tutorial_flow(
    tmp_path: Path, postgres_url: str, s3_location: str, s3_server: object
):
    env = {"EOHUB_DATABASE_URL": postgres_url, "EOHUB_STORAGE": s3_location, **s3_server.env}  # type: ignore[attr-defined]
    hub = start_hub(tmp_path / "hub-home", env)
    try:
        folder = _model_with_big_file(tmp_path / "m", size=12 * 1024 * 1024)  # several S3 parts
        with _remote(hub) as remote:
            assert remote.ingest("model", folder).version == 1
        with _remote(hub) as remote:
            assert remote.ingest("model", folder).version is None and remote.bytes_sent == 0
            target = remote.download("model", "big-model", tmp_path / "dl")
        assert sha256_file(target / "weights.bin") == sha256_file(folder / "weights.bin")
        assert not (tmp_path / "hub-home" / "blobs").exists()  # the bytes went to S3
    finally:
        hub.stop()


def test_a_file_cut_short_while_it_is_uploaded_fails_naming_it_and_makes_no_version(
    hub: HubServer, tmp_path: Path
):
    folder = _model_with_big_file(tmp_path / "m")
    progress = _PauseAt(8 * 1024 * 1024)
    remote = _remote(hub)
    worker, outcome = _ingest_in_background(remote, folder, progress)
    assert progress.reached.wait(60)
    os.truncate(folder / "weights.bin", 10 * 1024 * 1024)  # the user's file changes under the upload
    progress.go.set()
    worker.join(120)
    remote.close()
    error = outcome.get("error")
    assert isinstance(error, IntegrityError), outcome
    assert "weights.bin" in str(error) and "shrank" in str(error) and "\n" not in str(error)
    with _remote(hub) as reader, pytest.raises(NotFoundError):
        reader.versions("model", "big-model")
