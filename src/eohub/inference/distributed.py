"""Scale out with Dask: scenes, and the region rows of one huge scene, run as tasks on workers.

``--workers N`` starts a local cluster of N processes; ``--scheduler tcp://host:port`` uses a running one
(inputs, model and output folder must then be on storage every worker sees). The client plans each scene
(so bad input fails before anything runs), splits it into parts of whole region rows, and each worker
runs :func:`eohub.inference.pipeline.run_part` and writes its part file beside the output. The client
assembles the parts into the COG. A part replays the region row above it, so the blended sums are the
same numbers in the same order as in one process: the result is identical, not just close.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eohub.errors import UsageError
from eohub.inference.assemble import finalize
from eohub.inference.options import RunOptions, session_threads
from eohub.inference.pipeline import run_part, run_planned
from eohub.inference.planning import plan_scene, plan_scenes
from eohub.inference.raster_input import gdal_env, open_input
from eohub.inference.raster_output import PartResult, remove_quietly
from eohub.inference.scenes import SceneJob

if TYPE_CHECKING:
    from eohub.inference.predictor import Predictor

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _cached_predictor(item_json: str, allow_code: bool, threads: int | None) -> Any:
    import json

    from eohub.inference.predictor import Predictor

    return Predictor.from_item(json.loads(item_json), allow_code=allow_code, threads=threads)


_WRITTEN: dict[tuple[str, str], int] = {}
"""Worker side: windows written so far by each running part that was given a ``progress`` name."""


def part_task(
    item_json: str, allow_code: bool, threads: int | None, sources: list[str], output: str, i0: int, i1: int,
    options: RunOptions, progress: tuple[str, str] | None = None,
) -> PartResult:  # fmt: skip
    """Worker side: predict region rows ``i0:i1`` of a scene into part files beside ``output``. With
    ``progress`` (a topic and the part's name), the windows it has written so far are what
    :func:`written_so_far` tells about it while it runs."""
    predictor = _cached_predictor(item_json, allow_code, threads or session_threads(options.streams))
    written = None
    if progress is not None:
        _WRITTEN[progress] = 0

        def written(windows: int) -> None:
            _WRITTEN[progress] = _WRITTEN.get(progress, 0) + windows

    with gdal_env():
        raster = open_input(sources)
    try:
        with gdal_env(raster):
            plan = plan_scene(predictor, raster, options)
            return run_part(predictor, raster, plan, i0, i1, Path(output), options, written)
    finally:
        raster.close()
        if progress is not None:
            _WRITTEN.pop(progress, None)


def written_so_far(topic: str) -> dict[str, int]:
    """Worker side (``client.run``): the windows each running part of ``topic`` has written so far."""
    return {part: n for (t, part), n in list(_WRITTEN.items()) if t == topic}


def split(count: int, parts: int) -> list[tuple[int, int]]:
    """``count`` region rows cut into at most ``parts`` contiguous ranges of near-equal size."""
    parts = max(1, min(parts, count))
    size = math.ceil(count / parts)
    return [(start, min(start + size, count)) for start in range(0, count, size)]


@contextmanager
def dask_client(
    workers: int | None, scheduler: str | None, threads_per_worker: int = 1, memory_limit: int | str = "auto"
) -> Any:
    """A Dask client: to ``scheduler`` when given, else to a new local cluster of ``workers`` processes
    (each restarted by its nanny past ``memory_limit`` bytes; ``"auto"``: the machine's memory shared)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
        raise UsageError("--workers/--scheduler need dask.distributed") from exc
    if not log.isEnabledFor(logging.DEBUG):
        logging.getLogger("distributed").setLevel(logging.ERROR)
    if scheduler:
        try:
            client = Client(scheduler, timeout="3s")
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
        with client:
            yield client
        return
    if not workers or workers < 1:
        raise UsageError("--workers must be at least 1")
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            memory_limit=memory_limit,
            dashboard_address=None,
            scheduler_kwargs={"dashboard": False},
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def run_scenes(
    predictor: Predictor,
    jobs: Sequence[SceneJob],
    options: RunOptions,
    client: Any = None,
    parts_per_worker: int = 2,
    threads: int | None = None,
) -> list[Path]:
    """Predict every scene; with a Dask ``client`` the parts run on its workers, else here one by one.

    Every input is opened and planned first: a bad one fails before any output is written.
    """
    planned = plan_scenes(predictor, jobs, options)
    if client is None:
        try:
            for job, raster, plan in planned:
                run_planned(predictor, raster, plan, job, options)
        finally:
            for _, raster, _ in planned:
                raster.close()
        return [job.output for job in jobs]
    try:
        return _run_on_cluster(predictor, planned, options, client, parts_per_worker, threads)
    finally:
        for _, raster, _ in planned:
            raster.close()


def _run_on_cluster(
    predictor: Predictor,
    planned: Sequence[tuple[SceneJob, Any, Any]],
    options: RunOptions,
    client: Any,
    parts_per_worker: int,
    threads: int | None,
) -> list[Path]:
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    item_json = predictor.portable_item_json()
    jobs = [job for job, _, _ in planned]
    per_scene = max(1, math.ceil(parts_per_worker * workers / len(jobs)))
    futures: dict[int, list[Any]] = {}
    for n, (job, _, plan) in enumerate(planned):
        futures[n] = [
            client.submit(
                part_task,
                item_json,
                predictor.allow_code,
                threads,
                job.sources,
                str(job.output),
                i0,
                i1,
                options,
                pure=False,
            )  # fmt: skip
            for i0, i1 in split(plan.grid.region_row_count, per_scene)
        ]
    results: list[Path] = []
    done: list[PartResult] = []
    try:
        for n, (job, raster, plan) in enumerate(planned):
            parts = client.gather(futures[n])
            done.extend(parts)
            with gdal_env():
                finalize(predictor, raster, plan, job, parts)
            results.append(job.output)
    except BaseException:
        for fs in futures.values():
            for f in fs:
                f.cancel()
        raise
    finally:
        remove_quietly([p for part in done for p in part.paths])
        remove_finished_parts(futures, done)
    return results


def remove_finished_parts(futures: dict[int, list[Any]], done: list[PartResult]) -> None:
    """Delete part files of tasks that finished after a sibling failed (their paths were never gathered)."""
    for fs in futures.values():
        for f in fs:
            if f.status == "finished":
                try:
                    part = f.result(timeout=1)
                except Exception:  # noqa: BLE001 - best-effort cleanup
                    continue
                if part not in done:
                    remove_quietly(part.paths)
