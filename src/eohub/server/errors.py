"""eohub's exceptions as HTTP answers: ``{"detail": message}`` with a 4xx that says what to fix.

Unexpected exceptions become a 500 whose body names no internals (the traceback goes to the log).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from eohub import errors
from eohub.storage.uploads import OffsetMismatch

log = logging.getLogger(__name__)

STATUS: list[tuple[type[errors.EohubError], int]] = [
    (errors.AuthenticationError, 401),
    (errors.PermissionDeniedError, 403),
    (errors.NotFoundError, 404),
    (errors.AlreadyExistsError, 409),
    (errors.BusyError, 503),
    (errors.LimitError, 413),
    (errors.InvalidStacError, 422),
    (errors.IntegrityError, 422),
    (errors.ModelGraphError, 422),
    (errors.MigrationError, 422),
    (errors.InvalidNameError, 400),
    (errors.UsageError, 400),
    (errors.EohubError, 400),
]


def status_of(exc: errors.EohubError) -> int:
    return next(code for cls, code in STATUS if isinstance(exc, cls))


def _eohub_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.EohubError)
    body: dict[str, object] = {"detail": str(exc)}
    if isinstance(exc, errors.InvalidStacError):
        body["problems"] = exc.problems
    if exc.arguments:  # the client names each as its face does (eohub.cli.common.cli_message)
        body["arguments"] = [
            {"name": a.name, "value": None if a.value is ... else a.value} for a in exc.arguments
        ]
    if isinstance(exc, OffsetMismatch):
        body["offset"] = exc.offset
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, errors.AuthenticationError) else None
    if isinstance(exc, errors.BusyError):
        headers = {"Retry-After": "1"}
    return JSONResponse(body, status_code=status_of(exc), headers=headers)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()
    ]
    return JSONResponse({"detail": "bad request: " + "; ".join(problems)}, status_code=400)


def _wants_page(request: Request) -> bool:
    """A browser asking for a page outside the API: it gets the web's error page, not JSON."""
    path = request.url.path
    api = path == "/api" or path.startswith(("/api/", "/stac", "/openapi.json", "/docs", "/redoc"))
    return not api and "text/html" in request.headers.get("accept", "")


PageRenderer = Callable[[Request, int, str], Response]
"""Renders an HTML error page (the web layer gives one to :func:`install`; this module never imports it)."""


def _http_error(page: PageRenderer | None) -> Callable[[Request, Exception], Response]:
    def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404 and page is not None and _wants_page(request):
            return page(request, 404, f"there is no page {request.url.path}")
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    return handle


def _unstorable(request: Request, exc: Exception) -> JSONResponse:
    """A value the database refuses (PostgreSQL: a NUL character in text) came from the request."""
    return JSONResponse({"detail": "bad request: a value the hub cannot store or look up"}, status_code=400)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal error; the hub's log has the details"}, status_code=500)


def install(app: FastAPI, page: PageRenderer | None = None) -> None:
    """Register the handlers on ``app``; ``page`` renders the HTML 404 a browser gets outside the API."""
    app.add_exception_handler(errors.EohubError, _eohub_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error(page))
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(Exception, _unexpected)
