"""The streaming item reader: a catalog's items one at a time, and what the metrics need of each.

:func:`folder_items` walks ``catalog.json`` through ``child`` and ``item`` links inside the folder (a
queue of links and the set of files seen; every document bounded as :func:`eohub.mlm.documents.read_json`
bounds it), yielding each Item as it is read, so a catalog of 100,000 items is never in memory at once.
A link that cannot be followed is skipped here: the quality levels report it.

:class:`Sample` is one item as the metrics keep it: id, split, footprint (its bbox in lon/lat, checked),
and how much it counts as a sample (:data:`LABEL` items, else :data:`ML_AOI` items, else any item).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eohub.core.jsonbounds import FINITE, json_depth
from eohub.errors import UsageError
from eohub.mlm.documents import _read_bytes as read_bytes
from eohub.mlm.documents import dict_field, list_field, shown
from eohub.quality.metrics.shape import item_id

log = logging.getLogger(__name__)

LABEL, ML_AOI, OTHER = 2, 1, 0
SPLIT_CHARS = 64
Bbox = tuple[float, float, float, float]


@dataclass
class ItemDoc:
    """A STAC Item as read: the file it came from and its JSON."""

    path: Path
    data: dict[str, Any]


def read_document(path: str, max_depth: int) -> dict[str, Any]:
    """A STAC document, bounded as :func:`eohub.mlm.documents.read_json` bounds it (a regular file that is
    not a symbolic link, its size, its nesting), with the depth bound given rather than read again from
    the environment for each of a hundred thousand items."""
    raw = read_bytes(Path(path), follow_links=False)
    if json_depth(raw) > max_depth:
        raise UsageError(f"{shown(path)}: JSON nested deeper than {max_depth} levels (EOHUB_MAX_JSON_DEPTH)")
    try:
        data = json.loads(raw, **FINITE)
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"{shown(path)}: not a JSON document ({str(exc)[:80]})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{shown(path)}: a STAC document must be a JSON object")
    return data


class _RealPaths:
    """``os.path.realpath`` with the folders' answers remembered (items share a few folders); the last
    component is opened without following links (:func:`read_document`)."""

    def __init__(self) -> None:
        self.folders: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        folder, name = os.path.split(os.path.normpath(path))
        real = self.folders.get(folder)
        if real is None:
            if len(self.folders) > 10_000:
                self.folders.clear()
            real = self.folders[folder] = os.path.realpath(folder)
        return os.path.join(real, name)


def folder_items(folder: Path, max_depth: int = 64) -> Iterator[ItemDoc]:
    """Every Item below ``folder/catalog.json`` (or ``collection.json``), read one at a time, never
    outside ``folder``; documents nested deeper than ``max_depth`` are skipped."""
    root = os.path.realpath(folder)
    start = next(
        (
            os.path.join(root, n)
            for n in ("catalog.json", "collection.json")
            if os.path.isfile(os.path.join(root, n))
        ),
        None,
    )
    if start is None:
        return
    real = _RealPaths()
    seen: set[str] = set()
    pending: deque[str] = deque([start])
    inside = root.rstrip(os.sep) + os.sep
    while pending:
        current = real(pending.popleft())
        if current in seen:
            continue
        seen.add(current)
        if not current.startswith(inside):
            log.debug("dataset metrics: not following a link out of the folder: %s", current)
            continue
        try:
            data = read_document(current, max_depth)
        except UsageError as exc:
            log.debug("dataset metrics: skipping a link: %s", exc)
            continue
        if data.get("type") == "Feature":
            yield ItemDoc(Path(current), data)
            continue
        here = os.path.dirname(current)
        for link in list_field(data, "links"):
            href = link.get("href") if isinstance(link, dict) else None
            if link.get("rel") in ("child", "item") and isinstance(href, str) and href and "://" not in href:
                if "\x00" not in href:
                    pending.append(os.path.join(here, href))


def _extensions(data: dict[str, Any]) -> str:
    return " ".join(u for u in list_field(data, "stac_extensions") if isinstance(u, str))


def rank(data: dict[str, Any]) -> int:
    """How much an item counts as a sample: it uses the label extension, ml-aoi, or neither."""
    urls = _extensions(data)
    props = dict_field(data, "properties")
    if "/label/" in urls or any(str(k).startswith("label:") for k in props):
        return LABEL
    if "/ml-aoi/" in urls or any(str(k).startswith("ml-aoi:") for k in props):
        return ML_AOI
    return OTHER


def split_of(data: dict[str, Any]) -> str | None:
    """The item's ``ml-aoi:split`` (any string, cut short), ``None`` without one."""
    value = dict_field(data, "properties").get("ml-aoi:split")
    return value[:SPLIT_CHARS] if isinstance(value, str) and value else None


def _finite(values: list[Any]) -> list[float] | None:
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            return None
        out.append(float(v))
    return out


def _geometry_bbox(geometry: Any, limit: int) -> list[float] | None:
    """The bbox of a GeoJSON geometry's positions, looking at ``limit`` positions at most."""
    xs: list[float] = []
    ys: list[float] = []
    stack: list[Any] = [geometry]
    while stack and len(xs) <= limit:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(g for g in list_field(node, "geometries"))
            stack.append(node.get("coordinates"))
        elif isinstance(node, list) and len(node) >= 2 and not isinstance(node[0], list | dict):
            point = _finite(node[:2])
            if point is None:
                return None
            xs.append(point[0])
            ys.append(point[1])
        elif isinstance(node, list):
            stack.extend(node)
    if not xs or len(xs) > limit:
        return None
    return [min(xs), min(ys), max(xs), max(ys)]


def footprint(data: dict[str, Any], max_points: int) -> tuple[Bbox | None, str]:
    """The item's footprint as a lon/lat bbox, or ``None`` and why it has none usable.

    The ``bbox`` field when it is 4 or 6 finite numbers, else the bbox of the geometry (at most
    ``max_points`` positions). Latitudes outside ±90, longitudes outside ±180 and boxes crossing the
    antimeridian are not compared (said, not guessed)."""
    raw = data.get("bbox")
    box: list[float] | None = None
    if isinstance(raw, list) and len(raw) in (4, 6):
        box = _finite(raw)
        if box is not None and len(box) == 6:
            box = [box[0], box[1], box[3], box[4]]
    if box is None:
        if data.get("geometry") is None:
            return None, "no geometry"
        box = _geometry_bbox(data.get("geometry"), max_points)
        if box is None:
            return None, "a geometry without finite positions (or too many)"
    west, south, east, north = box
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90):
        return None, "a bbox outside longitude/latitude ranges"
    if west > east:
        return None, "a bbox crossing the antimeridian"
    return (west, south, east, north), ""


@dataclass
class Sample:
    """What the metrics keep of one item."""

    id: str
    rank: int
    split: str | None
    bbox: Bbox | None
    problem: str

    @classmethod
    def of(cls, data: dict[str, Any], max_points: int) -> Sample:
        box, problem = footprint(data, max_points)
        return cls(item_id(data.get("id", "")), rank(data), split_of(data), box, problem)
