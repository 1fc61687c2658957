"""The layers every footprint map has, as SVG: the land, the graticule with its labels, a locator.

Coordinates are pixels of a :class:`~.mapview.View`'s frame, rounded to a tenth, with repeated points
dropped, so a map costs what it can show. The land (:mod:`.basemap`) is cut a few pixels beyond the
frame, so its cut edges are never stroked in sight; coastlines are the land's outline. The locator is a
small world map with the view outlined, for a map too close to tell where on Earth it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import numpy as np
import shapely

from eohub.server.web import basemap
from eohub.server.web.mapview import LAT_SPACING, LON_SPACING, View, lat_label, lon_label, step, ticks

LOCATOR = (144, 72)
"""The locator's size in pixels (the whole world, 2.5° a pixel)."""
LOCATOR_BELOW = 90.0
"""Views narrower than this many degrees of longitude get a locator."""
MIN_MARK = 4.0


def path_data(view: View, rings: Iterable[np.ndarray], close: bool) -> str:
    """SVG path data of rings (arrays of lon, lat) in pixels of ``view``."""
    out = []
    for ring in rings:
        xy = np.empty(ring.shape, dtype=np.float64)
        xy[:, 0] = (ring[:, 0] - view.west) * view.x_scale
        xy[:, 1] = (view.north - ring[:, 1]) * view.y_scale
        xy = np.round(xy, 1) + 0.0  # + 0.0: no "-0"
        if len(xy) > 1:
            xy = xy[np.concatenate(([True], np.any(xy[1:] != xy[:-1], axis=1)))]
        out.append("M" + " ".join(f"{x:g},{y:g}" for x, y in xy.tolist()) + ("Z" if close else ""))
    return "".join(out)


def land(view: View) -> str:
    """The land and its coastline within the view, simplified to half a pixel."""
    margin = 4 * view.pixel
    polygons = basemap.land(
        view.west - margin, view.south - margin, view.east + margin, view.north + margin, view.pixel / 2
    )
    if not polygons:
        return ""
    coords, index = shapely.get_coordinates(shapely.get_rings(polygons), return_index=True)
    rings = [r for r in np.split(coords, np.flatnonzero(np.diff(index)) + 1) if len(r) >= 3]
    return f'<path class="map-land" d="{path_data(view, rings, True)}"/>'


def _label(axis: str, x: float, y: float, anchor: str, text: str) -> str:
    return f'<text class="map-label map-{axis}" x="{x:g}" y="{y:g}" text-anchor="{anchor}">{text}</text>'


def graticule(view: View, top: int, left: int) -> tuple[str, str]:
    """The grid lines from edge to edge of the frame (one path), and their labels: meridians' below the
    frame, parallels' to its left (``top`` and ``left`` are the frame's place in the map)."""
    lon_step = step(view.east - view.west, view.width, LON_SPACING)
    lat_step = step(view.north - view.south, view.height, LAT_SPACING)
    d, labels = [], []
    for lon in ticks(view.west, view.east, lon_step):
        x = round(view.x(lon), 1)
        d.append(f"M{x:g},0V{view.height}")
        labels.append(_label("lon", left + x, top + view.height + 16, "middle", lon_label(lon, lon_step)))
    for lat in ticks(view.south, view.north, lat_step):
        y = round(view.y(lat), 1)
        d.append(f"M0,{y:g}H{view.width}")
        labels.append(_label("lat", left - 6, top + y + 4, "end", lat_label(lat, lat_step)))
    return f'<path class="map-grid" d="{"".join(d)}"/>', "".join(labels)


@cache
def _world() -> tuple[View, str]:
    world = View(-180.0, -90.0, 180.0, 90.0, *LOCATOR)
    return world, land(world)


def locator(view: View, x: float, y: float) -> str:
    """A world map at (``x``, ``y``) of the frame with ``view`` outlined (at least :data:`MIN_MARK` pixels
    wide, and again a turn west when it reaches past 180°); empty for views wide enough to need none."""
    if view.east - view.west >= LOCATOR_BELOW:
        return ""
    world, land_path = _world()
    x0, x1, y0, y1 = world.x(view.west), world.x(view.east), world.y(view.north), world.y(view.south)
    grow_x, grow_y = max(0.0, MIN_MARK - (x1 - x0)) / 2, max(0.0, MIN_MARK - (y1 - y0)) / 2
    x0, x1, y0, y1 = x0 - grow_x, x1 + grow_x, y0 - grow_y, y1 + grow_y
    marks = "".join(
        f'<rect class="map-locator-view" x="{x0 - shift:.1f}" y="{y0:.1f}" '
        f'width="{x1 - x0:.1f}" height="{y1 - y0:.1f}"/>'
        for shift in ((0, world.width) if view.east > 180 else (0,))
    )
    width, height = LOCATOR
    return (
        f'<svg class="map-locator" x="{x:g}" y="{y:g}" width="{width}" height="{height}" aria-hidden="true">'
        f'<rect class="map-sea" width="{width}" height="{height}"/>{land_path}{marks}'
        f'<rect class="map-border" width="{width}" height="{height}"/></svg>'
    )


def corners(view: View, margin: float = 8) -> list[tuple[float, float]]:
    """Where a locator may go in the frame: top left, top right, bottom left, bottom right."""
    width, height = LOCATOR
    right, bottom = view.width - width - margin, view.height - height - margin
    return [(margin, margin), (right, margin), (margin, bottom), (right, bottom)]
