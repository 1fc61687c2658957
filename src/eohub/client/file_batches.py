"""Small files of a version from a hub that serves the bytes itself, many per request.

A hub on local storage answers each ``GET .../files/{path}`` itself: for a version of a thousand small
files, a thousand round trips and a thousand requests on the hub. The client asks
``POST .../versions/{n}/files`` for the next group of small files in the manifest's order (the order the
download threads take them in), and reads a group or two ahead while the threads write. The answer is
framed as :mod:`eohub.core.blob_batch`; it must name exactly the files asked for, with the manifest's
digests and sizes, and each file's bytes are still checked against its SHA-256 as they are written.

A hub that predates the endpoint, or refuses a group, leaves those files to ``GET .../files/{path}``.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from eohub.core.blob_batch import MAX_HEAD_BYTES, decode
from eohub.errors import EohubError, IntegrityError, LimitError, NotFoundError, UsageError
from eohub.repository.manifest import FileEntry

log = logging.getLogger(__name__)

SMALL_FILE_BYTES = 256 * 1024
"""Files at most this large are fetched in groups (the hub answers files up to 1 MiB)."""
GROUP_BYTES = 1024 * 1024
"""Bytes of one group (the hub answers up to 4 MiB)."""
GROUP_FILES = 250
"""Files of one group (the hub answers up to 1,000)."""
READ_AHEAD = 2
"""Groups fetched ahead of the furthest one a download thread has reached."""
KEPT_GROUPS = 8
"""Groups held in memory at most; the files of an evicted group are fetched one by one if still needed."""

Ask = Callable[[list[str], int], bytes]
"""``ask(paths, most)``: the hub's answer body for ``paths``; an answer longer than ``most`` bytes is an
:class:`IntegrityError`."""


class FileBatches:
    """The bytes of the small files of ``entries`` (in download order), fetched a group at a time."""

    def __init__(self, ask: Ask, entries: list[FileEntry]) -> None:
        self._ask = ask
        self._groups = _grouped([e for e in entries if 0 < e.size <= SMALL_FILE_BYTES])
        self._group_of = {e.sha256: i for i, group in enumerate(self._groups) for e in group}
        """Group of each digest: files with the same bytes are asked for once, served from one group."""
        self._fetched: OrderedDict[int, Future[dict[str, bytes]]] = OrderedDict()
        self._started: set[int] = set()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self.enabled = bool(self._groups)

    def bytes_of(self, entry: FileEntry) -> bytes | None:
        """The bytes of ``entry`` as the hub sent them in its group, or ``None``: fetch it alone."""
        number = self._group_of.get(entry.sha256) if 0 < entry.size <= SMALL_FILE_BYTES else None
        if number is None or not self.enabled:
            return None
        with self._lock:
            for ahead in range(number, min(number + READ_AHEAD + 1, len(self._groups))):
                self._start(ahead)
            future = self._fetched.get(number)
        if future is None:
            return None  # evicted: far behind the other threads
        try:
            files = future.result()
        except IntegrityError:
            raise
        except (NotFoundError, UsageError, LimitError) as exc:  # an older hub, or one that refuses groups
            log.info("the hub does not send files in groups (%s); one request per file", exc)
            self.enabled = False
            return None
        except Exception as exc:  # noqa: BLE001 - broken off, busy: each file goes alone, with retries
            log.info("a group of files failed (%s); fetching them one by one", exc)
            return None
        return files.get(entry.sha256)  # kept until the group is dropped: another file may share it

    def close(self) -> None:
        """Stop reading ahead: groups not begun are dropped, those in flight (a few MiB) are waited for."""
        with self._lock:
            self.enabled = False
            pool = self._pool
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _start(self, number: int) -> None:
        if number in self._started:  # fetched, being fetched, or dropped
            return
        self._started.add(number)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(READ_AHEAD + 1, thread_name_prefix="eohub-file-batch")
        while len(self._fetched) >= KEPT_GROUPS:
            self._fetched.popitem(last=False)[1].cancel()
        self._fetched[number] = self._pool.submit(self._fetch, self._groups[number])
        if len(self._started) == len(self._groups):
            self._pool.shutdown(wait=False)  # nothing more to ask for: its threads end with the last group

    def _fetch(self, group: list[FileEntry]) -> dict[str, bytes]:
        """The bytes of ``group`` by digest (asked for as many paths, one per digest)."""
        body = self._ask([e.path for e in group], sum(e.size for e in group) + MAX_HEAD_BYTES + 1)
        try:
            blobs = decode(body)
        except EohubError as exc:
            raise IntegrityError(f"the hub sent a malformed group of files ({exc})") from None
        if [(d, len(b)) for d, b in blobs] != [(e.sha256, e.size) for e in group]:
            raise IntegrityError("the hub sent other files than those asked for in a group")
        return {d: bytes(b) for d, b in blobs}


def _grouped(entries: list[FileEntry]) -> list[list[FileEntry]]:
    """Consecutive groups within :data:`GROUP_BYTES` and :data:`GROUP_FILES`, each digest in one only."""
    groups: list[list[FileEntry]] = []
    group: list[FileEntry] = []
    size = 0
    seen: set[str] = set()
    for e in entries:
        if e.sha256 in seen:
            continue
        seen.add(e.sha256)
        if group and (size + e.size > GROUP_BYTES or len(group) == GROUP_FILES):
            groups.append(group)
            group, size = [], 0
        group.append(e)
        size += e.size
    if group:
        groups.append(group)
    return groups
