"""stac-api-validator (from PyPI) against a real hub, for every conformance class the hub declares.

The validator and the libraries it drives (stac-validator, stac-check, pystac) fetch JSON schemas from
the web. Here every schema URL is answered from the schemas eohub ships (``eohub.mlm.schemas``), and
any request to a host other than the loopback test hub raises instead of leaving the machine, so the
run is offline and a check that truly needs the network would fail loudly rather than pass silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

from eohub.mlm.schemas import local_path_for
from tests.hub_server import InProcessHub
from tests.test_stac_api import populate

LOOPBACK = {"127.0.0.1", "localhost"}
TILES_AREA = {"type": "Polygon", "coordinates": [[[0.5, 40.5], [6.5, 40.5], [6.5, 44.5], [0.5, 40.5]]]}


def _local_schema(url: str) -> dict[str, Any] | None:
    path = local_path_for(url)
    return json.loads(Path(path).read_text()) if path else None


def _refuse_remote(url: str) -> None:
    host = urlparse(url).hostname
    if host not in LOOPBACK:
        raise requests.ConnectionError(f"offline test: refusing to fetch {url}")


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Schemas from eohub's shipped copies; nothing but the loopback hub over HTTP."""
    import pystac.validation.stac_validator as pystac_validator
    import stac_validator.utilities as utilities
    from requests.adapters import HTTPAdapter

    send = HTTPAdapter.send

    def guarded_send(self: HTTPAdapter, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        _refuse_remote(str(request.url))
        return send(self, request, *args, **kwargs)

    monkeypatch.setattr(HTTPAdapter, "send", guarded_send)

    fetch = utilities.fetch_and_parse_file

    def fetch_schema(input_path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        if utilities.is_url(input_path) and (schema := _local_schema(input_path)) is not None:
            return schema
        return fetch(input_path, headers)

    monkeypatch.setattr(utilities, "fetch_and_parse_file", fetch_schema)
    utilities._schema_cache.cache_clear()

    urlopen = utilities.urlopen

    def guarded_urlopen(request: Any, *args: Any, **kwargs: Any) -> Any:
        _refuse_remote(request.full_url if hasattr(request, "full_url") else str(request))
        return urlopen(request, *args, **kwargs)

    monkeypatch.setattr(utilities, "urlopen", guarded_urlopen)

    get_schema = pystac_validator.JsonSchemaSTACValidator._get_schema

    def pystac_schema(self: Any, schema_uri: str) -> dict[str, Any]:
        schema = _local_schema(schema_uri)
        if schema is None:
            _refuse_remote(schema_uri)
            return get_schema(self, schema_uri)
        self.schema_cache[schema_uri] = schema
        return schema

    monkeypatch.setattr(pystac_validator.JsonSchemaSTACValidator, "_get_schema", pystac_schema)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHub]:
    server = InProcessHub(tmp_path_factory.mktemp("validator-hub")).start()
    populate(server, tmp_path_factory.mktemp("validator-data"), source=f"{server.url}/stac")
    yield server
    server.stop()


def _validate(hub: InProcessHub, classes: list[str], token: str | None = None) -> tuple[list[str], list[str]]:
    from stac_api_validator.validations import QueryConfig, validate_api

    warnings, errors = validate_api(
        root_url=f"{hub.url}/stac",
        ccs_to_validate=classes,
        collection="datasets.tiles",
        geometry=json.dumps(TILES_AREA),
        auth_bearer_token=token,
        auth_query_parameter=None,
        fields_nested_property=None,
        validate_pagination=True,
        query_config=QueryConfig(*([None] * 13)),
        transaction_collection=None,
        headers={},
        open_assets_urls=True,
    )
    return warnings.as_list(), errors.as_list()


DECLARED = ["core", "collections", "features", "item-search", "filter", "item-search#sort"]


def test_stac_api_validator_passes_for_every_declared_conformance_class(
    hub: InProcessHub, offline: None
) -> None:
    warnings, errors = _validate(hub, DECLARED)
    assert errors == []
    assert not [w for w in warnings if "offline test" in w]  # nothing needed the network


def test_stac_api_validator_passes_for_a_signed_in_owner_too(hub: InProcessHub, offline: None) -> None:
    warnings, errors = _validate(hub, ["core", "collections", "item-search"], token=hub.token("bob"))
    assert errors == []


def test_the_offline_guard_refuses_other_hosts(offline: None) -> None:
    with pytest.raises(requests.ConnectionError, match="offline test"):
        requests.get("https://schemas.stacspec.org/v1.1.0/item-spec/json-schema/item.json", timeout=1)
