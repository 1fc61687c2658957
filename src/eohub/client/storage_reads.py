"""Large spans of a file read into one buffer, from a presigned storage URL or from the hub itself, with
the standard library's ``http.client``.

httpx reads a body 64 KiB at a time and sets the socket's timeout before each read: for a 1 GiB file
that is some 16,000 reads, each with an ``ioctl`` and a ``poll``, seconds of CPU on a small machine.
``HTTPResponse.readinto`` fills the whole span with as few ``recv`` calls as the socket allows.
Connections are kept between spans (:mod:`eohub.core.kept_connections`).
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

from eohub.core.kept_connections import KeptConnections


class StorageReadError(Exception):
    """The span could not be read (connection, status): ``got`` bytes of it arrived first."""

    def __init__(self, reason: str, got: bytearray | None = None) -> None:
        super().__init__(reason)
        self.got = got or bytearray()


class SpanReader:
    """Reads ``[start, end)`` of storage URLs on kept connections."""

    def __init__(self, timeout: float, user_agent: str) -> None:
        self.user_agent = user_agent
        self.connections = KeptConnections(timeout)

    def close(self) -> None:
        """Close the kept connections."""
        self.connections.close()

    def read(
        self, url: str, start: int, end: int, whole: bool, headers: dict[str, str] | None = None
    ) -> bytearray:
        """The bytes ``[start, end)`` of ``url`` (``whole``: the span is the entire object, so a 200
        answer will do), sent with ``headers`` besides the range; anything else raises
        :class:`StorageReadError`."""
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        buffer = bytearray(end - start)
        got = 0
        try:
            with self.connections.lent(parts) as connection:
                sent = {**(headers or {}), "Range": f"bytes={start}-{end - 1}", "User-Agent": self.user_agent}
                connection.request("GET", target, headers=sent)
                response = connection.getresponse()
                if response.status != 206 and not (whole and response.status == 200):
                    raise StorageReadError(f"the storage answered {response.status}")
                view = memoryview(buffer)
                while got < len(buffer):
                    count = response.readinto(view[got:])
                    if not count:
                        break
                    got += count
                if response.read(1) or got < len(buffer) or response.will_close:
                    connection.close()  # more than asked for (ignored: the file's digest is checked), or less
        except (OSError, ValueError, http.client.HTTPException) as exc:
            raise StorageReadError(str(exc) or type(exc).__name__, buffer[:got]) from None
        if got < len(buffer):
            raise StorageReadError(f"the storage sent {got} of {len(buffer)} bytes", buffer[:got])
        return buffer
