"""What happens to one region of a scene on its way through the pipeline: cut, blended, finished.

:func:`prepare` reads a region (whole file blocks at once), selects bands, scales and cuts it into the
model's windows. :class:`Accumulator` blends the windows' predictions of consecutive regions without
allocating anything scene-sized: a region keeps its blended sums, the part of them that belongs to the
region on its right is handed over (``carry_right``), and the part below waits in a strip ``overlap``
rows high (``carry_in``/``carry_out``). :func:`finish` and :func:`finish_patches` turn a region's own
pixels into the arrays to write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from eohub.inference.tiling import Grid, Region, pad_to

if TYPE_CHECKING:
    from eohub.inference.planning import ScenePlan
    from eohub.inference.raster_input import RasterInput
    from eohub.inference.scaling import Scaling
    from eohub.inference.scene_model import SceneModel


@dataclass
class Prepared:
    """A region's windows, ready for the model, and its nodata mask."""

    region: Region
    windows: np.ndarray
    invalid: np.ndarray | None
    replay: bool = False


def window_view(block: np.ndarray, grid: Grid, rows: int, cols: int) -> np.ndarray:
    """Strided view ``(rows, cols, C, tile_h, tile_w)`` of the windows in a region's ``(C, h, w)`` pixels."""
    view = np.lib.stride_tricks.sliding_window_view(block, (grid.tile_h, grid.tile_w), axis=(1, 2))
    return view[:, :: grid.stride_h, :: grid.stride_w][:, :rows, :cols].transpose(1, 2, 0, 3, 4)


def prepare(
    predictor: SceneModel, raster: RasterInput, plan: ScenePlan, region: Region, replay: bool = False
) -> Prepared:
    """Read a region, make the model's channels, pad, scale, blank nodata and cut it into windows.

    Scaling is pointwise, so it runs on the region's contiguous pixels, a strip of one row of windows and
    one channel at a time, copied straight into the windows (:func:`_scaled_windows`); only ``processing``
    expressions, which may look at more than one pixel, run on the windows.
    """
    sources = plan.bands.sources
    data = raster.read(sources, region.y0, region.x0, region.extent_h, region.extent_w)
    invalid = raster.invalid(sources, data)
    channels = pad_to(plan.bands.build(data, axis=0), region.extent_h, region.extent_w)
    del data
    rows, cols = region.r1 - region.r0, region.c1 - region.c0
    padded = None if invalid is None else pad_to(invalid[None], region.extent_h, region.extent_w)
    scaling = predictor.scaling(channels.shape[0])
    if scaling is not None and scaling.processing:
        view = window_view(channels, plan.grid, rows, cols)
        mask = None if padded is None else window_view(padded, plan.grid, rows, cols)
        windows = predictor.scale(view, 2, mask)  # (rows, cols, C, th, tw), contiguous
    else:
        windows = _scaled_windows(channels, padded, scaling, predictor.work_dtype, plan.grid, rows, cols)
    windows = windows.reshape(rows * cols, 1, *windows.shape[2:])
    return Prepared(region, predictor.fit(windows), invalid, replay)


def _scaled_windows(
    channels: np.ndarray,
    padded: np.ndarray | None,
    scaling: Scaling | None,
    dtype: np.dtype,
    grid: Grid,
    rows: int,
    cols: int,
) -> np.ndarray:
    """``(rows, cols, C, tile_h, tile_w)`` windows of ``channels`` scaled pointwise, nodata set to 0.

    One row of windows and one channel at a time: the scaled strip (``tile_h`` pixels high) stays in the
    CPU cache between scaling it and copying its windows out, and no region-sized float plane is made.
    """
    th, tw, sh, sw = grid.tile_h, grid.tile_w, grid.stride_h, grid.stride_w
    windows = np.empty((rows, cols, channels.shape[0], th, tw), dtype)
    strip = np.empty((th, channels.shape[2]), dtype)
    cut = np.lib.stride_tricks.sliding_window_view(strip, tw, axis=1)[:, ::sw][:, :cols].transpose(1, 0, 2)
    for r in range(rows):
        y = r * sh
        for c in range(channels.shape[0]):
            if scaling is None:
                strip[...] = channels[c, y : y + th]
            else:
                scaling.apply_band(channels[c, y : y + th], c, strip)
            if padded is not None:
                np.copyto(strip, dtype.type(0), where=padded[0, y : y + th])
            windows[r, :, c] = cut
    return windows


@dataclass
class _Carry:
    """Blended sums waiting for the region that owns them."""

    width: int
    channels: int
    overlap: int
    carry_in: np.ndarray | None = None
    carry_out: np.ndarray | None = None
    carry_right: np.ndarray | None = None

    def new_row(self) -> None:
        self.carry_in, self.carry_out = self.carry_out, None
        self.carry_right = None

    def out(self) -> np.ndarray:
        if self.carry_out is None:
            self.carry_out = np.zeros((self.channels, self.overlap, self.width), np.float32)
        return self.carry_out


@dataclass
class Accumulator:
    """Blends window predictions of consecutive regions and yields the finished pixels of each region."""

    plan: ScenePlan
    weights: np.ndarray = field(init=False)
    carry: _Carry | None = field(init=False, default=None)
    row: int = field(init=False, default=-1)

    def __post_init__(self) -> None:
        grid = self.plan.grid
        self.weights = grid.weights(self.plan.blend)
        if grid.overlap_h or grid.overlap_w:
            overlap = grid.overlap_h
            self.carry = _Carry(grid.padded_width, self.plan.output.channels + 1, overlap)

    def add(self, region: Region, values: np.ndarray) -> np.ndarray | None:
        """Add a region's predictions; return its finished ``(channels, own_h, own_w)`` values."""
        grid = self.plan.grid
        if region.i != self.row:
            self.row = region.i
            if self.carry is not None:
                self.carry.new_row()
        rows, cols = region.r1 - region.r0, region.c1 - region.c0
        k = values.shape[1]
        th, tw, sh, sw = grid.tile_h, grid.tile_w, grid.stride_h, grid.stride_w
        if self.carry is None:
            acc = np.empty((k, region.extent_h, region.extent_w), np.float32)
            for n in range(rows * cols):
                r, c = divmod(n, cols)
                block = values[n] if values.ndim == 4 else values[n][:, None, None]
                acc[:, r * sh : r * sh + th, c * sw : c * sw + tw] = block
            return acc[:, : region.own_h, : region.own_w]
        acc = np.zeros((k + 1, region.extent_h, region.extent_w), np.float32)
        weights = self.weights
        for n in range(rows * cols):
            r, c = divmod(n, cols)
            target = acc[:, r * sh : r * sh + th, c * sw : c * sw + tw]
            if values.ndim == 4:
                target[:k] += values[n] * weights
            else:
                target[:k] += values[n][:, None, None] * weights
            target[k] += weights
        carry = self.carry
        oh, ow = grid.overlap_h, grid.overlap_w
        if carry.carry_right is not None:
            acc[:, : region.own_h, :ow] += carry.carry_right
        if carry.carry_in is not None:
            acc[:, :oh, : region.own_w] += carry.carry_in[:, :, region.x0 : region.x0 + region.own_w]
        if not region.last_col:
            carry.carry_right = acc[:, : region.own_h, region.own_w :].copy()
        if not region.last_row:
            carry.out()[:, :, region.x0 : region.x0 + region.extent_w] += acc[:, region.own_h :, :]
        own = acc[:, : region.own_h, : region.own_w]
        return own[:k] / own[k]


def finish(
    plan: ScenePlan, region: Region, blended: np.ndarray, invalid: np.ndarray | None
) -> list[np.ndarray]:
    """Turn blended values of a region's own pixels into the arrays to write (main, then scores)."""
    output = plan.output
    mask = invalid[: region.own_h, : region.own_w] if invalid is not None else None
    if output.is_classes:
        classes = output.class_map(blended)[None]
        if mask is not None:
            classes[:, mask] = plan.layout.nodata
        out = [classes]
        if plan.scores is not None:
            scores = blended.astype(np.float32, copy=True)
            if mask is not None:
                scores[:, mask] = np.nan
            out.append(scores)
        return out
    values = blended.astype(np.float32, copy=True)
    if mask is not None:
        values[:, mask] = np.nan
    return [values]


def finish_patches(
    plan: ScenePlan, region: Region, values: np.ndarray, invalid: np.ndarray | None
) -> list[np.ndarray]:
    """Per-patch output of a region: one pixel per window; a window whose pixels are all nodata is nodata.

    With ``plan.labels`` the last channel of ``values`` is the class index the model's label output gave.
    """
    rows, cols = region.r1 - region.r0, region.c1 - region.c0
    grid_values = values.reshape(rows, cols, -1).transpose(2, 0, 1)
    empty = _empty_windows(plan.grid, region, invalid)
    out = []
    if plan.output.is_classes:
        scores, indexes = (grid_values[:-1], grid_values[-1]) if plan.labels else (grid_values, None)
        classes = plan.output.class_map(scores, indexes)[None]
        if empty is not None:
            classes[:, empty] = plan.layout.nodata
        out.append(classes)
        if plan.scores is not None:
            scores = scores.astype(np.float32, copy=True)
            if empty is not None:
                scores[:, empty] = np.nan
            out.append(scores)
    else:
        vals = grid_values.astype(np.float32, copy=True)
        if empty is not None:
            vals[:, empty] = np.nan
        out.append(vals)
    return out


def _empty_windows(grid: Grid, region: Region, invalid: np.ndarray | None) -> np.ndarray | None:
    """``(rows, cols)``: windows of a region all of whose pixels are nodata (pixels past the scene count
    as nodata); None when no pixel is. Windows written one pixel each do not overlap (stride = tile)."""
    if invalid is None:
        return None
    rows, cols = region.r1 - region.r0, region.c1 - region.c0
    pads = [(0, region.extent_h - invalid.shape[0]), (0, region.extent_w - invalid.shape[1])]
    padded = np.pad(invalid, pads, constant_values=True) if any(p[1] for p in pads) else invalid
    return padded.reshape(rows, grid.tile_h, cols, grid.tile_w).all(axis=(1, 3))
