"""Verdicts: the findings each metric's numbers lead to, with the thresholds (:class:`MetricSettings`).

Severe findings become quality reasons of the version (it stays at Q1); warnings and infos are shown
with the metrics. The thresholds:

- class balance: the largest class over the smallest counted one at least ``imbalance_warning`` (10) is
  a warning, at least ``imbalance_severe`` (100) severe; declared classes without samples, and a split
  lacking classes the others have, are warnings;
- duplicates: items repeating another item's assets are a warning, severe from ``duplicate_severe_share``
  (5 %) of the items; footprints overlapping with IoU ≥ ``near_iou`` (0.9) are a warning;
- leakage: a split whose items touch (or lie within ``leakage_distance_m`` of) another split's items is a
  warning, severe from ``leakage_severe_share`` (10 %) of its items (the ``train`` split is not judged
  when there is one: its neighbours' shares say it);
- labels: raster values outside the declared classes are severe; label rasters with only nodata, a
  nodata share of at least ``nodata_warning_share`` (50 %), several CRS or resolutions are warnings.

``near_iou`` and ``leakage_distance_m`` come from ``EOHUB_NEAR_DUPLICATE_IOU`` and
``EOHUB_LEAKAGE_DISTANCE_M`` (``eohub quality`` takes them as options too).
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass

from eohub.errors import UsageError
from eohub.quality.metrics.shape import ClassBalance, DatasetMetrics, Finding, Severity

ORDER = {"severe": 0, "warning": 1, "info": 2}
EXAMPLES = 3


@dataclass(frozen=True)
class MetricSettings:
    """Thresholds of the verdicts (see the module docstring)."""

    near_iou: float = 0.9
    leakage_distance_m: float = 0.0
    imbalance_warning: float = 10.0
    imbalance_severe: float = 100.0
    duplicate_severe_share: float = 0.05
    leakage_severe_share: float = 0.1
    nodata_warning_share: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.near_iou <= 1:
            raise UsageError(f"the near-duplicate IoU must be in (0, 1], not {self.near_iou}")
        if not 0 <= self.leakage_distance_m <= 1_000_000:
            raise UsageError(f"the leakage distance must be 0 to 1,000,000 m, not {self.leakage_distance_m}")

    @classmethod
    def from_environment(cls) -> MetricSettings:
        return cls(
            near_iou=_number("EOHUB_NEAR_DUPLICATE_IOU", cls.near_iou),
            leakage_distance_m=_number("EOHUB_LEAKAGE_DISTANCE_M", cls.leakage_distance_m),
        )


def _number(variable: str, default: float) -> float:
    raw = os.environ.get(variable)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{variable} must be a number, not {raw[:40]!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"{variable} must be a finite number")
    return value


def _percent(share: float) -> str:
    return f"{share:.0%}" if share >= 0.01 or share == 0 else f"{share:.1%}"


def _examples(ids: list[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:EXAMPLES])
    return f" (e.g. {shown})" if shown else ""


def _reasons(counts: Counter[str] | dict[str, int]) -> str:
    return "; ".join(f"{reason} ({n})" for reason, n in sorted(counts.items(), key=lambda kv: -kv[1])[:5])


def _balance(balance: ClassBalance, label_items: int, s: MetricSettings) -> list[Finding]:
    out: list[Finding] = []
    counted = [c for c in balance.classes if c.count > 0]
    if label_items and not balance.source:
        out.append(
            Finding(
                "class_balance",
                "info",
                "no class counts: the label items have no label:overviews, no value of their "
                "label:properties, and no label file that could be read",
            )
        )
    empty = [c.name for c in balance.classes if c.count == 0]
    if counted and empty:
        out.append(
            Finding(
                "class_balance",
                "warning",
                f"{len(empty)} declared class(es) have no samples: {', '.join(empty[:10])}",
            )
        )
    if balance.imbalance is not None and balance.imbalance >= s.imbalance_warning:
        big = max(counted, key=lambda c: c.count)
        small = min(counted, key=lambda c: c.count)
        severity: Severity = "severe" if balance.imbalance >= s.imbalance_severe else "warning"
        out.append(
            Finding(
                "class_balance",
                severity,
                f"class '{small.name}' has {small.count:,} {balance.unit}, 1/{balance.imbalance:,.0f} of "
                f"'{big.name}' ({big.count:,})",
            )
        )
    if len(balance.by_split) >= 2:
        present = {c.value for c in counted}
        for split, classes in balance.by_split.items():
            missing = [c.name for c in classes if c.count == 0 and c.value in present]
            if missing:
                out.append(
                    Finding(
                        "class_balance",
                        "warning",
                        f"{split} split: no samples of {len(missing)} class(es): {', '.join(missing[:10])}",
                    )
                )
    if balance.truncated:
        out.append(
            Finding(
                "class_balance",
                "warning",
                "more distinct classes than are counted (EOHUB_MAX_METRIC_CLASSES); the counts stop there",
            )
        )
    return out


def _duplicates(m: DatasetMetrics, s: MetricSettings) -> list[Finding]:
    d = m.duplicates
    out: list[Finding] = []
    if d.identical:
        share = d.identical / max(1, m.items)
        severity: Severity = "severe" if share >= s.duplicate_severe_share else "warning"
        first = d.groups[0] if d.groups else []
        out.append(
            Finding(
                "duplicates",
                severity,
                f"{d.identical:,} item(s) ({_percent(share)}) repeat another item's assets exactly, in "
                f"{d.group_count:,} group(s){_examples(first)}",
            )
        )
    if d.near:
        pair = d.pairs[0] if d.pairs else None
        example = f" (e.g. '{pair.a}' and '{pair.b}', IoU {pair.iou:.2f})" if pair else ""
        out.append(
            Finding(
                "duplicates",
                "warning",
                f"{d.near:,} pair(s) of items have footprints overlapping with IoU ≥ {d.threshold:g}"
                + example,
            )
        )
    if d.truncated:
        out.append(Finding("duplicates", "warning", _pairs_stopped()))
    return out


def _pairs_stopped() -> str:
    return (
        "more footprint pairs lie close together than are examined (EOHUB_MAX_METRIC_PAIRS): "
        "near duplicates and leakage are counted up to there"
    )


def _leakage(m: DatasetMetrics, s: MetricSettings) -> list[Finding]:
    leak = m.leakage
    out: list[Finding] = []
    where = "touch" if leak.distance_m == 0 else f"lie within {leak.distance_m:g} m of"
    judged = [x for x in leak.share if x != "train"] if "train" in leak.share else list(leak.share)
    for split in judged:
        share = leak.share[split]
        if share <= 0:
            continue
        severity: Severity = "severe" if share >= s.leakage_severe_share else "warning"
        out.append(
            Finding(
                "leakage",
                severity,
                f"{split} split: {_percent(share)} of items ({leak.items.get(split, 0):,} of "
                f"{leak.splits.get(split, 0):,}) {where} an item of another split",
            )
        )
    if leak.truncated and not m.duplicates.truncated:
        out.append(Finding("leakage", "warning", _pairs_stopped()))
    return out


def _labels(m: DatasetMetrics, s: MetricSettings, unchecked: int, not_read: dict[str, int]) -> list[Finding]:
    lab = m.labels
    out: list[Finding] = []
    if lab.outside_items:
        values = ", ".join(str(t.value) for t in lab.outside_values[:10])
        out.append(
            Finding(
                "labels",
                "severe",
                f"{lab.outside_items:,} label raster(s) hold values outside the declared classes "
                f"(values {values}; {lab.outside_pixels:,} pixels){_examples(lab.outside_ids)}",
            )
        )
    if unchecked:
        out.append(
            Finding(
                "labels",
                "info",
                f"{unchecked:,} label raster(s) not checked against classes: their items declare no "
                "numeric label:classes",
            )
        )
    if lab.empty_items:
        out.append(Finding("labels", "warning", f"{lab.empty_items:,} label raster(s) hold only nodata"))
    if lab.pixels and lab.nodata_share >= s.nodata_warning_share:
        out.append(Finding("labels", "warning", f"{_percent(lab.nodata_share)} of label pixels are nodata"))
    for name, tallies in (("CRS", lab.crs), ("resolutions", lab.resolutions)):
        if len(tallies) > 1:
            listed = ", ".join(f"{t.value} ({t.count:,})" for t in tallies[:5])
            out.append(Finding("labels", "warning", f"label rasters use {len(tallies)} {name}: {listed}"))
    if not_read:
        out.append(
            Finding(
                "labels",
                "warning",
                f"{sum(not_read.values()):,} label file(s) not read: {_reasons(not_read)}",
            )
        )
    return out


def findings(
    m: DatasetMetrics,
    s: MetricSettings,
    label_items: int,
    unchecked: int,
    not_read: dict[str, int],
    footprint_problems: dict[str, int],
    stopped: str,
) -> list[Finding]:
    """Every finding of the metrics ``m``, severe first."""
    out = _balance(m.class_balance, label_items, s) + _duplicates(m, s) + _leakage(m, s)
    out += _labels(m, s, unchecked, not_read)
    if footprint_problems:
        out.append(
            Finding(
                "items",
                "warning",
                f"{sum(footprint_problems.values()):,} item(s) have no footprint the metrics can compare: "
                f"{_reasons(footprint_problems)}",
            )
        )
    if stopped:
        out.append(Finding("items", "warning", stopped))
    return sorted(out, key=lambda f: ORDER[f.severity])
