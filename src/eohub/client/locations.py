"""Presigned storage URLs of a version's files, asked of the hub a thousand at a time, ahead of need.

A hub on S3 answers ``GET .../files/{path}`` with a redirect to a presigned URL: two round trips per file,
one of them through the hub. For a version of many small files the client asks
``POST .../locations`` for the URLs of the next thousand files in the manifest's order (the order the
download threads take them in), so each file costs one request, straight to storage.

A hub that serves the bytes itself (local storage) or predates the endpoint answers no URLs: every file
then goes through ``GET .../files/{path}`` as before. URLs come from the hub and are checked like its
redirects (absolute http(s), bounded); the bytes are checked against the manifest's SHA-256 either way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from eohub.errors import EohubError, IntegrityError, NotFoundError, UsageError

log = logging.getLogger(__name__)

FIRST = 64
"""Paths of the first ``POST .../locations``: the downloads start once it is answered..."""
BATCH = 1000
"""... and of each later one (the hub's bound)."""
KEPT_BATCHES = 3
"""Answers kept (the newest first): a large file far behind the other downloads keeps its URL."""
MAX_SECONDS = 7 * 24 * 3600
"""The longest life a presigned S3 URL can have (a hub claiming more sent something else)."""
MARGIN_SECONDS = 60
"""A URL is not used when it expires within this many seconds (the file may take that long)."""
TRIES = 2
"""Failed questions for one batch before its files all go through the hub."""

Ask = Callable[[list[str]], Any]
"""``ask(paths)``: the hub's JSON answer for ``paths``."""


class Locations:
    """Storage URLs of ``paths`` (non-empty files, in download order), asked for in batches: the first
    :data:`FIRST` paths alone (the downloads start after one short answer), then :data:`BATCH` at a
    time, each asked on a thread of its own once the downloads are halfway through the one before, so
    they seldom wait for the hub's answer (presigning a thousand URLs takes it about half a second)."""

    def __init__(self, ask: Ask, paths: list[str], check_url: Callable[[str], str]) -> None:
        self._ask = ask
        self._check_url = check_url
        self._paths = paths
        self._index = {p: i for i, p in enumerate(paths)}
        self._batches: deque[dict[str, tuple[str, float]]] = deque(maxlen=KEPT_BATCHES)
        self._asking: dict[int, threading.Event] = {}
        self._lock = threading.Lock()
        self.enabled = bool(paths)
        self.failure: BaseException | None = None
        self._tries: dict[int, int] = {}
        self._ahead: set[int] = set()

    def url(self, path: str) -> str | None:
        """A URL for ``path`` valid for a while yet, or ``None``: then download it through the hub."""
        at = self._index.get(path)
        if at is None:
            return None
        start, end = _batch_of(at)
        for _ in range(2):  # a batch another thread was asking for, then (if it failed) one's own try
            with self._lock:
                if self.failure is not None:
                    raise self.failure
                if not self.enabled or self._tries.get(start, 0) >= TRIES:
                    return None
                found = self._find(path)  # kept: every span of a large file uses it
                if found is not None and found[1] > time.monotonic():
                    self._ask_ahead(at, start, end)
                    return found[0]
                waiting = self._asking.get(start)
                if waiting is None:
                    self._asking[start] = threading.Event()
            if waiting is not None:
                waiting.wait()
                continue
            self._fill(start, end)
            with self._lock:
                if self.failure is not None:
                    raise self.failure
                found = self._find(path)
            return found[0] if found is not None and found[1] > time.monotonic() else None
        return None

    def _ask_ahead(self, at: int, start: int, end: int) -> None:
        """Past the middle of a batch, ask for the next on a thread (called holding the lock)."""
        if at - start < (end - start) // 2 or end >= len(self._paths) or end in self._ahead:
            return
        self._ahead.add(end)  # once: a batch that failed is asked again only by a download that needs it
        if end in self._asking or any(self._paths[end] in batch for batch in self._batches):
            return
        self._asking[end] = threading.Event()
        _, after = _batch_of(end)
        threading.Thread(target=self._fill, args=(end, after), name="eohub-locations", daemon=True).start()

    def _fill(self, start: int, end: int) -> None:
        """Ask for the URLs of ``paths[start:end]``; whoever waits for them is told when it is done."""
        urls: dict[str, str] = {}
        seconds, failure, failed, no_urls = 0, None, False, False
        try:
            paths = self._paths[start:end]
            answer = self._ask(paths)
        except (NotFoundError, UsageError) as exc:  # an older hub, or one that does not presign
            log.info("the hub gives no storage URLs (%s); downloading through it", exc)
            no_urls = True
        except EohubError as exc:
            log.info("asking the hub for storage URLs failed (%s); downloading through it", exc)
            failed = True
        except BaseException as exc:  # on a thread of its own: the downloads that need it raise it
            failure = exc
        else:
            try:
                urls, seconds = _checked(answer, set(paths), self._check_url)
                no_urls = not urls  # the hub serves the bytes itself
            except BaseException as exc:  # a malformed answer fails the download
                failure = exc
        finally:  # whatever happened, the downloads waiting for this batch go on
            with self._lock:
                if urls:
                    deadline = time.monotonic() + seconds - MARGIN_SECONDS
                    self._batches.appendleft({p: (u, deadline) for p, u in urls.items()})
                if no_urls:
                    self.enabled = False
                if failed:
                    self._tries[start] = self._tries.get(start, 0) + 1
                self.failure = self.failure or failure
                self._asking.pop(start).set()

    def _find(self, path: str) -> tuple[str, float] | None:
        return next((batch[path] for batch in self._batches if path in batch), None)


def _batch_of(at: int) -> tuple[int, int]:
    """The bounds of the batch holding the path at index ``at``."""
    if at < FIRST:
        return 0, FIRST
    start = FIRST + (at - FIRST) // BATCH * BATCH
    return start, start + BATCH


def _checked(answer: Any, asked: set[str], check_url: Callable[[str], str]) -> tuple[dict[str, str], int]:
    """The URLs and their lifetime in a hub's answer, refused unless well formed and for paths asked."""
    urls = answer.get("locations") if isinstance(answer, dict) else None
    seconds = answer.get("expires_in") if isinstance(answer, dict) else None
    if (
        not isinstance(urls, dict)
        or not isinstance(seconds, int)
        or isinstance(seconds, bool)
        or not 0 < seconds <= MAX_SECONDS
        or not all(isinstance(p, str) and p in asked and isinstance(u, str) for p, u in urls.items())
    ):
        raise IntegrityError("the hub sent malformed storage locations")
    return {p: check_url(u) for p, u in urls.items()}, seconds
