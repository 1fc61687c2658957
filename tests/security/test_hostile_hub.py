"""A client trusts no hub (issue 12, part 3): whatever names, versions, paths, sizes and JSON a hub
answers, `eohub models get` writes and removes nothing outside the target folder, and a bad answer is a
one-line error with a non-zero exit, never a traceback.

The hostile hub is a small HTTP server of the test's own, answering each route with what the test sets.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response

from eohub.core.blob_batch import MEDIA_TYPE, encode_head
from tests.servers import free_port

MODEL = b"onnx bytes of a model"


def _repository(name: str = "Good-Model", number: Any = 1) -> dict[str, Any]:
    version = {"number": number, "created": "2026-01-01T00:00:00+00:00", "quality_level": 0}
    return {
        "kind": "model",
        "name": name,
        "owner": "mallory",
        "private": False,
        "metadata": {},
        "created": "2026-01-01T00:00:00+00:00",
        "updated": "2026-01-01T00:00:00+00:00",
        "latest": version,
    }


def _manifest(path: str = "model.onnx", data: bytes = MODEL, size: int | None = None) -> dict[str, Any]:
    entry = {
        "path": path,
        "size": len(data) if size is None else size,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    return {"files": [entry], "documents": {}, "metadata": {}}


class HostileHub:
    """Answers ``GET /api/models/...`` with ``self.answers[route]`` (bytes, or JSON-able values)."""

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {
            "repository": _repository(),
            "manifest": _manifest(),
            "file": MODEL,
        }
        app = FastAPI()

        @app.get("/api/models/{name}")
        def repository(name: str) -> Response:
            return self._answer("repository")

        @app.get("/api/models/{name}/versions/{version}/manifest")
        def manifest(name: str, version: str) -> Response:
            return self._answer("manifest")

        @app.get("/api/models/{name}/versions/{version}/files/{path:path}")
        def file(name: str, version: str, path: str, request: Request) -> Response:
            return self._answer("file", status=206 if request.headers.get("range") else 200)

        @app.post("/api/models/{name}/versions/{version}/locations")
        def locations(name: str, version: str) -> Response:
            return self._answer("locations") if "locations" in self.answers else Response(status_code=404)

        @app.post("/api/models/{name}/versions/{version}/files")
        def files(name: str, version: str) -> Response:
            answer = self.answers.get("files")
            if isinstance(answer, bytes):
                return Response(answer, media_type=MEDIA_TYPE)
            return answer if isinstance(answer, Response) else Response(status_code=404)

        @app.get("/storage/{key}")
        def storage(key: str) -> Response:
            return self._answer("storage", status=206)

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def _answer(self, route: str, status: int = 200) -> Response:
        value = self.answers[route]
        if isinstance(value, Response):
            return value
        body = value if isinstance(value, bytes) else json.dumps(value).encode()
        return Response(body, status_code=status, media_type="application/json")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> HostileHub:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def hostile() -> Iterator[HostileHub]:
    with HostileHub() as hub:
        yield hub


def _get(hub: HostileHub, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EOHUB_")}
    env.update(EOHUB_URL=hub.url, EOHUB_HOME=str(cwd / "home"), EOHUB_RETRIES="0")
    return subprocess.run(
        [sys.executable, "-m", "eohub", "models", "get", "Good-Model", "--quiet", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _one_line_error(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_a_legitimate_answer_downloads(hostile: HostileHub, tmp_path: Path):
    done = _get(hostile, tmp_path, "--path", "target")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "target" / "Good-Model" / "v1" / "model.onnx").read_bytes() == MODEL


@pytest.mark.parametrize(
    "name", ["../../escaped", "/tmp/eohub-absolute-escape", "..", "a/../../b", "Good-Model\n"]
)
def test_a_repository_name_from_the_hub_never_becomes_a_path(hostile: HostileHub, tmp_path: Path, name: str):
    hostile.answers["repository"] = _repository(name)
    (tmp_path / "target" / "deep").mkdir(parents=True)
    before = _snapshot(tmp_path)
    done = _get(hostile, tmp_path, "--path", "target/deep")
    _one_line_error(done, "malformed")
    assert _snapshot(tmp_path) == before
    assert not Path("/tmp/eohub-absolute-escape").exists()


def test_overwrite_never_removes_a_folder_outside_the_target(hostile: HostileHub, tmp_path: Path):
    victim = tmp_path / "victim" / "v1"
    victim.mkdir(parents=True)
    (victim / "precious.txt").write_text("keep me")
    hostile.answers["repository"] = _repository("../../victim")
    done = _get(hostile, tmp_path, "--path", "target/deep", "--overwrite")
    _one_line_error(done)
    assert (victim / "precious.txt").read_text() == "keep me"


def test_another_repository_than_the_one_asked_for_is_refused(hostile: HostileHub, tmp_path: Path):
    hostile.answers["repository"] = _repository("Other-Model")
    _one_line_error(_get(hostile, tmp_path), "Other-Model")
    assert not (tmp_path / "Other-Model").exists()


@pytest.mark.parametrize("number", [10**30, 0, -1, "one", 2**31, True])
def test_a_version_number_from_the_hub_is_checked(hostile: HostileHub, tmp_path: Path, number: Any):
    hostile.answers["repository"] = _repository(number=number)
    _one_line_error(_get(hostile, tmp_path))
    assert _snapshot(tmp_path) <= {"home"}


@pytest.mark.parametrize(
    "path", ["../evil.onnx", "/etc/evil.onnx", "a/../../evil.onnx", "./model.onnx", "a\\b"]
)
def test_a_stored_path_from_the_hub_stays_inside_the_target(hostile: HostileHub, tmp_path: Path, path: str):
    hostile.answers["manifest"] = _manifest(path)
    before = _snapshot(tmp_path)
    _one_line_error(_get(hostile, tmp_path, "--path", "target"))
    assert not list(tmp_path.rglob("evil.onnx"))
    assert _snapshot(tmp_path) - before <= {"target", "target/Good-Model", "home"}


def test_a_file_longer_than_declared_is_cut_off_and_nothing_is_kept(hostile: HostileHub, tmp_path: Path):
    hostile.answers["file"] = MODEL + b"x" * (20 * 1024 * 1024)  # the declared size is len(MODEL)
    _one_line_error(_get(hostile, tmp_path, "--path", "target"), "more than")
    assert not (tmp_path / "target" / "Good-Model" / "v1").exists()


@pytest.mark.parametrize("declared", [10**15, 2**63 - 1])
def test_a_huge_declared_size_fails_verification_without_filling_the_disk(
    hostile: HostileHub, tmp_path: Path, declared: int
):
    hostile.answers["manifest"] = _manifest(size=declared)
    _one_line_error(_get(hostile, tmp_path, "--path", "target"))
    assert not (tmp_path / "target" / "Good-Model" / "v1").exists()


@pytest.mark.parametrize(
    "answer",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"kind": "model", "name": ' + b"[" * 900 + b"]" * 900 + b"}",
        b"not json at all",
        b"[]",
        b'{"kind": "model"}',
        b'{"kind": "model", "name": "Good-Model", "owner": "x", "private": false, "metadata": [], '
        b'"created": "yesterday", "updated": "2026-01-01", "latest": null}',
    ],
    ids=["nested-100000", "nested-900", "not-json", "list", "missing-fields", "bad-dates"],
)
def test_a_malformed_answer_is_a_one_line_error(hostile: HostileHub, tmp_path: Path, answer: bytes):
    hostile.answers["repository"] = answer
    _one_line_error(_get(hostile, tmp_path))


def test_an_answer_that_would_parse_into_gigabytes_is_refused(hostile: HostileHub, tmp_path: Path):
    hostile.answers["manifest"] = b"[" + b"[]," * 9_000_000 + b"[]]"  # 27 MB: ~750 MB of Python lists
    _one_line_error(_get(hostile, tmp_path, "--path", "target"), "arrays, objects and values")


def test_a_malformed_manifest_is_a_one_line_error(hostile: HostileHub, tmp_path: Path):
    for manifest in (
        {"files": [{"path": "a", "size": "big", "sha256": "00"}]},
        {"files": "all of them"},
        {"files": [], "documents": {"catalog.json": [1, 2]}},
        {"files": [_manifest()["files"][0]] * 2},
    ):
        hostile.answers["manifest"] = manifest
        _one_line_error(_get(hostile, tmp_path, "--path", "target"), "manifest")


@pytest.mark.parametrize(
    ("headers", "accepted"),
    [
        ({"x-amz-checksum-sha256": "abc=", "x-amz-meta-eohub-upload": "t"}, True),
        ({"If-None-Match": "*"}, True),
        ({"If-None-Match": '"etag"'}, False),
        ({"Authorization": "Bearer stolen"}, False),
        ({"Host": "elsewhere.example"}, False),
        ({"Content-Encoding": "gzip"}, False),
        ({"x-amz-meta-n": 7}, False),
    ],
)
def test_an_upload_plan_may_only_ask_for_storage_headers(headers: dict, accepted: bool):
    from eohub.client.hub_checks import checked_plan as _checked_plan
    from eohub.errors import IntegrityError
    from eohub.repository.manifest import FileEntry

    entry = FileEntry("w.bin", 10, "a" * 64)
    target = {"url": "http://127.0.0.1:9/bucket/key", "headers": headers, "offset": 0, "length": 10}
    plan = {"sha256": entry.sha256, "offset": 0, "method": "direct", "targets": [target]}
    if accepted:
        assert _checked_plan(plan, entry, "http://127.0.0.1:9")["targets"][0]["headers"] == headers
    else:
        with pytest.raises(IntegrityError, match="malformed upload plan"):
            _checked_plan(plan, entry, "http://127.0.0.1:9")


def _locations(hub: HostileHub, url: str | None = None, **answer: Any) -> dict[str, Any]:
    return {"expires_in": 900, "locations": {"model.onnx": url or f"{hub.url}/storage/x"}, **answer}


def test_storage_locations_a_hub_gives_are_followed_and_their_bytes_checked(
    hostile: HostileHub, tmp_path: Path
):
    hostile.answers["locations"] = _locations(hostile)
    hostile.answers["storage"] = MODEL
    hostile.answers["file"] = Response(status_code=500)  # only the storage location answers
    done = _get(hostile, tmp_path, "--path", "target")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "target" / "Good-Model" / "v1" / "model.onnx").read_bytes() == MODEL
    hostile.answers["storage"] = b"other bytes, same length"[: len(MODEL)].ljust(len(MODEL), b"!")
    _one_line_error(_get(hostile, tmp_path, "--path", "again"), "SHA-256")
    assert not (tmp_path / "again" / "Good-Model" / "v1").exists()


@pytest.mark.parametrize(
    "answer",
    [
        {"locations": {"model.onnx": "file:///etc/passwd"}, "expires_in": 900},
        {"locations": {"model.onnx": "http://"}, "expires_in": 900},
        {"locations": {"../../etc/passwd": "http://127.0.0.1:9/x"}, "expires_in": 900},
        {"locations": {"model.onnx": 5}, "expires_in": 900},
        {"locations": ["http://127.0.0.1:9/x"], "expires_in": 900},
        {"locations": {"model.onnx": "http://127.0.0.1:9/x"}, "expires_in": True},
        {"locations": {"model.onnx": "http://127.0.0.1:9/" + "x" * 9000}, "expires_in": 900},
        {"locations": {"model.onnx": "http://[::1/x"}, "expires_in": 900},
        {"locations": {"model.onnx": "http://127.0.0.1:abc/x"}, "expires_in": 900},
        {"locations": {"model.onnx": "http://127.0.0.1:99999/x"}, "expires_in": 900},
        {"locations": {"model.onnx": "http://127.0.0.1:9/\u00e9t\u00e9"}, "expires_in": 900},
        {"locations": {"model.onnx": "http://127.0.0.1:9/a b\r\nX-Evil: 1"}, "expires_in": 900},
        {"locations": {"model.onnx": "http://xn--a.-b/x"}, "expires_in": 900},
        {"locations": {"model.onnx": "http://127.0.0.1:9/x"}, "expires_in": 10**12},
    ],
    ids=[
        "file-scheme",
        "no-host",
        "path-not-asked",
        "not-a-string",
        "a-list",
        "bool-seconds",
        "too-long",
        "broken-ipv6",
        "port-not-a-number",
        "port-too-large",
        "not-ascii",
        "header-injection",
        "bad-idna",
        "huge-lifetime",
    ],
)
def test_malformed_storage_locations_are_a_one_line_error(
    hostile: HostileHub, tmp_path: Path, answer: dict[str, Any]
):
    hostile.answers["locations"] = answer
    _one_line_error(_get(hostile, tmp_path, "--path", "target"))
    assert not (tmp_path / "target" / "Good-Model" / "v1").exists()
    assert not (tmp_path / "etc").exists()


def _group(*blobs: tuple[str, bytes]) -> bytes:
    return encode_head([(d, len(b)) for d, b in blobs]) + b"".join(b for _, b in blobs)


def test_small_files_a_hub_sends_in_a_group_are_checked(hostile: HostileHub, tmp_path: Path):
    hostile.answers["files"] = _group((hashlib.sha256(MODEL).hexdigest(), MODEL))
    hostile.answers["file"] = b"x" * len(MODEL)  # wrong bytes: only the group may be used
    done = _get(hostile, tmp_path, "--path", "target")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "target" / "Good-Model" / "v1" / "model.onnx").read_bytes() == MODEL


@pytest.mark.parametrize(
    "refusal",
    [
        Response(b'{"detail": "no"}', status_code=400, media_type="application/json"),
        Response(status_code=307, headers={"Location": "/api/models/Good-Model/versions/1/files/"}),
        Response(b'{"files": []}', media_type="application/json"),
        Response(b'{"detail": "no"}', status_code=422, media_type="application/json"),
        Response(
            gzip.compress(b"\0" * (64 * 1024 * 1024)),
            media_type=MEDIA_TYPE,
            headers={"Content-Encoding": "gzip"},
        ),
    ],
    ids=["400", "older-hub-307", "json", "422", "gzip-bomb"],
)
def test_a_hub_that_does_not_send_groups_serves_each_file(
    hostile: HostileHub, tmp_path: Path, refusal: Response
):
    hostile.answers["files"] = refusal
    done = _get(hostile, tmp_path, "--path", "target")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "target" / "Good-Model" / "v1" / "model.onnx").read_bytes() == MODEL


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (_group((hashlib.sha256(b"other").hexdigest(), b"other" * 4 + b"x")), ("other files",)),
        (_group((hashlib.sha256(MODEL).hexdigest(), b"y" * len(MODEL))), ("SHA-256",)),
        (b"not a group of files", ("malformed group",)),
        (b'{"blobs": ' + b"[" * 10_000 + b"\n", ("malformed group",)),
        (_group((hashlib.sha256(MODEL).hexdigest(), MODEL)) + b"z" * (2 * 1024 * 1024), ("more than",)),
    ],
    ids=["other-file", "wrong-bytes", "not-framed", "deep-head", "endless"],
)
def test_a_bad_group_of_files_is_a_one_line_error(
    hostile: HostileHub, tmp_path: Path, answer: bytes, words: tuple[str, ...]
):
    hostile.answers["files"] = answer
    _one_line_error(_get(hostile, tmp_path, "--path", "target"), *words)
    assert not (tmp_path / "target" / "Good-Model" / "v1").exists()
