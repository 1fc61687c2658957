"""A client whose environment sends its requests through a proxy (``HTTP_PROXY``): the uploads and the
large reads that otherwise go straight to the host with ``http.client`` go through the proxy too."""

from __future__ import annotations

import http.client
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from eohub.client import RemoteRepository
from eohub.core.kept_connections import through_proxy

from .hub_server import InProcessHub
from .repository_helpers import write_q0_model


class _ForwardProxy:
    """A plain-HTTP forward proxy: absolute-form requests relayed to their host; each request line kept."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                outer.seen.append(f"{self.command} {self.path}")
                target = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("proxy-connection", "connection")
                }
                upstream.request(
                    self.command, target.path + (f"?{target.query}" if target.query else ""), body, headers
                )
                answer = upstream.getresponse()
                content = answer.read()
                self.send_response(answer.status)
                for k, v in answer.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
                upstream.close()

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _relay  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[_ForwardProxy]:
    server = _ForwardProxy()
    for name in (
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "http_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.url)
    yield server
    server.http.shutdown()


def test_uploads_and_large_reads_go_through_the_environment_s_proxy(proxy: _ForwardProxy, tmp_path: Path):
    hub = InProcessHub(tmp_path / "hub-home").start()
    try:
        assert through_proxy(f"{hub.url}/api/uploads/x")
        folder = tmp_path / "model"
        write_q0_model(folder, name="proxied")
        weights = os.urandom(3 * 1024 * 1024)  # sent by PATCH, read back in one span
        (folder / "weights.bin").write_bytes(weights)
        with RemoteRepository(hub.url, hub.token("alice")) as remote:
            assert remote.ingest("model", folder).version == 1
            target = Path(remote.download("model", "proxied", tmp_path / "out"))
        assert (target / "weights.bin").read_bytes() == weights
        assert any(line.startswith(f"PATCH {hub.url}/api/uploads/") for line in proxy.seen)
        assert any(line.startswith("GET ") and "weights.bin" in line for line in proxy.seen)
    finally:
        hub.stop()


def test_no_proxy_sends_the_host_straight(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "hub.example.org")
    assert not through_proxy("http://hub.example.org/api/uploads/x")
    assert through_proxy("http://other.example.org/k")
    assert not through_proxy("https://other.example.org/k")  # no proxy for https here
