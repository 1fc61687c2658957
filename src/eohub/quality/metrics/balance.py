"""Class balance: how many samples each class has, overall and per ``ml-aoi:split``.

Each label item counts from the first source it has: ``label:overviews`` counts; the value of its
``label:properties`` property on the item (a chip classified whole: one item); its vector labels (features
per class, :func:`~.labels.vector_counts`); its raster labels (pixels per value); a single declared class
(one item). The declared classes are the union of the items' ``label:classes`` (raster values named by
``classification:classes`` where given). At most ``Limits.max_metric_classes`` distinct classes are kept
(``EOHUB_MAX_METRIC_CLASSES``); more marks the balance truncated.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from eohub.mlm.documents import dict_field, list_field
from eohub.quality.metrics.shape import MAX_CLASSES_LISTED, ClassBalance, ClassCount

UNITS = {
    "label:overviews": "count",
    "properties": "items",
    "vector labels": "features",
    "raster labels": "pixels",
    "label:classes": "items",
}
SCALARS = (str, int, float)
MAX_COUNT = 2**53
"""A larger ``label:overviews`` count is not a count (sums of a million of them stay finite floats)."""


def scalar(value: Any) -> bool:
    """A class value: text, or a finite number that JSON (and a float) holds exactly enough."""
    if isinstance(value, bool) or not isinstance(value, SCALARS):
        return False
    if isinstance(value, int):
        return abs(value) <= MAX_COUNT
    return not isinstance(value, float) or math.isfinite(value)


def declared_classes(data: dict[str, Any], limit: int) -> list[Any]:
    """The class values an item's ``label:classes`` declares, at most ``limit``."""
    out: list[Any] = []
    for entry in list_field(dict_field(data, "properties"), "label:classes"):
        for value in list_field(entry, "classes"):
            if scalar(value):
                out.append(value)
                if len(out) >= limit:
                    return out
    return out


def class_names(data: dict[str, Any], asset: dict[str, Any] | None, limit: int) -> dict[Any, str]:
    """``classification:classes`` of the label asset (else the item): value -> name."""
    source = asset if asset and "classification:classes" in asset else dict_field(data, "properties")
    names: dict[Any, str] = {}
    for entry in list_field(source, "classification:classes")[:limit]:
        if not isinstance(entry, dict):
            continue
        value, name = entry.get("value"), entry.get("name") or entry.get("description")
        if scalar(value) and isinstance(name, str):
            names[value] = name[:200]
    return names


@dataclass
class Balance:
    """Accumulates class counts over the label items."""

    max_classes: int
    declared: dict[Any, str] = field(default_factory=dict)
    counts: Counter[Any] = field(default_factory=Counter)
    by_split: dict[str, Counter[Any]] = field(default_factory=dict)
    sources: Counter[str] = field(default_factory=Counter)
    truncated: bool = False
    _last_classes: Any = None

    def declare(self, data: dict[str, Any], names: dict[Any, str]) -> list[Any]:
        """Record the item's declared classes; return them."""
        classes = list_field(dict_field(data, "properties"), "label:classes")
        values = declared_classes(data, self.max_classes)
        if classes == self._last_classes and not names:
            return values  # the same declaration as the previous item (the usual case): nothing new
        self._last_classes = classes
        for value in values:
            if value not in self.declared:
                if len(self.declared) >= self.max_classes:
                    self.truncated = True
                    break
                self.declared[value] = names.get(value, str(value))
            elif value in names:
                self.declared[value] = names[value]
        return values

    def add(self, source: str, counts: Counter[Any] | dict[Any, int], split: str | None) -> None:
        """Counts of one item from ``source``."""
        self.sources[source] += 1
        target = self.by_split.setdefault(split, Counter()) if split else None
        for value, n in counts.items():
            if value not in self.counts and len(self.counts) >= self.max_classes:
                self.truncated = True
                continue
            self.counts[value] += n
            if target is not None:
                target[value] += n

    def _listed(self, counts: Counter[Any]) -> list[ClassCount]:
        """The declared classes, then the other values counted; at most :data:`MAX_CLASSES_LISTED`."""
        values = list(self.declared)
        values += sorted((v for v in counts if v not in self.declared), key=lambda v: (str(type(v)), v))
        if len(values) > MAX_CLASSES_LISTED:
            self.truncated = True
        return [
            ClassCount(self.declared.get(v, str(v))[:200], v, int(counts.get(v, 0)))
            for v in values[:MAX_CLASSES_LISTED]
        ]

    def result(self) -> ClassBalance:
        counted = [n for n in self.counts.values() if n > 0]
        imbalance = round(max(counted) / min(counted), 3) if len(counted) >= 2 else None
        units = {UNITS[s] for s in self.sources}
        classes = self._listed(self.counts)
        by_split = {s: self._listed(c) for s, c in sorted(self.by_split.items())}
        return ClassBalance(
            source="+".join(sorted(self.sources)),
            unit=units.pop() if len(units) == 1 else ("mixed" if units else ""),
            classes=classes,
            by_split=by_split,
            declared=len(self.declared),
            imbalance=imbalance,
            truncated=self.truncated,
        )


def overview_counts(data: dict[str, Any], limit: int) -> Counter[Any] | None:
    """The counts of the item's first ``label:overviews`` entry that has counts, else ``None``."""
    for overview in list_field(dict_field(data, "properties"), "label:overviews"):
        counts: Counter[Any] = Counter()
        for entry in list_field(overview, "counts")[:limit]:
            name = entry.get("name") if isinstance(entry, dict) else None
            count = entry.get("count") if isinstance(entry, dict) else None
            if scalar(name) and scalar(count) and isinstance(count, int) and count >= 0:
                counts[name] += count
        if counts:
            return counts
    return None


def property_value(data: dict[str, Any]) -> Any:
    """The value of the item's first ``label:properties`` property on the item itself (a chip's class)."""
    props = dict_field(data, "properties")
    for key in list_field(props, "label:properties"):
        if isinstance(key, str) and scalar(props.get(key)):
            return props[key]
    return None


def vector_key(data: dict[str, Any]) -> str | None:
    """The feature property vector labels carry their class in."""
    props = dict_field(data, "properties")
    for key in list_field(props, "label:properties"):
        if isinstance(key, str):
            return key
    for entry in list_field(props, "label:classes"):
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            return entry["name"]
    return None
