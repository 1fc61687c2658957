"""A hub of several processes: upload state shared through the database and the store, bytes straight to S3.

Two real ``eohub serve`` processes on one database and one store: an upload begun through one, which is
then killed (SIGKILL), resumes through the other from the bytes already received. Every byte the client
sends to a hub passes through a counting TCP relay in front of it, so the test sees how many crossed the
hubs: with S3 storage the file's bytes go straight to S3 (presigned URLs), and the hubs see only JSON.
Presigned URLs expire, and ``eohub serve --workers 2`` serves an ingest and a download.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from eohub.client import RemoteRepository
from eohub.repository.manifest import FileEntry
from eohub.repository.progress import Silent
from eohub.storage import sha256_file

from .hub_server import HubServer
from .repository_helpers import write_q0_model
from .servers import free_port

MiB = 1024 * 1024


class CountingRelay:
    """A TCP relay from a free loopback port to ``target``, counting the bytes clients send through it."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.sent = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, counted: bool) -> None:
        try:
            while data := source.recv(256 * 1024):
                if counted:
                    with self._lock:
                        self.sent += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def close(self) -> None:
        self._server.close()


def _random_file(path: Path, size: int, seed: int = 7) -> FileEntry:
    block = hashlib.sha256(str(seed).encode()).digest() * (MiB // 32)
    with open(path, "wb") as out:
        written = 0
        while written < size:
            piece = block[: min(len(block), size - written)]
            out.write(piece)
            written += len(piece)
            block = block[1:] + block[:1]
    digest, _ = sha256_file(path)
    return FileEntry(path.name, size, digest)


def _two_hubs(tmp_path: Path, env: dict[str, str]) -> tuple[HubServer, HubServer]:
    """Two hub processes on one database and store (``env`` names them; a shared EOHUB_HOME else)."""
    shared = {"EOHUB_HOME": str(tmp_path / "shared-home"), **env}
    shared.setdefault("EOHUB_DATABASE_URL", f"sqlite:///{tmp_path / 'shared-home' / 'eohub.sqlite'}")
    (tmp_path / "shared-home").mkdir()
    first = HubServer(tmp_path / "hub-a", free_port(), dict(shared)).start()
    second = HubServer(tmp_path / "hub-b", free_port(), dict(shared)).start()
    return first, second


@pytest.fixture
def s3_env(postgres_url: str, s3_location: str, s3_server: object) -> dict[str, str]:
    return {"EOHUB_DATABASE_URL": postgres_url, "EOHUB_STORAGE": s3_location, **s3_server.env}  # type: ignore[attr-defined]


def test_a_local_upload_begun_through_one_hub_process_resumes_through_another(tmp_path: Path):
    first, second = _two_hubs(tmp_path, {})
    relays = [CountingRelay(first.port), CountingRelay(second.port)]
    try:
        entry = _random_file(tmp_path / "weights.bin", 12 * MiB)
        token = first.token("alice")
        head = (tmp_path / "weights.bin").read_bytes()[: 5 * MiB]
        answer = httpx.patch(
            f"{relays[0].url}/api/uploads/{entry.sha256}",
            content=head,
            headers={
                "Authorization": f"Bearer {token}",
                "Upload-Offset": "0",
                "Upload-Length": str(entry.size),
            },
            timeout=60,
        )
        assert answer.json() == {"offset": 5 * MiB, "complete": False}
        first.kill()
        with RemoteRepository(relays[1].url, token) as remote:
            assert remote.upload_offset(entry.sha256) == (5 * MiB, False)
            remote.upload_blob(entry, tmp_path / "weights.bin", Silent())
            assert remote.bytes_sent == entry.size - 5 * MiB  # nothing sent twice
            assert remote.upload_offset(entry.sha256) == (entry.size, True)
        assert relays[0].sent + relays[1].sent >= entry.size  # local storage: the bytes go through hubs
    finally:
        for relay in relays:
            relay.close()
        first.stop()
        second.stop()


def test_an_s3_upload_begun_through_one_hub_process_resumes_through_another_without_passing_through_them(
    tmp_path: Path, s3_env: dict[str, str]
):
    env = {**s3_env, "EOHUB_S3_SINGLE_PUT_BYTES": str(5 * MiB), "EOHUB_S3_PART_BYTES": str(5 * MiB)}
    first, second = _two_hubs(tmp_path, env)
    relays = [CountingRelay(first.port), CountingRelay(second.port)]
    try:
        folder = tmp_path / "m"
        write_q0_model(folder, name="split-model")
        entry = _random_file(folder / "weights.bin", 17 * MiB)  # four parts: 5 + 5 + 5 + 2 MiB
        (folder / "empty.txt").write_bytes(b"")  # nothing to send, still a blob of the version
        token = first.token("alice")
        with RemoteRepository(relays[0].url, token) as remote:
            plan = remote._plans([entry])[entry.sha256]
            assert plan["method"] == "direct" and [t["part"] for t in plan["targets"]] == [1, 2, 3, 4]
            with open(folder / "weights.bin", "rb") as f:  # two parts reach S3, then the hub dies
                for target in plan["targets"][:2]:
                    remote._put(entry, folder / "weights.bin", f, target, Silent(), set())
        first.kill()
        with RemoteRepository(relays[1].url, token) as remote:
            assert remote.upload_offset(entry.sha256) == (10 * MiB, False)
            assert remote.ingest("model", folder).version == 1
            assert entry.size - 10 * MiB <= remote.bytes_sent < entry.size - 10 * MiB + 64 * 1024
            target = remote.download("model", "split-model", tmp_path / "dl")
        assert sha256_file(target / "weights.bin") == (entry.sha256, entry.size)
        assert (target / "empty.txt").read_bytes() == b""
        through_hubs = relays[0].sent + relays[1].sent
        assert through_hubs < 256 * 1024, through_hubs  # JSON only: the 17 MiB went straight to S3
    finally:
        for relay in relays:
            relay.close()
        first.stop()
        second.stop()


def test_presigned_urls_expire(tmp_path: Path, s3_env: dict[str, str]):
    hub = HubServer(tmp_path / "hub", free_port(), {**s3_env, "EOHUB_PRESIGN_SECONDS": "2"}).start()
    try:
        folder = tmp_path / "m"
        write_q0_model(folder, name="small-model")
        with RemoteRepository(hub.url, hub.token("alice")) as remote:
            remote.ingest("model", folder)
            entry = _random_file(tmp_path / "later.bin", 1 * MiB, seed=3)
            plan = remote._plans([entry])[entry.sha256]
        auth = {"Authorization": f"Bearer {hub.token('alice')}"}
        redirect = httpx.get(f"{hub.url}/api/models/small-model/versions/1/files/README.md", headers=auth)
        assert redirect.status_code == 307
        location = redirect.headers["location"]
        assert httpx.get(location).status_code == 200  # fresh: S3 serves it without credentials
        time.sleep(3.5)
        assert httpx.get(location).status_code == 403
        put = plan["targets"][0]
        refused = httpx.put(put["url"], content=(tmp_path / "later.bin").read_bytes(), headers=put["headers"])
        assert refused.status_code == 403
    finally:
        hub.stop()


def test_serve_with_two_workers_takes_an_ingest_and_a_download(tmp_path: Path):
    home, port = tmp_path / "home", free_port()
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EOHUB_")} | {"EOHUB_HOME": str(home)}
    args = [sys.executable, "-m", "eohub", "serve", "--no-demo", "--workers", "2", "--port", str(port)]
    with open(tmp_path / "serve.log", "wb") as log:
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(f"http://127.0.0.1:{port}/api", process, tmp_path / "serve.log")
        token = HubServer(home, port).token("alice")
        folder = tmp_path / "m"
        write_q0_model(folder, name="workers-model")
        _random_file(folder / "weights.bin", 3 * MiB)
        with RemoteRepository(f"http://127.0.0.1:{port}", token) as remote:
            assert remote.ingest("model", folder).version == 1
            target = remote.download("model", "workers-model", tmp_path / "dl")
        assert sha256_file(target / "weights.bin") == sha256_file(folder / "weights.bin")
        assert "2 worker processes" in (tmp_path / "serve.log").read_text()
    finally:
        process.terminate()
        process.wait(20)


def _wait_for(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"eohub serve exited: {log.read_text()[-2000:]}")
        try:
            httpx.get(url, timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"eohub serve did not start: {log.read_text()[-2000:]}")
