"""The sections of :class:`~eohub.quality.metrics.shape.DatasetMetrics`, each with its JSON.

Class balance, duplicates, split leakage and label validity: ``to_dict`` writes a section as stored,
``from_dict`` reads it back bounded and never raises (:mod:`eohub.quality.metrics.coerce`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eohub.quality.metrics.coerce import (
    MAX_ID_CHARS,
    MAX_LISTED,
    ClassValue,
    as_class_value,
    as_count,
    as_dict,
    as_float,
    as_list,
    as_splits,
    as_text,
    item_id,
)

MAX_LEAKING_PAIRS = 200
MAX_CLASSES_LISTED = 200


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
        data = as_dict(data)
        return cls(
            as_text(data.get("name"), MAX_ID_CHARS),
            as_class_value(data.get("value")),
            as_count(data.get("count")),
        )


def _classes(value: Any) -> list[ClassCount]:
    return [ClassCount.from_dict(c) for c in as_list(value, MAX_CLASSES_LISTED)]


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
        data = as_dict(data)
        return cls(
            as_text(data.get("source"), 200),
            as_text(data.get("unit"), 32),
            _classes(data.get("classes")),
            as_splits(data.get("by_split"), _classes),
            as_count(data.get("declared")),
            as_float(data.get("imbalance")),
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
        data = as_dict(data)
        return cls(
            item_id(as_text(data.get("a"))), item_id(as_text(data.get("b"))), as_float(data.get("iou")) or 0.0
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
        identical, near = as_dict(as_dict(data).get("identical")), as_dict(as_dict(data).get("near"))
        groups = [
            [item_id(as_text(i)) for i in as_list(g, MAX_LISTED)]
            for g in as_list(identical.get("groups"), MAX_LISTED)
        ]
        return cls(
            as_count(identical.get("count")),
            as_count(identical.get("group_count")),
            groups,
            as_count(near.get("count")),
            as_float(near.get("threshold")) or 0.0,
            [NearPair.from_dict(p) for p in as_list(near.get("pairs"), MAX_LISTED)],
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
        data = as_dict(data)
        return cls(
            item_id(as_text(data.get("a"))),
            as_text(data.get("a_split"), 64),
            item_id(as_text(data.get("b"))),
            as_text(data.get("b_split"), 64),
            as_float(data.get("distance_m")) or 0.0,
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
        data = as_dict(data)
        return cls(
            as_float(data.get("distance_m")) or 0.0,
            as_count(data.get("count")),
            as_splits(data.get("splits"), as_count),
            as_splits(data.get("items"), as_count),
            as_splits(data.get("share"), lambda v: as_float(v) or 0.0),
            [LeakingPair.from_dict(p) for p in as_list(data.get("pairs"), MAX_LEAKING_PAIRS)],
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
        data = as_dict(data)
        value = data.get("value")
        if isinstance(value, list):
            value = [as_float(v) for v in value[:2]]
        else:
            value = as_class_value(value)
        return cls(value, as_count(data.get(unit)))


def _tallies(value: Any, unit: str) -> list[Tally]:
    return [Tally.from_dict(t, unit) for t in as_list(value, MAX_LISTED)]


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
        data = as_dict(data)
        outside, nodata = as_dict(data.get("outside_classes")), as_dict(data.get("nodata"))
        return cls(
            as_count(data.get("rasters")),
            as_count(data.get("pixels")),
            as_count(data.get("not_read")),
            as_count(outside.get("pixels")),
            as_count(outside.get("items")),
            _tallies(outside.get("values"), "pixels"),
            [item_id(as_text(i)) for i in as_list(outside.get("item_ids"), MAX_LISTED)],
            as_count(nodata.get("pixels")),
            as_count(nodata.get("empty_items")),
            _tallies(data.get("crs"), "items"),
            _tallies(data.get("resolutions"), "items"),
        )
