"""Browsers (issue 12, part 7): HEAD is answered on every GET route with the GET's headers and no body,
without reading a download's blob; sign-in and sign-out refuse forms from other origins and from
``Origin: null``, and accept the hub's own pages and programs that send no ``Origin``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from eohub.client import RemoteRepository
from tests.hub_server import InProcessHub
from tests.repository_helpers import write_q0_model

MODEL = "Head-Model"
VARYING = {"date", "set-cookie"}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHub]:
    server = InProcessHub(tmp_path_factory.mktemp("head-hub")).start()
    with RemoteRepository(server.url, server.token("alice")) as alice:
        alice.ingest("model", write_q0_model(tmp_path_factory.mktemp("model"), name=MODEL))
    yield server
    server.stop()


GET_ROUTES = [
    "/",
    "/?q=head&page=1",
    f"/models/{MODEL}",
    f"/models/{MODEL}/versions/1",
    f"/models/{MODEL}/diff",
    "/models",
    "/signin",
    "/static/style.css",
    "/no/such/page",
    "/api",
    "/api/models",
    f"/api/models/{MODEL}",
    f"/api/models/{MODEL}/versions",
    f"/api/models/{MODEL}/versions/1/manifest",
    f"/api/models/{MODEL}/versions/1/files/model.onnx",
    f"/api/models/{MODEL}/versions/latest/files/README.md",
    "/api/whoami",
    "/stac",
    "/stac/conformance",
    "/stac/collections",
    f"/stac/collections/models.{MODEL}",
    "/stac/search?limit=1",
    "/stac/queryables",
    "/openapi.json",
]


def _headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in VARYING}


def test_head_is_answered_on_every_get_route(hub: InProcessHub):
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        for who in ({}, {"Authorization": f"Bearer {hub.token('alice')}"}):
            for path in GET_ROUTES:
                for extra in ({}, {"Range": "bytes=2-9"} if "/files/" in path else {}):
                    get = client.get(path, headers={**who, **extra, "Accept": "text/html"})
                    head = client.head(path, headers={**who, **extra, "Accept": "text/html"})
                    assert head.status_code == get.status_code, (path, head.status_code, get.status_code)
                    assert _headers(head) == _headers(get), path
                    assert head.content == b"", path


def test_head_of_a_download_leaves_the_blob_unread(hub: InProcessHub, tmp_path: Path):
    with RemoteRepository(hub.url, hub.token("alice")) as alice:
        alice.ingest("model", write_q0_model(tmp_path / "m", name="Head-Blob", seed=7))
        entry = next(e for e in alice.manifest("model", "Head-Blob").files if e.path == "model.onnx")
    (blob,) = [p for p in (hub.home / "blobs").rglob(entry.sha256)]
    blob.unlink()  # a HEAD that opened the blob would fail now
    url = f"{hub.url}/api/models/Head-Blob/versions/1/files/model.onnx"
    head = httpx.head(url, timeout=30)
    assert head.status_code == 200
    assert head.headers["content-length"] == str(entry.size)
    assert head.headers["etag"] == f'"{entry.sha256}"'
    ranged = httpx.head(url, headers={"Range": "bytes=0-9"}, timeout=30)
    assert (ranged.status_code, ranged.headers["content-range"]) == (206, f"bytes 0-9/{entry.size}")


def _sign_in(hub: InProcessHub, origin: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if origin is not None:
        headers["Origin"] = origin
    form = f"token={hub.token('alice')}&next=/"
    return httpx.post(f"{hub.url}/signin", content=form, headers=headers, timeout=30)


def _sign_out(hub: InProcessHub, origin: str | None) -> httpx.Response:
    headers = {"Origin": origin} if origin is not None else {}
    cookies = {"eohub_token": hub.token("alice")}
    return httpx.post(f"{hub.url}/signout", headers=headers, cookies=cookies, timeout=30)


@pytest.mark.parametrize("origin", ["null", "", "http://[::1"])
def test_signin_from_origin_null_is_refused(hub: InProcessHub, origin: str):
    for refused in (_sign_in(hub, origin), _sign_in(hub, "http://evil.example")):
        assert refused.status_code == 403 and "can only be sent from" in refused.text
        assert "set-cookie" not in refused.headers
    for accepted in (_sign_in(hub, hub.url), _sign_in(hub, None)):
        assert accepted.status_code == 303 and "eohub_token=" in accepted.headers["set-cookie"]


@pytest.mark.parametrize("origin", ["null", ""])
def test_signout_from_origin_null_is_refused(hub: InProcessHub, origin: str):
    for refused in (_sign_out(hub, origin), _sign_out(hub, "http://evil.example")):
        assert refused.status_code == 403 and "set-cookie" not in refused.headers
    for accepted in (_sign_out(hub, hub.url), _sign_out(hub, None)):
        assert accepted.status_code == 303 and 'eohub_token=""' in accepted.headers["set-cookie"]
