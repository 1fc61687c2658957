"""The client's sender of upload spans (``client/storage_writes.py``): the exact bytes asked for, in one
request per span on a kept connection, and every way it can fail ending in a clear error."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from eohub.client.storage_writes import SpanSender, StorageWriteError, _send_copies
from eohub.errors import IntegrityError


class _Server:
    """An HTTP server that keeps each request's body and answers ``answer`` (or cuts the connection)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.connections: set[tuple[str, int]] = set()
        self.answer = b'{"ok": true}'
        self.cut = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_PUT(self) -> None:  # noqa: N802 - http.server's name
                outer.connections.add(self.client_address)
                outer.headers.append(dict(self.headers))
                length = int(self.headers["Content-Length"])
                if outer.cut:
                    self.rfile.read(min(length, 1000))
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                outer.bodies.append(self.rfile.read(length))
                self.send_response(200)
                self.send_header("Content-Length", str(len(outer.answer)))
                self.end_headers()
                self.wfile.write(outer.answer)

            do_PATCH = do_PUT  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.http.shutdown()


@pytest.fixture
def sender() -> Iterator[SpanSender]:
    s = SpanSender(10.0, "eohub-test")
    yield s
    s.close()


def test_spans_of_a_file_arrive_exactly_on_one_kept_connection(
    server: _Server, sender: SpanSender, tmp_path: Path
):
    data = os.urandom(20 * 1024 * 1024 + 17)  # more than one sendfile step
    path = tmp_path / "weights.bin"
    path.write_bytes(data)
    counted: list[int] = []
    spans = [(0, 5), (5, 20 * 1024 * 1024), (20 * 1024 * 1024 + 5, 12)]
    with open(path, "rb") as f:
        for start, length in spans:
            answer = sender.send(
                "PATCH",
                f"{server.url}/api/uploads/x?a=1",
                f,
                start,
                length,
                {"X-Test": "1"},
                1024,
                "w.bin",
                counted.append,
            )
            assert answer.status == 200 and answer.content == b'{"ok": true}'
    assert server.bodies == [data[s : s + n] for s, n in spans]
    assert sum(counted) == sum(n for _, n in spans)
    assert all(h["X-Test"] == "1" and h["Content-Length"] for h in server.headers)
    assert len(server.connections) == 1


def test_a_file_shorter_than_its_span_is_an_integrity_error(
    server: _Server, sender: SpanSender, tmp_path: Path
):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"x" * 1000)
    with open(path, "rb") as f, pytest.raises(IntegrityError, match="w.bin: the file shrank"):
        sender.send("PUT", f"{server.url}/k", f, 0, 5000, {}, 1024, "w.bin")


def test_an_answer_past_the_bound_is_refused(server: _Server, sender: SpanSender, tmp_path: Path):
    server.answer = b"y" * 5000
    path = tmp_path / "weights.bin"
    path.write_bytes(b"x" * 1000)
    with open(path, "rb") as f, pytest.raises(IntegrityError, match="more than 4096 bytes"):
        sender.send("PUT", f"{server.url}/k", f, 0, 1000, {}, 4096, "w.bin")


def test_a_connection_cut_mid_body_says_how_much_left(server: _Server, sender: SpanSender, tmp_path: Path):
    server.cut = True
    path = tmp_path / "weights.bin"
    path.write_bytes(os.urandom(64 * 1024 * 1024))
    with open(path, "rb") as f, pytest.raises(StorageWriteError) as caught:
        sender.send("PUT", f"{server.url}/k", f, 0, 64 * 1024 * 1024, {}, 1024, "w.bin")
    assert 0 <= caught.value.sent < 64 * 1024 * 1024
    server.cut = False
    with open(path, "rb") as f:  # the next request opens a new connection
        assert sender.send("PUT", f"{server.url}/k", f, 0, 10, {}, 1024, "w.bin").status == 200


def test_nothing_listening_is_a_write_error(sender: SpanSender, tmp_path: Path):
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    path = tmp_path / "weights.bin"
    path.write_bytes(b"x")
    with open(path, "rb") as f, pytest.raises(StorageWriteError):
        sender.send("PUT", f"http://127.0.0.1:{port}/k", f, 0, 1, {}, 1024, "w.bin")


def test_the_copying_path_of_tls_sends_the_same_bytes(tmp_path: Path):
    data = os.urandom(3 * 1024 * 1024 + 5)
    path = tmp_path / "weights.bin"
    path.write_bytes(data)
    left, right = socket.socketpair()
    received = bytearray()

    def drain() -> None:
        while chunk := right.recv(1 << 20):
            received.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    with open(path, "rb") as f:
        assert _send_copies(left, f, 7, len(data) - 7) == len(data) - 7
        assert _send_copies(left, f, len(data) - 2, 10) == 2  # the end of the file comes first
    left.close()
    reader.join()
    right.close()
    assert bytes(received) == data[7:] + data[-2:]


def _tls_server(tmp_path: Path) -> tuple[_Server, Path]:
    """:class:`_Server` over TLS with a certificate of its own, made by ``openssl``."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server = _Server()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.http.socket = context.wrap_socket(server.http.socket, server_side=True)
    server.url = server.url.replace("http://", "https://")
    return server, cert


def test_over_tls_the_bytes_arrive_and_the_certificates_trusted_are_those_of_httpx(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    server, cert = _tls_server(tmp_path)
    data = os.urandom(3 * 1024 * 1024 + 1)
    path = tmp_path / "weights.bin"
    path.write_bytes(data)
    try:
        untrusting = SpanSender(10.0, "eohub-test")
        with open(path, "rb") as f, pytest.raises(StorageWriteError, match="CERTIFICATE_VERIFY_FAILED"):
            untrusting.send("PUT", f"{server.url}/k", f, 0, len(data), {}, 1024, "w.bin")
        untrusting.close()
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # as httpx reads it for the hub's session
        trusting = SpanSender(10.0, "eohub-test")
        with open(path, "rb") as f:
            assert (
                trusting.send("PUT", f"{server.url}/k", f, 5, len(data) - 5, {}, 1024, "w.bin").status == 200
            )
        trusting.close()
        assert server.bodies == [data[5:]]
    finally:
        server.http.shutdown()
