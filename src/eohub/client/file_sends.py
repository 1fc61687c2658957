"""How the bytes of one file leave the client (the sending half of
:class:`~eohub.client.uploads.HubUploads`): a span to the hub in a ``PATCH``, or presigned ``PUT``
requests straight to S3, each span sent by ``sendfile`` (:mod:`eohub.client.storage_writes`) or, for a
URL the environment sends through a proxy, through httpx."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from eohub.client.http import HubSession, answer_of, read_bounded
from eohub.client.storage_writes import SpanSender, StorageWriteError
from eohub.core.kept_connections import through_proxy
from eohub.errors import IntegrityError, TransferError
from eohub.repository.confine import open_source
from eohub.repository.manifest import FileEntry
from eohub.repository.progress import Progress

log = logging.getLogger(__name__)

PART_THREADS = 4
"""Parts of one file sent to S3 at once."""

MAX_STORAGE_ANSWER = 64 * 1024
"""The most of a storage server's answer to a ``PUT`` that the client reads (an S3 error: a few hundred
bytes)."""

STREAM_BYTES = 1024 * 1024
"""Bytes read and sent at a time when an upload goes through httpx (a proxy)."""

MAX_STATE_ANSWER = 1024 * 1024
"""The most of a hub's answer to a ``PATCH`` the client reads (an upload's state, or why not)."""


class FileSends:
    """Sends spans of files to the hub and to storage (see the module docstring)."""

    session: HubSession
    url: str
    bytes_sent: int
    _lock: threading.Lock
    _storage: httpx.Client | None
    _sender: SpanSender | None

    def storage(self) -> httpx.Client:
        """The HTTP client for presigned storage URLs: it never sends the hub's token or cookies."""
        with self._lock:
            if self._storage is None:
                self._storage = httpx.Client(
                    timeout=httpx.Timeout(self.session.http.timeout.read or 120.0, connect=10.0),
                    limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
                    headers={"User-Agent": self.session.http.headers["User-Agent"]},
                    follow_redirects=False,
                )
            return self._storage

    def _send_span(
        self,
        method: str,
        url: str,
        f: BinaryIO,
        start: int,
        stop: int,
        headers: dict[str, str],
        most: int,
        progress: Progress,
        what: str,
    ) -> httpx.Response:
        """The bytes ``[start, stop)`` of ``f`` sent by ``sendfile`` (:mod:`eohub.client.storage_writes`),
        counted as sent as they go (also those a broken connection loses, :class:`StorageWriteError`);
        the answer as an :class:`httpx.Response`."""

        def advance(count: int) -> None:
            with self._lock:
                self.bytes_sent += count
            progress.advance(count)

        if through_proxy(url):
            return self._send_streamed(method, url, f, start, stop, headers, most, what, advance)
        answer = self._span_sender().send(method, url, f, start, stop - start, headers, most, what, advance)
        return answer_of(answer.status, list(answer.headers.items()), answer.content)

    def _send_streamed(
        self,
        method: str,
        url: str,
        f: BinaryIO,
        start: int,
        stop: int,
        headers: dict[str, str],
        most: int,
        what: str,
        advance: Callable[[int], None],
    ) -> httpx.Response:
        """:meth:`_send_span` through httpx, which honours the environment's proxies: the bytes read 1 MiB
        at a time. The hub's client for the hub's URL, the storage client (no token) for any other."""
        sent = 0

        def body() -> Iterator[bytes]:
            nonlocal sent
            position = start
            while position < stop:
                chunk = os.pread(f.fileno(), min(STREAM_BYTES, stop - position), position)
                if not chunk:
                    raise IntegrityError(f"{what}: the file shrank while it was being uploaded")
                position += len(chunk)
                sent += len(chunk)
                advance(len(chunk))
                yield chunk

        client = self.session.http if url.startswith(f"{self.url}/") else self.storage()
        sent_headers = {**headers, "Content-Length": str(stop - start)}
        try:
            with client.stream(method, url, content=body(), headers=sent_headers) as streamed:
                return read_bounded(streamed, url.split("?")[0], most)
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            raise StorageWriteError(str(exc) or type(exc).__name__, sent) from None

    def _span_sender(self) -> SpanSender:
        with self._lock:
            if self._sender is None:
                timeout = self.session.http.timeout.read or 120.0
                self._sender = SpanSender(timeout, self.session.http.headers["User-Agent"])
            return self._sender

    def _send_direct(self, entry: FileEntry, source: Path, plan: dict[str, Any], progress: Progress) -> None:
        """Send ``plan``'s targets straight to storage, asking the hub again for more parts or for new
        URLs when some expired; the hub's offset is counted as done."""
        progress.advance(plan["offset"])
        done: set[int | None] = set()
        refusals = 0
        with open_source(source) as f:
            while True:
                targets = [t for t in plan["targets"] if t["part"] not in done]
                refused = run_all(
                    lambda t: self._put(entry, source, f, t, progress, done),
                    targets,
                    PART_THREADS if len(targets) > 1 else 1,
                    collect=True,
                )
                if not refused and not plan["more"]:
                    return
                refusals = refusals + 1 if refused else 0
                if refused:
                    log.info(
                        "upload of %s refused by the storage (%s); planning again", entry.path, refused[0]
                    )
                if refusals > self.session.attempts:
                    raise TransferError(
                        f"{source}: the storage keeps refusing the upload ({refused[0]}); "
                        "run the command again"
                    )
                plan = self._plans([entry]).get(entry.sha256) or {}  # type: ignore[attr-defined] - HubUploads'
                if plan.get("complete") or not plan.get("targets"):
                    return
                progress.advance(-sum(t["length"] for t in plan["targets"] if t["part"] in done))
                done.clear()

    def _put(
        self,
        entry: FileEntry,
        source: Path,
        f: BinaryIO,
        target: dict[str, Any],
        progress: Progress,
        done: set,
    ) -> str | None:
        """One presigned ``PUT`` of a file's span; ``None`` when stored, else why the storage refused it
        (an expired URL: the caller asks the hub for a new one). Transient failures are retried here."""
        start, length = target["offset"], target["length"]
        headers = dict(target["headers"])
        for attempt in range(1, self.session.attempts + 1):
            try:
                response = self._send_span(
                    "PUT",
                    target["url"],
                    f,
                    start,
                    start + length,
                    headers,
                    MAX_STORAGE_ANSWER,
                    progress,
                    str(entry.path),
                )
            except StorageWriteError as exc:
                reason = str(exc)
                progress.advance(-exc.sent)
            else:
                if response.status_code < 300:
                    with self._lock:
                        done.add(target["part"])
                    return None
                if response.status_code == 400 and b"BadDigest" in response.content[:4096]:
                    raise IntegrityError(
                        f"{source}: the file changed since it was read (its bytes no longer match its "
                        "SHA-256)"
                    )
                reason = f"{response.status_code} {response.text[:200]}"
                # expired, refused, or (412) the blob created by another upload: a new plan helps
                progress.advance(-length)
                if response.status_code in (400, 401, 403, 404, 412):
                    return reason
            log.info("upload of %s to storage failed (%s); retrying", entry.path, reason)
            time.sleep(self.session.backoff * 2 ** (attempt - 1))
        raise TransferError(f"{source}: the storage cannot be reached ({reason}); run the command again")


def run_all(work: Callable[[Any], Any], items: list[Any], threads: int, collect: bool = False) -> list[Any]:
    """``work(item)`` for every item on ``threads`` threads; the first exception stops the rest and is
    raised. With ``collect``, the results that are not ``None``."""
    if threads <= 1 or len(items) <= 1:
        results = [work(item) for item in items]
    else:
        with ThreadPoolExecutor(min(threads, len(items)), thread_name_prefix="eohub-upload") as pool:
            futures = [pool.submit(work, item) for item in items]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f for f in futures if f.done() and f.exception() is not None), None)
            if failed is not None:
                for future in futures:
                    future.cancel()
                raise failed.exception()  # type: ignore[misc]
            results = [f.result() for f in futures]
    return [r for r in results if r is not None] if collect else []
