"""No request can stop, starve or crash the hub (issue 12, part 4), tried against a real ``eohub serve``
process whose address space is capped (as ``ulimit -v`` does), so that a crash or a runaway allocation
shows as a dead process. Every attack is followed by a check that the same process still answers.

The bounds come from ``eohub.config.Limits`` (defaults here, except a 1 MiB request body).
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest

from eohub.client import RemoteRepository
from tests.hub_server import HubServer
from tests.repository_helpers import write_q0_model
from tests.servers import _spawn, _started, free_port

MAX_BODY = 1024 * 1024
ADDRESS_SPACE = 2 * 1024**3


class CappedHub(HubServer):
    """An ``eohub serve`` process that cannot map more than :data:`ADDRESS_SPACE` bytes."""

    def start(self) -> CappedHub:
        self.home.mkdir(parents=True, exist_ok=True)
        serve = [sys.executable, "-m", "eohub", "serve", "--no-demo", "--port", str(self.port)]
        capped = ["sh", "-c", f'ulimit -v {ADDRESS_SPACE // 1024} && exec "$@"', "sh", *serve]
        self.process = _spawn(capped, self.home, self.log, env=self._environment())
        return _started(
            self, lambda: httpx.get(f"{self.url}/api", timeout=1).raise_for_status(), self.log, "hub"
        )


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CappedHub]:
    home = tmp_path_factory.mktemp("bounded-hub")
    server = CappedHub(home, free_port(), {"EOHUB_MAX_REQUEST_BYTES": str(MAX_BODY)}).start()  # the default
    with RemoteRepository(server.url, server.token("alice")) as alice:
        alice.ingest("model", write_q0_model(tmp_path_factory.mktemp("model"), name="Bounded-Model"))
    yield server
    server.stop()


def _still_serving(hub: CappedHub) -> None:
    assert hub.process is not None and hub.process.poll() is None, f"the hub died:\n{hub.tail()}"
    assert httpx.get(f"{hub.url}/stac/search", timeout=10).status_code == 200


def _search(hub: CappedHub, body: dict[str, Any]) -> httpx.Response:
    try:
        return httpx.post(f"{hub.url}/stac/search", json=body, timeout=120)
    except httpx.TransportError as exc:  # the process died while answering
        pytest.fail(f"no answer ({exc!r}); the hub's log:\n{hub.tail()}")


def _refused(response: httpx.Response, status: int, bound: str) -> None:
    assert response.status_code == status, response.text[:500]
    assert bound in response.json()["detail"], response.json()


def _raw(hub: CappedHub, head: bytes, chunks: Sequence[bytes] = ()) -> bytes:
    """The hub's answer to bytes sent on a plain socket (``head`` then ``chunks``); the answer may come
    before everything is sent."""
    with socket.create_connection(("127.0.0.1", hub.port), timeout=30) as conn:
        try:
            conn.sendall(head)
            for chunk in chunks:
                conn.sendall(chunk)
        except OSError:  # the hub answered and closed while the rest was on its way
            pass
        answer = b""
        try:
            while not answer.endswith(b"}") and (data := conn.recv(65536)):
                answer += data
        except OSError:
            pass
    return answer


# --- CQL2 filters ----------------------------------------------------------------------------------------


def test_deeply_nested_parentheses_in_a_filter(hub: CappedHub):
    text = "(" * 2000 + "id = 'x'" + ")" * 2000  # the cql2 parser used to segfault on this
    _refused(_search(hub, {"filter": text, "filter-lang": "cql2-text"}), 400, "max_filter_depth")
    _still_serving(hub)


def test_chained_nots_in_a_filter(hub: CappedHub):
    text = "NOT " * 150 + "id = 'x'"  # 3.4 GB in the cql2 library's validation
    _refused(_search(hub, {"filter": text, "filter-lang": "cql2-text"}), 400, "max_filter_depth")
    _still_serving(hub)


def test_chained_nots_in_a_cql2_json_filter(hub: CappedHub):
    node: dict[str, Any] = {"op": "=", "args": [{"property": "id"}, "x"]}
    for _ in range(30):
        node = {"op": "not", "args": [node]}
    _refused(_search(hub, {"filter": node}), 400, "max_filter_depth")
    _still_serving(hub)


def test_thousands_of_signs_in_a_filter(hub: CappedHub):
    text = "id = " + "- " * 8000 + "1"
    response = httpx.get(f"{hub.url}/stac/search", params={"filter": text}, timeout=120)
    _refused(response, 400, "max_filter_depth")
    _still_serving(hub)


def test_five_thousand_ands_in_a_filter(hub: CappedHub):
    text = " AND ".join(["id = 'x'"] * 5000)  # SQLite: "Expression tree is too large"
    _refused(_search(hub, {"filter": text}), 400, "max_filter_chars")
    _still_serving(hub)


def test_a_thousand_ands_within_the_length_bound(hub: CappedHub):
    text = " AND ".join(["id='x'"] * 1000)
    assert len(text) < 16_384
    _refused(_search(hub, {"filter": text}), 400, "max_filter_terms")
    _still_serving(hub)


def test_a_filter_longer_than_its_bound(hub: CappedHub):
    text = "id IN (" + ",".join(["'x'"] * 6000) + ")"
    _refused(_search(hub, {"filter": text}), 400, "max_filter_chars")
    _still_serving(hub)


def test_malformed_cql2_json_is_a_400_that_says_why(hub: CappedHub):
    for bad, reason in [
        ({"op": "=", "args": [1]}, "'=' takes 2 arguments"),
        ({"op": "and", "args": []}, "takes at least 2"),
        ({"op": "like", "args": [{"property": "id"}]}, "'like' takes 2"),
        ({"what": "ever"}, "bad CQL2 filter"),
    ]:
        _refused(_search(hub, {"filter": bad}), 400, reason)
    _still_serving(hub)


def test_a_geometry_with_a_coordinate_beyond_any_number(hub: CappedHub):
    for params in (
        {"filter": "s_intersects(geometry, bbox(1e999, 0, 1, 1))"},
        {"filter": "s_intersects(geometry, POINT(1e999 0))"},
        {"intersects": '{"type": "Polygon", "coordinates": [[[0, 0], [1e400, 0], [0, 1], [0, 0]]]}'},
    ):
        response = httpx.get(f"{hub.url}/stac/search", params=params, timeout=30)
        assert response.status_code == 400, (params, response.text)
    _still_serving(hub)


def test_too_many_ids_in_a_search(hub: CappedHub):
    _refused(_search(hub, {"ids": [f"item-{i}" for i in range(1001)]}), 400, "max_search_ids")
    _refused(_search(hub, {"collections": ["models.x"] * 1001}), 400, "max_search_ids")
    _still_serving(hub)


# --- request bodies --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/stac/search", "/api/blobs/missing", "/api/models/Deep-Model/versions"])
def test_a_deeply_nested_json_body(hub: CappedHub, path: str):
    body = "[" * 100_000 + "]" * 100_000  # json.loads: RecursionError
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {hub.token('alice')}"}
    response = httpx.post(f"{hub.url}{path}", content=body, headers=headers, timeout=60)
    _refused(response, 400, "max_json_depth")
    _still_serving(hub)


def test_a_declared_body_larger_than_the_bound(hub: CappedHub):
    head = (
        b"POST /stac/search HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000000000000\r\n\r\n"
    )
    answer = _raw(hub, head, [b"{" * 1024])
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"max_request_bytes" in answer
    _still_serving(hub)


def test_a_streamed_body_larger_than_the_bound(hub: CappedHub):
    head = (
        b"POST /api/blobs/missing HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    piece = b" " * 65536
    chunks = [b"%x\r\n%s\r\n" % (len(piece), piece)] * (MAX_BODY // len(piece)) + [b"1\r\n \r\n"]
    answer = _raw(hub, head, chunks)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"max_request_bytes" in answer
    _still_serving(hub)


# --- numbers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["²", "١", "18446744073709551617", "2147483648", "9" * 5000])
def test_a_version_that_is_no_number_of_ours(hub: CappedHub, version: str):
    base = f"{hub.url}/api/models/Bounded-Model/versions/{version}"
    for url in (f"{base}/manifest", f"{base}/files/model.onnx"):
        response = httpx.get(url, timeout=30)
        assert response.status_code == 400 and "a version is" in response.json()["detail"], response.text
    page = httpx.get(f"{hub.url}/models/Bounded-Model/versions/{version}", timeout=30)
    assert page.status_code == 404 and "there is no version" in page.text
    picker = httpx.get(f"{hub.url}/models/Bounded-Model", params={"version": version}, timeout=30)
    assert picker.status_code == 404
    stac = httpx.get(f"{hub.url}/stac/collections/models.Bounded-Model", params={"version": version})
    assert stac.status_code == 400
    _still_serving(hub)


@pytest.mark.parametrize("token", ["²", "١", "99999999999999999999999", "1" * 5000])
def test_a_paging_token_that_is_no_number_of_ours(hub: CappedHub, token: str):
    response = httpx.get(f"{hub.url}/stac/search", params={"token": token}, timeout=30)
    _refused(response, 400, "token")
    _refused(_search(hub, {"token": token}), 400, "token")
    _still_serving(hub)


@pytest.mark.parametrize("limit", ["١", "1_0", "99999999999999999999999"])
def test_a_limit_that_is_no_number_of_ours(hub: CappedHub, limit: str):
    _refused(httpx.get(f"{hub.url}/stac/search", params={"limit": limit}, timeout=30), 400, "limit")
    _still_serving(hub)


def test_json_numbers_beyond_any_float(hub: CappedHub):
    huge = "1" + "0" * 400
    for body in (f'{{"bbox": [{huge}, 0, 1, 1]}}', f'{{"limit": {huge}}}', '{"limit": 1e999}'):
        response = httpx.post(
            f"{hub.url}/stac/search", content=body, headers={"Content-Type": "application/json"}, timeout=30
        )
        assert response.status_code == 400, (body[:40], response.text)
    _still_serving(hub)


def test_a_datetime_past_the_last_day(hub: CappedHub):
    response = httpx.get(f"{hub.url}/stac/search", params={"datetime": "9999-12-31T23:59:59-23:00"})
    _refused(response, 400, "RFC 3339")
    _still_serving(hub)


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("bytes=" + "9" * 5000 + "-", 416),
        ("bytes=0-" + "9" * 5000, 206),
        ("bytes=-" + "9" * 5000, 206),
    ],
)
def test_a_range_header_with_odd_digits(hub: CappedHub, header: str, status: int):
    url = f"{hub.url}/api/models/Bounded-Model/versions/1/files/model.onnx"
    whole = httpx.get(url, timeout=30)
    response = httpx.get(url, headers={"Range": header}, timeout=30)
    assert response.status_code == status, response.text[:200]
    if status == 206:
        assert response.content == whole.content
    _still_serving(hub)


@pytest.mark.parametrize("page", ["²", "9" * 5000])
def test_a_page_number_that_is_no_number_of_ours(hub: CappedHub, page: str):
    response = httpx.get(f"{hub.url}/", params={"page": page, "per_page": page}, timeout=30)
    assert response.status_code == 200 and "Bounded-Model" in response.text
    _still_serving(hub)


# --- red-team finding 04: what one body may allocate, whatever its size -------------------------------


def test_an_anonymous_body_is_bounded_by_default_to_one_mebibyte(sqlite_hub: HubServer):
    body = b'{"filter": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    answer = httpx.post(f"{sqlite_hub.url}/stac/search", content=body, timeout=60)
    _refused(answer, 413, "max_request_bytes")


def test_a_commit_body_that_would_parse_into_gigabytes_is_refused(hub: CappedHub):
    body = b'{"manifest": {"files": [' + b"[]," * 5_000_000 + b"[]]}}"  # 15 MB, ~28x that in lists
    answer = httpx.post(
        f"{hub.url}/api/models/Flood/versions",
        content=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {hub.token('alice')}"},
        timeout=120,
    )
    _refused(answer, 413, "max_json_values")
    _still_serving(hub)


def test_a_made_up_token_gets_no_large_commit_body(hub: CappedHub):
    """The manifest bound is for callers the hub knows: a made-up token is a 401 before the body is read."""
    body = b'{"manifest": {"files": [], "documents": {"a": "' + b"x" * (2 * 1024 * 1024) + b'"}}}'
    try:
        answer = httpx.post(
            f"{hub.url}/api/models/Anyone/versions",
            content=body,
            headers={"Content-Type": "application/json", "Authorization": "Bearer made-up"},
            timeout=60,
        )
    except httpx.WriteError:  # the hub answered and closed before the body was sent: that is the point
        return
    assert answer.status_code == 401
    assert answer.json()["detail"].startswith("a commit needs a valid API token")
    _still_serving(hub)
