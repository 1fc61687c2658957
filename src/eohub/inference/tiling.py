"""Tiles, overlap and blending: how a scene of any size becomes model-sized windows and back.

A scene is covered by windows of the model's tile size ``T`` placed every ``S = T - overlap`` pixels,
starting at the top-left corner; the last row and column of windows may run past the scene, where the
input is padded by mirroring, so no pixel is dropped and a scene smaller than one tile is one padded window.
Where windows overlap, each prediction is weighted by a ramp that rises over the ``overlap`` pixels at its
borders (cosine or linear) and the weighted sum is divided by the summed weights, so borders fade into
each other and no seam appears. Windows are grouped into regions (blocks of whole windows) read at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from eohub.errors import UsageError

BLENDS = ("cosine", "linear")


def window_count(length: int, tile: int, stride: int) -> int:
    """Number of windows of ``tile`` every ``stride`` pixels needed to cover ``length`` pixels."""
    return 1 + max(0, math.ceil((length - tile) / stride))


def ramp(tile: int, overlap: int, blend: str = "cosine") -> np.ndarray:
    """1-D weights of one window axis: 1 inside, rising over ``overlap`` pixels at both ends, never 0."""
    weights = np.ones(tile, np.float64)
    if overlap <= 0:
        return weights.astype(np.float32)
    t = (np.arange(overlap) + 0.5) / overlap
    rise = 0.5 - 0.5 * np.cos(np.pi * t) if blend == "cosine" else t
    weights[:overlap] = np.minimum(weights[:overlap], rise)
    weights[tile - overlap :] = np.minimum(weights[tile - overlap :], rise[::-1])
    return weights.astype(np.float32)


@dataclass(frozen=True)
class Region:
    """A block of whole windows: window rows ``r0:r1``, columns ``c0:c1`` and the pixels involved.

    ``y0, x0`` is its top-left pixel; ``extent`` the pixels its windows cover; ``own`` the pixels whose
    final value it writes (its windows' footprint up to where the next region's windows start).
    """

    i: int
    j: int
    r0: int
    r1: int
    c0: int
    c1: int
    y0: int
    x0: int
    extent_h: int
    extent_w: int
    own_h: int
    own_w: int
    last_row: bool
    last_col: bool


@dataclass(frozen=True)
class Grid:
    """Windows over a ``height`` x ``width`` scene, and their grouping into regions."""

    height: int
    width: int
    tile_h: int
    tile_w: int
    overlap_h: int
    overlap_w: int
    region_rows: int
    region_cols: int

    @classmethod
    def make(
        cls,
        height: int,
        width: int,
        tile: tuple[int, int],
        overlap: tuple[int, int],
        region: int = 512,
        block: tuple[int, int] | None = None,
    ) -> Grid:
        """A grid with regions of about ``region`` pixels: whole windows, at least as tall as the overlap, and
        when the stride allows it a whole number of the file's internal ``block`` s, so reads are aligned."""
        (th, tw), (oh, ow) = tile, overlap
        for t, o in ((th, oh), (tw, ow)):
            if t < 1:
                raise UsageError(f"tile size must be positive (got {t})")
            if not 0 <= o < t:
                raise UsageError(f"overlap must be at least 0 and smaller than the tile ({o} for tile {t})")
        bh, bw = block or (0, 0)
        return cls(
            height,
            width,
            th,
            tw,
            oh,
            ow,
            _per_region(region, th - oh, oh, bh),
            _per_region(region, tw - ow, ow, bw),
        )

    @property
    def stride_h(self) -> int:
        return self.tile_h - self.overlap_h

    @property
    def stride_w(self) -> int:
        return self.tile_w - self.overlap_w

    @property
    def rows(self) -> int:
        return window_count(self.height, self.tile_h, self.stride_h)

    @property
    def cols(self) -> int:
        return window_count(self.width, self.tile_w, self.stride_w)

    @property
    def n_windows(self) -> int:
        return self.rows * self.cols

    @property
    def padded_width(self) -> int:
        return (self.cols - 1) * self.stride_w + self.tile_w

    @property
    def region_row_count(self) -> int:
        return math.ceil(self.rows / self.region_rows)

    @property
    def region_col_count(self) -> int:
        return math.ceil(self.cols / self.region_cols)

    def region(self, i: int, j: int) -> Region:
        """Region ``(i, j)`` (row and column in the grid of regions)."""
        r0, c0 = i * self.region_rows, j * self.region_cols
        r1, c1 = min(r0 + self.region_rows, self.rows), min(c0 + self.region_cols, self.cols)
        y0, x0 = r0 * self.stride_h, c0 * self.stride_w
        last_row, last_col = r1 == self.rows, c1 == self.cols
        return Region(
            i, j, r0, r1, c0, c1, y0, x0,
            extent_h=(r1 - r0 - 1) * self.stride_h + self.tile_h,
            extent_w=(c1 - c0 - 1) * self.stride_w + self.tile_w,
            own_h=(self.height - y0) if last_row else (r1 - r0) * self.stride_h,
            own_w=(self.width - x0) if last_col else (c1 - c0) * self.stride_w,
            last_row=last_row,
            last_col=last_col,
        )  # fmt: skip

    def region_row(self, i: int) -> list[Region]:
        return [self.region(i, j) for j in range(self.region_col_count)]

    def row_span(self, i0: int, i1: int) -> tuple[int, int]:
        """Scene rows owned by region rows ``i0:i1``."""
        start = self.region(i0, 0).y0
        end = self.height if i1 >= self.region_row_count else self.region(i1, 0).y0
        return start, end

    def weights(self, blend: str = "cosine") -> np.ndarray:
        """2-D blending weights of one window (all ones without overlap)."""
        if blend not in BLENDS:
            raise UsageError(f"unknown blending {blend!r} (known: {', '.join(BLENDS)})")
        return np.outer(ramp(self.tile_h, self.overlap_h, blend), ramp(self.tile_w, self.overlap_w, blend))


def _per_region(target: int, stride: int, overlap: int, block: int) -> int:
    """Windows per region along one axis (see :meth:`Grid.make`)."""
    least = max(1, math.ceil(overlap / stride))
    if block > 0:
        unit = block // math.gcd(block, stride)  # windows whose strides end on a block border
        if unit * stride <= 2 * max(target, block):
            return max(least, unit * max(1, round(max(target, block) / (unit * stride))))
    return max(least, round(target / stride))


def pad_to(block: np.ndarray, height: int, width: int) -> np.ndarray:
    """Pad the last two axes of ``block`` at the bottom and right to ``height`` x ``width`` by mirroring."""
    h, w = block.shape[-2:]
    if (h, w) == (height, width):
        return block
    pads = [(0, 0)] * (block.ndim - 2) + [(0, height - h), (0, width - w)]
    return np.pad(block, pads, mode="symmetric")
