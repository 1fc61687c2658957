"""``/stac``: the STAC API (core, collections, features, item search, sort, CQL2 filter).

Routes read the request, call :class:`eohub.search.catalog.StacCatalog` as the caller (so private
repositories stay invisible to others) and render with :mod:`eohub.server.stac.documents`. Bad queries
are :class:`~eohub.errors.UsageError` subclasses, which the hub answers with 400 ``{"detail": ...}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse

from eohub.config import Limits
from eohub.search.catalog import Page, Scope, StacCatalog
from eohub.search.query import QueryError, SearchRequest
from eohub.server.context import Repo
from eohub.server.limits import MAX_VERSION
from eohub.server.stac import documents
from eohub.server.stac.documents import GEOJSON, JSON, OPENAPI, SCHEMA_JSON, Urls

router = APIRouter(prefix="/stac", tags=["stac"])

VersionParam = Annotated[
    int | None, Query(ge=1, le=MAX_VERSION, description="a version number; the latest by default")
]


def _catalog(repo: Repo) -> StacCatalog:
    return StacCatalog(repo.database, repo.user, repo.admin, repo.limits)


def _limits(request: Request) -> Limits:
    return request.app.state.hub.settings.limits


def _urls(request: Request) -> Urls:
    return Urls(str(request.base_url))


def _json(body: dict[str, Any], media: str = JSON) -> JSONResponse:
    return JSONResponse(body, media_type=media)


@router.get("", summary="Landing page")
def landing(request: Request, repo: Repo) -> JSONResponse:
    return _json(documents.landing(_urls(request), _catalog(repo).collections()))


@router.get("/conformance", summary="Conformance classes")
def conformance() -> JSONResponse:
    return _json({"conformsTo": documents.CONFORMANCE})


@router.get("/api", summary="OpenAPI description (service-desc)")
def service_desc(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi(), media_type=OPENAPI)


@router.get("/queryables", summary="Properties a filter can use, over every collection")
def queryables(request: Request, repo: Repo) -> JSONResponse:
    url = f"{_urls(request).root}/queryables"
    return _json(documents.queryables(url, _catalog(repo).queryables()), SCHEMA_JSON)


@router.get("/collections", summary="Every model and dataset as a collection (latest version)")
def collections(request: Request, repo: Repo) -> JSONResponse:
    urls = _urls(request)
    return _json(
        {
            "collections": [documents.collection(urls, c) for c in _catalog(repo).collections()],
            "links": [
                documents.link("self", f"{urls.root}/collections"),
                documents.link("root", urls.root),
                documents.link("parent", urls.root),
            ],
        }
    )


@router.get("/collections/{cid}", summary="One collection (?version=N for an older version)")
def collection(cid: str, request: Request, repo: Repo, version: VersionParam = None) -> JSONResponse:
    return _json(documents.collection(_urls(request), _catalog(repo).collection(cid, version)))


@router.get("/collections/{cid}/queryables", summary="Properties a filter can use in this collection")
def collection_queryables(
    cid: str, request: Request, repo: Repo, version: VersionParam = None
) -> JSONResponse:
    url = f"{_urls(request).collection(cid)}/queryables"
    return _json(documents.queryables(url, _catalog(repo).queryables(cid, version)), SCHEMA_JSON)


def _page(request: Request, page: Page, next_link: dict[str, Any] | None) -> JSONResponse:
    urls = _urls(request)
    features = [documents.item(urls, hit) for hit in page.hits]
    return _json(documents.item_collection(urls, features, str(request.url), next_link), GEOJSON)


def _next_get(request: Request, page: Page) -> dict[str, Any] | None:
    if page.next_token is None:
        return None
    href = str(request.url.include_query_params(token=str(page.next_token)))
    return documents.link("next", href, GEOJSON, method="GET")


_FEATURE_PARAMS = {"bbox", "datetime", "limit", "token", "filter", "filter-lang", "sortby", "version"}


@router.get(
    "/collections/{cid}/items", summary="Items of a collection: bbox, datetime, filter, limit, paging"
)
def items(cid: str, request: Request, repo: Repo, version: VersionParam = None) -> JSONResponse:
    catalog = _catalog(repo)
    info = catalog.collection(cid, version)
    params = {k: v for k, v in request.query_params.items() if k in _FEATURE_PARAMS - {"version"}}
    search = SearchRequest.from_params(params, _limits(request))
    page = catalog.search(search, Scope(info.repository_id, version))
    return _page(request, page, _next_get(request, page))


@router.get("/collections/{cid}/items/{item_id}", summary="One item (?version=N for an older version)")
def item(cid: str, item_id: str, request: Request, repo: Repo, version: VersionParam = None) -> JSONResponse:
    hit = _catalog(repo).item(cid, item_id, version)
    return _json(documents.item(_urls(request), hit), GEOJSON)


_SEARCH_PARAMS = {
    "ids",
    "collections",
    "bbox",
    "intersects",
    "datetime",
    "limit",
    "token",
    "sortby",
    "filter",
    "filter-lang",
}


@router.get("/search", summary="Item search over the latest version of every collection")
def search_get(request: Request, repo: Repo) -> JSONResponse:
    params = {k: v for k, v in request.query_params.items() if k in _SEARCH_PARAMS}
    page = _catalog(repo).search(SearchRequest.from_params(params, _limits(request)))
    return _page(request, page, _next_get(request, page))


@router.post("/search", summary="Item search (JSON body; filter as CQL2 JSON or text)")
def search_post(request: Request, repo: Repo, body: Annotated[Any, Body()] = None) -> JSONResponse:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise QueryError("the search body must be a JSON object")
    page = _catalog(repo).search(SearchRequest.from_body(body, _limits(request)))
    next_link = None
    if page.next_token is not None:
        next_link = documents.link(
            "next",
            f"{_urls(request).root}/search",
            GEOJSON,
            method="POST",
            body={**body, "token": str(page.next_token)},
            merge=False,
        )
    return _page(request, page, next_link)
