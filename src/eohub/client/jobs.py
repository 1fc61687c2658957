"""Prediction jobs on a hub, seen from a client: submit, show, list, cancel and wait (issue 16).

A job runs a model version over scenes on the hub and publishes the result as a dataset version. The hub
is not trusted: every answer becomes a :class:`Job` only when each field has the type, range and form the
hub's own rules give it (ids, names and states matched whole, counts bounded, times parsed), and a job
answered for ``GET /api/jobs/{id}`` must be the job asked for. Anything else is an
:class:`~eohub.errors.IntegrityError` that names the field.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from eohub.client.http import HubSession
from eohub.core.names import check_name, check_version, name_key
from eohub.errors import EohubError, IntegrityError, UsageError

STATES = ("queued", "running", "done", "failed", "cancelled")
ENDED = frozenset({"done", "failed", "cancelled"})
MAX_ERROR = 2000
"""The most of a job's failure reason kept (one line for a person)."""
MAX_JOBS = 10_000
"""Jobs one list answer may hold."""
MAX_INPUTS = 10_000
"""Inputs (and items of one dataset input) one job may name."""
MAX_COUNT = 2**53
"""Windows done / total: whole numbers a float can still hold exactly."""
MAX_SECONDS = 10 * 365 * 24 * 3600.0
MAX_TEXT = 1024
"""An item id, a STAC item reference or a file name."""
POLL_FIRST, POLL_MAX = 0.25, 2.0
"""Seconds between two looks at a running job: short at first, then at most this."""

_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
OPTIONS = ("tile", "overlap", "batch")


def check_job_id(job_id: Any) -> str:
    """``job_id`` if it is a job id (letters, digits, ``_`` and ``-``, up to 64, matched whole)."""
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        raise UsageError(f"{str(job_id)[:80]!r} is not a job id (letters, digits, '_' and '-', up to 64)")
    return job_id


def check_text(value: Any, what: str) -> str:
    """A short text with no control characters (an item id, a file name)."""
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT or _CONTROL.search(value):
        raise UsageError(f"{what} must be 1 to {MAX_TEXT} characters without control characters")
    return value


@dataclass(frozen=True)
class JobProgress:
    """Windows of the job's scenes done so far, of ``total`` (0 while the job is being planned)."""

    done: int = 0
    total: int = 0

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


@dataclass(frozen=True)
class JobResult:
    """The dataset version a finished job published."""

    dataset: str
    version: int


@dataclass(frozen=True)
class Job:
    """A prediction job as the hub describes it (see the module docstring); ``hub`` is the hub's URL,
    for links to the result (empty when unknown)."""

    id: str
    model: str
    model_version: int
    owner: str
    state: str
    progress: JobProgress
    error: str | None
    created: datetime
    started: datetime | None
    finished: datetime | None
    queued_seconds: float | None
    run_seconds: float | None
    inputs: list[dict[str, Any]]
    options: dict[str, int | None]
    output_dataset: str
    result: JobResult | None
    hub: str = field(default="", compare=False)

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    @property
    def result_url(self) -> str | None:
        """The web page of the result dataset's version, when the job is done."""
        if self.result is None:
            return None
        return f"{self.hub}/datasets/{quote(self.result.dataset)}/versions/{self.result.version}"

    def to_dict(self) -> dict[str, Any]:
        """The job as the hub's API writes it."""
        return {
            "id": self.id,
            "model": self.model,
            "model_version": self.model_version,
            "owner": self.owner,
            "state": self.state,
            "progress": {"done": self.progress.done, "total": self.progress.total},
            "error": self.error,
            "created": self.created.isoformat(),
            "started": self.started.isoformat() if self.started else None,
            "finished": self.finished.isoformat() if self.finished else None,
            "timings": {"queued_seconds": self.queued_seconds, "run_seconds": self.run_seconds},
            "inputs": self.inputs,
            "options": self.options,
            "output_dataset": self.output_dataset,
            "result": {"dataset": self.result.dataset, "version": self.result.version}
            if self.result
            else None,
        }

    @classmethod
    def from_dict(cls, data: Any, hub: str = "") -> Job:
        """A job from a hub's JSON, every field checked (:class:`IntegrityError` naming the first bad one)."""
        try:
            return cls._parse(data, hub)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError, EohubError) as exc:
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            raise IntegrityError(f"the hub sent a malformed job ({reason})") from None

    @classmethod
    def _parse(cls, data: Any, hub: str) -> Job:
        if not isinstance(data, dict):
            raise TypeError("not an object")
        state = data["state"]
        if state not in STATES:
            raise ValueError(f"state {str(state)[:20]!r}")
        progress = _object(data["progress"], "progress")
        done, total = _count(progress.get("done"), "done"), _count(progress.get("total"), "total")
        if done > total:
            raise ValueError("progress: more windows done than in total")
        timings = _object(data.get("timings") or {}, "timings")
        error = data.get("error")
        if error is not None and not isinstance(error, str):
            raise TypeError("error")
        result = data.get("result")
        if result is not None:
            result = _object(result, "result")
            result = JobResult(
                check_name(result["dataset"], "result dataset"), check_version(result["version"])
            )
        if (result is not None) != (state == "done"):
            raise ValueError("a result belongs to a done job, and a done job has one")
        return cls(
            id=_job_id(data["id"]),
            model=check_name(data["model"], "model name"),
            model_version=check_version(data["model_version"]),
            owner=check_name(data["owner"], "owner"),
            state=state,
            progress=JobProgress(done, total),
            error=" ".join(error.split())[:MAX_ERROR] if error else None,
            created=_moment(data["created"], "created"),
            started=_moment(data.get("started"), "started", optional=True),
            finished=_moment(data.get("finished"), "finished", optional=True),
            queued_seconds=_seconds(timings.get("queued_seconds"), "queued_seconds"),
            run_seconds=_seconds(timings.get("run_seconds"), "run_seconds"),
            inputs=_inputs(data.get("inputs") or []),
            options=_options(data.get("options") or {}),
            output_dataset=check_name(data["output_dataset"], "output dataset"),
            result=result,
            hub=hub,
        )

    def _repr_html_(self) -> str:
        from eohub.client.job_display import job_html

        return job_html(self)


class JobsClient:
    """The jobs API of the hub behind ``session`` (see the module docstring)."""

    def __init__(self, session: HubSession) -> None:
        self.session = session

    def submit(self, model: str, request: dict[str, Any]) -> Job:
        """``POST /api/models/{model}/jobs``: the queued job (the hub checks the caller may run it)."""
        check_name(model, "model name")
        data = self.session.json("POST", f"/api/models/{quote(model)}/jobs", json=request)
        job = Job.from_dict(data, self.session.url)
        if name_key(job.model) != name_key(model):
            raise IntegrityError(
                f"the hub answered with a job of model '{job.model}' when asked to run '{model}'"
            )
        return job

    def get(self, job_id: str) -> Job:
        """``GET /api/jobs/{id}`` (someone else's job is a :class:`~eohub.errors.NotFoundError`)."""
        return self._same(job_id, self.session.json("GET", f"/api/jobs/{check_job_id(job_id)}"))

    def list(self, state: str | None = None) -> list[Job]:
        """``GET /api/jobs``: the caller's jobs, newest first, optionally in one state."""
        if state is not None and state not in STATES:
            raise UsageError(f"a job's state is one of {', '.join(STATES)}, not {str(state)[:20]!r}")
        data = self.session.json("GET", "/api/jobs", params={"state": state} if state else None)
        if isinstance(data, dict) and "jobs" in data:  # {"jobs": [...]} or a bare list
            data = data["jobs"]
        if not isinstance(data, list) or len(data) > MAX_JOBS:
            raise IntegrityError(f"the hub sent a malformed list of jobs (a list of at most {MAX_JOBS})")
        jobs = [Job.from_dict(d, self.session.url) for d in data]
        if state is not None and any(j.state != state for j in jobs):
            raise IntegrityError(f"the hub answered jobs that are not {state} when asked for {state} jobs")
        return jobs

    def cancel(self, job_id: str) -> Job:
        """``POST /api/jobs/{id}/cancel``; a job that has ended already is an
        :class:`~eohub.errors.AlreadyExistsError` (the hub's 409) that says how it ended."""
        return self._same(job_id, self.session.json("POST", f"/api/jobs/{check_job_id(job_id)}/cancel"))

    def wait(
        self,
        job: Job,
        seen: Callable[[Job], None] | None = None,
        timeout: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Job:
        """Look at ``job`` until it ends (or ``timeout`` seconds pass: the job as last seen); ``seen`` is
        called with each look, for a progress bar."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = POLL_FIRST
        while True:
            if seen is not None:
                seen(job)
            if job.ended or (deadline is not None and time.monotonic() >= deadline):
                return job
            sleep(pause)
            pause = min(POLL_MAX, pause * 1.5)
            job = self.get(job.id)

    def _same(self, job_id: str, data: Any) -> Job:
        job = Job.from_dict(data, self.session.url)
        if job.id != job_id:
            raise IntegrityError(f"the hub answered with job {job.id} when asked for job {job_id}")
        return job


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{what} is not an object")
    return value


def _job_id(value: Any) -> str:
    if not isinstance(value, str) or not _JOB_ID.fullmatch(value):
        raise ValueError(f"job id {str(value)[:80]!r}")
    return value


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ValueError(f"{what} {repr(value)[:40]}")
    return value


def _seconds(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_SECONDS:
        raise ValueError(f"{what} {repr(value)[:40]}")
    if math.isnan(value):
        raise ValueError(f"{what} NaN")
    return float(value)


def _moment(value: Any, what: str, optional: bool = False) -> datetime | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError(f"{what} {repr(value)[:40]}")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not an ISO 8601 time") from None


def _inputs(listed: Any) -> list[dict[str, Any]]:
    """A job's inputs, each one of the three forms of the request (unknown keys dropped)."""
    if not isinstance(listed, list) or len(listed) > MAX_INPUTS:
        raise ValueError("inputs")
    checked = []
    for entry in listed:
        entry = _object(entry, "an input")
        if "dataset" in entry:
            version = entry.get("version")
            items = entry.get("items")
            if items is not None and (not isinstance(items, list) or len(items) > MAX_INPUTS):
                raise ValueError("items of a dataset input")
            checked.append(
                {
                    "dataset": check_name(entry["dataset"], "input dataset"),
                    "version": None if version is None else check_version(version),
                    "items": None if items is None else [check_text(i, "an item id") for i in items],
                }
            )
        elif "stac_item" in entry:
            version = entry.get("version")
            reference = {"stac_item": check_text(entry["stac_item"], "a STAC item")}
            checked.append(reference if version is None else {**reference, "version": check_version(version)})
        elif "upload" in entry:
            upload = _object(entry["upload"], "an upload input")
            digest = upload.get("sha256")
            if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
                raise ValueError("the SHA-256 of an upload input")
            checked.append(
                {"upload": {"sha256": digest, "name": check_text(upload.get("name"), "a file name")}}
            )
        else:
            raise ValueError("an input that is neither a dataset, a STAC item nor an upload")
    return checked


def _options(options: Any) -> dict[str, int | None]:
    options = _object(options, "options")
    checked: dict[str, int | None] = {}
    for key in OPTIONS:
        value = options.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**31
        ):
            raise ValueError(f"option {key} {repr(value)[:40]}")
        checked[key] = value
    return checked
