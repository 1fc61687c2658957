"""One job's scenes predicted on a Dask cluster, with progress, cancellation and a time limit.

The same steps as ``eohub predict --workers`` (:mod:`eohub.inference.distributed`): every scene is
opened and planned first, each is cut into parts of whole region rows that workers run with
:func:`~eohub.inference.distributed.part_task`, and the parts of a scene are assembled here with
:func:`~eohub.inference.assemble.finalize` into the COG and its STAC item: bit for bit the result of one
process. Progress is windows done over windows planned: a finished part counts whole, a running one as
far as its worker says when asked (``client.run``: one small answer per worker). ``check`` is called
between waits (every half second) and raises to stop the run, which cancels every future and removes
every part file. Before any part runs, the planned scenes are checked against the job's bounds on
pixels, batch and result size. A part already running when the run stops cannot be interrupted on its
worker, so the caller restarts the workers still running one (:func:`restart_workers`, through their
nannies, once the job has ended): a model that never ends costs one job its time, not the cluster.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eohub.config import Limits
from eohub.errors import LimitError
from eohub.inference.assemble import finalize
from eohub.inference.distributed import part_task, remove_finished_parts, split, written_so_far
from eohub.inference.options import RunOptions
from eohub.inference.planning import ScenePlan, plan_scenes
from eohub.inference.raster_input import gdal_env
from eohub.inference.raster_output import PartResult, remove_quietly
from eohub.inference.scenes import SceneJob

log = logging.getLogger(__name__)

WAIT_SECONDS = 0.5
RESTART_SECONDS = 60
PARTS_PER_WORKER = 4

Check = Callable[[int, int], None]
"""Called with (windows done, windows in all) while the job runs; raises to stop it."""


def check_size(plans: Sequence[ScenePlan], limits: Limits) -> None:
    """Refuse scenes whose planned grids hold more than ``EOHUB_MAX_JOB_PIXELS`` pixels (the grid the
    model runs on: an item's finest band, whatever its first file holds), whose model calls would take
    more than ``EOHUB_MAX_JOB_BATCH_PIXELS`` pixels (batch x tile), or whose result rasters would hold more
    than ``EOHUB_MAX_JOB_OUTPUT_BYTES`` bytes uncompressed (every band of every output file)."""
    pixels = sum(plan.grid.height * plan.grid.width for plan in plans)
    if pixels > limits.max_job_pixels:
        raise LimitError(
            f"the scenes hold {pixels} pixels as the model reads them, more than "
            f"{limits.max_job_pixels}, the most one job may predict (EOHUB_MAX_JOB_PIXELS)"
        )
    for plan in plans:
        batch = plan.batch * plan.grid.tile_h * plan.grid.tile_w
        if batch > limits.max_job_batch_pixels:
            raise LimitError(
                f"a batch of {plan.batch} windows of {plan.grid.tile_h} x {plan.grid.tile_w} holds {batch} "
                f"pixels, more than {limits.max_job_batch_pixels}, the most one model call of a job may take "
                "(EOHUB_MAX_JOB_BATCH_PIXELS): lower the batch or the tile"
            )
    size = sum(
        plan.out_height * plan.out_width * layout.count * np.dtype(layout.dtype).itemsize
        for plan in plans
        for layout in [plan.layout, *([plan.scores] if plan.scores else [])]
    )
    if size > limits.max_job_output_bytes:
        raise LimitError(
            f"the result would hold {size} bytes of raster values, more than "
            f"{limits.max_job_output_bytes}, the most one job may write (EOHUB_MAX_JOB_OUTPUT_BYTES)"
        )


def part_windows(plan: ScenePlan, i0: int, i1: int) -> int:
    """Windows in region rows ``i0:i1`` of a scene."""
    grid = plan.grid
    rows = min(i1 * grid.region_rows, grid.rows) - i0 * grid.region_rows
    return rows * grid.cols


class Progress:
    """Windows done over all parts: a finished part counts whole, a running one as far as its worker says
    (:func:`~eohub.inference.distributed.written_so_far` of ``topic``, asked of every worker)."""

    def __init__(self, client: Any) -> None:
        self.client, self.topic = client, f"eohub-job-{secrets.token_hex(8)}"
        self.windows: dict[str, int] = {}
        self.futures: dict[str, Any] = {}

    def part(self, windows: int) -> tuple[str, str]:
        """A new part of ``windows`` windows: the ``progress`` argument its task takes."""
        name = str(len(self.windows))
        self.windows[name] = windows
        return self.topic, name

    def done(self) -> int:
        said: dict[str, int] = {}
        try:
            answers = self.client.run(written_so_far, self.topic, on_error="ignore")
        except Exception:  # noqa: BLE001 - progress is best effort; the parts' futures say what failed
            answers = {}
        for running in answers.values():
            for name, windows in (running or {}).items():
                said[name] = max(said.get(name, 0), int(windows))
        return sum(
            windows if self.futures[name].status == "finished" else min(said.get(name, 0), windows)
            for name, windows in self.windows.items()
        )


def run_on_cluster(
    predictor: Any,
    jobs: Sequence[SceneJob],
    options: RunOptions,
    client: Any,
    threads: int | None,
    check: Check,
    limits: Limits,
    busy: list[str] | None = None,
) -> list[Path]:
    """Predict every scene of ``jobs`` on ``client``'s workers (see the module docstring); scenes planned
    bigger than ``limits`` allow fail before anything runs (:func:`check_size`). When the run stops,
    ``busy`` gains the workers still running one of its parts (for :func:`restart_workers`)."""
    from distributed import wait

    planned = plan_scenes(predictor, jobs, options)
    futures: list[list[Any]] = []
    try:
        check_size([plan for _, _, plan in planned], limits)
        total = sum(plan.grid.n_windows for _, _, plan in planned)
        check(0, total)
        progress = Progress(client)
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        per_scene = max(1, math.ceil(PARTS_PER_WORKER * workers / len(planned)))
        item_json = predictor.portable_item_json()
        for job, _, plan in planned:
            scene = []
            for i0, i1 in split(plan.grid.region_row_count, per_scene):
                part = progress.part(part_windows(plan, i0, i1))
                f = client.submit(part_task, item_json, predictor.allow_code, threads, job.sources,
                                  str(job.output), i0, i1, options, part, pure=False)  # fmt: skip
                progress.futures[part[1]] = f
                scene.append(f)
            futures.append(scene)
        for n, (job, raster, plan) in enumerate(planned):
            pending = set(futures[n])
            while pending:
                try:
                    finished, pending = wait(pending, timeout=WAIT_SECONDS, return_when="FIRST_COMPLETED")
                except TimeoutError:  # nothing finished yet
                    finished = set()
                for f in finished:
                    f.result()  # a worker's error, raised here as it was raised there
                check(progress.done(), total)
            parts: list[PartResult] = client.gather(futures[n])
            try:
                with gdal_env():
                    finalize(predictor, raster, plan, job, parts)
            finally:
                remove_quietly([p for part in parts for p in part.paths])
            check(progress.done(), total)
        return [job.output for job in jobs]
    except BaseException:
        if busy is not None:
            busy += running_on(client, [f for scene in futures for f in scene])
        for scene in futures:
            for f in scene:
                f.cancel()
        remove_finished_parts(dict(enumerate(futures)), [])
        raise
    finally:
        for _, raster, _ in planned:
            raster.close()


def running_on(client: Any, futures: list[Any]) -> list[str]:
    """The workers running one of ``futures`` now (a task that started cannot be stopped where it runs)."""
    if not futures:
        return []
    keys = {str(f.key) for f in futures}
    try:
        return [w for w, running in client.processing().items() if keys & {str(k) for k in running}]
    except Exception:  # noqa: BLE001 - the scheduler may be the reason the job stops
        log.warning("cannot ask the scheduler which workers run the job's parts", exc_info=True)
        return []


def restart_workers(client: Any, workers: list[str]) -> None:
    """Restart ``workers`` (through their nannies), so a part that would run on (a model that never ends,
    a job past its time or cancelled) does not keep them from the next job."""
    if not workers:
        return
    log.info("restarting %d Dask worker(s) still running a stopped job's parts", len(workers))
    try:
        client.restart_workers(workers, timeout=RESTART_SECONDS, raise_for_error=False)
    except Exception:  # noqa: BLE001 - a worker without a nanny, or a scheduler that is gone
        log.warning("restarting the Dask workers %s failed", workers, exc_info=True)
