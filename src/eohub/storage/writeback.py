"""Starting the disk write of bytes just written, so that a later ``fsync`` has little left to wait for.

A blob is flushed to the disk once, when it enters the store (:meth:`LocalBlobStore.adopt`); without a
hint, Linux keeps a 1 GiB upload dirty in memory and that ``fsync`` then writes all of it while the
client waits. ``sync_file_range(SYNC_FILE_RANGE_WRITE)`` queues the writing of a range and returns; it
promises nothing (the ``fsync`` still does), so failing, or missing on other systems, changes nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_SYNC_FILE_RANGE_WRITE = 2


def _sync_file_range() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_function = _sync_file_range()


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to begin writing ``length`` bytes of ``fd`` from ``offset`` to the disk (a hint)."""
    if _function is not None and length > 0:
        _function(fd, offset, length, _SYNC_FILE_RANGE_WRITE)
