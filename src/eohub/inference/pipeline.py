"""Run a model over a scene of any size with flat memory, overlapping reading, inference and writing.

The scene's windows (:mod:`eohub.inference.tiling`) are grouped into regions. Reader threads read
regions ahead and cut them into windows, model threads run ONNX Runtime on batches, and a writer thread
blends and writes (each region's stages: :mod:`eohub.inference.stages`). The same code runs a *part* of
the scene (a range of region rows) for :mod:`eohub.inference.distributed`: a part first replays the
region row above it to rebuild the blended sums carried down into it, so that parts computed apart add
up to exactly the single-process result. :func:`run_scene` plans, runs and assembles one whole scene.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rasterio.transform import Affine

from eohub.inference.assemble import finalize
from eohub.inference.options import RunOptions
from eohub.inference.planning import ScenePlan, part_rows, plan_scene
from eohub.inference.raster_input import RasterInput, gdal_env, open_input
from eohub.inference.raster_output import PartResult, PartWriter, remove_quietly, temp_name
from eohub.inference.scenes import SceneJob, check_output
from eohub.inference.stages import Accumulator, Prepared, finish, finish_patches, prepare
from eohub.inference.tiling import Region

if TYPE_CHECKING:
    from eohub.inference.scene_model import SceneModel

log = logging.getLogger(__name__)

# -- running a part ----------------------------------------------------------------------------------------


@dataclass
class Predicted:
    """A region's windows and the model's predictions for them, on their way to the writer."""

    prepared: Prepared
    values: np.ndarray


def run_part(
    predictor: SceneModel,
    raster: RasterInput,
    plan: ScenePlan,
    i0: int,
    i1: int,
    final: Path,
    options: RunOptions,
    written: Callable[[int], None] | None = None,
) -> PartResult:
    """Predict region rows ``i0:i1`` and write them to part files beside ``final``; ``written`` is told
    the windows of each region once it is written (a job's progress)."""
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
        _pipeline(predictor, raster, plan, regions, writers, row_start, options, written)
    except BaseException:
        for w in writers:
            w.close()
        remove_quietly(paths)
        raise
    for w in writers:
        w.close()
    return PartResult(paths, row_start, row_end - row_start)


def _pipeline(
    predictor: SceneModel,
    raster: RasterInput,
    plan: ScenePlan,
    regions: Sequence[tuple[Region, bool]],
    writers: Sequence[PartWriter],
    row_start: int,
    options: RunOptions,
    written: Callable[[int], None] | None = None,
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
                if written is not None:
                    written((region.r1 - region.r0) * (region.c1 - region.c0))
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


def _submit(pool: ThreadPoolExecutor, pending: deque, todo: Any, predictor: SceneModel, raster: RasterInput,
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
    models: ThreadPoolExecutor, predictor: SceneModel, prepared: Prepared, plan: ScenePlan, parts: int
) -> Future[np.ndarray] | _Joined:
    """Run a region's windows on the model threads, as one call or ``parts`` calls of near-equal size."""
    windows = prepared.windows
    if parts <= 1 or len(windows) < 2:
        return models.submit(predictor.predict_windows, windows, plan.batch, plan.tile, plan.labels)
    chunks = np.array_split(windows, min(parts, len(windows)))
    return _Joined(
        [models.submit(predictor.predict_windows, c, plan.batch, plan.tile, plan.labels) for c in chunks]
    )


# -- a whole scene ----------------------------------------------------------------------------------------


def run_scene(predictor: SceneModel, sources: Sequence[str], output: Path, options: RunOptions) -> Path:
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
    predictor: SceneModel, raster: RasterInput, plan: ScenePlan, job: SceneJob, options: RunOptions
) -> None:
    """Predict a scene whose input is open and whose plan is made, in this process."""
    with gdal_env(raster):
        log.info("%s: %d windows of %s, overlap %d, batch %d", job.output.name, plan.grid.n_windows,
                 plan.tile, plan.grid.overlap_h, plan.batch)  # fmt: skip
        part = run_part(predictor, raster, plan, 0, plan.grid.region_row_count, job.output, options)
        try:
            finalize(predictor, raster, plan, job, [part])
        finally:
            remove_quietly(list(part.paths))
