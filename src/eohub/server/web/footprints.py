"""A map of STAC item footprints as inline SVG: outlines on a plain background, no tiles, no script.

Each item's ``geometry`` (or, without one, its ``bbox`` as a rectangle) is drawn in an equirectangular
projection around the footprints: x is longitude scaled by the cosine of the middle latitude, y is
latitude flipped, so shapes keep roughly their proportions. A light graticule at a round step gives the
scale; every outline carries its item id as a ``<title>`` (a tooltip, and a name for screen readers).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

MAX_SHAPES = 2000
MAX_POINTS = 256
STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 45, 90)

Point = tuple[float, float]


@dataclass
class FootprintMap:
    """The SVG, the bounds drawn (west, south, east, north) and how many footprints it shows."""

    svg: Markup
    bounds: tuple[float, float, float, float]
    shown: int
    omitted: int

    @property
    def caption(self) -> str:
        west, south, east, north = self.bounds
        return f"{_lon(west)} to {_lon(east)}, {_lat(south)} to {_lat(north)}"


def _lon(value: float) -> str:
    return f"{abs(value):.4g}°{'E' if value >= 0 else 'W'}"


def _lat(value: float) -> str:
    return f"{abs(value):.4g}°{'N' if value >= 0 else 'S'}"


def _position(value: Any) -> Point | None:
    if isinstance(value, list | tuple) and len(value) >= 2:
        x, y = value[0], value[1]
        if all(isinstance(v, int | float) and math.isfinite(v) for v in (x, y)):
            return float(x), float(y)
    return None


def _line(value: Any) -> list[Point]:
    """The points of a ring or line, at most :data:`MAX_POINTS` of them, evenly taken (a map this size
    shows no more, and a footprint of a million vertices would cost every view of the page)."""
    if not isinstance(value, list):
        return []
    step = max(1, -(-len(value) // MAX_POINTS))
    taken = value[::step] + ([value[-1]] if step > 1 and (len(value) - 1) % step else [])
    points = [_position(p) for p in taken]
    return [p for p in points if p is not None]


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
    elif kind == "Point" and (point := _position(coords)) is not None:
        yield "point", [[point]]
    elif kind == "MultiPoint":
        yield "point", [_line(coords)]
    elif kind == "GeometryCollection":
        for part in geometry.get("geometries") or []:
            yield from _shapes(part)


def _bbox_geometry(bbox: Any) -> dict[str, Any] | None:
    if not (isinstance(bbox, list) and len(bbox) in (4, 6)):
        return None
    west, south = bbox[0], bbox[1]
    east, north = (bbox[3], bbox[4]) if len(bbox) == 6 else (bbox[2], bbox[3])
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def _step(span: float) -> float:
    return next((s for s in STEPS if span / s <= 8), STEPS[-1])


def footprint_map(items: Iterable[dict[str, Any]], width: int = 640) -> FootprintMap | None:
    """The footprints of ``items`` (STAC item dicts); ``None`` when none has a geometry or bbox."""
    shapes: list[tuple[str, str, list[list[Point]]]] = []
    shown = omitted = 0
    for item in items:
        geometry = item.get("geometry") or _bbox_geometry(item.get("bbox"))
        found = [(kind, parts) for kind, parts in _shapes(geometry) if any(parts)]
        if not found:
            continue
        if len(shapes) >= MAX_SHAPES:
            omitted += 1
            continue
        shapes.extend((str(item.get("id", "")), kind, parts) for kind, parts in found)
        shown += 1
    points = [p for _, _, parts in shapes for part in parts for p in part]
    if not points:
        return None
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    scale = max(0.2, math.cos(math.radians((south + north) / 2)))
    span = max((east - west) * scale, north - south, 0.01)
    pad = span * 0.08
    x0, x1 = west * scale - pad, east * scale + pad
    y0, y1 = -north - pad, -south + pad
    view_w, view_h = max(x1 - x0, span * 0.5), max(y1 - y0, span * 0.3)
    x0 -= (view_w - (x1 - x0)) / 2
    y0 -= (view_h - (y1 - y0)) / 2
    height = max(160, min(int(width * view_h / view_w), width))

    def xy(p: Point) -> str:
        return f"{p[0] * scale:.6g},{-p[1]:.6g}"

    # the background and graticule reach past the view, so a letterboxed map has no bare margins
    gx0, gy0, gw, gh = x0 - view_w, y0 - view_h, 3 * view_w, 3 * view_h
    body = [f'<rect class="map-sea" x="{gx0:.6g}" y="{gy0:.6g}" width="{gw:.6g}" height="{gh:.6g}"/>']
    step = _step(max(view_w / scale, view_h))
    lon = math.floor(gx0 / scale / step) * step
    while lon * scale <= gx0 + gw:
        x = lon * scale
        body.append(f'<line class="map-grid" x1="{x:.6g}" y1="{gy0:.6g}" x2="{x:.6g}" y2="{gy0 + gh:.6g}"/>')
        lon += step
    lat = math.floor(-(gy0 + gh) / step) * step
    while -lat >= gy0:
        body.append(
            f'<line class="map-grid" x1="{gx0:.6g}" y1="{-lat:.6g}" x2="{gx0 + gw:.6g}" y2="{-lat:.6g}"/>'
        )
        lat += step
    radius = span * 0.012
    for item_id, kind, parts in shapes:
        title = f"<title>{escape(item_id)}</title>"
        if kind == "point":
            for p in (p for part in parts for p in part):
                x, y = xy(p).split(",")
                body.append(f'<circle class="map-point" cx="{x}" cy="{y}" r="{radius:.6g}">{title}</circle>')
            continue
        close = "Z" if kind == "area" else ""
        d = " ".join("M" + " L".join(xy(p) for p in part) + close for part in parts if part)
        body.append(f'<path class="map-{kind}" d="{d}">{title}</path>')
    svg = (
        f'<svg class="footprints" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="{x0:.6g} {y0:.6g} {view_w:.6g} {view_h:.6g}" width="{width}" height="{height}" '
        f'preserveAspectRatio="xMidYMid meet" aria-label="Map of {shown} item footprints">'
        + "".join(body)
        + "</svg>"
    )
    return FootprintMap(Markup(svg), (west, south, east, north), shown, omitted)  # noqa: S704
