"""The JSON the STAC API serves: landing page, conformance, collections, items, item collections.

Everything here is presentation of :mod:`eohub.search` results for one request's base URL: links are
absolute, asset hrefs point at the hub's download route
(``/api/{models|datasets}/{name}/versions/{n}/files/{path}``) while links (URLs, container images:
:mod:`eohub.core.hrefs`) stay as written, and versions are linked as the version
extension says (``latest-version``, ``predecessor-version``, ``successor-version``,
``version-history``). Collections do not declare the MLM extension: its v1.5.2 schema rejects the
array-valued ``summaries`` STAC requires (``eohub.mlm.validate.KNOWN_DISAGREEMENTS``).
"""

from __future__ import annotations

import copy
import posixpath
import re
from typing import Any
from urllib.parse import quote, urlencode

from eohub import __version__
from eohub.core.hrefs import SCHEME, is_link
from eohub.search.catalog import CollectionInfo, Hit
from eohub.search.records import iso

STAC_VERSION = "1.1.0"
VERSION_EXTENSION = "https://stac-extensions.github.io/version/v1.2.0/schema.json"
JSON = "application/json"
GEOJSON = "application/geo+json"
SCHEMA_JSON = "application/schema+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
VERSION_RELS = {"latest-version", "predecessor-version", "successor-version", "version-history"}
STRUCTURAL_RELS = {"self", "root", "parent", "collection", "child", "item", "items"} | VERSION_RELS
_LICENSE = re.compile(r"^[\w\-.+]+$")
WORLD = [-180.0, -90.0, 180.0, 90.0]

CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#sort",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#sort",
    "https://api.stacspec.org/v1.0.0/item-search#filter",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/array-functions",
]


class Urls:
    """Absolute URLs of the API for one request's base URL (``http://host:port/``)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.root = f"{self.base}/stac"

    def collection(self, cid: str, version: int | None = None) -> str:
        return _with_version(f"{self.root}/collections/{quote(cid, safe='')}", version)

    def items(self, cid: str, version: int | None = None) -> str:
        return _with_version(f"{self.collection(cid)}/items", version)

    def item(self, cid: str, item_id: str, version: int | None = None) -> str:
        return _with_version(f"{self.items(cid)}/{quote(item_id, safe='')}", version)

    def file(self, kind: str, name: str, number: int, path: str) -> str:
        return f"{self.base}/api/{kind}s/{quote(name)}/versions/{number}/files/{quote(path)}"

    def history(self, kind: str, name: str) -> str:
        return f"{self.base}/api/{kind}s/{quote(name)}/versions"


def _with_version(url: str, version: int | None) -> str:
    return f"{url}?{urlencode({'version': version})}" if version is not None else url


def link(rel: str, href: str, media: str = JSON, **extra: Any) -> dict[str, Any]:
    return {"rel": rel, "href": href, "type": media, **extra}


def landing(urls: Urls, collections: list[CollectionInfo]) -> dict[str, Any]:
    links = [
        link("self", urls.root),
        link("root", urls.root),
        link("conformance", f"{urls.root}/conformance"),
        link("data", f"{urls.root}/collections"),
        link("search", f"{urls.root}/search", GEOJSON, method="GET"),
        link("search", f"{urls.root}/search", GEOJSON, method="POST"),
        link(QUERYABLES_REL, f"{urls.root}/queryables", SCHEMA_JSON),
        link("service-desc", f"{urls.root}/api", OPENAPI),
        link("service-doc", f"{urls.base}/docs", "text/html"),
    ]
    links += [link("child", urls.collection(c.id), title=c.name) for c in collections]
    return {
        "type": "Catalog",
        "stac_version": STAC_VERSION,
        "id": "eohub",
        "title": "eohub",
        "description": "Earth-observation models and datasets, one STAC collection per repository "
        "(models.{name}, datasets.{name}); items of the latest version unless ?version=N.",
        "conformsTo": CONFORMANCE,
        "links": links,
        "eohub:version": __version__,
    }


def _license(value: str) -> str:
    return value if value and _LICENSE.match(value) else "other"


def _version_links(
    make: Any, history: str, number: int, latest: bool, predecessor: bool, successor: bool
) -> list[dict[str, Any]]:
    links = [link("latest-version", make(None)), link("version-history", history)]
    if predecessor:
        links.append(link("predecessor-version", make(number - 1)))
    if successor:
        links.append(link("successor-version", make(None if latest else number + 1)))
    return links


def collection(urls: Urls, info: CollectionInfo) -> dict[str, Any]:
    """A repository at one version as a STAC Collection (extent from its items, else its own)."""
    stored = info.fields
    meta = info.metadata
    version = None if info.latest else info.number
    stored_extent = stored.get("extent") if isinstance(stored.get("extent"), dict) else {}
    bbox = info.bbox or _first(stored_extent, "spatial", "bbox") or WORLD
    interval = info.interval or _first(stored_extent, "temporal", "interval")
    if not interval or not any(interval):
        interval = [iso(info.created.timestamp()), None]
    keywords = sorted({*meta.tags, *(k for k in stored.get("keywords") or [] if isinstance(k, str))})
    providers = [
        p for p in stored.get("providers") or [] if isinstance(p, dict) and isinstance(p.get("name"), str)
    ]  # the collection's own (roles, URLs), then authors they do not name (README, other documents)
    named = {p["name"] for p in providers}
    providers += [{"name": a, "roles": ["producer"]} for a in meta.authors if a not in named]
    links = [
        link("self", urls.collection(info.id, version)),
        link("root", urls.root),
        link("parent", urls.root),
        link("items", urls.items(info.id, version), GEOJSON),
        link(QUERYABLES_REL, f"{urls.collection(info.id)}/queryables", SCHEMA_JSON),
        *_version_links(
            lambda n: urls.collection(info.id, n),
            urls.history(info.kind, info.name),
            info.number,
            info.latest,
            info.number > 1,
            not info.latest,
        ),
    ]
    if meta.source.startswith(("http://", "https://")):
        links.append(link("about", meta.source, "text/html", title="source"))
    out: dict[str, Any] = {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [VERSION_EXTENSION],
        "id": info.id,
        "title": str(stored.get("title") or meta.name or info.name),
        "description": meta.description.strip()
        or str(stored.get("description") or "")
        or f"The {info.kind} {info.name} on eohub.",
        "license": _license(meta.license or str(stored.get("license") or "")),
        "extent": {"spatial": {"bbox": [bbox]}, "temporal": {"interval": [interval]}},
        "version": str(info.number),
        "links": links,
    }
    if keywords:
        out["keywords"] = keywords
    if providers:
        out["providers"] = providers
    if info.summaries:
        out["summaries"] = info.summaries
    out["eohub:kind"] = info.kind
    out["eohub:item_count"] = info.item_count
    return out


def _first(extent: dict[str, Any], part: str, field: str) -> Any:
    values = (extent.get(part) or {}).get(field) if isinstance(extent.get(part), dict) else None
    return values[0] if isinstance(values, list) and values and isinstance(values[0], list) else None


def _href(urls: Urls, hit: Hit, path: str, href: str) -> str:
    """A stored relative href as the hub's download URL; links (URLs, image references) as written."""
    if not href or is_link(href) or SCHEME.match(href) or href.startswith("/"):
        return href
    stored = posixpath.normpath(posixpath.join(posixpath.dirname(path), href))
    return urls.file(hit.kind, hit.name, hit.number, stored.lstrip("./") if stored != "." else "")


def item(urls: Urls, hit: Hit) -> dict[str, Any]:
    """A stored Item as served: hub URLs for assets and links, API links, the hub version."""
    data = copy.deepcopy(hit.item)
    path = hit.path
    cid = hit.collection
    version = None if hit.latest else hit.number
    data["collection"] = cid
    for asset in (data.get("assets") or {}).values():
        if isinstance(asset, dict) and isinstance(asset.get("href"), str):
            asset["href"] = _href(urls, hit, path, asset["href"])
    kept = [
        {**link, "href": _href(urls, hit, path, str(link.get("href") or ""))}
        for link in data.get("links") or []
        if isinstance(link, dict) and link.get("rel") not in STRUCTURAL_RELS and link.get("href")
    ]
    item_id = str(data.get("id"))
    data["links"] = [
        link("self", urls.item(cid, item_id, version), GEOJSON),
        link("parent", urls.collection(cid, version)),
        link("collection", urls.collection(cid, version)),
        link("root", urls.root),
        *_version_links(
            lambda n: urls.item(cid, item_id, n),
            urls.history(hit.kind, hit.name),
            hit.number,
            hit.latest,
            hit.has_predecessor,
            hit.has_successor,
        ),
        *kept,
    ]
    properties = data.setdefault("properties", {})
    if isinstance(properties, dict) and "version" not in properties:
        properties["version"] = str(hit.number)
        extensions = list(data.get("stac_extensions") or [])
        if VERSION_EXTENSION not in extensions:
            data["stac_extensions"] = [*extensions, VERSION_EXTENSION]
    return data


def item_collection(
    urls: Urls, features: list[dict[str, Any]], self_href: str, next_link: dict[str, Any] | None
) -> dict[str, Any]:
    links = [link("self", self_href, GEOJSON), link("root", urls.root)]
    if next_link:
        links.append(next_link)
    return {
        "type": "FeatureCollection",
        "features": features,
        "links": links,
        "numberReturned": len(features),
    }


TYPES = {
    "string": {"type": "string"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date-time": {"type": "string", "format": "date-time"},
    "": {},
}


def queryables(url: str, keys: dict[str, str]) -> dict[str, Any]:
    """A JSON Schema of the filterable properties: the built-ins and every key the items have."""
    properties: dict[str, Any] = {
        "id": {"title": "Item id", "type": "string"},
        "collection": {"title": "Collection id (models.{name} or datasets.{name})", "type": "string"},
        "geometry": {
            "title": "Geometry (S_INTERSECTS as a top-level AND term)",
            "$ref": "https://geojson.org/schema/Geometry.json",
        },
    }
    for key, kind in keys.items():
        properties.setdefault(key, {"title": key, **TYPES.get(kind, {})})
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": url,
        "type": "object",
        "title": "Queryables",
        "description": "Array and object properties are flattened: mlm:tasks holds each task, "
        "mlm:input.bands each input band name; a comparison is true when any value satisfies it.",
        "properties": properties,
        "additionalProperties": False,
    }
