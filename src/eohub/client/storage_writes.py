"""A span of a file sent as the body of one request with the standard library's ``http.client``, the
kernel copying the bytes from the file to the socket (``os.sendfile``).

Through httpx, each MiB of an upload is read into a new buffer, copied into the socket and freed: for a
1 GiB file that is a second of the client's CPU on a small machine, taken from the hub or the storage
server beside it. ``sendfile`` moves the bytes from the page cache to the socket without them passing
through Python (over TLS, through one reused buffer). The answer is read whole up to a bound.
Connections are kept between requests (:mod:`eohub.core.kept_connections`).
"""

from __future__ import annotations

import http.client
import os
import select
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

from eohub.core.kept_connections import KeptConnections
from eohub.errors import IntegrityError

STEP = 8 * 1024 * 1024
"""Bytes handed to ``sendfile`` at a time (progress is reported after each)."""
COPY = 1024 * 1024
"""Over TLS: bytes read into the one buffer, encrypted and sent at a time."""


class StorageWriteError(Exception):
    """The request could not be sent or its answer read (connection, time-out): ``sent`` bytes of the
    body left first."""

    def __init__(self, reason: str, sent: int = 0) -> None:
        super().__init__(reason)
        self.sent = sent


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    content: bytes


class SpanSender:
    """Sends ``[start, start + length)`` of open files to URLs on kept connections."""

    def __init__(self, timeout: float, user_agent: str) -> None:
        self.user_agent = user_agent
        self.connections = KeptConnections(timeout)

    def close(self) -> None:
        """Close the kept connections."""
        self.connections.close()

    def send(
        self,
        method: str,
        url: str,
        source: BinaryIO,
        start: int,
        length: int,
        headers: dict[str, str],
        most: int,
        what: str,
        advance: Callable[[int], None] = lambda n: None,
    ) -> Answer:
        """``method url`` with the bytes ``[start, start + length)`` of ``source`` (the file ``what``) as
        the body and ``headers`` besides ``Content-Length``; ``advance(n)`` after each ``n`` bytes sent.
        An answer of more than ``most`` bytes is an :class:`IntegrityError`, a file shorter than the span
        too; a broken connection a :class:`StorageWriteError`."""
        sent = 0
        try:
            parts = urlsplit(url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            with self.connections.lent(parts) as connection:
                connection.putrequest(method, target, skip_accept_encoding=True)
                sent_headers = {
                    **headers,
                    "Content-Length": str(length),
                    "Accept-Encoding": "identity",
                    "User-Agent": self.user_agent,
                }
                for name, value in sent_headers.items():
                    connection.putheader(name, value)
                connection.endheaders()
                send = _send_copies if isinstance(connection.sock, ssl.SSLSocket) else _send_file
                while sent < length:
                    count = send(connection.sock, source, start + sent, min(STEP, length - sent))
                    if not count:
                        raise IntegrityError(f"{what}: the file shrank while it was being uploaded")
                    sent += count
                    advance(count)
                response = connection.getresponse()
                if response.status < 200:  # http.client skips 100 only: a 102 or 103 is not the answer
                    raise StorageWriteError(f"an interim answer ({response.status}) for the answer", sent)
                content = response.read(most + 1)
                if len(content) > most:
                    raise IntegrityError(f"{parts.netloc} sent an answer of more than {most} bytes")
                if response.read(1) or response.will_close:
                    connection.close()
                encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
                if encoding != "identity":  # asked for none: a compressed answer could inflate past `most`
                    raise StorageWriteError(
                        f"an answer in {encoding[:40]!r} encoding, which was not asked for"
                    )
                return Answer(response.status, response.headers, content)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            raise StorageWriteError(str(exc) or type(exc).__name__, sent) from None


def _send_file(sock: socket.socket, source: BinaryIO, offset: int, count: int) -> int:
    """Up to ``count`` bytes of ``source`` from ``offset``, copied by the kernel; how many were sent (0 at
    the end of the file). Offsets are explicit: the file object is shared by part threads and never
    read or moved."""
    timeout = sock.gettimeout()
    while True:
        try:
            return os.sendfile(sock.fileno(), source.fileno(), offset, count)
        except BlockingIOError:  # a socket with a time-out does not block: wait until it takes more
            poller = select.poll()  # not select(): it refuses descriptors past 1023
            poller.register(sock, select.POLLOUT)
            if not poller.poll(None if timeout is None else timeout * 1000):
                raise TimeoutError("the server took no bytes in time") from None


def _send_copies(sock: socket.socket, source: BinaryIO, offset: int, count: int) -> int:
    """The same through one reused buffer (a TLS socket encrypts in Python's process)."""
    buffer = memoryview(bytearray(min(COPY, count)))
    sent = 0
    while sent < count:
        got = os.preadv(source.fileno(), [buffer[: min(len(buffer), count - sent)]], offset + sent)
        if not got:
            break
        sock.sendall(buffer[:got])
        sent += got
    return sent
