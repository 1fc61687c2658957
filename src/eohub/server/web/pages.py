"""Rendering pages: the Jinja2 environment, HTML responses with safe headers, and error pages.

Every page route uses :class:`PageRoute`, which turns any exception into a page: an eohub error into its
status (404 for unknown names and versions, with the repository's own message), an invalid sign-in
cookie into the sign-in form (and the cookie is dropped), anything unexpected into a plain 500 page.
A stack trace never reaches the browser; it goes to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from eohub import __version__
from eohub.core.units import human_size
from eohub.errors import AuthenticationError, EohubError
from eohub.server.accounts import Account
from eohub.server.context import SESSION_COOKIE
from eohub.server.errors import status_of

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data: https:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "private, no-cache",
    "Vary": "Cookie",
}
PLURAL = {"model": "models", "dataset": "datasets"}
TITLES = {400: "Bad request", 401: "Sign in", 403: "Not allowed", 404: "Not found", 500: "Something broke"}


def human_date(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def number(value: int | None) -> str:
    return "" if value is None else f"{value:,}".replace(",", "\u202f")


def repository_url(kind: str, name: str, version: int | None = None) -> str:
    """``/models/NAME`` or ``/models/NAME/versions/N``."""
    url = f"/{PLURAL[kind]}/{quote(name)}"
    return f"{url}/versions/{version}" if version is not None else url


def file_url(kind: str, name: str, version: int, path: str) -> str:
    """The hub API's download URL of one file of a version."""
    return f"/api/{PLURAL[kind]}/{quote(name)}/versions/{version}/files/{quote(path)}"


def query_url(path: str, params: dict[str, Any], **changes: Any) -> str:
    """``path?…`` with ``params`` updated by ``changes``; empty values are left out."""
    merged = {**params, **changes}
    kept = {k: v for k, v in merged.items() if v not in (None, "", False)}
    return f"{path}?{urlencode(kept, doseq=True)}" if kept else path


environment = Environment(
    loader=PackageLoader("eohub.server.web", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(size=human_size, date=human_date, number=number)
environment.globals.update(
    repository_url=repository_url,
    file_url=file_url,
    query_url=query_url,
    plural=PLURAL,
    hub_version=__version__,
)


def caller_of(request: Request) -> Account | None:
    """Who the page is for (remembered by the pages' router dependency)."""
    return getattr(request.state, "caller", None)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered with ``context`` (plus the caller and the request's path) as a page."""
    html = environment.get_template(template).render(
        caller=caller_of(request), path=request.url.path, request_query=str(request.url.query), **context
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """A friendly page for ``status`` with ``message`` (which never holds internals)."""
    title = TITLES.get(status, "Error")
    return render(request, "error.html", status, status_code=status, title=title, message=message)


def _signin_again(request: Request, message: str) -> HTMLResponse:
    request.state.caller = None
    response = render(request, "signin.html", 401, error=message, next_url=request.url.path)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


class PageRoute(APIRoute):
    """An API route whose every failure is an HTML page (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except AuthenticationError:
                return _signin_again(
                    request, "Your sign-in token is no longer valid. Sign in again with a valid API token."
                )
            except EohubError as exc:
                return error_page(request, status_of(exc), str(exc))
            except RequestValidationError:
                return error_page(request, 400, "The address has a parameter this page does not understand.")
            except StarletteHTTPException as exc:
                return error_page(request, exc.status_code, str(exc.detail))
            except Exception:
                log.exception("unexpected error on page %s %s", request.method, request.url.path)
                return error_page(request, 500, "The hub could not show this page. Its log has the details.")

        return page
