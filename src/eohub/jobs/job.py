"""Running one claimed job from start to end: stage, predict on Dask, publish, and always clean up.

The job's inputs are resolved again as its owner sees them now (versions were pinned at submit), so
access lost meanwhile stops it. Whatever ends it, the job's folder is removed; a job that fails or is
cancelled commits nothing. The reason of a failure is the one line ``eohub predict`` prints for the
same error (:func:`eohub.errors.cli_message`, its flags included: ``--tile``, ``--allow-code``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from eohub.db.tables import JobRow
from eohub.errors import EohubError, InvalidStacError, cli_message
from eohub.jobs import queue, staging
from eohub.jobs.execute import restart_workers, run_on_cluster
from eohub.jobs.inputs import resolve
from eohub.jobs.publish import COLLECTION, commit, model_link, write_result
from eohub.jobs.records import FAILED, HUB_RESTARTED, job_json
from eohub.jobs.requests import parse_request
from eohub.jobs.service import check_output, repository_as

log = logging.getLogger(__name__)


class Stopped(Exception):
    """The run must stop: with a ``reason`` to fail the job, or none when it is no longer ours (cancelled)."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(reason)
        self.reason = reason


def failure_reason(exc: BaseException) -> str:
    """The one line ``eohub predict`` would print for ``exc`` (without its ``error:``)."""
    if isinstance(exc, EohubError):
        message = cli_message(exc)
        if isinstance(exc, InvalidStacError) and exc.problems:  # the result's STAC: say what is wrong
            message = f"{message}: {exc.problems[0]}"
        return " ".join(message.split())[:2000]
    if type(exc).__name__ == "KilledWorker":  # distributed's: the nanny restarted it on every try
        return (
            "a Dask worker running the model died on every try: the model needs more memory than a worker "
            "may use (EOHUB_JOB_WORKER_MEMORY_BYTES), or it crashed"
        )
    return f"the job failed unexpectedly ({type(exc).__name__}); the hub's log has the details"


def _checker(hub: Any, job_id: str, stopping: threading.Event, lease: queue.Lease) -> Any:
    limits = hub.settings.limits
    started = time.monotonic()
    every = min(1.0, limits.job_lease_seconds / 3)
    last = [0.0]

    def check(done: int | None = None, total: int | None = None) -> None:
        if stopping.is_set():
            raise Stopped(HUB_RESTARTED)
        if lease.lost.is_set():
            raise Stopped(None)
        if time.monotonic() - started > limits.max_job_seconds:
            raise Stopped(queue.runtime_message(limits))
        if time.monotonic() - last[0] >= every or (done is not None and done == total):
            last[0] = time.monotonic()
            if not queue.heartbeat(hub.database, job_id, done, total):
                raise Stopped(None)

    return check


def run_job(hub: Any, job_id: str, cluster: Any, stopping: threading.Event) -> None:
    """Run the claimed job ``job_id`` to its end (see the module docstring)."""
    with hub.database.sessions() as s:
        row = s.get(JobRow, job_id)
        assert row is not None
        job, owner, admin = job_json(row), row.owner.name, bool(row.owner.is_admin)
        private, base = row.private, row.base_url
    folder = staging.job_folder(job_id)
    limits = hub.settings.limits
    deadline = limits.max_job_seconds + limits.job_lease_seconds
    lease = queue.Lease(
        hub.database, job_id, min(1.0, limits.job_lease_seconds / 3), deadline, queue.runtime_message(limits)
    )
    check = _checker(hub, job_id, stopping, lease)
    busy: list[str] = []
    log.info("job %s: %s version %d for %s", job_id, job["model"], job["model_version"], owner)
    try:
        with lease:
            _run(hub, job, owner, admin, private, base, folder, cluster, check, busy)
    except Stopped as stop:
        if stop.reason is not None:
            queue.finish(hub.database, job_id, FAILED, stop.reason)
        log.info("job %s stopped: %s", job_id, stop.reason or "cancelled")
    except Exception as exc:  # noqa: BLE001 - every failure ends the job with its reason
        if not isinstance(exc, EohubError):
            log.exception("job %s failed", job_id)
        queue.finish(hub.database, job_id, FAILED, failure_reason(exc))
    finally:
        if busy and not stopping.is_set():  # parts of the stopped run still running: the next job needs them
            restart_workers(cluster.client(), busy)
        staging.remove(folder)


def private_now(repo: Any, job: dict[str, Any]) -> bool:
    """Whether the model or an input is private as the owner sees them now (one they can no longer read
    is a :class:`~eohub.errors.NotFoundError`); an upload is always private."""
    named = [("model", job["model"])]
    for given in job["inputs"]:
        if "upload" in given:
            return True
        if "dataset" in given:
            named.append(("dataset", given["dataset"]))
        else:
            collection = given["stac_item"].split("/", 1)[0]
            kind, _, name = collection.partition(".")
            named.append((kind[:-1], name))
    return any(repo.get(kind, name).private for kind, name in dict.fromkeys(named))


def _run(
    hub: Any, job: dict[str, Any], owner: str, admin: bool, private: bool, base: str, folder: Any,
    cluster: Any, check: Any, busy: list[str],
) -> None:  # fmt: skip
    from eohub.inference.options import RunOptions, default_streams, session_threads
    from eohub.inference.predictor import Predictor
    from eohub.inference.scenes import SceneJob

    settings, limits = hub.settings, hub.settings.limits
    repo = repository_as(hub, owner, admin)
    body = {"version": job["model_version"], "inputs": job["inputs"], "options": job["options"],
            "output": {"dataset": job["output_dataset"]}}  # fmt: skip
    resolved = resolve(repo, parse_request(body, limits), base)
    private = private or resolved.private or repo.get("model", job["model"]).private  # as things are now
    check()
    item, item_id = staging.stage_model(repo, job["model"], job["model_version"], folder)
    predictor = Predictor.from_item(item, threads=1)  # plans and assembles here; workers run the model
    result = folder / "result"
    scenes = []
    for n, scene in enumerate(resolved.scenes):
        sources = staging.stage_scene(repo.store, scene, folder / "inputs" / str(n))
        (result / COLLECTION / scene.stem).mkdir(parents=True, exist_ok=True)
        scenes.append(SceneJob(sources, result / COLLECTION / scene.stem / f"{scene.stem}.tif"))
    check()
    workers = None if settings.dask_scheduler else limits.job_workers
    streams = default_streams(workers, settings.dask_scheduler)
    options = RunOptions(**job["options"], streams=streams)
    threads = session_threads(streams, workers, settings.dask_scheduler)
    run_on_cluster(predictor, scenes, options, cluster.client(), threads, check, limits, busy)
    output = predictor.primary
    classes = [c.name for c in output.classes] if output.is_classes else []
    link = model_link(base, job["model"], job["model_version"], item_id, predictor.metadata.name)
    write_result(result, job["output_dataset"], job, resolved.scenes, link, list(output.spec.tasks), classes)
    check()
    private = private or private_now(repo, job)  # an input or the model made private (or gone) meanwhile
    check_output(hub, owner, job["output_dataset"], private)  # still theirs, still private enough
    if not queue.begin_publishing(hub.database, job["id"]):
        raise Stopped(None)
    version = commit(repo, result, job["output_dataset"], private, key=job["id"])
    queue.published(hub.database, job["id"], version)
    log.info("job %s: done, dataset %s version %d", job["id"], job["output_dataset"], version)
