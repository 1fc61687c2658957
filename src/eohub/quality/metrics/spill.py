"""The metrics' spill store: what each item contributes, on disk rather than in memory.

One SQLite database (stdlib ``sqlite3``) per computation, in a fresh private folder (``tempfile.mkdtemp``:
mode 0700, under the system's temporary folder, never a path the dataset names) removed when the
computation ends, however it ends. A row per item (id, sample rank, split, bbox, the key of its asset
digests); the footprints' R*Tree and the digest index are built at the end. SQLite's page cache and
sorter are bounded (:data:`CACHE_KIB`, temporary tables on disk, no memory map), so the process's memory
stays flat with the item count; the disk holds about 200 bytes per item plus its id.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

CACHE_KIB = 8192
"""SQLite's page cache (and sorter memory) for the store, in KiB."""
BATCH = 2000
"""Rows written at a time."""

_SCHEMA = """
CREATE TABLE items (
    n INTEGER PRIMARY KEY, id TEXT NOT NULL, rank INTEGER NOT NULL, split INTEGER NOT NULL,
    pos INTEGER, seq INTEGER, x0 REAL, y0 REAL, x1 REAL, y1 REAL, gx REAL, key BLOB
);
CREATE TABLE leak (n INTEGER PRIMARY KEY, chunk INTEGER NOT NULL);
"""


class Spill:
    """A private on-disk table of the items, written in batches; use it in a ``with`` block."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="eohub-metrics-"))
        try:
            os.chmod(self.folder, 0o700)
            self.db = sqlite3.connect(self.folder / "items.sqlite", isolation_level=None)
            for pragma in (
                "journal_mode = OFF",
                "synchronous = OFF",
                "locking_mode = EXCLUSIVE",
                "temp_store = FILE",
                "mmap_size = 0",
                f"cache_size = -{CACHE_KIB}",
            ):
                self.db.execute(f"PRAGMA {pragma}")
            self.db.executescript(_SCHEMA)
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        self.pending: list[tuple[Any, ...]] = []
        self.count = 0

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def add(self, row: tuple[Any, ...]) -> None:
        """One item: ``(id, rank, split, pos, seq, x0, y0, x1, y1, gx, key)``."""
        self.pending.append((self.count, *row))
        self.count += 1
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            with self.db:
                self.db.execute("BEGIN")
                self.db.executemany("INSERT INTO items VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", self.pending)
            self.pending.clear()

    def write(self, sql: str, rows: Sequence[tuple[Any, ...]] = ()) -> None:
        """Run ``sql`` (over ``rows`` when given) in one transaction."""
        self.flush()
        with self.db:
            self.db.execute("BEGIN")
            if rows:
                self.db.executemany(sql, rows)
            else:
                self.db.execute(sql)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """The rows of a query, streamed."""
        self.flush()
        yield from self.db.execute(sql, params)

    def ids(self, numbers: Sequence[int]) -> dict[int, str]:
        """The item ids of the row numbers given (a few hundred at most: listed pairs)."""
        found: dict[int, str] = {}
        for n in set(numbers):
            row = self.db.execute("SELECT id FROM items WHERE n = ?", (n,)).fetchone()
            found[n] = row[0]
        return found

    def close(self) -> None:
        try:
            self.db.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
