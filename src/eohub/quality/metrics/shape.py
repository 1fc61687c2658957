"""``DatasetMetrics``: what the dataset metrics found, and its JSON shape (``to_dict`` / ``from_dict``).

Nothing else knows the layout. Lists are cut (groups and pairs at :data:`MAX_LISTED`, leaking pairs at
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

import math
from dataclasses import dataclass, field
from typing import Any, Literal

SCHEMA = 1
MAX_LISTED = 100
MAX_LEAKING_PAIRS = 200
MAX_ID_CHARS = 200
MAX_CLASSES_LISTED = 200
MAX_FINDINGS = 50
MAX_TEXT = 1000
SEVERITIES = ("severe", "warning", "info")
Severity = Literal["severe", "warning", "info"]
ClassValue = str | int | float | None


LINE_BREAKS = str.maketrans({c: c.encode("unicode_escape").decode() for c in "\n\r\x0b\x0c\x85\u2028\u2029"})


def one_line(text: str) -> str:
    """``text`` with its line breaks written as escapes: a class name or an item id (other users' words)
    never starts a line of its own where the metrics are printed."""
    return text.translate(LINE_BREAKS)


def item_id(value: Any) -> str:
    """An item id as stored: text, cut at :data:`MAX_ID_CHARS` characters."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_ID_CHARS else text[: MAX_ID_CHARS - 1] + "…"


def _int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return max(0, value)
    if not isinstance(value, float) or not math.isfinite(value):
        return 0
    return max(0, int(value))


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value) if not isinstance(value, int) or abs(value) < 2**1000 else math.inf
    return number if math.isfinite(number) else None


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text[:limit]


def _list(value: Any, limit: int) -> list[Any]:
    return value[:limit] if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _value(value: Any) -> ClassValue:
    if value is None or isinstance(value, str):
        return _text(value, MAX_ID_CHARS) if value is not None else None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int) and abs(value) < 2**53:
        return value
    number = _float(value)
    return number if number is not None else _text(value, MAX_ID_CHARS)


def _splits(value: Any, convert: Any) -> dict[str, Any]:
    return {_text(k, 64): convert(v) for k, v in list(_dict(value).items())[:MAX_LISTED]}


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
        data = _dict(data)
        severity = data.get("severity")
        return cls(
            _text(data.get("metric"), 64),
            severity if severity in SEVERITIES else "info",
            _text(data.get("message")),
        )


@dataclass
class ClassCount:
    """A class (``name`` as people read it, ``value`` as the labels hold it) and how often it occurs."""

    name: str
    value: ClassValue
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "count": self.count}

    @classmethod
    def from_dict(cls, data: Any) -> ClassCount:
        data = _dict(data)
        return cls(_text(data.get("name"), MAX_ID_CHARS), _value(data.get("value")), _int(data.get("count")))


def _classes(value: Any) -> list[ClassCount]:
    return [ClassCount.from_dict(c) for c in _list(value, MAX_CLASSES_LISTED)]


@dataclass
class ClassBalance:
    """How the labels spread over the classes, overall and per ``ml-aoi:split``.

    ``source`` says where counts came from (``label:overviews``, ``properties``, ``vector labels``,
    ``raster labels``, ``label:classes``; several joined by ``+``; ``""``: no labels counted), ``unit``
    what one count is (``items``, ``features``, ``pixels``, ``count`` for overviews; ``mixed``);
    ``declared`` the classes the items declare; ``imbalance`` the largest class count over the
    smallest non-zero one (``None`` with fewer than two counted classes)."""

    source: str = ""
    unit: str = ""
    classes: list[ClassCount] = field(default_factory=list)
    by_split: dict[str, list[ClassCount]] = field(default_factory=dict)
    declared: int = 0
    imbalance: float | None = None
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "unit": self.unit,
            "declared": self.declared,
            "imbalance": self.imbalance,
            "truncated": self.truncated,
            "classes": [c.to_dict() for c in self.classes],
            "by_split": {k: [c.to_dict() for c in v] for k, v in self.by_split.items()},
        }

    @classmethod
    def from_dict(cls, data: Any) -> ClassBalance:
        data = _dict(data)
        return cls(
            _text(data.get("source"), 200),
            _text(data.get("unit"), 32),
            _classes(data.get("classes")),
            _splits(data.get("by_split"), _classes),
            _int(data.get("declared")),
            _float(data.get("imbalance")),
            bool(data.get("truncated")),
        )


@dataclass
class NearPair:
    a: str
    b: str
    iou: float

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "iou": self.iou}

    @classmethod
    def from_dict(cls, data: Any) -> NearPair:
        data = _dict(data)
        return cls(
            item_id(_text(data.get("a"))), item_id(_text(data.get("b"))), _float(data.get("iou")) or 0.0
        )


@dataclass
class Duplicates:
    """Items with identical assets (same SHA-256s) and pairs whose footprints overlap with an IoU of at
    least ``threshold``."""

    identical: int = 0
    group_count: int = 0
    groups: list[list[str]] = field(default_factory=list)
    near: int = 0
    threshold: float = 0.9
    pairs: list[NearPair] = field(default_factory=list)
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "identical": {"count": self.identical, "group_count": self.group_count, "groups": self.groups},
            "near": {
                "count": self.near,
                "threshold": self.threshold,
                "pairs": [p.to_dict() for p in self.pairs],
                "truncated": self.truncated,
            },
        }

    @classmethod
    def from_dict(cls, data: Any) -> Duplicates:
        identical, near = _dict(_dict(data).get("identical")), _dict(_dict(data).get("near"))
        groups = [
            [item_id(_text(i)) for i in _list(g, MAX_LISTED)]
            for g in _list(identical.get("groups"), MAX_LISTED)
        ]
        return cls(
            _int(identical.get("count")),
            _int(identical.get("group_count")),
            groups,
            _int(near.get("count")),
            _float(near.get("threshold")) or 0.0,
            [NearPair.from_dict(p) for p in _list(near.get("pairs"), MAX_LISTED)],
            bool(near.get("truncated")),
        )


@dataclass
class LeakingPair:
    a: str
    a_split: str
    b: str
    b_split: str
    distance_m: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "a_split": self.a_split,
            "b": self.b,
            "b_split": self.b_split,
            "distance_m": self.distance_m,
        }

    @classmethod
    def from_dict(cls, data: Any) -> LeakingPair:
        data = _dict(data)
        return cls(
            item_id(_text(data.get("a"))),
            _text(data.get("a_split"), 64),
            item_id(_text(data.get("b"))),
            _text(data.get("b_split"), 64),
            _float(data.get("distance_m")) or 0.0,
        )


@dataclass
class Leakage:
    """Pairs of items in different splits whose footprints intersect or lie within ``distance_m``."""

    distance_m: float = 0.0
    count: int = 0
    splits: dict[str, int] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)
    share: dict[str, float] = field(default_factory=dict)
    pairs: list[LeakingPair] = field(default_factory=list)
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "distance_m": self.distance_m,
            "count": self.count,
            "splits": dict(self.splits),
            "items": dict(self.items),
            "share": dict(self.share),
            "pairs": [p.to_dict() for p in self.pairs],
            "truncated": self.truncated,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Leakage:
        data = _dict(data)
        return cls(
            _float(data.get("distance_m")) or 0.0,
            _int(data.get("count")),
            _splits(data.get("splits"), _int),
            _splits(data.get("items"), _int),
            _splits(data.get("share"), lambda v: _float(v) or 0.0),
            [LeakingPair.from_dict(p) for p in _list(data.get("pairs"), MAX_LEAKING_PAIRS)],
            bool(data.get("truncated")),
        )


@dataclass
class Tally:
    """A value (a CRS, a resolution, a label value) and how many items or pixels have it."""

    value: Any
    count: int

    def to_dict(self, unit: str) -> dict[str, Any]:
        return {"value": self.value, unit: self.count}

    @classmethod
    def from_dict(cls, data: Any, unit: str) -> Tally:
        data = _dict(data)
        value = data.get("value")
        if isinstance(value, list):
            value = [_float(v) for v in value[:2]]
        else:
            value = _value(value)
        return cls(value, _int(data.get(unit)))


def _tallies(value: Any, unit: str) -> list[Tally]:
    return [Tally.from_dict(t, unit) for t in _list(value, MAX_LISTED)]


@dataclass
class LabelValidity:
    """What the label rasters hold: values outside the declared classes, nodata, CRS and resolutions.

    ``rasters`` label rasters were read (``pixels`` in all); ``not_read`` were not (too large, unreadable,
    or past the version's pixel bound). ``crs`` and ``resolutions`` count items per value."""

    rasters: int = 0
    pixels: int = 0
    not_read: int = 0
    outside_pixels: int = 0
    outside_items: int = 0
    outside_values: list[Tally] = field(default_factory=list)
    outside_ids: list[str] = field(default_factory=list)
    nodata_pixels: int = 0
    empty_items: int = 0
    crs: list[Tally] = field(default_factory=list)
    resolutions: list[Tally] = field(default_factory=list)

    @property
    def nodata_share(self) -> float:
        return self.nodata_pixels / self.pixels if self.pixels else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "rasters": self.rasters,
            "pixels": self.pixels,
            "not_read": self.not_read,
            "outside_classes": {
                "pixels": self.outside_pixels,
                "items": self.outside_items,
                "values": [t.to_dict("pixels") for t in self.outside_values],
                "item_ids": list(self.outside_ids),
            },
            "nodata": {
                "pixels": self.nodata_pixels,
                "share": round(self.nodata_share, 6),
                "empty_items": self.empty_items,
            },
            "crs": [t.to_dict("items") for t in self.crs],
            "resolutions": [t.to_dict("items") for t in self.resolutions],
        }

    @classmethod
    def from_dict(cls, data: Any) -> LabelValidity:
        data = _dict(data)
        outside, nodata = _dict(data.get("outside_classes")), _dict(data.get("nodata"))
        return cls(
            _int(data.get("rasters")),
            _int(data.get("pixels")),
            _int(data.get("not_read")),
            _int(outside.get("pixels")),
            _int(outside.get("items")),
            _tallies(outside.get("values"), "pixels"),
            [item_id(_text(i)) for i in _list(outside.get("item_ids"), MAX_LISTED)],
            _int(nodata.get("pixels")),
            _int(nodata.get("empty_items")),
            _tallies(data.get("crs"), "items"),
            _tallies(data.get("resolutions"), "items"),
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
        data = _dict(data)
        return cls(
            _int(data.get("items")),
            _int(data.get("examined")),
            ClassBalance.from_dict(data.get("class_balance")),
            Duplicates.from_dict(data.get("duplicates")),
            Leakage.from_dict(data.get("leakage")),
            LabelValidity.from_dict(data.get("labels")),
            [Finding.from_dict(f) for f in _list(data.get("findings"), MAX_FINDINGS)],
        )
