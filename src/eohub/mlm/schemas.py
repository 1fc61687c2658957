"""The STAC and extension JSON schemas shipped with eohub, resolved without the network.

Schema URLs map to files under ``eohub/schemas`` (see the README there). Every file is registered
under the URL its location implies and under its own ``$id`` (some upstream ``$id`` values are
wrong, e.g. STAC 1.1.0 ``common.json`` declares ``.../commonjson``), so ``$ref`` resolves either way.
A reference to a schema that is not shipped raises :class:`SchemaNotAvailableError`, never a download.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from eohub.errors import SchemaNotAvailableError

if TYPE_CHECKING:
    import jsonschema
    from referencing import Registry, Resource

SCHEMA_ROOT = Path(str(resources.files("eohub") / "schemas"))

_EXTENSION_URL = re.compile(
    r"^https://(?:stac-extensions\.github\.io/(?P<ext>[\w-]+)|crim-ca\.github\.io/(?P<legacy>mlm)-extension)"
    r"/(?P<version>v[\w.\-]+)/schema\.json#?$"
)
_STAC_URL = re.compile(r"^https://schemas\.stacspec\.org/(?P<path>v[\w.\-]+/.+)$")
_GEOJSON_URL = re.compile(r"^https://geojson\.org/schema/(?P<name>\w+\.json)$")

MLM_VERSIONS = ("v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0", "v1.4.0", "v1.5.0", "v1.5.1", "v1.5.2")
LATEST_MLM_VERSION = MLM_VERSIONS[-1]
LATEST_MLM_SCHEMA = f"https://stac-extensions.github.io/mlm/{LATEST_MLM_VERSION}/schema.json"

_VERSION_NUMBER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-[\w.]+)?$")

CORE_SCHEMA_PATHS = {
    "Feature": "item-spec/json-schema/item.json",
    "Catalog": "catalog-spec/json-schema/catalog.json",
    "Collection": "collection-spec/json-schema/collection.json",
}


@dataclass(frozen=True)
class ExtensionRef:
    """A parsed extension schema URL: its short name (``mlm``, ``eo``...) and version (``v1.5.2``)."""

    name: str
    version: str
    url: str

    @property
    def local_path(self) -> Path:
        return SCHEMA_ROOT / self.name / self.version / "schema.json"

    @property
    def available(self) -> bool:
        return self.local_path.is_file()


def parse_extension_url(url: str) -> ExtensionRef | None:
    """Parse a ``stac_extensions`` entry; ``None`` when it is not a URL of a known extension host."""
    match = _EXTENSION_URL.match(url)
    if not match:
        return None
    name = match.group("ext") or match.group("legacy")
    return ExtensionRef(name=name, version=match.group("version"), url=url)


def version_key(version: str) -> tuple[int, int, int] | None:
    """``(1, 5, 2)`` for ``v1.5.2`` or ``1.5.2`` (a pre-release counts as its release); ``None`` otherwise."""
    match = _VERSION_NUMBER.match(version)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def newer_than(version: str, latest: str) -> bool:
    """True when ``version`` is a version number above ``latest`` (e.g. MLM v1.6.0 above v1.5.2)."""
    key, top = version_key(version), version_key(latest)
    return key is not None and top is not None and key > top


def local_path_for(url: str) -> Path | None:
    """The shipped file for a schema URL, or ``None`` when eohub does not ship it."""
    url = url.split("#", 1)[0]
    if ext := parse_extension_url(url):
        return ext.local_path if ext.available else None
    if match := _STAC_URL.match(url):
        path = SCHEMA_ROOT / "stac" / match.group("path")
        return path if path.is_file() else None
    if match := _GEOJSON_URL.match(url):
        path = SCHEMA_ROOT / "geojson" / match.group("name")
        return path if path.is_file() else None
    return None


def core_versions() -> list[str]:
    """The STAC versions whose core schemas are shipped (``1.0.0``, ``1.1.0``), oldest first."""
    found = [p.name.removeprefix("v") for p in (SCHEMA_ROOT / "stac").glob("v*") if p.is_dir()]
    return sorted(found, key=lambda v: version_key(v) or (0, 0, 0))


def core_schema_url(stac_version: str, stac_type: str) -> str:
    """URL of the STAC core schema for an object of ``type`` (Feature, Catalog, Collection)."""
    return f"https://schemas.stacspec.org/v{stac_version}/{CORE_SCHEMA_PATHS[stac_type]}"


def _location_url(path: Path) -> str:
    rel = path.relative_to(SCHEMA_ROOT).as_posix()
    top, _, rest = rel.partition("/")
    if top == "stac":
        return f"https://schemas.stacspec.org/{rest}"
    if top == "geojson":
        return f"https://geojson.org/schema/{rest}"
    return f"https://stac-extensions.github.io/{rel}"


def _retrieve(uri: str) -> Resource:
    path = local_path_for(uri)
    if path is None:
        raise SchemaNotAvailableError(f"schema {uri} is not available offline")
    from referencing import Resource
    from referencing.jsonschema import DRAFT7

    return Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT7)


@cache
def registry() -> Registry:
    """A registry holding every shipped schema under its location URL and its ``$id``."""
    # jsonschema and referencing load on first validation, not when eohub starts.
    import jsonschema_specifications
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    resources_: dict[str, Resource] = {}
    for path in sorted(SCHEMA_ROOT.rglob("*.json")):
        if "examples" in path.parts:
            continue
        contents = json.loads(path.read_text())
        resource = Resource.from_contents(contents, default_specification=DRAFT7)
        location = _location_url(path)
        resources_.setdefault(location, resource)
        if location.startswith("https://stac-extensions.github.io/mlm/"):
            legacy = location.replace("stac-extensions.github.io/mlm/", "crim-ca.github.io/mlm-extension/")
            resources_.setdefault(legacy, resource)
        declared = contents.get("$id", "").rstrip("#")
        if declared and declared not in resources_:
            resources_[declared] = resource
    base = jsonschema_specifications.REGISTRY
    return Registry(retrieve=_retrieve).with_resources(resources_.items()).combine(base)


@cache
def validator_for(url: str) -> jsonschema.Draft7Validator:
    """A Draft-7 validator for the shipped schema at ``url`` (raises when it is not shipped)."""
    path = local_path_for(url)
    if path is None:
        raise SchemaNotAvailableError(f"schema {url} is not available offline")
    schema = json.loads(path.read_text())
    # Resolve this document's relative references against its location, not a possibly wrong $id.
    schema = {**schema, "$id": url.split("#", 1)[0]}
    import jsonschema

    return jsonschema.Draft7Validator(schema, registry=registry())
