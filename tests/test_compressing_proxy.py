"""A hub behind a reverse proxy that compresses its JSON answers (nginx ``gzip on; gzip_types
application/json``, a common setting): the client reads every answer decoded, uploads and downloads."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eohub.client import RemoteRepository

from .hub_server import InProcessHub
from .repository_helpers import write_q0_model


class GzipJson:
    """ASGI middleware standing for the proxy: answers of type ``application/json`` gzipped whole."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.compressed = 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start: dict | None = None
        body: list[bytes] = []

        async def relay(message: dict) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                if headers.get(b"content-type", b"").startswith(b"application/json"):
                    start = message
                    return
                await send(message)
            elif message["type"] == "http.response.body" and start is not None:
                body.append(message.get("body", b""))
                if not message.get("more_body"):
                    packed = gzip.compress(b"".join(body))
                    kept = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
                    kept += [(b"content-encoding", b"gzip"), (b"content-length", str(len(packed)).encode())]
                    await send({**start, "headers": kept})
                    await send({"type": "http.response.body", "body": packed})
                    self.compressed += 1
            else:
                await send(message)

        await self.app(scope, receive, relay)


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[InProcessHub, list[GzipJson]]]:
    proxies: list[GzipJson] = []

    def wrap(app: Any) -> GzipJson:
        proxies.append(GzipJson(app))
        return proxies[0]

    server = InProcessHub(tmp_path / "hub-home", wrap=wrap).start()
    yield server, proxies
    server.stop()


def test_a_model_goes_up_and_down_through_a_proxy_that_gzips_json(proxied, tmp_path: Path):
    hub, proxies = proxied
    folder = tmp_path / "model"
    write_q0_model(folder, name="gzipped")
    (folder / "weights.bin").write_bytes(os.urandom(3 * 1024 * 1024))  # sent by PATCH
    (folder / "small.bin").write_bytes(b"small")  # sent in a batch
    with RemoteRepository(hub.url, hub.token("alice")) as remote:
        result = remote.ingest("model", folder)
        assert result.version == 1
        assert [v.number for v in remote.versions("model", "gzipped")] == [1]
        target = Path(remote.download("model", "gzipped", tmp_path / "out"))
    assert (target / "weights.bin").read_bytes() == (folder / "weights.bin").read_bytes()
    assert (target / "small.bin").read_bytes() == b"small"
    assert proxies[0].compressed > 5  # the answers really were compressed
