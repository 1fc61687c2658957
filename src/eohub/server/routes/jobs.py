"""``/api/models/{name}/jobs`` and ``/api/jobs``: prediction jobs run by the hub (:mod:`eohub.jobs`).

Routes read the request and call :mod:`eohub.jobs.service` as the signed-in caller; the service checks
everything (inputs the caller may read, uploads they may reference, the output dataset they own,
limits). A job is answered as its Job JSON; someone else's job is a 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request

from eohub.jobs import service
from eohub.server.context import Hub, SignedIn

router = APIRouter(prefix="/api", tags=["jobs"])

EXAMPLE = {
    "version": None,
    "inputs": [{"dataset": "NAME", "version": None, "items": None}],
    "options": {"tile": None, "overlap": None, "batch": None},
    "output": {"dataset": None},
}


@router.post("/models/{name}/jobs", status_code=202, summary="Run a model on the hub (a prediction job)")
def submit_job(
    name: str,
    request: Request,
    context: Hub,
    caller: SignedIn,
    body: Annotated[Any, Body(openapi_examples={"dataset": {"value": EXAMPLE}})] = None,
) -> dict[str, Any]:
    """Queue a job: ``inputs`` are dataset versions (``{"dataset", "version", "items"}``), items of this
    hub's STAC API (``{"stac_item": "datasets.NAME/ITEM"}``) or uploaded rasters (``{"upload": {"sha256",
    "name"}}``); ``options`` as ``eohub predict`` takes them; the result becomes a new version of
    ``output.dataset`` (default ``{model}-predictions``), which the caller must own."""
    return service.submit(context, caller.name, body, model=name, base_url=str(request.base_url))


@router.get("/jobs", summary="The caller's jobs, newest first")
def list_jobs(
    context: Hub,
    caller: SignedIn,
    state: Annotated[
        str | None, Query(max_length=16, description="queued, running, done, failed, cancelled")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LISTED)] = 100,
) -> list[dict[str, Any]]:
    return service.list_jobs(context, caller.name, state, limit)


@router.get("/jobs/{job_id}", summary="One job: state, progress, timings, result")
def get_job(job_id: str, context: Hub, caller: SignedIn) -> dict[str, Any]:
    return service.get(context, caller.name, job_id)


@router.post("/jobs/{job_id}/cancel", summary="Cancel a queued or running job (it publishes nothing)")
def cancel_job(job_id: str, context: Hub, caller: SignedIn) -> dict[str, Any]:
    return service.cancel(context, caller.name, job_id)
