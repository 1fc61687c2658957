"""The land under the footprint maps: Natural Earth, read once from the package, cut to what a map shows.

The data is Natural Earth's 1:50m land (public domain) as TopoJSON, the file of the ``world-atlas`` npm
package as published (``naturalearth/``, with its licence and provenance). TopoJSON stores shared
borders once as *arcs* of quantized, delta-encoded positions; a ring lists the arcs it follows (``~i``:
arc ``i`` backwards). Its rings are spherical: a polygon crossing the antimeridian is one ring whose
longitude jumps by 360°, and Antarctica circles the South Pole. :func:`land_polygons` makes them planar
once: each ring unwrapped so it is continuous (reaching past ±180°), a ring round a pole closed beyond
the pole (latitude ±91°, outside every map), each polygon moved to have its middle in [-180°, 180°).
:func:`land` cuts that land to a map's view, in copies shifted by 360° where the view reaches past the
antimeridian, simplified to the map's pixel size.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import shapely
from shapely import Polygon, STRtree

DATA = "naturalearth/land-50m.json"
POLE = 91.0

Ring = list[tuple[float, float]]


def decode(topology: dict[str, Any], name: str = "land") -> list[list[Ring]]:
    """The polygons (lists of rings, exterior first) of TopoJSON object ``name`` in degrees."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        steps = np.cumsum(np.asarray(arc, dtype=np.float64), axis=0)
        arcs.append([(x * sx + tx, y * sy + ty) for x, y in steps.tolist()])

    def ring(indexes: list[int]) -> Ring:
        points: Ring = []
        for i in indexes:
            arc = arcs[i] if i >= 0 else arcs[~i][::-1]
            points.extend(arc[1:] if points else arc)  # an arc starts where the one before ends
        return points

    polygons = []
    for geometry in topology["objects"][name]["geometries"]:
        parts = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        polygons.extend([ring(r) for r in polygon] for polygon in parts)
    return polygons


def unwrap(ring: Ring) -> tuple[Ring, float]:
    """``ring`` without jumps of more than 180° in longitude, and how far its end moved (0, or ±360° for a
    ring round a pole)."""
    out, offset = [ring[0]], 0.0
    for (x0, _), (x, y) in zip(ring, ring[1:], strict=False):
        if x - x0 > 180:
            offset -= 360
        elif x - x0 < -180:
            offset += 360
        out.append((x + offset, y))
    return out, offset


def planar(rings: list[Ring]) -> list[Polygon]:
    """One spherical polygon as valid planar polygons whose middle longitude is in [-180°, 180°)."""
    exterior, offset = unwrap(rings[0])
    if offset:
        pole = -POLE if sum(y for _, y in exterior) < 0 else POLE
        exterior += [(exterior[-1][0], pole), (exterior[0][0], pole)]
    xs = [x for x, _ in exterior]
    middle = (min(xs) + max(xs)) / 2
    holes = []
    for ring in rings[1:]:
        hole, _ = unwrap(ring)
        shift = 360 * round((middle - sum(x for x, _ in hole) / len(hole)) / 360)
        holes.append([(x + shift, y) for x, y in hole])
    shape = shapely.make_valid(Polygon(exterior, holes))
    turns = math.floor((middle + 180) / 360)
    if turns:
        shape = shapely.transform(shape, lambda c: c - [360 * turns, 0])
    return [p for p in shapely.get_parts(shape) if isinstance(p, Polygon) and not p.is_empty]


@cache
def land_polygons() -> tuple[list[Polygon], STRtree, tuple[float, float]]:
    """Every land polygon (planar), a tree to find them by box, and the range of their longitudes."""
    text = resources.files("eohub.server.web").joinpath(DATA).read_bytes()
    polygons = [p for rings in decode(json.loads(text)) for p in planar(rings)]
    bounds = shapely.total_bounds(polygons)
    return polygons, STRtree(polygons), (float(bounds[0]), float(bounds[2]))


def land(west: float, south: float, east: float, north: float, tolerance: float) -> list[Polygon]:
    """The land within a box (longitudes may reach past ±180°), cut to it and simplified by ``tolerance``
    degrees; islands smaller than ``tolerance`` squared are left out."""
    polygons, tree, (low, high) = land_polygons()
    found = []
    for turn in range(math.ceil((west - high) / 360), math.floor((east - low) / 360) + 1):
        shift = 360.0 * turn
        box = (west - shift, south, east - shift, north)
        for index in tree.query(shapely.box(*box)):
            piece = shapely.clip_by_rect(polygons[index], *box)
            piece = shapely.simplify(piece, tolerance, preserve_topology=False)
            if shift:
                piece = shapely.transform(piece, lambda c, s=shift: c + [s, 0])
            found.extend(
                p
                for p in shapely.get_parts(piece)
                if isinstance(p, Polygon) and p.area >= tolerance * tolerance
            )
    return found
