"""Files of 1 to 16 MiB, and the spans of larger ones, come from a hub on local storage into one buffer
(``http.client``, the hub's token sent only to the hub), with what a span does not give streamed after.

Against a real hub (uvicorn on a thread of this process) holding a private model, so a read without
the token would be a 404.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from eohub.client import RemoteRepository
from eohub.client import remote as remote_module
from eohub.client.storage_reads import SpanReader, StorageReadError

from .hub_server import InProcessHub
from .repository_helpers import write_q0_model


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[InProcessHub]:
    server = InProcessHub(tmp_path / "hub-home").start()
    yield server
    server.stop()


def _private_model(hub: InProcessHub, folder: Path, size: int) -> bytes:
    write_q0_model(folder, name="Span-Model")
    data = os.urandom(size)
    (folder / "weights.bin").write_bytes(data)
    with RemoteRepository(hub.url, hub.token("alice")) as alice:
        alice.ingest("model", folder, private=True)
    return data


def test_a_private_file_of_a_few_mib_is_read_in_one_buffer_with_the_token(
    hub: InProcessHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    data = _private_model(hub, tmp_path / "m", 3 * 1024 * 1024)
    reads: list[tuple[str, int, int, dict]] = []
    original = SpanReader.read

    def spy(self: SpanReader, url: str, start: int, end: int, whole: bool, headers: dict | None = None):
        reads.append((url, start, end, dict(headers or {})))
        return original(self, url, start, end, whole, headers)

    monkeypatch.setattr(SpanReader, "read", spy)
    monkeypatch.setattr(
        remote_module.RemoteRepository, "_stream", lambda *a, **k: pytest.fail("streamed through httpx")
    )
    with RemoteRepository(hub.url, hub.token("alice")) as alice:
        target = alice.download("model", "Span-Model", tmp_path / "out")
    assert (target / "weights.bin").read_bytes() == data
    ((url, start, end, headers),) = [r for r in reads if r[0].endswith("/weights.bin")]
    assert url.startswith(hub.url + "/api/models/Span-Model/versions/1/files/")
    assert (start, end) == (0, len(data))
    assert headers["Authorization"].startswith("Bearer ")


def test_a_span_the_hub_cuts_short_is_finished_by_a_stream(
    hub: InProcessHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    data = _private_model(hub, tmp_path / "m", 2 * 1024 * 1024)
    original = SpanReader.read

    def broken(self: SpanReader, url: str, start: int, end: int, whole: bool, headers: dict | None = None):
        got = original(self, url, start, end, whole, headers)
        raise StorageReadError("cut off", got[: len(got) // 3])

    monkeypatch.setattr(SpanReader, "read", broken)
    with RemoteRepository(hub.url, hub.token("alice")) as alice:
        target = alice.download("model", "Span-Model", tmp_path / "out")
    assert (target / "weights.bin").read_bytes() == data
