"""The web pages' routes: search, model and dataset pages, versions, diffs, sign-in, static files.

Routes parse the request, call the repository (as the caller: private repositories of others raise
:class:`NotFoundError`, which is a 404 page) and the page builders, and render a template. Paths are
fixed prefixes (``/``, ``/models/…``, ``/datasets/…``, ``/signin``, ``/signout``, ``/static/…``,
``/favicon.ico`` and ``/favicon.svg``), so
they never shadow ``/api``, ``/stac``, ``/docs`` or ``/openapi.json``.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from eohub.errors import AuthenticationError, NotFoundError, PermissionDeniedError, UsageError
from eohub.repository import Kind
from eohub.repository.search import MAX_PER_PAGE, SORTS, SearchQuery, search
from eohub.server.accounts import authenticate
from eohub.server.context import SESSION_COOKIE, Caller, Hub, Repo
from eohub.server.limits import MAX_VERSION, whole_number
from eohub.server.web import views
from eohub.server.web.pages import PLURAL, PageRoute, caller_of, error_page, render, repository_url
from eohub.server.web.run_form import RunForm, run_form

MAX_FORM = 8 * 1024
PER_PAGE = 20
MAX_PAGE = 10**6
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def remember_caller(request: Request, caller: Caller) -> None:
    """Keep the caller on the request, for the page header (and error pages)."""
    request.state.caller = caller


pages = APIRouter(route_class=PageRoute, include_in_schema=False, dependencies=[Depends(remember_caller)])


def _int(value: str | None, default: int) -> int:
    """A page number or size from the URL; anything but ASCII digits up to :data:`MAX_PAGE` is the default."""
    number = whole_number((value or "").strip(), MAX_PAGE)
    return default if number is None else number


def search_query(params: dict[str, str], owner: str | None) -> SearchQuery:
    """The search form's fields (as the home page's URL carries them) as a query; odd values are ignored."""
    kind = params.get("kind", "")
    quality = params.get("quality", "")
    bands = tuple(b for b in params.get("bands", "").replace(",", " ").split() if b)
    return SearchQuery(
        text=params.get("q", "").strip(),
        kind=kind if kind in PLURAL else None,  # type: ignore[arg-type]
        task=params.get("task", "").strip(),
        framework=params.get("framework", "").strip(),
        min_quality=int(quality) if quality in ("0", "1", "2", "3") else None,
        bands=bands,
        owner=owner if params.get("mine") and owner else None,
        sort=params["sort"] if params.get("sort") in SORTS else "updated",  # type: ignore[arg-type]
        page=_int(params.get("page"), 1),
        per_page=min(_int(params.get("per_page"), PER_PAGE), MAX_PER_PAGE) or PER_PAGE,
    )


@pages.get("/")
def home(request: Request, repo: Repo, caller: Caller) -> Response:
    params = {k: v for k, v in request.query_params.items()}
    query = search_query(params, caller.name if caller else None)
    found = search(repo, query)
    return render(request, "home.html", query=query, params=params, found=found)


def _number(version: str) -> int:
    number = whole_number(version, MAX_VERSION)
    if not number:
        raise NotFoundError(f"there is no version {version[:40]!r}: versions are numbered 1, 2, 3, …")
    return number


def _run_form(request: Request, repo: Repo, kind: Kind, page: dict) -> RunForm | None:
    """The model page's "Run" form for the signed-in caller (:mod:`eohub.server.web.run_form`)."""
    return run_form(repo, caller_of(request), kind, page["info"], page["version"])


def kind_pages(kind: Kind) -> APIRouter:
    """The pages of one kind under ``/models`` or ``/datasets``."""
    router = APIRouter(prefix=f"/{PLURAL[kind]}", route_class=PageRoute, include_in_schema=False)

    @router.get("")
    def listing() -> Response:
        return RedirectResponse(f"/?kind={kind}", status_code=303)

    @router.get("/{name}")
    def latest(
        request: Request, name: str, repo: Repo, version: Annotated[str | None, Query()] = None
    ) -> Response:
        if version:  # the version picker (a plain GET form) lands here
            number = None if version == "latest" else _number(version)
            return RedirectResponse(repository_url(kind, name, number), status_code=303)
        page = views.repository_page(request, repo, kind, name, None)
        return render(request, "repository.html", **page, run=_run_form(request, repo, kind, page))

    @router.get("/{name}/versions/{version}")
    def one_version(request: Request, name: str, version: str, repo: Repo) -> Response:
        page = views.repository_page(request, repo, kind, name, _number(version))
        return render(request, "repository.html", **page, run=_run_form(request, repo, kind, page))

    @router.get("/{name}/diff")
    def compare(
        request: Request,
        name: str,
        repo: Repo,
        old: Annotated[str | None, Query(alias="from")] = None,
        new: Annotated[str | None, Query(alias="to")] = None,
    ) -> Response:
        page = views.diff_page(repo, kind, name, _number(old) if old else None, _number(new) if new else None)
        return render(request, "diff.html", **page)

    @router.get("/{name}/{rest:path}")
    def unknown(name: str, rest: str) -> Response:
        raise NotFoundError(f"this hub has no page /{PLURAL[kind]}/{name}/{rest}")

    return router


# --- sign in / out ------------------------------------------------------------------------------------


def _same_origin(request: Request) -> None:
    """Forms posted from another site are refused: a browser sends ``Origin`` with every POST, and
    ``Origin: null`` (a sandboxed frame, a ``file:`` page, a redirect across sites) is no more the hub's
    own page than another site is. A request without ``Origin`` comes from a program (curl, a script),
    not from a page a browser was lured to, and is accepted."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    here = urlsplit(str(request.base_url))
    try:
        there = urlsplit(origin.strip())
        same = (there.scheme.lower(), there.netloc.lower()) == (here.scheme.lower(), here.netloc.lower())
    except ValueError:  # not a URL at all (an IPv6 host without its bracket, ...)
        same = False
    if not same:  # "null" among them: it names no scheme and host
        raise PermissionDeniedError("this form can only be sent from the hub's own pages")


def _local(target: str | None) -> str:
    """A redirect target on this site (a path), or the home page's "mine" view."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/?mine=1"


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM:
        raise UsageError("the form is too large")
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


@pages.get("/signin")
def signin_form(request: Request, target: Annotated[str | None, Query(alias="next")] = None) -> Response:
    return render(request, "signin.html", error="", next_url=_local(target))


@pages.post("/signin")
async def signin(request: Request, context: Hub) -> Response:
    _same_origin(request)
    form = await _form(request)
    token = form.get("token", "").strip()
    target = _local(form.get("next"))
    try:
        if not token:
            raise AuthenticationError("paste an API token")
        account = authenticate(context.database, token)
    except AuthenticationError:
        message = "That is not a valid API token of this hub." if token else "Paste an API token."
        return render(request, "signin.html", 401, error=message, next_url=target)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    request.state.caller = account
    return response


@pages.post("/signout")
def signout(request: Request) -> Response:
    _same_origin(request)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- static files ---------------------------------------------------------------------------------------

static = APIRouter(prefix="/static", include_in_schema=False)
STATIC_FILES = {
    entry.name: entry
    for entry in resources.files("eohub.server.web").joinpath("static").iterdir()
    if entry.is_file() and any(entry.name.endswith(ext) for ext in STATIC_TYPES)
}


@static.get("/{name}")
def static_file(request: Request, name: str) -> Response:
    entry = STATIC_FILES.get(name)
    if entry is None:
        return error_page(request, 404, f"there is no file /static/{name}")
    media = next(t for ext, t in STATIC_TYPES.items() if name.endswith(ext))
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return Response(entry.read_bytes(), media_type=media, headers=headers)


# --- favicon ---------------------------------------------------------------------------------------------

ICONS = {"favicon.svg": "image/svg+xml", "favicon.ico": "image/x-icon"}  # static/favicon.ico is the SVG drawn
icons = APIRouter(include_in_schema=False)


def _icon(name: str) -> Response:
    headers = {
        "Cache-Control": "public, max-age=86400",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'",  # the SVG opened as a document runs nothing
    }
    data = resources.files("eohub.server.web").joinpath("static", name).read_bytes()
    return Response(data, media_type=ICONS[name], headers=headers)


@icons.get("/favicon.ico")
def favicon_ico() -> Response:
    return _icon("favicon.ico")


@icons.get("/favicon.svg")
def favicon_svg() -> Response:
    return _icon("favicon.svg")


router = APIRouter()
router.include_router(pages)
for _kind in PLURAL:
    router.include_router(kind_pages(_kind), dependencies=[Depends(remember_caller)])  # type: ignore[arg-type]
router.include_router(static)
router.include_router(icons)
