"""Who may do what on a hub: anonymous readers, other users and owners, on public and private repositories.

Reads of public repositories need no token; writes need one and only the owner (or an admin) may make
them; private repositories are invisible (404) to everyone else in listings, pages and downloads.
Every error is JSON ``{"detail": ...}`` and no client mistake gets a 5xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from eohub.client import RemoteRepository
from eohub.errors import AlreadyExistsError, AuthenticationError, NotFoundError, PermissionDeniedError

from .hub_server import InProcessHub
from .repository_helpers import write_q0_model


@pytest.fixture
def hub(inprocess_hub: InProcessHub, tmp_path: Path) -> Iterator[InProcessHub]:
    """A hub where alice owns the public model ``open-model`` and the private model ``secret-model``."""
    with RemoteRepository(inprocess_hub.url, inprocess_hub.token("alice")) as alice:
        alice.ingest("model", write_q0_model(tmp_path / "open", name="open-model"))
        alice.ingest("model", write_q0_model(tmp_path / "secret", name="secret-model", seed=3), private=True)
    inprocess_hub.token("bob")
    inprocess_hub.token("root", admin=True)
    yield inprocess_hub


def _headers(hub: InProcessHub, who: str) -> dict[str, str]:
    if who == "anonymous":
        return {}
    if who == "bad-token":
        return {"Authorization": "Bearer eoh_not-a-real-token"}
    return {"Authorization": f"Bearer {hub.token(who)}"}


READS = ["/api/models/{name}", "/api/models/{name}/versions", "/api/models/{name}/versions/1/manifest",
         "/api/models/{name}/versions/latest/files/model.onnx"]  # fmt: skip


@pytest.mark.parametrize(
    ("who", "name", "status"),
    [
        ("anonymous", "open-model", 200),
        ("bob", "open-model", 200),
        ("alice", "open-model", 200),
        ("anonymous", "secret-model", 404),
        ("bob", "secret-model", 404),
        ("alice", "secret-model", 200),
        ("root", "secret-model", 200),
        ("bad-token", "open-model", 401),
    ],
)
def test_reads(hub: InProcessHub, who: str, name: str, status: int):
    for path in READS:
        response = httpx.get(hub.url + path.format(name=name), headers=_headers(hub, who))
        assert response.status_code == status, (path, response.text)
        if status >= 400:
            assert "secret-model" not in response.headers.get("content-type", "")
            detail = response.json()["detail"]
            assert detail and "alice" not in detail


@pytest.mark.parametrize(
    ("who", "name", "status"),
    [
        ("anonymous", "open-model", 401),
        ("bad-token", "open-model", 401),
        ("bob", "open-model", 403),
        ("bob", "secret-model", 404),
        ("anonymous", "secret-model", 401),
        ("alice", "open-model", 200),
        ("root", "secret-model", 200),
    ],
)
def test_changing_visibility(hub: InProcessHub, who: str, name: str, status: int):
    response = httpx.patch(f"{hub.url}/api/models/{name}", json={"private": True}, headers=_headers(hub, who))
    assert response.status_code == status, response.text
    assert "detail" in response.json() if status >= 400 else response.json()["private"] is True


@pytest.mark.parametrize(
    ("who", "name", "status"),
    [("anonymous", "open-model", 401), ("bob", "open-model", 403), ("bob", "secret-model", 404),
     ("alice", "secret-model", 204)],
)  # fmt: skip
def test_deleting(hub: InProcessHub, who: str, name: str, status: int):
    response = httpx.delete(f"{hub.url}/api/models/{name}", headers=_headers(hub, who))
    assert response.status_code == status, response.text
    still_there = httpx.get(f"{hub.url}/api/models/{name}", headers=_headers(hub, "alice")).status_code
    assert still_there == (404 if status == 204 else 200)


def test_listings_show_private_repositories_to_their_owner_only(hub: InProcessHub):
    def names(who: str) -> list[str]:
        return [r["name"] for r in httpx.get(f"{hub.url}/api/models", headers=_headers(hub, who)).json()]

    assert names("anonymous") == names("bob") == ["open-model"]
    assert names("alice") == names("root") == ["open-model", "secret-model"]


def test_ingesting_needs_a_token_and_the_owner(hub: InProcessHub, tmp_path: Path):
    with RemoteRepository(hub.url) as anonymous, pytest.raises(AuthenticationError, match="auth login"):
        anonymous.ingest("model", write_q0_model(tmp_path / "a", name="anon-model"))
    with RemoteRepository(hub.url, hub.token("bob")) as bob:
        with pytest.raises(PermissionDeniedError, match="only its owner"):
            bob.ingest("model", write_q0_model(tmp_path / "b", name="open-model", seed=5))
        with pytest.raises(AlreadyExistsError, match="taken") as taken:
            bob.ingest("model", write_q0_model(tmp_path / "c", name="secret-model", seed=6))
        assert "alice" not in str(taken.value)
        assert bob.ingest("model", write_q0_model(tmp_path / "d", name="bobs-model")).version == 1
    with RemoteRepository(hub.url, hub.token("root")) as admin:
        assert admin.ingest("model", write_q0_model(tmp_path / "e", name="open-model", seed=7)).version == 2
    assert [v.number for v in RemoteRepository(hub.url).versions("model", "open-model")] == [1, 2]


def test_private_repositories_are_not_found_through_the_client(hub: InProcessHub, tmp_path: Path):
    with RemoteRepository(hub.url, hub.token("bob")) as bob, pytest.raises(NotFoundError, match="no model"):
        bob.download("model", "secret-model", tmp_path)
    assert not (tmp_path / "secret-model").exists()


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("get", "/api/models/open-model/versions/0/manifest", {}, 400),
        ("get", "/api/models/open-model/versions/abc/manifest", {}, 400),
        ("get", "/api/models/open-model/versions/9/manifest", {}, 404),
        ("get", "/api/models/open-model/versions/1/files/missing.bin", {}, 404),
        ("get", "/api/things", {}, 400),
        ("post", "/api/models/new-model/versions", {"content": b"not json"}, 400),
        ("post", "/api/models/new-model/versions",
         {"json": {"manifest": {"files": [{"path": "../x"}]}}}, 422),
        ("post", "/api/models/new-model/versions",
         {"json": {"manifest": {"files": [{"path": "../x", "size": 1, "sha256": "0" * 64}]}}}, 422),
        ("post", "/api/models/new-model/versions",
         {"json": {"manifest": {"files": [{"path": "x.bin", "size": 1, "sha256": "0" * 64}]}}}, 422),
        ("post", "/api/models/new-model/versions", {"json": {"manifest": {"files": "abc"}}}, 422),
        ("post", "/api/models/new-model/versions",
         {"json": {"manifest": {"files": [{"path": "x", "size": "big", "sha256": "0" * 64}]}}}, 422),
        ("post", "/api/models/new-model/versions",
         {"json": {"manifest": {"documents": {"a.json": "x"}}}}, 422),
        ("post", "/api/models/new-model/versions",
         {"json": {"manifest": {"documents": {"catalog.json": {"type": "Catalog"}}}}}, 422),
        ("post", "/api/models/new-model/versions", {"json": {"manifest": "not an object"}}, 400),
        ("post", "/api/models/bad_name!/versions", {"json": {"manifest": {}}}, 400),
        ("post", "/api/blobs/missing", {"json": {"digests": ["not-a-digest"]}}, 400),
        ("patch", "/api/uploads/" + "0" * 64, {"content": b"x"}, 400),
        ("patch", "/api/uploads/" + "0" * 64,
         {"content": b"xx", "headers": {"Upload-Offset": "0", "Upload-Length": "1"}}, 400),
        ("patch", "/api/uploads/" + "0" * 64,
         {"content": b"x", "headers": {"Upload-Offset": "5", "Upload-Length": "9"}}, 409),
        ("patch", "/api/uploads/" + "0" * 64,
         {"content": b"x", "headers": {"Upload-Offset": "0", "Upload-Length": "1"}}, 422),
        ("patch", "/api/models/open-model", {"json": {"private": "maybe"}}, 400),
    ],
)  # fmt: skip
def test_client_mistakes_get_a_4xx_with_a_message(
    hub: InProcessHub, method: str, path: str, kwargs: dict, status: int
):
    headers = {**_headers(hub, "alice"), **kwargs.pop("headers", {})}
    response = httpx.request(method, hub.url + path, headers=headers, **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["detail"]


def test_a_range_request_returns_exactly_those_bytes(hub: InProcessHub, tmp_path: Path):
    data = (tmp_path / "open" / "model.onnx").read_bytes()
    url = f"{hub.url}/api/models/open-model/versions/1/files/model.onnx"
    partial = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert partial.status_code == 206 and partial.content == data[10:20]
    assert partial.headers["content-range"] == f"bytes 10-19/{len(data)}"
    tail = httpx.get(url, headers={"Range": "bytes=-5"})
    assert tail.content == data[-5:]
    assert httpx.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416
    whole = httpx.get(url)
    assert whole.status_code == 200 and whole.content == data and whole.headers["accept-ranges"] == "bytes"


def test_the_openapi_document_is_served(hub: InProcessHub):
    paths = httpx.get(f"{hub.url}/openapi.json").json()["paths"]
    assert "/api/{plural}/{name}/versions" in paths and "/api/uploads/{digest}" in paths


def test_unknown_paths_are_a_page_for_browsers_and_json_for_clients(hub: InProcessHub):
    page = httpx.get(f"{hub.url}/no/such/page", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "/no/such/page" in page.text and "Traceback" not in page.text
    api = httpx.get(f"{hub.url}/api/models/a/b/c/d", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
