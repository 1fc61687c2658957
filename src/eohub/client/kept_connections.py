"""One ``http.client`` connection kept per thread and host, for the readers and senders of large spans
(:mod:`eohub.client.storage_reads`, :mod:`eohub.client.storage_writes`)."""

from __future__ import annotations

import http.client
import ssl
import threading

import httpx


class KeptConnections:
    """The calling thread's connection to a host, opened on first use and kept until dropped."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._tls: ssl.SSLContext | None = None
        self._local = threading.local()
        self._open: set[http.client.HTTPConnection] = set()
        self._lock = threading.Lock()

    def get(self, scheme: str, host: str, port: int | None) -> http.client.HTTPConnection:
        """This thread's connection to ``scheme://host:port`` (its connection to another host is closed)."""
        key = (scheme, host, port)
        if getattr(self._local, "key", None) != key:
            self.drop()
            if scheme == "https":
                context = self._context()
                connection = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=context)
            else:
                connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
            self._local.connection = connection
            self._local.key = key
            with self._lock:
                self._open.add(self._local.connection)
        return self._local.connection

    def _context(self) -> ssl.SSLContext:
        """The certificates httpx trusts (its bundle, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``), as for every
        other request of the client."""
        with self._lock:
            if self._tls is None:
                self._tls = httpx.create_ssl_context()
            return self._tls

    def drop(self) -> None:
        """Close this thread's connection (after an error, or an answer that leaves it unusable)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            with self._lock:
                self._open.discard(connection)
        self._local.connection = None
        self._local.key = None

    def close(self) -> None:
        """Close every connection of every thread."""
        with self._lock:
            for connection in self._open:
                connection.close()
            self._open.clear()
