"""One job's scenes predicted on a Dask cluster, with progress, cancellation and a time limit.

The same steps as ``eohub predict --workers`` (:mod:`eohub.inference.distributed`): every scene is
opened and planned first, each is cut into parts of whole region rows that workers run with
:func:`~eohub.inference.distributed.part_task`, and the parts of a scene are assembled here with
:func:`~eohub.inference.assemble.finalize` into the COG and its STAC item: bit for bit the result of one
process. Progress is windows done over windows planned, counted as parts finish; ``check`` is called
between waits and raises to stop the run, which cancels every future and removes every part file.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from eohub.inference.assemble import finalize
from eohub.inference.distributed import part_task, remove_finished_parts, split
from eohub.inference.options import RunOptions
from eohub.inference.planning import ScenePlan, plan_scenes
from eohub.inference.raster_input import gdal_env
from eohub.inference.raster_output import PartResult, remove_quietly
from eohub.inference.scenes import SceneJob

WAIT_SECONDS = 0.5
PARTS_PER_WORKER = 4

Check = Callable[[int, int], None]
"""Called with (windows done, windows in all) while the job runs; raises to stop it."""


def part_windows(plan: ScenePlan, i0: int, i1: int) -> int:
    """Windows in region rows ``i0:i1`` of a scene."""
    grid = plan.grid
    rows = min(i1 * grid.region_rows, grid.rows) - i0 * grid.region_rows
    return rows * grid.cols


def run_on_cluster(
    predictor: Any,
    jobs: Sequence[SceneJob],
    options: RunOptions,
    client: Any,
    threads: int | None,
    check: Check,
) -> list[Path]:
    """Predict every scene of ``jobs`` on ``client``'s workers (see the module docstring)."""
    from distributed import wait

    planned = plan_scenes(predictor, jobs, options)
    futures: list[list[Any]] = []
    windows: dict[str, int] = {}
    try:
        total = sum(plan.grid.n_windows for _, _, plan in planned)
        check(0, total)
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        per_scene = max(1, math.ceil(PARTS_PER_WORKER * workers / len(planned)))
        item_json = predictor.portable_item_json()
        for job, _, plan in planned:
            scene = []
            for i0, i1 in split(plan.grid.region_row_count, per_scene):
                f = client.submit(part_task, item_json, predictor.allow_code, threads, job.sources,
                                  str(job.output), i0, i1, options, pure=False)  # fmt: skip
                windows[f.key] = part_windows(plan, i0, i1)
                scene.append(f)
            futures.append(scene)
        done = 0
        for n, (job, raster, plan) in enumerate(planned):
            pending = set(futures[n])
            while pending:
                try:
                    finished, pending = wait(pending, timeout=WAIT_SECONDS, return_when="FIRST_COMPLETED")
                except TimeoutError:  # nothing finished yet
                    finished = set()
                for f in finished:
                    f.result()  # a worker's error, raised here as it was raised there
                    done += windows[f.key]
                check(done, total)
            parts: list[PartResult] = client.gather(futures[n])
            try:
                with gdal_env():
                    finalize(predictor, raster, plan, job, parts)
            finally:
                remove_quietly([p for part in parts for p in part.paths])
            check(done, total)
        return [job.output for job in jobs]
    except BaseException:
        for scene in futures:
            for f in scene:
                f.cancel()
        remove_finished_parts(dict(enumerate(futures)), [])
        raise
    finally:
        for _, raster, _ in planned:
            raster.close()
