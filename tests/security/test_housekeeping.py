"""Housekeeping (issue 12, part 6): `eohub admin gc` reports, then removes, temp blobs of killed writers,
abandoned uploads and blobs no version references, without touching what a version or an ingest in
progress needs; the hub clears stale temp files when it starts."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from eohub.client import RemoteRepository
from tests.hub_server import HubServer
from tests.repository_helpers import write_q0_model

from .attacks import headers, upload

_SLOW_WRITER = """
import sys, time
from eohub.storage.local import LocalBlobStore

class Slow:
    def __init__(self):
        self.sent = 0
    def read(self, n):
        if self.sent >= 8 * 1024 * 1024:
            print("writing", flush=True)
            time.sleep(3600)
        self.sent += 1024 * 1024
        return b"x" * (1024 * 1024)

LocalBlobStore(sys.argv[1]).write("0" * 64, Slow())
"""


def _killed_writer(store: Path) -> None:
    """A process writing a blob into ``store``, killed midway (as `kill -9` of an ingest would)."""
    process = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(store)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "writing"
    process.send_signal(signal.SIGKILL)
    process.wait()


def _gc(hub: HubServer, *args: str) -> str:
    env = {**hub._environment(), **hub.env}
    done = subprocess.run(
        [sys.executable, "-m", "eohub", "admin", "gc", *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_temp_files_of_a_killed_writer_are_reported_then_removed(sqlite_hub: HubServer):
    store = sqlite_hub.home / "blobs"
    _killed_writer(store)
    temps = list(store.rglob(".partial-*"))
    assert len(temps) == 1 and temps[0].stat().st_size >= 8 * 1024 * 1024
    _age(temps[0], 120)
    assert "would remove 1 abandoned writes in the blob store (8.4 MB)" in _gc(sqlite_hub)
    assert temps[0].exists()  # a dry run by default
    assert "removed 1 abandoned writes" in _gc(sqlite_hub, "--delete")
    assert not temps[0].exists()


def test_the_hub_clears_stale_temp_files_when_it_starts(sqlite_hub: HubServer):
    store = sqlite_hub.home / "blobs"
    _killed_writer(store)
    [temp] = list(store.rglob(".partial-*"))
    _age(temp, 120)
    sqlite_hub.restart()
    assert not temp.exists()


def test_a_temp_file_being_written_is_left_alone(sqlite_hub: HubServer):
    store = sqlite_hub.home / "blobs"
    process = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(store)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "writing"
        [temp] = list(store.rglob(".partial-*"))
        _age(temp, 3600)
        assert "removed 0 abandoned writes" in _gc(sqlite_hub, "--delete")
        assert temp.exists()
    finally:
        process.kill()
        process.wait()


def test_abandoned_uploads_older_than_the_ttl_are_removed(sqlite_hub: HubServer):
    data = b"y" * 5000
    digest = hashlib.sha256(data).hexdigest()
    answer = httpx.patch(
        f"{sqlite_hub.url}/api/uploads/{digest}",
        content=data[:2000],
        headers={**headers(sqlite_hub, "bob"), "Upload-Offset": "0", "Upload-Length": "5000"},
    )
    assert answer.json() == {"offset": 2000, "complete": False}
    [part] = list((sqlite_hub.home / "uploads").rglob("*.part"))
    assert "would remove 0 abandoned uploads" in _gc(sqlite_hub)  # fresh: an upload in progress
    _age(part, 25 * 3600)
    assert "would remove 1 abandoned uploads (2.0 kB)" in _gc(sqlite_hub)
    assert "removed 1 abandoned uploads" in _gc(sqlite_hub, "--delete")
    assert not part.exists()


def test_blobs_of_deleted_repositories_are_removed_and_referenced_ones_kept(
    any_hub: HubServer, tmp_path: Path
):
    any_hub.env["EOHUB_UPLOAD_TTL_SECONDS"] = "0"  # every unreferenced blob is old enough
    with RemoteRepository(any_hub.url, any_hub.token("alice")) as alice:
        alice.ingest("model", write_q0_model(tmp_path / "kept", name="Kept-Model", seed=1))
        alice.ingest("model", write_q0_model(tmp_path / "gone", name="Gone-Model", seed=2))
        gone = {e.sha256 for e in alice.manifest("model", "Gone-Model").files}
        kept = {e.sha256 for e in alice.manifest("model", "Kept-Model").files}
        alice.delete("model", "Gone-Model")
    only_gone = gone - kept
    assert only_gone
    time.sleep(1.1)  # touched_at is stored with a resolution of seconds on some databases
    report = _gc(any_hub, "--delete")
    assert f"removed {len(only_gone)} blobs no version references" in report
    with RemoteRepository(any_hub.url, any_hub.token("bob")) as bob:
        assert bob.download("model", "Kept-Model", tmp_path / "get").is_dir()  # every file verified
        assert bob.missing_blobs(only_gone) == only_gone


def test_gc_while_ingests_run_never_breaks_a_version(sqlite_hub: HubServer, tmp_path: Path):
    sqlite_hub.env["EOHUB_UPLOAD_TTL_SECONDS"] = "0"  # the harshest setting: nothing is "fresh"
    results: list[object] = []
    with RemoteRepository(sqlite_hub.url, sqlite_hub.token("alice")) as alice:
        gc = subprocess.Popen(
            [sys.executable, "-c", _GC_LOOP],
            env={**sqlite_hub._environment(), **sqlite_hub.env},
        )
        try:
            for seed in range(8):
                folder = write_q0_model(tmp_path / f"m{seed}", name=f"Model-{seed}", seed=seed)
                try:
                    results.append(alice.ingest("model", folder))
                except Exception as exc:  # noqa: BLE001 - a lost race is a clear error, checked below
                    results.append(exc)
        finally:
            gc.kill()
            gc.wait()
        lost_race = ("removed from the store meanwhile", "not stored", "was not uploaded by you")
        for failure in [r for r in results if isinstance(r, Exception)]:  # gc removes proofs with blobs
            assert any(words in str(failure) for words in lost_race), failure
        made = [r for r in results if not isinstance(r, Exception)]
        assert made, results
        for result in made:
            assert alice.download("model", result.name, tmp_path / "get").is_dir()  # type: ignore[union-attr]


_GC_LOOP = """
import subprocess, sys
while True:
    subprocess.run([sys.executable, "-m", "eohub", "admin", "gc", "--delete"], capture_output=True)
"""


def test_uploaded_but_uncommitted_blobs_survive_gc_within_the_ttl(sqlite_hub: HubServer):
    data = b"z" * 1000
    assert upload(sqlite_hub, "bob", data).status_code == 200
    assert "would remove 0 blobs no version references" in _gc(sqlite_hub)
    assert "removed 0 blobs" in _gc(sqlite_hub, "--delete")
    digest = hashlib.sha256(data).hexdigest()
    assert (sqlite_hub.home / "blobs" / digest[:2] / digest[2:4] / digest).is_file()
