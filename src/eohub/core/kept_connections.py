"""Idle ``http.client`` connections kept per host, for the client's readers and senders of spans
(:mod:`eohub.client.storage_reads`, :mod:`eohub.client.storage_writes`) and the hub's HEADs to S3
(:mod:`eohub.storage.s3_heads`).

They connect straight to the host: a URL that the environment sends through a proxy
(``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, unless ``NO_PROXY``; :func:`through_proxy`) is left to
httpx, which honours them.

A thread borrows a connection for one request and gives it back when the answer has been read whole;
any failure closes it instead. A connection the server closed while it was idle (uvicorn after 5 s, S3
after about 20 s) is noticed before it is lent again. At most :data:`MAX_IDLE` are kept, whatever the
number of threads that used them.
"""

from __future__ import annotations

import http.client
import select
import ssl
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import SplitResult, urlsplit

import httpx

MAX_IDLE = 16
CONNECT_SECONDS = 10.0
_DEFAULT_PORTS = {"http": 80, "https": 443}


class KeptConnections:
    """Connections lent to one request at a time and kept between them (see the module docstring)."""

    def __init__(self, timeout: float, tls: Callable[[], ssl.SSLContext] = httpx.create_ssl_context) -> None:
        self.timeout = timeout
        self._make_tls = tls
        self._tls: ssl.SSLContext | None = None
        self._idle: list[tuple[tuple[str, str, int], http.client.HTTPConnection]] = []
        self._lock = threading.Lock()

    @contextmanager
    def lent(self, parts: SplitResult) -> Iterator[http.client.HTTPConnection]:
        """A connection to the host of ``parts`` (an idle one, else a new one), connected. It is kept
        again after the block if it is still open (close it to drop it), closed if the block raises.
        An odd URL (port, scheme) is a ``ValueError``; no server there, an ``OSError``."""
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {parts.scheme}://{parts.netloc}")
        key = (parts.scheme, parts.hostname, parts.port or _DEFAULT_PORTS[parts.scheme])
        connection = self._idle_one(key) or self._new(key)
        try:
            yield connection
        except BaseException:
            connection.close()
            raise
        if connection.sock is None:
            return
        with self._lock:
            if len(self._idle) < MAX_IDLE:
                self._idle.append((key, connection))
                return
        connection.close()

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for _, connection in idle:
            connection.close()

    def _idle_one(self, key: tuple[str, str, int]) -> http.client.HTTPConnection | None:
        while True:
            with self._lock:
                found = next((i for i, (k, _) in enumerate(self._idle) if k == key), None)
                if found is None:
                    return None
                _, connection = self._idle.pop(found)
            if _still_open(connection):
                return connection
            connection.close()

    def _new(self, key: tuple[str, str, int]) -> http.client.HTTPConnection:
        scheme, host, port = key
        if scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, timeout=CONNECT_SECONDS, context=self._context()
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=CONNECT_SECONDS)
        try:
            connection.connect()
            connection.sock.settimeout(self.timeout)
        except BaseException:
            connection.close()
            raise
        return connection

    def _context(self) -> ssl.SSLContext:
        """Made by ``tls`` on first use: by default the certificates httpx trusts (its bundle, or
        ``SSL_CERT_FILE``/``SSL_CERT_DIR``), as for every other request of the client."""
        with self._lock:
            if self._tls is None:
                self._tls = self._make_tls()
            return self._tls


def _still_open(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle connection can carry a request: open, and with nothing to read (an idle
    connection becomes readable when the server closes it, or sends what was not asked for)."""
    if connection.sock is None:
        return False
    poller = select.poll()  # not select(): it refuses descriptors past 1023
    poller.register(connection.sock, select.POLLIN)
    try:
        return not poller.poll(0)
    except OSError:
        return False


def through_proxy(url: str) -> bool:
    """Whether the environment sends requests to ``url`` through a proxy (as httpx reads it)."""
    proxies = urllib.request.getproxies_environment()
    parts = urlsplit(url)
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass_environment(parts.hostname or "", proxies)
