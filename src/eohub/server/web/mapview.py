"""Where a footprint map looks: the view around some bounds, its projection to pixels, its graticule.

The projection is equirectangular around the view's middle latitude φ: one degree of latitude is ``k``
pixels and one degree of longitude ``k·cos φ``, so shapes near φ keep their proportions. :func:`fit`
pads the bounds, gives small ones a least span (a footprint of a few metres still shows its
surroundings), widens the short side to an aspect ratio a page can hold, keeps latitudes within ±90°
and longitudes within one turn of the globe. Longitudes may reach past 180° when the bounds cross the
antimeridian (see :mod:`.footprints`); labels name them as usual. The graticule lines are at a round
step that leaves room for the labels, and run from edge to edge of the frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH = 652
"""The frame's width in pixels (labels go outside it)."""
MIN_SPAN = 0.5
"""The least span of a view, in degrees of latitude."""
PAD = 0.08
ASPECT = (0.45, 0.75)
"""The least and greatest height / width of the frame."""
MAX_COS = 0.2
STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 90)
LON_SPACING = 72
"""The least distance in pixels between meridians (their labels sit side by side below the frame)."""
LAT_SPACING = 44


@dataclass(frozen=True)
class View:
    """A box in degrees (``east`` may exceed 180) drawn in a frame ``width`` × ``height`` pixels."""

    west: float
    south: float
    east: float
    north: float
    width: int
    height: int

    @property
    def x_scale(self) -> float:
        """Pixels per degree of longitude."""
        return self.width / (self.east - self.west)

    @property
    def y_scale(self) -> float:
        """Pixels per degree of latitude."""
        return self.height / (self.north - self.south)

    def x(self, lon: float) -> float:
        return (lon - self.west) * self.x_scale

    def y(self, lat: float) -> float:
        return (self.north - lat) * self.y_scale

    @property
    def pixel(self) -> float:
        """The size of the smallest pixel side in degrees."""
        return 1 / max(self.x_scale, self.y_scale)


def fit(west: float, south: float, east: float, north: float, width: int = WIDTH) -> View:
    """The view that shows the box (``west`` ≤ ``east``, longitudes unwrapped) with some room around it."""
    lon, lat = (west + east) / 2, (south + north) / 2
    cos = max(MAX_COS, math.cos(math.radians(lat)))
    half_x = max((east - west) * cos, MIN_SPAN) / 2  # in degrees of latitude
    half_y = max(north - south, MIN_SPAN) / 2
    pad = max(half_x, half_y) * PAD * 2
    half_x, half_y = half_x + pad, half_y + pad
    low, high = ASPECT
    half_y = min(max(half_y, half_x * low), 90.0)
    half_x = min(max(half_x, half_y / high), 180.0 * cos)
    lat = min(max(lat, -90 + half_y), 90 - half_y)
    half_lon = half_x / cos
    height = round(width * min(max(half_y / half_x, low), 1.0))
    return View(lon - half_lon, lat - half_y, lon + half_lon, lat + half_y, width, height)


def step(span: float, pixels: float, spacing: float) -> float:
    """The smallest round step (degrees) whose lines are at least ``spacing`` pixels apart."""
    return next((s for s in STEPS if s * pixels / span >= spacing), STEPS[-1])


def ticks(low: float, high: float, every: float) -> list[float]:
    """The multiples of ``every`` from ``low`` to ``high`` (included)."""
    first, last = math.ceil(low / every - 1e-9), math.floor(high / every + 1e-9)
    return [round(i * every, 9) for i in range(first, last + 1)]


def _degrees(value: float, every: float) -> str:
    places = max(0, math.ceil(-math.log10(every) - 1e-9))
    text = f"{value:.{places}f}"
    return "0" if float(text) == 0 else text


def lon_label(lon: float, every: float) -> str:
    """``15°E``, ``120°W``, ``0°``, ``180°``: a longitude (unwrapped or not) as people write it."""
    lon = (lon + 180) % 360 - 180
    if abs(abs(lon) - 180) < 1e-9:
        return "180°"
    text = _degrees(abs(lon), every)
    return f"{text}°" if text == "0" else f"{text}°{'E' if lon > 0 else 'W'}"


def lat_label(lat: float, every: float) -> str:
    """``45°N``, ``12.5°S``, ``0°``."""
    text = _degrees(abs(lat), every)
    return f"{text}°" if text == "0" else f"{text}°{'N' if lat > 0 else 'S'}"
