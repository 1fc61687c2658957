"""How to run a model over scenes: the options of ``eohub predict`` and how the cores are shared.

Kept apart from the pipeline so that the command line can check its options and start loading the model
before the raster stack (rasterio, GDAL) is imported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from eohub.errors import UsageError


@dataclass
class RunOptions:
    """How to run over a scene. ``None`` means: from ``mlm:hyperparameters``, else eohub's default."""

    tile: int | None = None
    overlap: int | None = None
    batch: int | None = None
    blend: str | None = None
    region: int = 512
    prefetch: int = 2
    readers: int = 1
    streams: int = 1


def positive(value: Any, what: str, minimum: int = 1) -> int | None:
    """``value`` when it is a whole number >= ``minimum``, None when it is None, else a usage error."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise UsageError(f"{what} must be a whole number >= {minimum} (got {value!r})")
    return value


def default_streams(workers: int | None = None, scheduler: str | None = None) -> int:
    """Batches in the model at once when the user does not say: two when this process has at least two
    cores (a reader preempting one ONNX Runtime thread then stalls only one batch, and the other keeps the
    cores busy), else one. On a remote cluster, one."""
    if scheduler:
        return 1
    return 2 if (os.cpu_count() or 1) // (workers or 1) >= 2 else 1


def session_threads(streams: int, workers: int | None = None, scheduler: str | None = None) -> int | None:
    """ONNX Runtime threads per model call so that the calls running at once do not oversubscribe the
    cores: the cores of this machine shared by ``streams`` calls, and by ``workers`` local Dask workers.
    None (ONNX Runtime's default, one per core) for one stream here, and on a remote cluster, where each
    worker decides for its own cores."""
    cores = os.cpu_count() or 1
    if scheduler:
        return None
    share = streams * (workers or 1)
    if share <= 1:
        return None
    return max(1, cores // share)
