"""The Python API of prediction jobs, re-exported by :mod:`eohub.models`::

    from eohub.models import run_model
    job = run_model("demo-landcover-classifier", ["datasets/scenes@v2", "scene.tif"])
    job.result            # JobResult(dataset='demo-landcover-classifier-predictions', version=1)

Jobs run on a hub (``EOHUB_URL``), never in this process: without one, a :class:`~eohub.errors.UsageError`
says so (``eohub predict`` runs a model here). Inputs are written as :mod:`eohub.client.job_requests`
says; local files are uploaded first. Every call opens the hub and closes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from eohub.client.job_requests import FORMS, Input, job_request, parse_input, upload_files
from eohub.client.jobs import Job, JobsClient
from eohub.config import Settings, load_settings
from eohub.errors import UsageError
from eohub.repository.progress import Progress, Silent

if TYPE_CHECKING:
    from eohub.client.remote import RemoteRepository

NO_HUB = (
    "prediction jobs run on a hub: set EOHUB_URL to its address (e.g. http://localhost:8000); "
    "eohub predict runs a model on this machine"
)


@contextmanager
def open_hub(settings: Settings | None = None) -> Iterator[tuple[RemoteRepository, JobsClient]]:
    """The hub at ``EOHUB_URL`` with the caller's token, and its jobs API; a clear error without a hub."""
    from eohub.repository import open_repository

    settings = settings or load_settings()
    if not settings.remote:
        raise UsageError(NO_HUB)
    with open_repository(settings) as remote:
        yield remote, JobsClient(remote.session)  # type: ignore[attr-defined] - remote when EOHUB_URL is set


def submit(
    remote: RemoteRepository,
    jobs: JobsClient,
    name: str,
    inputs: Sequence[Input],
    version: int | None = None,
    output: str | None = None,
    tile: int | None = None,
    overlap: int | None = None,
    batch: int | None = None,
    progress: Progress | None = None,
) -> Job:
    """Upload the local files among ``inputs`` and queue the job (what the CLI and :func:`run_model` do)."""
    if isinstance(inputs, str | bytes) or not isinstance(inputs, Sequence):
        inputs = [inputs]  # type: ignore[list-item] - one input given alone
    parsed = [parse_input(i) for i in inputs]
    if not parsed:
        raise UsageError(f"a job needs at least one input: {FORMS}")
    request = job_request([p for p in parsed if isinstance(p, dict)], version, output, tile, overlap, batch)
    files = [p for p in parsed if not isinstance(p, dict)]
    if files:
        remote.get("model", name)  # an unknown model is said before any byte is sent
        request["inputs"] += upload_files(remote, files, progress or Silent())
    return jobs.submit(name, request)


def run_model(
    name: str,
    inputs: Sequence[Input] | Input,
    version: int | None = None,
    output: str | None = None,
    tile: int | None = None,
    overlap: int | None = None,
    batch: int | None = None,
    wait: bool = True,
    progress: Progress | None = None,
    on_update: Callable[[Job], None] | None = None,
) -> Job:
    """Run model ``name`` (version ``version``, the latest by default) on the hub over ``inputs``; the
    result becomes a version of dataset ``output`` (default ``{name}-predictions``). With ``wait``, returns
    the ended job (look at ``job.state``: a failed job is returned, not raised), else the queued one.
    ``progress`` sees the uploads, ``on_update`` each look at the job while waiting."""
    with open_hub() as (remote, jobs):
        job = submit(remote, jobs, name, inputs, version, output, tile, overlap, batch, progress)  # type: ignore[arg-type]
        return jobs.wait(job, on_update) if wait else job


def get_job(job_id: str) -> Job:
    """One of the caller's jobs, as it is now."""
    with open_hub() as (_, jobs):
        return jobs.get(job_id)


def list_jobs(state: str | None = None) -> list[Job]:
    """The caller's jobs, newest first, optionally only those in ``state``."""
    with open_hub() as (_, jobs):
        return jobs.list(state)


def cancel_job(job_id: str) -> Job:
    """Cancel a queued or running job (it publishes nothing); a job that has ended already is an
    :class:`~eohub.errors.AlreadyExistsError`."""
    with open_hub() as (_, jobs):
        return jobs.cancel(job_id)


def wait_job(job_id: str, timeout: float | None = None) -> Job:
    """Wait until a job ends (or ``timeout`` seconds pass) and return it."""
    with open_hub() as (_, jobs):
        return jobs.wait(jobs.get(job_id), timeout=timeout)
