"""``DatasetMetrics``: what the dataset metrics found, and its JSON shape (``to_dict`` / ``from_dict``).

Nothing else knows the layout: this module holds the whole and its findings, :mod:`.sections` the
sections (class balance, duplicates, leakage, labels), read back through :mod:`.coerce`; the names of
both stay importable from here. Lists are cut (groups and pairs at :data:`MAX_LISTED`, leaking pairs at
:data:`MAX_LEAKING_PAIRS`, item ids at :data:`MAX_ID_CHARS` characters) while their full counts are kept,
so a stored version's metrics stay a few tens of KiB whatever the dataset holds::

    {"schema": 1, "items": 1200, "examined": 1200,
     "class_balance": {"source": "label:overviews", "unit": "count", "declared": 3, "imbalance": 12.5,
                       "classes": [{"name": "water", "value": "water", "count": 40}, ...],
                       "by_split": {"train": [...], "test": [...]}},
     "duplicates": {"identical": {"count": 2, "group_count": 1, "groups": [["a", "b", "c"]]},
                    "near": {"count": 1, "threshold": 0.9, "pairs": [{"a": "x", "b": "y", "iou": 0.95}]}},
     "leakage": {"distance_m": 0.0, "count": 31, "splits": {"train": 900, "test": 300},
                 "items": {"train": 40, "test": 69}, "share": {"train": 0.044, "test": 0.23},
                 "pairs": [{"a": "t1", "a_split": "test", "b": "r7", "b_split": "train",
                            "distance_m": 0.0}]},
     "labels": {"rasters": 50, "pixels": 204800, "not_read": 0,
                "outside_classes": {"pixels": 12, "items": 1, "values": [{"value": 9, "pixels": 12}],
                                    "item_ids": ["chip-7"]},
                "nodata": {"pixels": 100, "share": 0.0005, "empty_items": 0},
                "crs": [{"value": "EPSG:32633", "items": 50}],
                "resolutions": [{"value": [10.0, 10.0], "items": 50}]},
     "findings": [{"metric": "leakage", "severity": "severe",
                   "message": "test split: 23% of items touch an item of another split"}]}

``count`` of identical duplicates is the items that repeat an earlier one (a group of three counts two);
``near`` and ``leakage`` count pairs of items; ``leakage.items[split]`` is the items of that split that
touch (intersect, or lie within ``distance_m`` of) an item of another split, ``share`` that over the
split's items. ``truncated`` (on a metric) says a bound stopped the counting: its counts are lower bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from eohub.quality.metrics.coerce import (
    MAX_ID_CHARS,
    MAX_LISTED,
    MAX_TEXT,
    ClassValue,
    as_count,
    as_dict,
    as_list,
    as_text,
    item_id,
    one_line,
)
from eohub.quality.metrics.sections import (
    MAX_CLASSES_LISTED,
    MAX_LEAKING_PAIRS,
    ClassBalance,
    ClassCount,
    Duplicates,
    LabelValidity,
    Leakage,
    LeakingPair,
    NearPair,
    Tally,
)

__all__ = [
    "MAX_CLASSES_LISTED",
    "MAX_FINDINGS",
    "MAX_ID_CHARS",
    "MAX_LEAKING_PAIRS",
    "MAX_LISTED",
    "MAX_TEXT",
    "SCHEMA",
    "SEVERITIES",
    "ClassBalance",
    "ClassCount",
    "ClassValue",
    "DatasetMetrics",
    "Duplicates",
    "Finding",
    "LabelValidity",
    "Leakage",
    "LeakingPair",
    "NearPair",
    "Severity",
    "Tally",
    "item_id",
    "one_line",
]

SCHEMA = 1
MAX_FINDINGS = 50
SEVERITIES = ("severe", "warning", "info")
Severity = Literal["severe", "warning", "info"]


@dataclass
class Finding:
    """One verdict: the metric it is about, how bad it is, and why in one sentence."""

    metric: str
    severity: Severity
    message: str

    def __post_init__(self) -> None:
        self.message = one_line(self.message)

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "severity": self.severity, "message": self.message}

    @classmethod
    def from_dict(cls, data: Any) -> Finding:
        data = as_dict(data)
        severity = data.get("severity")
        return cls(
            as_text(data.get("metric"), 64),
            severity if severity in SEVERITIES else "info",
            as_text(data.get("message")),
        )


@dataclass
class DatasetMetrics:
    """The metrics of one dataset version (see the module docstring for the JSON shape).

    ``items`` are the dataset's samples (items using the label extension, else those using ml-aoi, else
    every item); ``examined`` those the metrics looked at (fewer when a bound stopped them)."""

    items: int = 0
    examined: int = 0
    class_balance: ClassBalance = field(default_factory=ClassBalance)
    duplicates: Duplicates = field(default_factory=Duplicates)
    leakage: Leakage = field(default_factory=Leakage)
    labels: LabelValidity = field(default_factory=LabelValidity)
    findings: list[Finding] = field(default_factory=list)

    @property
    def severe(self) -> list[Finding]:
        """The findings that become quality reasons of the version."""
        return [f for f in self.findings if f.severity == "severe"]

    def reasons(self) -> list[str]:
        """The severe findings as quality reasons (without the level prefix)."""
        return [f"dataset metrics: {f.metric}: {f.message}" for f in self.severe]

    def summaries(self) -> dict[str, Any]:
        """The metrics as STAC Collection ``summaries``: arrays (of objects), as STAC describes them."""
        out: dict[str, Any] = {}
        if self.class_balance.classes:
            out["eohub:class_counts"] = [c.to_dict() for c in self.class_balance.classes]
        if self.leakage.splits:
            out["eohub:splits"] = [
                {
                    "split": split,
                    "items": count,
                    "leaking_items": self.leakage.items.get(split, 0),
                    "leaking_share": self.leakage.share.get(split, 0.0),
                }
                for split, count in self.leakage.splits.items()
            ]
            out["eohub:leakage"] = [{"pairs": self.leakage.count, "distance_m": self.leakage.distance_m}]
        out["eohub:duplicates"] = [
            {"kind": "identical", "count": self.duplicates.identical},
            {"kind": "near", "count": self.duplicates.near, "threshold": self.duplicates.threshold},
        ]
        if self.findings:
            out["eohub:findings"] = [f.to_dict() for f in self.findings[:MAX_FINDINGS]]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "items": self.items,
            "examined": self.examined,
            "class_balance": self.class_balance.to_dict(),
            "duplicates": self.duplicates.to_dict(),
            "leakage": self.leakage.to_dict(),
            "labels": self.labels.to_dict(),
            "findings": [f.to_dict() for f in self.findings[:MAX_FINDINGS]],
        }

    @classmethod
    def from_dict(cls, data: Any) -> DatasetMetrics:
        """The metrics as stored or as a hub sends them; anything malformed reads as empty, never raises."""
        data = as_dict(data)
        return cls(
            as_count(data.get("items")),
            as_count(data.get("examined")),
            ClassBalance.from_dict(data.get("class_balance")),
            Duplicates.from_dict(data.get("duplicates")),
            Leakage.from_dict(data.get("leakage")),
            LabelValidity.from_dict(data.get("labels")),
            [Finding.from_dict(f) for f in as_list(data.get("findings"), MAX_FINDINGS)],
        )
