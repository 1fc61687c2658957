"""Dataset quality metrics: class balance, duplicates, split leakage and label validity.

Computed over a dataset's items as a stream (what each item adds, a bbox, a split, a digest of its
assets, goes to a private store on disk: memory stays flat with the item count), at commit and by
``eohub quality FOLDER --kind dataset``, and stored with the version
(:class:`~eohub.quality.metrics.shape.DatasetMetrics`, its JSON shape). Severe findings become quality
reasons of the version: it stays at Q1 with them, and is stored all the same. The modules: ``shape`` (the
result and its JSON; its sections in ``sections``, read back bounded by ``coerce``), ``items`` (the
streaming item reader), ``balance``, ``spill`` (the on-disk store), ``duplicates``, ``footprints`` (near
duplicates and leakage), ``labels`` (label rasters and vector labels, read bounded), ``verdicts``
(findings) and ``compute`` (all of them over one stream).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eohub.core.lazy import lazy_exports
from eohub.quality.metrics.shape import DatasetMetrics, Finding

if TYPE_CHECKING:
    from eohub.quality.metrics.compute import MetricSettings, compute_metrics, folder_metrics

__all__ = ["DatasetMetrics", "Finding", "MetricSettings", "compute_metrics", "folder_metrics"]

__getattr__ = lazy_exports(
    __name__, {name: "compute" for name in ("MetricSettings", "compute_metrics", "folder_metrics")}
)
