"""Presigned storage URLs of a version's files, asked of the hub a thousand at a time.

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

BATCH = 1000
"""Paths per ``POST .../locations`` (the hub's bound)."""
KEPT_BATCHES = 3
"""Answers kept (the newest first): a large file far behind the other downloads keeps its URL."""
MAX_SECONDS = 7 * 24 * 3600
"""The longest life a presigned S3 URL can have (a hub claiming more sent something else)."""
MARGIN_SECONDS = 60
"""A URL is not used when it expires within this many seconds (the file may take that long)."""

Ask = Callable[[list[str]], Any]
"""``ask(paths)``: the hub's JSON answer for ``paths``."""


class Locations:
    """Storage URLs of ``paths`` (non-empty files, in download order), asked for in batches as needed."""

    def __init__(self, ask: Ask, paths: list[str], check_url: Callable[[str], str]) -> None:
        self._ask = ask
        self._check_url = check_url
        self._paths = paths
        self._index = {p: i for i, p in enumerate(paths)}
        self._batches: deque[dict[str, tuple[str, float]]] = deque(maxlen=KEPT_BATCHES)
        self._lock = threading.Lock()
        self.enabled = bool(paths)

    def url(self, path: str) -> str | None:
        """A URL for ``path`` valid for a while yet, or ``None``: then download it through the hub."""
        with self._lock:
            if not self.enabled or path not in self._index:
                return None
            found = self._find(path)  # kept: every span of a large file uses it
            if found is None or found[1] <= time.monotonic():
                start = self._index[path]
                self._fill(self._paths[start : start + BATCH])
                found = self._find(path)
            return found[0] if found is not None and found[1] > time.monotonic() else None

    def _fill(self, paths: list[str]) -> None:
        try:
            answer = self._ask(paths)
        except (NotFoundError, UsageError) as exc:  # an older hub, or one that does not presign
            log.info("the hub gives no storage URLs (%s); downloading through it", exc)
            self.enabled = False
            return
        except EohubError as exc:
            log.info("asking the hub for storage URLs failed (%s); downloading through it", exc)
            return
        urls, seconds = _checked(answer, set(paths), self._check_url)
        if not urls:
            self.enabled = False  # the hub serves the bytes itself
            return
        deadline = time.monotonic() + seconds - MARGIN_SECONDS
        self._batches.appendleft({p: (u, deadline) for p, u in urls.items()})

    def _find(self, path: str) -> tuple[str, float] | None:
        return next((batch[path] for batch in self._batches if path in batch), None)


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
