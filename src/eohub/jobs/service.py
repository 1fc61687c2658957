"""Submit, show, list and cancel prediction jobs: what ``/api/models/{name}/jobs``, ``/api/jobs`` and
the web form call.

Every function takes the hub first: the server's :class:`~eohub.server.context.HubContext` (a route
gets it with ``Depends(hub)``, a page from ``request.app.state.hub``), or anything with its
``database``, ``store`` and ``settings``; then the acting user's name (``None``: a 401). Each returns the
Job JSON (:func:`eohub.jobs.records.job_json`). Errors are :mod:`eohub.errors` exceptions, answered
as 4xx by the server: a limit is a :class:`~eohub.errors.LimitError` (413) naming its ``EOHUB_*``
variable.

``submit`` checks everything it can before the job is queued: the request's shape and bounds, the
model version, that the caller may read every input, the uploads they may reference, the output
dataset they own (or that does not exist), that a private input never lands in a public dataset, the
caller's queued and running jobs (``EOHUB_MAX_USER_JOBS``) and the inputs' pixels
(``EOHUB_MAX_JOB_PIXELS``). ``base_url`` (the hub's public URL, as the request saw it) makes the
``derived_from`` links of the result absolute.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Protocol

from sqlalchemy import func, select, update

from eohub.config import Settings
from eohub.core.names import name_key
from eohub.db.engine import Database
from eohub.db.tables import JobRow, RepositoryRow, UserRow, utcnow
from eohub.errors import (
    AlreadyExistsError,
    AuthenticationError,
    InferenceError,
    LimitError,
    NotFoundError,
    PermissionDeniedError,
    UsageError,
)
from eohub.jobs import records
from eohub.jobs.inputs import count_pixels, model_item, resolve
from eohub.jobs.requests import JobRequest, parse_request
from eohub.repository.embedded import EmbeddedRepository
from eohub.storage import BlobStore

JOB_ID = re.compile(r"^[0-9a-f]{32}\Z")
MAX_LISTED = 1_000
OUTPUT_SUFFIX = "-predictions"


class Hub(Protocol):
    """What the service needs of the hub (:class:`eohub.server.context.HubContext` has it)."""

    settings: Settings
    database: Database
    store: BlobStore


def _caller(hub: Hub, user: str | None) -> tuple[str, bool]:
    if not user:
        raise AuthenticationError("prediction jobs need an API token (eohub auth login, or EOHUB_TOKEN)")
    with hub.database.sessions() as s:
        row = s.scalar(select(UserRow).where(UserRow.name == user))
        if row is None or row.disabled:
            raise AuthenticationError(f"no enabled user named {user!r}")
        return row.name, bool(row.is_admin)


def repository_as(hub: Hub, user: str, admin: bool) -> EmbeddedRepository:
    """The repository as ``user`` sees it, on the hub's database and store."""
    return EmbeddedRepository(hub.database, hub.store, user, admin, hub.settings.limits)


def _output_name(request: JobRequest, model: str) -> str:
    if request.output is not None:
        return request.output
    name = model + OUTPUT_SUFFIX
    if len(name) > 64:
        raise UsageError(f"'{name}' is longer than 64 characters; name the result in output.dataset")
    return name


def check_output(hub: Hub, user: str, name: str, private: bool) -> str:
    """The output dataset's name as stored (or as given when new), refused when the caller does not own
    it, and when it is public but the result must be private."""
    with hub.database.sessions() as s:
        row = s.scalar(
            select(RepositoryRow).where(
                RepositoryRow.kind == "dataset", RepositoryRow.name_key == name_key(name)
            )
        )
        if row is None:
            return name
        if row.owner.name != user:
            if row.private:  # another user's private dataset: say the name is taken, never whose it is
                raise AlreadyExistsError(
                    f"the dataset name '{name}' is taken; name another in output.dataset"
                )
            raise PermissionDeniedError(
                f"dataset '{row.name}' belongs to {row.owner.name}; a job publishes into a dataset you own "
                "(name another in output.dataset)"
            )
        if private and not row.private:
            raise PermissionDeniedError(
                f"dataset '{row.name}' is public and an input (or the model) is private: name a private or "
                "new dataset in output.dataset, or make it private first"
            )
        return row.name


def submit(
    hub: Hub, user: str | None, request: Any, model: str | None = None, base_url: str = ""
) -> dict[str, Any]:
    """Queue a job of ``user`` running ``model`` (or ``request["model"]``) as ``request`` says (see the
    module docstring); returns its Job JSON, state "queued"."""
    name, admin = _caller(hub, user)
    limits = hub.settings.limits
    if not isinstance(request, dict):
        raise UsageError("the job request must be a JSON object")
    body = dict(request)
    model_name = model if model is not None else body.get("model")
    body.pop("model", None)
    if not isinstance(model_name, str):
        raise UsageError("name the model to run")
    parsed = parse_request(body, limits)
    repo = repository_as(hub, name, admin)
    model_info = repo.get("model", model_name)
    version = parsed.version or (model_info.latest.number if model_info.latest else None)
    if version is None:
        raise NotFoundError(f"model '{model_info.name}' has no versions")
    if model_item(repo.manifest("model", model_info.name, version)) is None:
        raise InferenceError(
            f"model '{model_info.name}' version {version} has no MLM item (a STAC item with mlm:input)"
        )
    base = base_url.rstrip("/")
    resolved = resolve(repo, parsed, base)
    private = resolved.private or model_info.private
    output = check_output(hub, name, _output_name(parsed, model_info.name), private)
    pixels = count_pixels(repo, resolved.scenes, limits.max_job_pixels)
    normalized = {"inputs": resolved.inputs, "options": parsed.options}
    with hub.database.sessions.begin() as s:
        owner = s.scalar(select(UserRow).where(UserRow.name == name).with_for_update())
        assert owner is not None
        row = JobRow(
            id=secrets.token_hex(16), owner_id=owner.id, model=model_info.name, model_version=version,
            state=records.QUEUED, request=normalized, output_dataset=output, private=private, pixels=pixels,
            base_url=base, progress_done=0, progress_total=0, created_at=utcnow(),
        )  # fmt: skip
        s.add(row)
        s.flush()
        active = s.scalar(
            select(func.count(JobRow.id)).where(JobRow.owner_id == owner.id, JobRow.state.in_(records.ACTIVE))
        )
        if active > limits.max_user_jobs:
            raise LimitError(
                f"you have {active - 1} jobs queued or running, the most one user may have "
                f"({limits.max_user_jobs}, EOHUB_MAX_USER_JOBS); wait for one to end or cancel one"
            )
        s.flush()
        out = records.job_json(row)
    from eohub.jobs.runner import wake

    wake()
    return out


def _row(s: Any, user: str, admin: bool, job_id: str) -> JobRow:
    row = s.get(JobRow, job_id) if isinstance(job_id, str) and JOB_ID.match(job_id) else None
    if row is None or (not admin and row.owner.name != user):
        raise NotFoundError(f"no job {str(job_id)[:40]!r}")
    return row


def get(hub: Hub, user: str | None, job_id: str) -> dict[str, Any]:
    """One job of ``user`` (an admin sees every job); anyone else's is "not found"."""
    name, admin = _caller(hub, user)
    with hub.database.sessions() as s:
        return records.job_json(_row(s, name, admin, job_id))


def list_jobs(hub: Hub, user: str | None, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """``user``'s jobs, newest first (at most ``limit``, up to 1,000), optionally in one ``state``."""
    name, _ = _caller(hub, user)
    if state is not None and state not in records.STATES:
        raise UsageError(f"state must be one of {', '.join(records.STATES)} (got {str(state)[:40]!r})")
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LISTED:
        raise UsageError(f"limit must be a whole number from 1 to {MAX_LISTED}")
    query = select(JobRow).join(UserRow, UserRow.id == JobRow.owner_id).where(UserRow.name == name)
    if state is not None:
        query = query.where(JobRow.state == state)
    with hub.database.sessions() as s:
        rows = s.scalars(query.order_by(JobRow.created_at.desc(), JobRow.id).limit(limit))
        return [records.job_json(r) for r in rows]


def cancel(hub: Hub, user: str | None, job_id: str) -> dict[str, Any]:
    """Cancel a queued or running job: it ends "cancelled" and publishes nothing. An ended job, or one
    already committing its result, is an :class:`AlreadyExistsError` (409) naming its state."""
    name, admin = _caller(hub, user)
    with hub.database.sessions.begin() as s:
        row = _row(s, name, admin, job_id)
        done = s.execute(
            update(JobRow)
            .where(JobRow.id == row.id, JobRow.state.in_(records.ACTIVE), JobRow.publishing.is_(False))
            .values(state=records.CANCELLED, finished_at=utcnow(), error=None)
        )
    with hub.database.sessions() as s:
        row = _row(s, name, admin, job_id)
        if done.rowcount != 1:
            if row.state in records.ACTIVE:
                raise AlreadyExistsError(
                    f"job {row.id} is publishing its result; it can no longer be cancelled"
                )
            raise AlreadyExistsError(
                f"job {row.id} is {row.state}; only a queued or running job can be cancelled"
            )
        return records.job_json(row)
