"""Run a model over a scene of any size with flat memory, overlapping reading, inference and writing.

The scene's windows (:mod:`eohub.inference.tiling`) are grouped into regions. Reader threads read
regions ahead (whole file blocks at once), select bands, scale and cut windows; the calling thread runs
ONNX Runtime on batches; a writer thread blends and writes. Nothing scene-sized is allocated: a region
keeps its blended sums, the part of them that belongs to the region on its right is handed over
(``carry_right``), and the part below waits in a strip ``overlap`` rows high (``carry_in``/``carry_out``).
The same code runs a *part* of the scene (a range of region rows) for :mod:`eohub.inference.distributed`:
a part first replays the region row above it to rebuild its ``carry_in``, so that parts computed apart
add up to exactly the single-process result.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rasterio.transform import Affine

from eohub.errors import EohubError, InferenceError, UsageError
from eohub.inference import bands as band_resolution
from eohub.inference.metadata import CLASSIFICATION_TASKS
from eohub.inference.options import RunOptions, positive
from eohub.inference.outputs import OutputPlan
from eohub.inference.raster_io import (
    OutputLayout,
    PartWriter,
    RasterInput,
    gdal_env,
    open_input,
    remove_quietly,
    temp_name,
    write_cog,
)
from eohub.inference.tiling import Grid, Region, pad_to

if TYPE_CHECKING:
    from eohub.inference.predictor import Predictor

log = logging.getLogger(__name__)

TILE_KEYS = ("tile_size", "patch_size", "chip_size", "window_size")
OVERLAP_KEYS = ("tile_overlap", "overlap", "window_overlap")
BLEND_KEYS = ("blend", "blending")
BATCH_KEYS = ("batch_size",)
DEFAULT_TILE = 256


@dataclass
class ScenePlan:
    """Everything decided before the first pixel is read."""

    grid: Grid
    bands: band_resolution.BandPlan
    output: OutputPlan
    per_patch: bool
    batch: int
    blend: str
    layout: OutputLayout
    scores: OutputLayout | None
    out_height: int
    out_width: int
    out_transform: Any

    @property
    def tile(self) -> tuple[int, int]:
        return self.grid.tile_h, self.grid.tile_w


@dataclass
class Prepared:
    """A region's windows, ready for the model, and its nodata mask."""

    region: Region
    windows: np.ndarray
    invalid: np.ndarray | None
    replay: bool = False


@dataclass
class Predicted:
    prepared: Prepared
    values: np.ndarray


def plan_scene(predictor: Predictor, raster: RasterInput, options: RunOptions) -> ScenePlan:
    """Decide bands, tile, overlap, batch and output files for running ``predictor`` on ``raster``."""
    meta = predictor.metadata
    spec = predictor.spec
    channels = predictor.size("channel") if not spec.pre_processing else None
    band_plan = band_resolution.resolve(
        spec.bands, raster.infos, meta.band_defs, channels, predictor.allow_code
    )
    plan: OutputPlan = predictor.primary
    model_h, model_w = predictor.tile_size
    tile = positive(options.tile, "--tile") or positive(
        meta.hyperparameter(*TILE_KEYS), "tile hyperparameter"
    )
    tile_h = tile or (model_h if model_h > 0 else DEFAULT_TILE)
    tile_w = tile or (model_w if model_w > 0 else DEFAULT_TILE)
    _check_tile(predictor, plan, (tile_h, tile_w))
    overlap = positive(options.overlap, "--overlap", 0)
    if overlap is None:
        overlap = positive(meta.hyperparameter(*OVERLAP_KEYS), "overlap hyperparameter", 0)
    if overlap is None:
        overlap = 0 if not plan.spec.spatial else min(tile_h, tile_w) // 8
    tile, step = (tile_h, tile_w), (overlap, overlap)
    grid = Grid.make(raster.height, raster.width, tile, step, options.region, raster.block_shape)
    per_patch = not plan.spec.spatial and overlap == 0
    batch = (
        positive(options.batch, "--batch")
        or predictor.fixed_batch
        or meta.batch_size_suggestion
        or positive(meta.hyperparameter(*BATCH_KEYS), "batch_size hyperparameter")
        or 16
    )
    blend = options.blend or meta.hyperparameter(*BLEND_KEYS) or "cosine"
    grid.weights(blend)  # validates the name
    if per_patch:
        out_h, out_w = grid.rows, grid.cols
        transform = raster.transform @ Affine.scale(grid.stride_w, grid.stride_h)
    else:
        out_h, out_w, transform = raster.height, raster.width, raster.transform
    if plan.is_classes:
        names = tuple(c.name for c in plan.classes)
        layout = OutputLayout(1, plan.class_dtype.name, plan.class_nodata, ("class",), plan.classes)
        wants_scores = bool(set(plan.spec.tasks) & CLASSIFICATION_TASKS) and not plan.spec.spatial
        scores = OutputLayout(plan.channels, "float32", float("nan"), names) if wants_scores else None
    else:
        names = tuple(
            f"{plan.spec.name}_{k}" if plan.channels > 1 else plan.spec.name for k in range(plan.channels)
        )
        layout = OutputLayout(plan.channels, "float32", float("nan"), names)
        scores = None
    return ScenePlan(grid, band_plan, plan, per_patch, batch, blend, layout, scores, out_h, out_w, transform)


def _check_tile(predictor: Predictor, plan: OutputPlan, tile: tuple[int, int]) -> None:
    model = predictor.tile_size
    resize_type = predictor.spec.resize_type
    for t, m, axis in ((tile[0], model[0], "height"), (tile[1], model[1], "width")):
        if m <= 0 or t == m:
            continue
        where = f"the model's input {axis} is {m}; a tile of {t}"
        if resize_type is None:
            raise UsageError(f"{where} needs a resize_type in the MLM item (or use --tile {m})")
        if resize_type == "crop" and (t < m or plan.spec.spatial):
            raise UsageError(f"{where} cannot be cropped to fit (resize_type crop); use --tile {m}")
        if resize_type == "pad" and t > m:
            raise UsageError(f"{where} cannot be padded to fit (resize_type pad); use --tile {m} or smaller")


# -- the stages --------------------------------------------------------------------------------------------


def window_view(block: np.ndarray, grid: Grid, rows: int, cols: int) -> np.ndarray:
    """Strided view ``(rows, cols, C, tile_h, tile_w)`` of the windows in a region's ``(C, h, w)`` pixels."""
    view = np.lib.stride_tricks.sliding_window_view(block, (grid.tile_h, grid.tile_w), axis=(1, 2))
    return view[:, :: grid.stride_h, :: grid.stride_w][:, :rows, :cols].transpose(1, 2, 0, 3, 4)


def prepare(
    predictor: Predictor, raster: RasterInput, plan: ScenePlan, region: Region, replay: bool = False
) -> Prepared:
    """Read a region, make the model's channels, pad, scale, blank nodata and cut it into windows.

    Scaling is pointwise, so it runs channel by channel on the region's contiguous pixels (a scratch
    plane that stays in the CPU cache) and each scaled plane is copied straight into the windows; only
    ``processing`` expressions, which may look at more than one pixel, run on the windows as before.
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
        dtype = predictor.work_dtype
        windows = np.empty((rows, cols, channels.shape[0], plan.grid.tile_h, plan.grid.tile_w), dtype)
        plane = np.empty(channels.shape[1:], dtype)
        for c in range(channels.shape[0]):
            if scaling is None:
                plane[...] = channels[c]
            else:
                scaling.apply_band(channels[c], c, plane)
            if padded is not None:
                np.copyto(plane, dtype.type(0), where=padded[0])
            windows[:, :, c] = window_view(plane[None], plan.grid, rows, cols)[:, :, 0]
    windows = windows.reshape(rows * cols, 1, *windows.shape[2:])
    return Prepared(region, predictor.fit(windows), invalid, replay)


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
    """Per-patch output of a region: one pixel per window; a window whose pixels are all nodata is nodata."""
    grid = plan.grid
    rows, cols = region.r1 - region.r0, region.c1 - region.c0
    grid_values = values.reshape(rows, cols, -1).transpose(2, 0, 1)
    empty = np.zeros((rows, cols), bool)
    if invalid is not None:
        pads = [(0, region.extent_h - invalid.shape[0]), (0, region.extent_w - invalid.shape[1])]
        padded = np.pad(invalid, pads, constant_values=True)
        for r in range(rows):
            for c in range(cols):
                y, x = r * grid.stride_h, c * grid.stride_w
                empty[r, c] = padded[y : y + grid.tile_h, x : x + grid.tile_w].all()
    out = []
    if plan.output.is_classes:
        classes = plan.output.class_map(grid_values)[None]
        classes[:, empty] = plan.layout.nodata
        out.append(classes)
        if plan.scores is not None:
            scores = grid_values.astype(np.float32, copy=True)
            scores[:, empty] = np.nan
            out.append(scores)
    else:
        vals = grid_values.astype(np.float32, copy=True)
        vals[:, empty] = np.nan
        out.append(vals)
    return out


# -- running a part ----------------------------------------------------------------------------------------


@dataclass
class PartResult:
    """The part files of rows ``row:row+rows`` of the output (main file, then scores file if any)."""

    paths: list[Path]
    row: int
    rows: int


def part_rows(plan: ScenePlan, i0: int, i1: int) -> tuple[int, int]:
    """Output rows owned by region rows ``i0:i1``."""
    grid = plan.grid
    if plan.per_patch:
        return i0 * grid.region_rows, min(i1 * grid.region_rows, grid.rows)
    return grid.row_span(i0, i1)


def run_part(
    predictor: Predictor,
    raster: RasterInput,
    plan: ScenePlan,
    i0: int,
    i1: int,
    final: Path,
    options: RunOptions,
) -> PartResult:
    """Predict region rows ``i0:i1`` and write them to part files beside ``final``."""
    grid = plan.grid
    row_start, row_end = part_rows(plan, i0, i1)
    layouts = [plan.layout] + ([plan.scores] if plan.scores else [])
    paths = [temp_name(final, f".part{i0}.{n}.tif") for n in range(len(layouts))]
    transform = plan.out_transform @ Affine.translation(0, row_start)
    writers: list[PartWriter] = []
    try:
        for path, layout in zip(paths, layouts, strict=True):
            writers.append(
                PartWriter(path, layout, plan.out_width, row_end - row_start, transform, raster.crs)
            )
        replay = i0 > 0 and grid.overlap_h > 0 and not plan.per_patch
        regions = [(r, True) for r in grid.region_row(i0 - 1)] if replay else []
        regions += [(r, False) for i in range(i0, i1) for r in grid.region_row(i)]
        _pipeline(predictor, raster, plan, regions, writers, row_start, options)
    except BaseException:
        for w in writers:
            w.close()
        remove_quietly(paths)
        raise
    for w in writers:
        w.close()
    return PartResult(paths, row_start, row_end - row_start)


def _pipeline(
    predictor: Predictor,
    raster: RasterInput,
    plan: ScenePlan,
    regions: Sequence[tuple[Region, bool]],
    writers: Sequence[PartWriter],
    row_start: int,
    options: RunOptions,
) -> None:
    done = object()
    results: queue.Queue[Any] = queue.Queue(maxsize=max(1, options.prefetch))
    failure: list[BaseException] = []
    accumulator = Accumulator(plan)

    def write_loop() -> None:
        try:
            while (item := results.get()) is not done:
                region = item.prepared.region
                if plan.per_patch:
                    arrays = finish_patches(plan, region, item.values, item.prepared.invalid)
                    row, col = region.r0 - row_start, region.c0
                else:
                    blended = accumulator.add(region, item.values)
                    if item.prepared.replay:
                        continue
                    arrays = finish(plan, region, blended, item.prepared.invalid)
                    row, col = region.y0 - row_start, region.x0
                for writer, array in zip(writers, arrays, strict=True):
                    writer.write(array, row, col)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            failure.append(exc)
            while results.get() is not done:
                pass

    writer_thread = threading.Thread(target=write_loop, name="eohub-writer", daemon=True)
    writer_thread.start()
    readers = max(1, options.readers)
    streams = max(1, options.streams)
    pending: deque[Future[Prepared]] = deque()
    running: deque[tuple[Prepared, Future[np.ndarray] | _Joined]] = deque()
    try:
        with (
            ThreadPoolExecutor(max_workers=readers, thread_name_prefix="eohub-reader") as pool,
            ThreadPoolExecutor(max_workers=streams, thread_name_prefix="eohub-model") as models,
        ):
            try:
                todo = iter(regions)
                more, first = True, True
                for _ in range(readers + max(1, options.prefetch)):
                    more = _submit(pool, pending, todo, predictor, raster, plan)
                while pending or running:
                    # One call more than there are streams waits in the model pool, so that a stream
                    # finishing before an older call does not wait for it to be handed new work.
                    while pending and len(running) <= streams:
                        prepared = pending.popleft().result()
                        more = more and _submit(pool, pending, todo, predictor, raster, plan)
                        # The first region and the last ones go to the model in smaller calls, so that the
                        # streams start and finish together instead of one running alone on its cores.
                        parts = streams if (first or not more) else 1
                        first = False
                        running.append((prepared, _model_call(models, predictor, prepared, plan, parts)))
                    prepared, future = running.popleft()
                    values = future.result()
                    if failure:
                        break
                    results.put(Predicted(prepared, values))
            except BaseException:
                for f in [*pending, *(f for _, f in running)]:
                    f.cancel()
                raise
    finally:
        results.put(done)
        writer_thread.join()
    if failure:
        raise failure[0]


def _submit(pool: ThreadPoolExecutor, pending: deque, todo: Any, predictor: Predictor, raster: RasterInput,
            plan: ScenePlan) -> bool:  # fmt: skip
    """Start reading the next region; False when there is none left."""
    entry = next(todo, None)
    if entry is None:
        return False
    region, replay = entry
    pending.append(pool.submit(prepare, predictor, raster, plan, region, replay))
    return True


class _Joined:
    """The predictions of a region whose windows run as several model calls, in window order."""

    def __init__(self, futures: list[Future[np.ndarray]]) -> None:
        self.futures = futures

    def result(self) -> np.ndarray:
        return np.concatenate([f.result() for f in self.futures])

    def cancel(self) -> None:
        for f in self.futures:
            f.cancel()


def _model_call(
    models: ThreadPoolExecutor, predictor: Predictor, prepared: Prepared, plan: ScenePlan, parts: int
) -> Future[np.ndarray] | _Joined:
    """Run a region's windows on the model threads, as one call or ``parts`` calls of near-equal size."""
    windows = prepared.windows
    if parts <= 1 or len(windows) < 2:
        return models.submit(predictor.predict_windows, windows, plan.batch, plan.tile)
    chunks = np.array_split(windows, min(parts, len(windows)))
    return _Joined([models.submit(predictor.predict_windows, c, plan.batch, plan.tile) for c in chunks])


# -- a whole scene ----------------------------------------------------------------------------------------


@dataclass
class SceneJob:
    """One scene to predict: its inputs, where the result goes, and the files that will be written."""

    sources: list[str]
    output: Path

    @property
    def scores_path(self) -> Path:
        return self.output.with_name(f"{_stem(self.output)}-scores.tif")

    @property
    def item_path(self) -> Path:
        return self.output.with_name(f"{_stem(self.output)}.json")


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".tif", ".tiff"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def check_output(output: Path) -> Path:
    """The output path made absolute; its folder must exist and it must be a GeoTIFF name."""
    output = Path(output).expanduser().absolute()
    if not output.parent.is_dir():
        raise UsageError(f"{output.parent}: no such folder for the output")
    if output.suffix.lower() not in (".tif", ".tiff"):
        raise UsageError(f"{output}: the output must be a .tif file")
    return output


def run_scene(predictor: Predictor, sources: Sequence[str], output: Path, options: RunOptions) -> Path:
    """Predict one scene in this process; returns the output raster's path."""
    job = SceneJob(list(sources), check_output(output))
    with gdal_env():
        raster = open_input(job.sources)
        try:
            plan = plan_scene(predictor, raster, options)
            run_planned(predictor, raster, plan, job, options)
        finally:
            raster.close()
    return job.output


def run_planned(
    predictor: Predictor, raster: RasterInput, plan: ScenePlan, job: SceneJob, options: RunOptions
) -> None:
    """Predict a scene whose input is open and whose plan is made, in this process."""
    with gdal_env():
        log.info("%s: %d windows of %s, overlap %d, batch %d", job.output.name, plan.grid.n_windows,
                 plan.tile, plan.grid.overlap_h, plan.batch)  # fmt: skip
        part = run_part(predictor, raster, plan, 0, plan.grid.region_row_count, job.output, options)
        try:
            finalize(predictor, raster, plan, job, [part])
        finally:
            remove_quietly(list(part.paths))


def plan_scenes(
    predictor: Predictor, jobs: Sequence[SceneJob], options: RunOptions
) -> list[tuple[SceneJob, RasterInput, ScenePlan]]:
    """Open and plan every scene before any is predicted, so that bad input fails before a file is written.

    The caller closes the returned inputs; on an error, those opened so far are closed here.
    """
    planned: list[tuple[SceneJob, RasterInput, ScenePlan]] = []
    try:
        with gdal_env():
            for job in jobs:
                raster = open_input(job.sources)
                try:
                    plan = plan_scene(predictor, raster, options)
                except BaseException:
                    raster.close()
                    raise
                planned.append((job, raster, plan))
    except BaseException:
        for _, raster, _ in planned:
            raster.close()
        raise
    return planned


def finalize(
    predictor: Predictor, raster: RasterInput, plan: ScenePlan, job: SceneJob, parts: Sequence[PartResult]
) -> None:
    """Assemble part files into the output COG(s) and write the output STAC item; all or nothing."""
    from eohub.inference.output_item import build_output_item, write_item

    targets = [(job.output, plan.layout, 0)]
    if plan.scores is not None:
        targets.append((job.scores_path, plan.scores, 1))
    temps: list[Path] = []
    try:
        for final, layout, n in targets:
            tmp = temp_name(final, ".tif")
            temps.append(tmp)
            pieces = [(p.paths[n], p.row, p.rows) for p in sorted(parts, key=lambda p: p.row)]
            write_cog(pieces, tmp, layout, plan.out_width, plan.out_height, plan.out_transform, raster.crs)
        item_tmp = temp_name(job.item_path, ".json")
        temps.append(item_tmp)
        item = build_output_item(predictor, raster, plan, job)
        write_item(item, item_tmp)
        for (final, _, _), tmp in zip(targets, temps, strict=False):
            os.replace(tmp, final)
        os.replace(item_tmp, job.item_path)
    except EohubError:
        raise
    except Exception as exc:
        raise InferenceError(f"{job.output}: writing the result failed ({exc})") from exc
    finally:
        remove_quietly(temps)


def scene_jobs(inputs: Sequence[str], output: Path) -> list[SceneJob]:
    """Scenes for ``inputs``: with a ``.tif`` output, all inputs are one scene (its bands); otherwise
    ``output`` is a folder and each input (raster or STAC item) is a scene written as ``<name>.tif`` in it."""
    output = Path(output).expanduser().absolute()
    if output.suffix.lower() in (".tif", ".tiff"):
        return [SceneJob(list(inputs), check_output(output))]
    if output.exists() and not output.is_dir():
        raise UsageError(f"{output}: not a folder (give a .tif name for one scene, or a folder for several)")
    output.mkdir(parents=True, exist_ok=True)
    jobs = []
    for source in inputs:
        name = Path(source).name
        stem = name[: -len(".json")] if name.lower().endswith(".json") else _stem(Path(name))
        jobs.append(SceneJob([source], output / f"{stem}.tif"))
    names = [j.output.name for j in jobs]
    if len(set(names)) != len(names):
        raise UsageError("two inputs would write the same output name; give them distinct file names")
    return jobs
