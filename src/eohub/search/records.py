"""What the search index keeps of one STAC Item: bbox, time range, and its properties flattened.

Flattening turns nested and array properties into ``(key, value)`` pairs, each scalar value one pair:

- a list contributes each element under the same key (``mlm:tasks`` -> ``classification``, ``segmentation``);
- an object contributes its members under ``key.member`` (``mlm:input`` -> ``mlm:input.bands`` -> ``B04``),
  through lists of objects too; an object with a string ``name`` also counts as that name under its own
  key, so ``mlm:input.bands`` holds the band names whether bands are written as strings or as objects;
- strings are the ``text`` of a pair, numbers its ``num``; booleans are the text ``true``/``false``; an
  RFC 3339 string also gets its instant (epoch seconds) as ``num``, so timestamps compare as instants;
- ``null`` values, strings over :data:`MAX_TEXT` characters and what lies deeper than :data:`MAX_DEPTH`
  are left out.

A CQL2 comparison on a key is true when any of its values satisfies it (see :mod:`eohub.search.cql2`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

MAX_TEXT = 512
MAX_DEPTH = 6
MAX_VALUES = 10_000
OPEN_START = -1e15  # an open start or end of an item's time range, in epoch seconds
OPEN_END = 1e15

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$",
    re.ASCII,
)


def parse_instant(text: str) -> datetime | None:
    """An RFC 3339 date-time (timezone required) as an aware UTC datetime; ``None`` if it is not one."""
    match = _RFC3339.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro)
    except ValueError:
        return None
    if zone in ("Z", "z"):
        return moment.replace(tzinfo=UTC)
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if hours > 23 or minutes > 59:
        return None
    offset = timedelta(hours=hours, minutes=minutes) * (1 if zone[0] == "+" else -1)
    try:
        return moment.replace(tzinfo=timezone(offset)).astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-02:00 is after the last datetime
        return None


def epoch(text: str) -> float | None:
    moment = parse_instant(text)
    return moment.timestamp() if moment else None


def iso(seconds: float | None) -> str | None:
    """Epoch seconds as RFC 3339 (``Z``); ``None`` stays ``None``."""
    if seconds is None:
        return None
    moment = datetime.fromtimestamp(seconds, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


Value = tuple[str, str | None, float | None]


def flatten(properties: dict[str, Any]) -> list[Value]:
    """The distinct ``(key, text, num)`` values of an Item's properties, in order (see the module
    docstring): an item is in a value's index once, however often an array repeats the value."""
    out: dict[Value, None] = {}
    for key, value in properties.items():
        for pair in _visit(str(key), value, 0):
            out[pair] = None
            if len(out) >= MAX_VALUES:
                return list(out)
    return list(out)


def _visit(key: str, value: Any, depth: int) -> Iterator[Value]:
    if value is None or depth > MAX_DEPTH or len(key) > 256:
        return
    if isinstance(value, bool):
        yield key, "true" if value else "false", None
    elif isinstance(value, int | float):
        if math.isfinite(value):
            yield key, None, float(value)
    elif isinstance(value, str):
        if len(value) <= MAX_TEXT:
            yield key, value, epoch(value)
    elif isinstance(value, list):
        for element in value:
            yield from _visit(key, element, depth + 1)
    elif isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str) and len(name) <= MAX_TEXT:
            yield key, name, None
        for member, inner in value.items():
            yield from _visit(f"{key}.{member}", inner, depth + 1)


def _coordinates(geometry: Any) -> Iterator[tuple[float, float]]:
    if not isinstance(geometry, dict):
        return
    if geometry.get("type") == "GeometryCollection":
        for part in geometry.get("geometries") or []:
            yield from _coordinates(part)
        return
    stack = [geometry.get("coordinates")]
    while stack:
        node = stack.pop()
        if isinstance(node, list) and len(node) >= 2 and all(isinstance(c, int | float) for c in node[:2]):
            if not isinstance(node[0], bool):
                yield float(node[0]), float(node[1])
        elif isinstance(node, list):
            stack.extend(node)


def geometry_bbox(geometry: Any) -> list[float] | None:
    points = list(_coordinates(geometry))
    if not points:
        return None
    xs, ys = zip(*points, strict=True)
    return [min(xs), min(ys), max(xs), max(ys)]


def box_geometry(bbox: list[float]) -> dict[str, Any]:
    """The GeoJSON polygon of a 2D bbox (the first four numbers of a 4- or 6-number bbox)."""
    west, south, east, north = [
        float(v) for v in (bbox if len(bbox) == 4 else [bbox[i] for i in (0, 1, 3, 4)])
    ]
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def is_rectangle(geometry: Any, bbox: list[float] | None) -> bool:
    """True when testing ``bbox`` is testing the geometry: a point, or a polygon that is its bbox."""
    if not isinstance(geometry, dict) or bbox is None:
        return False
    if geometry.get("type") == "Point":
        return True
    if geometry.get("type") != "Polygon":
        return False
    rings = geometry.get("coordinates") or []
    if len(rings) != 1 or len(rings[0]) not in (4, 5):
        return False
    corners = {(float(p[0]), float(p[1])) for p in rings[0]}
    minx, miny, maxx, maxy = bbox
    return corners == {(minx, miny), (minx, maxy), (maxx, miny), (maxx, maxy)}


@dataclass
class ItemRecord:
    """One Item as the index stores it (the document itself stays in ``documents``)."""

    item_id: str
    bbox: list[float] | None
    rect: bool
    start: float | None
    end: float | None
    values: list[Value] = field(default_factory=list)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ItemRecord:
        props = item.get("properties") if isinstance(item.get("properties"), dict) else {}
        geometry = item.get("geometry")
        bbox = _bbox_of(item) if geometry else None
        start, end = _times(props)
        return cls(str(item.get("id") or ""), bbox, is_rectangle(geometry, bbox), start, end, flatten(props))


def _bbox_of(item: dict[str, Any]) -> list[float] | None:
    raw = item.get("bbox")
    if isinstance(raw, list) and len(raw) in (4, 6) and all(isinstance(v, int | float) for v in raw):
        values = [float(v) for v in raw]
        bbox = values if len(values) == 4 else [values[0], values[1], values[3], values[4]]
    else:
        bbox = geometry_bbox(item.get("geometry"))
    if bbox is not None and bbox[0] > bbox[2]:  # crosses the antimeridian: index the whole longitude band
        bbox = [-180.0, bbox[1], 180.0, bbox[3]]
    return bbox


def _times(props: dict[str, Any]) -> tuple[float | None, float | None]:
    instant = epoch(props["datetime"]) if isinstance(props.get("datetime"), str) else None
    if instant is not None:
        return instant, instant
    start = epoch(props["start_datetime"]) if isinstance(props.get("start_datetime"), str) else None
    end = epoch(props["end_datetime"]) if isinstance(props.get("end_datetime"), str) else None
    if start is None and end is None:
        return None, None
    return (start if start is not None else OPEN_START), (end if end is not None else OPEN_END)


def json_type(text: str | None, num: float | None) -> str:
    if text is None:
        return "number"
    if text in ("true", "false") and num is None:
        return "boolean"
    return "date-time" if num is not None else "string"
