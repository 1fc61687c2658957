"""All the metrics over one stream of items: :func:`compute_metrics`, and :func:`folder_metrics` for a
folder on disk (``eohub quality FOLDER --kind dataset``).

Each item is read once and reduced to what each metric keeps (:mod:`.items`); label rasters are read as
their items pass (:mod:`.labels`); what each item adds to the duplicates and footprints goes to a
private store on disk (:mod:`.spill`), so memory stays flat with the item count. The stream stops at
``Limits.max_metric_items`` items or after ``Limits.metrics_seconds`` (a finding says so); the pairs are
found at the end (:mod:`.footprints`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from eohub.config import Limits, load_settings
from eohub.mlm.documents import dict_field, real_path
from eohub.quality.metrics.balance import (
    Balance,
    class_names,
    overview_counts,
    property_value,
    vector_key,
)
from eohub.quality.metrics.duplicates import assets_key, identical
from eohub.quality.metrics.footprints import Footprints, pairs
from eohub.quality.metrics.items import LABEL, OTHER, ItemDoc, Sample, folder_items
from eohub.quality.metrics.labels import (
    LabelChecks,
    RasterReader,
    asset_file,
    kind_of,
    label_assets,
    vector_counts,
)
from eohub.quality.metrics.shape import DatasetMetrics
from eohub.quality.metrics.spill import Spill
from eohub.quality.metrics.verdicts import MetricSettings, findings

log = logging.getLogger(__name__)

Digest = Callable[[str], str | None]
"""The SHA-256 of a file of the dataset (``None``: unknown), for exact duplicates."""

__all__ = ["Digest", "MetricSettings", "compute_metrics", "folder_metrics", "hashing"]


def hashing() -> Digest:
    """A :data:`Digest` that hashes each file once (a folder on disk, where no manifest knows them)."""
    known: dict[str, str] = {}

    def digest(path: str) -> str | None:
        if path not in known:
            h = hashlib.sha256()
            try:
                with open(path, "rb") as handle:
                    while chunk := handle.read(1024 * 1024):
                        h.update(chunk)
            except OSError:
                return None
            known[path] = h.hexdigest()
        return known[path]

    return digest


def manifest_digests(root: str | Path, digests: dict[str, str]) -> Digest:
    """A :data:`Digest` from a version's manifest: ``digests`` maps paths under ``root`` to SHA-256."""
    prefix = str(root).rstrip(os.sep) + os.sep

    def digest(path: str) -> str | None:
        if not path.startswith(prefix):
            return None
        return digests.get(path[len(prefix) :].replace(os.sep, "/"))

    return digest


class _Run:
    """The accumulators of one computation."""

    def __init__(
        self, root: Path | None, digest: Digest, limits: Limits, spill: Spill, distance_m: float
    ) -> None:
        self.root = str(root) if root is not None else None
        self.digest, self.limits = digest, limits
        self.prints = Footprints(spill, distance_m)
        self.balance = Balance(limits.max_metric_classes)
        self.checks = LabelChecks()
        self.reader = RasterReader(limits)
        self.vector_not_read: Counter[str] = Counter()
        self.ranks: Counter[int] = Counter()

    def add(self, doc: ItemDoc) -> None:
        sample = Sample.of(doc.data, self.limits.max_geometry_points)
        self.ranks[sample.rank] += 1
        self.prints.add(sample, assets_key(self._digests(doc)))
        if sample.rank == LABEL:
            self._labels(doc, sample)

    def _digests(self, doc: ItemDoc) -> list[str]:
        out = []
        for asset in dict_field(doc.data, "assets").values():
            href = asset.get("href") if isinstance(asset, dict) else None
            path = asset_file(doc.path, href, self.root) if isinstance(href, str) else None
            found = self.digest(path) if path is not None else None
            if found:
                out.append(found)
        return out

    def _labels(self, doc: ItemDoc, sample: Sample) -> None:
        data, limit = doc.data, self.limits.max_metric_classes
        assets = list(label_assets(data))
        names = class_names(data, assets[0][1] if assets else None, limit)
        declared = self.balance.declare(data, names)
        numeric = {v for v in declared if isinstance(v, int | float)} | {
            v for v in names if isinstance(v, int | float)
        }
        counted = False
        overviews = overview_counts(data, limit)
        value = property_value(data)
        if overviews:
            self.balance.add("label:overviews", overviews, sample.split)
            counted = True
        elif value is not None:
            self.balance.add("properties", {value: 1}, sample.split)
            counted = True
        for _, asset in assets:
            path = asset_file(doc.path, asset["href"], self.root)
            kind = kind_of(asset, path) if path is not None else ""
            if kind == "raster":
                counts = self.reader.read(path, limit)
                if counts is not None:
                    self.checks.add(sample.id, counts, numeric or None)
                    self.balance.truncated |= counts.truncated
                    if not counted:
                        self.balance.add("raster labels", counts.values, sample.split)
                        counted = True
            elif kind == "vector" and not counted and (key := vector_key(data)):
                found, why = vector_counts(path, key, self.limits, limit)
                if why:
                    self.vector_not_read[why] += 1
                else:
                    self.balance.add("vector labels", found, sample.split)
                    counted = True
        if not counted and len(declared) == 1:
            self.balance.add("label:classes", {declared[0]: 1}, sample.split)

    def result(self, settings: MetricSettings, examined: int, stopped: str) -> DatasetMetrics:
        top = max(self.ranks) if self.ranks else OTHER
        rank = None if top == OTHER else top
        found = pairs(self.prints, rank, settings.near_iou, self.limits.max_metric_pairs)
        copies, groups, listed = identical(self.prints.spill, rank)
        found.duplicates.identical, found.duplicates.group_count, found.duplicates.groups = (
            copies,
            groups,
            listed,
        )
        not_read = Counter(self.reader.not_read) + self.vector_not_read
        metrics = DatasetMetrics(
            items=self.ranks[top],
            examined=examined,
            class_balance=self.balance.result(),
            duplicates=found.duplicates,
            leakage=found.leakage,
            labels=self.checks.result(sum(self.reader.not_read.values())),
        )
        metrics.findings = findings(
            metrics,
            settings,
            self.ranks[LABEL],
            self.checks.unchecked_items,
            dict(not_read),
            dict(self.prints.problems),
            stopped,
        )
        return metrics


def compute_metrics(
    items: Iterable[ItemDoc],
    root: Path | None = None,
    digest: Digest | None = None,
    settings: MetricSettings | None = None,
    limits: Limits | None = None,
) -> DatasetMetrics:
    """The metrics of a stream of items. Label files are read only inside ``root`` (a resolved folder);
    ``digest`` gives the SHA-256 of an asset file (none: exact duplicates are not found)."""
    settings = settings or MetricSettings.from_environment()
    limits = limits or load_settings().limits
    with Spill() as spill:
        run = _Run(root, digest or (lambda _: None), limits, spill, settings.leakage_distance_m)
        examined, stopped = _stream(run, items, limits)
        return run.result(settings, examined, stopped)


def _stream(run: _Run, items: Iterable[ItemDoc], limits: Limits) -> tuple[int, str]:
    """Every item into ``run``, until a bound stops it: the items examined and why it stopped early."""
    deadline = time.monotonic() + limits.metrics_seconds
    examined, stopped = 0, ""
    try:
        for doc in items:
            if examined >= limits.max_metric_items:
                stopped = (
                    f"only the first {examined:,} items are examined (EOHUB_MAX_METRIC_ITEMS); the metrics "
                    "say nothing of the rest"
                )
                break
            if examined % 64 == 0 and time.monotonic() > deadline:
                stopped = (
                    f"only {examined:,} items were examined in {limits.metrics_seconds} s "
                    "(EOHUB_METRICS_SECONDS); the metrics say nothing of the rest"
                )
                break
            examined += 1
            run.add(doc)
    finally:
        run.reader.close()
    return examined, stopped


def folder_metrics(
    folder: str | os.PathLike[str],
    settings: MetricSettings | None = None,
    limits: Limits | None = None,
    digests: dict[str, str] | None = None,
) -> DatasetMetrics:
    """The metrics of the dataset in ``folder``, its items streamed from its catalog. ``digests`` (paths
    relative to the folder -> SHA-256) spares hashing the files."""
    root = real_path(folder)
    limits = limits or load_settings().limits
    digest = manifest_digests(root, digests) if digests is not None else hashing()
    return compute_metrics(folder_items(root, limits.max_json_depth), root, digest, settings, limits)


def item_docs(docs: Iterable[Any]) -> Iterable[ItemDoc]:
    """The Items among :class:`~eohub.mlm.documents.StacDocument` objects already read."""
    return (ItemDoc(d.path, d.data) for d in docs if d.stac_type == "Feature")
