"""The web side of prediction jobs: the model page's "Run" form is posted here, and ``/jobs/{id}`` follows
the job until it ends, with a link to the result dataset.

- ``POST /models/{name}/run``: a write authorized by the sign-in cookie, so it is taken only from the hub's
  own pages: the browser's ``Origin`` must be this hub (another site, ``Origin: null`` and a request
  without ``Origin`` are refused; programs use ``POST /api/models/{name}/jobs`` with a token). The form's
  fields become the API's request, handed to :func:`eohub.jobs.service.submit`; the answer is a redirect
  to the job's page.
- ``GET /jobs/{id}``: the job as its owner (or an admin) sees it; anyone else gets a 404. While the job is
  queued or running, ``static/job.js`` asks ``GET /jobs/{id}/state`` every second and updates the page
  (its CSP adds ``connect-src 'self'`` for that), reloading it when the job ends; without JavaScript, a
  refresh link does the same.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from eohub.errors import NotFoundError, PermissionDeniedError, UsageError
from eohub.server.accounts import Account, authenticate
from eohub.server.context import SESSION_COOKIE, Caller, Hub, HubContext
from eohub.server.limits import MAX_VERSION, whole_number
from eohub.server.web.pages import CONTENT_SECURITY_POLICY, PageRoute, human_date, render, repository_url
from eohub.server.web.routes import _form, _same_origin, remember_caller

JOB_PAGE_POLICY = CONTENT_SECURITY_POLICY + "; connect-src 'self'"
"""The job page's script asks the hub for the job's state; nothing else may be fetched."""
OPTION_MAXIMUM = 1 << 20
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
STATE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

router = APIRouter(route_class=PageRoute, include_in_schema=False, dependencies=[Depends(remember_caller)])
state_router = APIRouter(include_in_schema=False)


def _service() -> Any:
    from eohub.jobs import service  # the engine loads with the first job, not with the pages

    return service


def form_caller(request: Request, context: HubContext) -> Account | None:
    """Who posts the form: only from this hub's pages (``Origin`` present and the hub's own), signed in with
    the cookie the sign-in form set (see the module docstring); ``None`` without one."""
    if request.headers.get("origin") is None:
        raise PermissionDeniedError("this form can only be sent from the hub's own pages")
    _same_origin(request)
    token = request.cookies.get(SESSION_COOKIE)
    return authenticate(context.database, token) if token else None


def _signin(target: str) -> Response:
    return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)


def _number(form: dict[str, str], field: str, minimum: int, maximum: int, what: str) -> int | None:
    """An optional whole-number field (empty: ``None``)."""
    text = form.get(field, "").strip()
    if not text:
        return None
    number = whole_number(text, maximum)
    if number is None or number < minimum:
        raise UsageError(f"{what} must be a whole number from {minimum} to {maximum:,}, not {text[:40]!r}")
    return number


def job_request(form: dict[str, str]) -> dict[str, Any]:
    """The API's job request (``POST /api/models/{name}/jobs``) from the form's fields."""
    dataset = form.get("dataset", "").strip()
    if not dataset:
        raise UsageError("choose a dataset to run the model on")
    output = form.get("output", "").strip()
    return {
        "version": _number(form, "model_version", 1, MAX_VERSION, "the model's version"),
        "inputs": [
            {
                "dataset": dataset,
                "version": _number(form, "dataset_version", 1, MAX_VERSION, "the dataset's version"),
                "items": None,
            }
        ],
        "options": {
            "tile": _number(form, "tile", 1, OPTION_MAXIMUM, "the tile size"),
            "overlap": _number(form, "overlap", 0, OPTION_MAXIMUM, "the overlap"),
            "batch": _number(form, "batch", 1, OPTION_MAXIMUM, "the batch size"),
        },
        "output": {"dataset": output or None},
    }


@router.post("/models/{name}/run")
async def run(request: Request, name: str, context: Hub) -> Response:
    caller = form_caller(request, context)
    if caller is None:
        return _signin(repository_url("model", name))
    request.state.caller = caller
    body = job_request(await _form(request))
    job = _service().submit(context, caller.name, body, model=name, base_url=str(request.base_url))
    return RedirectResponse(f"/jobs/{job['id']}", status_code=303)


def _job(context: HubContext, caller: Account, job_id: str) -> dict[str, Any]:
    if not JOB_ID.fullmatch(job_id):
        raise NotFoundError("there is no such job")
    return _service().get(context, caller.name, job_id)


def page_state(job: dict[str, Any]) -> dict[str, Any]:
    """What the job page shows and its script updates."""
    progress = job.get("progress") or {}
    done, total = int(progress.get("done") or 0), int(progress.get("total") or 0)
    result = job.get("result")
    return {
        "state": job["state"],
        "created": human_date(datetime.fromisoformat(job["created"])) if job.get("created") else "",
        "done": done,
        "total": total,
        "text": f"{done} of {total} windows ({100 * done // total}%)" if total else "planning the windows",
        "ended": job["state"] in ("done", "failed", "cancelled"),
        "result_url": repository_url("dataset", result["dataset"], result["version"]) if result else None,
    }


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, context: Hub, caller: Caller) -> Response:
    if caller is None:
        return _signin(request.url.path)
    job = _job(context, caller, job_id)
    response = render(request, "job.html", job=job, live=page_state(job))
    response.headers["Content-Security-Policy"] = JOB_PAGE_POLICY
    return response


@state_router.get("/jobs/{job_id}/state")
def job_state(job_id: str, context: Hub, caller: Caller) -> Response:
    try:
        if caller is None:
            raise NotFoundError("sign in")
        job = _job(context, caller, job_id)
    except NotFoundError:
        return JSONResponse({"detail": "there is no such job"}, 404, headers=STATE_HEADERS)
    return JSONResponse(page_state(job), headers=STATE_HEADERS)
