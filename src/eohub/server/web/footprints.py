"""A map of STAC item footprints as inline SVG: the footprints over Natural Earth land and coastlines, with
a graticule and its longitude and latitude labels, each footprint a link to its item. No tiles, no
script: the page reads the same without JavaScript, under the pages' strict Content-Security-Policy.

Each item's ``geometry`` (or, without one, its ``bbox`` as a rectangle) is read defensively: unknown or
broken parts are skipped, a ring keeps at most :data:`MAX_POINTS` points, a map at most
:data:`MAX_SHAPES` shapes and :data:`MAX_TOTAL_POINTS` points (the rest are counted as not drawn).
Footprints on both sides of the antimeridian are drawn side by side (longitudes past 180°). The view
(:mod:`.mapview`) is fitted to the footprints, or to the collections' extents (dashed) when no item
has one; under them go the land and graticule of :mod:`.mapsvg`, and over them, for a close view, a
locator in the corner that hides the fewest footprints.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from markupsafe import Markup, escape

from eohub.server.web import mapsvg
from eohub.server.web.mapview import View, fit

MAX_SHAPES = 2000
MAX_POINTS = 256
MAX_TOTAL_POINTS = 100_000
TOP, RIGHT, BOTTOM, LEFT = 8, 18, 24, 58
"""Margins of the frame in pixels: the labels of meridians go below it, of parallels to its left."""
POINT_RADIUS = 4

Point = tuple[float, float]


@dataclass
class Footprint:
    """An item's place: its shapes (``area``, ``line`` or ``point``, each as parts of (lon, lat) points) and
    the address of the item."""

    item_id: str
    shapes: list[tuple[str, list[list[Point]]]]
    href: str | None = None

    @property
    def parts(self) -> Iterator[list[Point]]:
        return (part for _, parts in self.shapes for part in parts)


@dataclass
class FootprintMap:
    """The SVG, the bounds of the footprints (west, south, east, north), how many items it shows and leaves
    out, and the view drawn."""

    svg: Markup
    bounds: tuple[float, float, float, float]
    shown: int
    omitted: int
    view: View = field(repr=False)

    @property
    def caption(self) -> str:
        west, south, east, north = self.bounds
        return f"{_lon(west)} to {_lon(east)}, {_lat(south)} to {_lat(north)}"


def _lon(value: float) -> str:
    value = (value + 180) % 360 - 180 if abs(value) > 180 else value
    return f"{abs(value):.4g}°{'E' if value >= 0 else 'W'}"


def _lat(value: float) -> str:
    return f"{abs(value):.4g}°{'N' if value >= 0 else 'S'}"


def _position(value: Any) -> Point | None:
    if isinstance(value, list | tuple) and len(value) >= 2:
        x, y = value[0], value[1]
        if all(isinstance(v, int | float) and math.isfinite(v) for v in (x, y)):
            return float(x), max(-90.0, min(90.0, float(y)))
    return None


def _line(value: Any, continuous: bool = True) -> list[Point]:
    """The points of a ring or line, at most :data:`MAX_POINTS` of them, evenly taken (a map this size
    shows no more, and a footprint of a million vertices would cost every view of the page).

    Longitudes are brought within ±180°; in a ``continuous`` line, a step of more than 180° (but less
    than a whole turn, which is an edge round the globe) crosses the antimeridian: 179° then -179° goes
    on to 181°."""
    if not isinstance(value, list):
        return []
    stride = max(1, -(-len(value) // MAX_POINTS))
    taken = value[::stride] + ([value[-1]] if stride > 1 and (len(value) - 1) % stride else [])
    points: list[Point] = []
    offset, before = 0.0, None
    for position in taken:
        if (point := _position(position)) is None:
            continue
        x, y = point
        x = x if -180 <= x <= 180 else (x + 180) % 360 - 180
        if continuous and before is not None and 180 < abs(x - before) < 360:
            offset -= math.copysign(360, x - before)
        points.append((x + offset, y))
        before = x
    return points


def _shapes(geometry: Any) -> Iterator[tuple[str, list[list[Point]]]]:
    """(``area``|``line``|``point``, parts) of a GeoJSON geometry; unknown or broken parts are skipped."""
    if not isinstance(geometry, dict):
        return
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Polygon" and isinstance(coords, list):
        yield "area", [_line(ring) for ring in coords]
    elif kind == "MultiPolygon" and isinstance(coords, list):
        for polygon in coords:
            yield from _shapes({"type": "Polygon", "coordinates": polygon})
    elif kind == "LineString":
        yield "line", [_line(coords)]
    elif kind == "MultiLineString" and isinstance(coords, list):
        yield "line", [_line(part) for part in coords]
    elif kind == "Point" and (point := _line([coords])):
        yield "point", [point]
    elif kind == "MultiPoint":
        yield "point", [_line(coords, continuous=False)]
    elif kind == "GeometryCollection":
        for part in geometry.get("geometries") or []:
            yield from _shapes(part)


def _bbox_geometry(bbox: Any) -> dict[str, Any] | None:
    """A STAC bbox (2D or 3D) as a polygon; one crossing the antimeridian (west > east) reaches past 180°."""
    if not (isinstance(bbox, list) and len(bbox) in (4, 6)):
        return None
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in bbox):
        return None
    west, south = bbox[0], bbox[1]
    east, north = (bbox[3], bbox[4]) if len(bbox) == 6 else (bbox[2], bbox[3])
    west, east = (v if -180 <= v <= 180 else (v + 180) % 360 - 180 for v in (west, east))
    if west > east:
        east += 360
    south, north = (max(-90.0, min(90.0, v)) for v in (south, north))
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def collect(
    items: Iterable[dict[str, Any]], link: Callable[[str], str] | None = None
) -> tuple[list[Footprint], int]:
    """The footprints of ``items`` (STAC item dicts) with their links, and how many items have one but are
    not drawn (past :data:`MAX_SHAPES` or :data:`MAX_TOTAL_POINTS`)."""
    footprints: list[Footprint] = []
    omitted = shapes = points = 0
    for item in items:
        geometry = item.get("geometry") or _bbox_geometry(item.get("bbox"))
        found = [(kind, [p for p in parts if p]) for kind, parts in _shapes(geometry) if any(parts)]
        if not found:
            continue
        size = sum(len(p) for _, parts in found for p in parts)
        if shapes + len(found) > MAX_SHAPES or points + size > MAX_TOTAL_POINTS:
            omitted += 1
            continue
        item_id = str(item.get("id", ""))
        footprints.append(Footprint(item_id, found, link(item_id) if link and item_id else None))
        shapes, points = shapes + len(found), points + size
    return footprints, omitted


def _unwrap(footprints: list[Footprint]) -> None:
    """Parts west of 0° moved by 360° when that brings footprints spread over more than 180° closer
    together (they lie on both sides of the antimeridian)."""
    lons = [p[0] for f in footprints for part in f.parts for p in part]
    if not lons or max(lons) - min(lons) <= 180:
        return
    moved = [p[0] + (360 if _middle(part) < 0 else 0) for f in footprints for part in f.parts for p in part]
    if max(moved) - min(moved) >= max(lons) - min(lons):
        return
    for f in footprints:
        f.shapes = [
            (kind, [[(x + 360, y) for x, y in part] if _middle(part) < 0 else part for part in parts])
            for kind, parts in f.shapes
        ]


def _middle(part: list[Point]) -> float:
    return (min(x for x, _ in part) + max(x for x, _ in part)) / 2


def _bounds(parts: Iterable[list[Point]]) -> tuple[float, float, float, float] | None:
    points = [p for part in parts for p in part]
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _locator(view: View, footprints: list[Footprint]) -> str:
    """The locator in the corner of the frame that hides the fewest footprints."""
    boxes = [b for f in footprints for part in f.parts if (b := _bounds([part]))]
    pixels = [(view.x(w), view.y(n), view.x(e), view.y(s)) for w, s, e, n in boxes]
    width, height = mapsvg.LOCATOR

    def hidden(corner: tuple[float, float]) -> int:
        x, y = corner
        return sum(1 for x0, y0, x1, y1 in pixels if x0 < x + width and x1 > x and y0 < y + height and y1 > y)

    return mapsvg.locator(view, *min(mapsvg.corners(view), key=hidden))


def _shape(view: View, kind: str, parts: list[list[Point]], title: str) -> str:
    if kind == "point":
        return "".join(
            f'<circle class="map-point" cx="{view.x(x):.1f}" cy="{view.y(y):.1f}" r="{POINT_RADIUS}">'
            f"{title}</circle>"
            for part in parts
            for x, y in part
        )
    d = mapsvg.path_data(view, (np.asarray(part, dtype=np.float64) for part in parts), kind == "area")
    return f'<path class="map-{kind}" d="{d}">{title}</path>'


def _footprint(view: View, footprint: Footprint) -> str:
    """An item's shapes, in a link to the item when it has one."""
    title = f"<title>{escape(footprint.item_id)}</title>"
    body = "".join(_shape(view, kind, parts, title) for kind, parts in footprint.shapes)
    if not footprint.href:
        return body
    return f'<a href="{escape(footprint.href)}" aria-label="Item {escape(footprint.item_id)}">{body}</a>'


def _extent(view: View, label: str, bbox: Any) -> str:
    geometry = _bbox_geometry(bbox)
    if geometry is None:
        return ""
    d = mapsvg.path_data(view, [np.asarray(geometry["coordinates"][0], dtype=np.float64)], True)
    return f'<path class="map-extent" d="{d}"><title>{escape(label)}</title></path>'


def footprint_map(
    items: Iterable[dict[str, Any]],
    link: Callable[[str], str] | None = None,
    extents: Sequence[tuple[str, Any]] = (),
    width: int = 720,
) -> FootprintMap | None:
    """The map of ``items`` (STAC item dicts), each linked to ``link(item id)``, with the collections'
    ``extents`` ((label, bbox) pairs) outlined; ``None`` when nothing has a place to draw."""
    footprints, omitted = collect(items, link)
    _unwrap(footprints)
    bounds = _bounds(part for f in footprints for part in f.parts)
    boxes = [g for _, bbox in extents if (g := _bbox_geometry(bbox))]
    around = bounds or _bounds(g["coordinates"][0] for g in boxes)
    if around is None:
        return None
    view = fit(*around, width=width - LEFT - RIGHT)
    layers = [
        *(_extent(view, label, bbox) for label, bbox in extents),
        *(_footprint(view, f) for f in footprints),
        _locator(view, footprints),
    ]
    svg = framed(view, layers, width, f"Map of {len(footprints)} item footprints")
    return FootprintMap(svg, around, len(footprints), omitted, view)


def framed(view: View, layers: Iterable[str], width: int, label: str, css: str = "footprints") -> Markup:
    """The map's SVG: sea, land and graticule of ``view`` under ``layers`` (SVG of the frame's pixels),
    with its border and labels; ``label`` (escaped here) names it for screen readers."""
    grid, labels = mapsvg.graticule(view, TOP, LEFT)
    frame = [f'<rect class="map-sea" width="{view.width}" height="{view.height}"/>', mapsvg.land(view), grid]
    height = TOP + view.height + BOTTOM
    svg = (
        f'<svg class="{css}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-label="{escape(label)}">'
        f'<svg class="map-frame" x="{LEFT}" y="{TOP}" width="{view.width}" height="{view.height}">'
        + "".join([*frame, *layers])
        + "</svg>"
        f'<rect class="map-border" x="{LEFT}" y="{TOP}" width="{view.width}" height="{view.height}"/>'
        f'<g class="map-labels" aria-hidden="true">{labels}</g>'
        "</svg>"
    )
    return Markup(svg)  # noqa: S704 - the layers are SVG made here, every text in them escaped
