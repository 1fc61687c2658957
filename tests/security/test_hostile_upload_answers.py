"""What a storage server or hub can answer to the bytes of an upload sent by ``client/storage_writes.py``
(a ``PATCH`` to the hub, a presigned ``PUT``): every odd answer, URL and connection ends in an eohub
error or a retry, never a traceback, a bound passed, or a part taken as stored when it was not."""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from eohub.client.hub_checks import checked_plan
from eohub.client.remote import RemoteRepository
from eohub.client.storage_writes import SpanSender, StorageWriteError
from eohub.core.kept_connections import MAX_IDLE
from eohub.errors import EohubError
from eohub.repository.manifest import FileEntry
from eohub.repository.progress import Silent
from tests.servers import request_head

HUB = "http://127.0.0.1:9"  # nothing there: these tests talk to the storage server only


def _raw_server(
    answer: bytes,
    family: socket.AddressFamily = socket.AF_INET,
    close: bool = False,
    closed: threading.Event | None = None,
) -> str:
    """A server answering every request (headers and a Content-Length body) with ``answer``, on kept
    connections unless ``close`` (then ``closed`` is set once the connection is closed); its URL."""
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    listener = socket.create_server((host, 0), family=family)

    def one(conn: socket.socket) -> None:
        buf = b""
        try:
            while (request := request_head(conn, buf)) is not None:
                head, buf = request
                line = next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))
                length = int(line.split(b":")[1])
                while len(buf) < length:
                    buf += conn.recv(65536)
                buf = buf[length:]
                conn.sendall(answer)
                if close:
                    return
        except OSError:
            pass
        finally:
            conn.close()
            if closed is not None:
                closed.set()

    def serve() -> None:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=one, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    port = listener.getsockname()[1]
    return f"http://[::1]:{port}" if family == socket.AF_INET6 else f"http://127.0.0.1:{port}"


@pytest.fixture
def repo() -> Iterator[RemoteRepository]:
    remote = RemoteRepository(HUB, "secret-token", attempts=2, backoff=0.01)
    yield remote
    remote.close()


def _entry(tmp_path: Path, data: bytes = b"0123456789") -> tuple[FileEntry, Path]:
    path = tmp_path / "w.bin"
    path.write_bytes(data)
    return FileEntry("w.bin", len(data), hashlib.sha256(data).hexdigest()), path


def _plan(entry: FileEntry, targets: list[dict]) -> dict:
    return checked_plan({"sha256": entry.sha256, "method": "direct", "targets": targets}, entry, HUB)


def test_an_answer_in_an_encoding_not_asked_for_is_refused_before_it_is_inflated(tmp_path: Path, repo):
    bomb = gzip.compress(b"\0" * (60 * 1024 * 1024), 9)
    assert len(bomb) < 64 * 1024
    storage = _raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb) + bomb
    )
    entry, path = _entry(tmp_path)
    tracemalloc.start()
    try:
        with path.open("rb") as f, pytest.raises(StorageWriteError, match="encoding"):
            repo._send_span("PUT", f"{storage}/bucket/key", f, 0, 10, {}, 64 * 1024, Silent(), "w.bin")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024


def test_an_error_in_a_broken_encoding_is_a_one_line_error(tmp_path: Path, repo):
    storage = _raw_server(
        b"HTTP/1.1 403 Forbidden\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nnope!"
    )
    entry, path = _entry(tmp_path)
    plan = _plan(entry, [{"url": f"{storage}/bucket/key?X-Amz-Signature=x", "offset": 0, "length": 10}])
    with pytest.raises(EohubError) as caught:
        repo._send_direct(entry, path, plan, Silent())
    assert "\n" not in str(caught.value)


def test_an_interim_answer_is_not_a_stored_part(tmp_path: Path, repo):
    storage = _raw_server(
        b"HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"
    )
    entry, path = _entry(tmp_path)
    done: set = set()
    target = {"url": f"{storage}/k", "headers": {}, "offset": 0, "length": 10, "part": 1}
    with path.open("rb") as f, pytest.raises(EohubError, match="cannot be reached"):
        repo._put(entry, path, f, target, Silent(), done)
    assert done == set()


def test_an_ipv6_storage_host_is_reached(tmp_path: Path, repo):
    storage = _raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", family=socket.AF_INET6)
    entry, path = _entry(tmp_path)
    done: set = set()
    with path.open("rb") as f:
        assert repo._put(entry, path, f, {"url": f"{storage}/k", "headers": {}, "offset": 0, "length": 10,
                                          "part": 1}, Silent(), done) is None  # fmt: skip
    assert done == {1}


@pytest.mark.parametrize("url", ["http://[::abcd]/k", "http://[2001:db8::1]:99999/k", "http://h:0x50/k"])
def test_an_odd_storage_url_is_a_one_line_error(tmp_path: Path, repo, url: str):
    entry, path = _entry(tmp_path)
    try:
        plan = _plan(entry, [{"url": url, "offset": 0, "length": 10}])
    except EohubError:
        return  # refused with the plan: as good
    with pytest.raises(EohubError) as caught:
        repo._send_direct(entry, path, plan, Silent())
    assert "\n" not in str(caught.value)


def test_a_connection_the_server_closed_while_idle_is_replaced_not_a_failure(tmp_path: Path):
    closed = threading.Event()
    storage = _raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", close=True, closed=closed)
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    sender = SpanSender(5.0, "ua")
    try:
        with path.open("rb") as f:
            assert sender.send("PUT", f"{storage}/k", f, 0, 3, {}, 100, "f").status == 200
            assert closed.wait(10)  # the server has closed the kept connection
            assert sender.send("PUT", f"{storage}/k", f, 0, 3, {}, 100, "f").status == 200
    finally:
        sender.close()


def _sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return count


def test_parts_of_many_files_keep_a_bounded_number_of_connections(tmp_path: Path, repo):
    storage = _raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    entry, path = _entry(tmp_path, os.urandom(4000))
    before = _sockets()
    for _ in range(20):  # 20 files of 4 parts, each file sent by a new pool of part threads
        targets = [
            {"url": f"{storage}/k?partNumber={n}", "offset": (n - 1) * 1000, "length": 1000, "part": n}
            for n in range(1, 5)
        ]
        repo._send_direct(entry, path, _plan(entry, targets), Silent())
    assert len(repo._sender.connections._idle) <= MAX_IDLE
    assert _sockets() - before <= MAX_IDLE
