"""Commits are checked by the hub (issue 12, part 5): a retried commit, a commit identical to the latest
version and identical ingests at once never make empty versions; the same blob uploaded twice at once
never shows a user a 409."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from eohub.client import RemoteRepository
from tests.hub_server import HubServer
from tests.repository_helpers import write_q0_model

from .attacks import commit, entry, upload


class _LoseCommitAnswers(httpx.BaseTransport):
    """A network that delivers the commit to the hub, then loses the answer ``times`` times: as a
    proxy's 502, or as a dropped connection."""

    def __init__(self, inner: httpx.BaseTransport, times: int, how: str) -> None:
        self.inner, self.times, self.how = inner, times, how
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path.endswith("/versions") and self.lost < self.times:
            response.read()
            response.close()
            self.lost += 1
            if self.how == "502":
                return httpx.Response(502, request=request)
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


@pytest.mark.parametrize("how", ["502", "reset"])
def test_a_retried_commit_reports_the_version_it_made(sqlite_hub: HubServer, tmp_path: Path, how: str):
    folder = write_q0_model(tmp_path / "m")
    with RemoteRepository(sqlite_hub.url, sqlite_hub.token("alice"), backoff=0.01) as repo:
        lossy = _LoseCommitAnswers(repo.session.http._transport, 2, how)
        repo.session.http._transport = lossy
        result = repo.ingest("model", folder)
        assert lossy.lost == 2
        assert (result.version, result.changed) == (1, True)
        assert [v.number for v in repo.versions("model", "EuroSAT-RGB")] == [1]


def test_a_commit_identical_to_the_latest_version_changes_nothing(sqlite_hub: HubServer):
    data = b"the same bytes"
    assert upload(sqlite_hub, "bob", data).status_code == 200
    first = commit(sqlite_hub, "bob", "Bob-Same", [entry(data, "a.bin")])
    again = commit(sqlite_hub, "bob", "Bob-Same", [entry(data, "a.bin")])
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert again.json()["version"]["number"] == 1
    versions = httpx.get(f"{sqlite_hub.url}/api/models/Bob-Same/versions").json()
    assert [v["number"] for v in versions] == [1]


def test_identical_ingests_at_once_make_one_version(any_hub: HubServer, tmp_path: Path):
    folder = write_q0_model(tmp_path / "m")
    results: list[object] = []
    token = any_hub.token("alice")

    def ingest() -> None:
        try:
            with RemoteRepository(any_hub.url, token) as repo:
                results.append(repo.ingest("model", folder))
        except BaseException as exc:  # noqa: BLE001 - reported below
            results.append(exc)

    threads = [threading.Thread(target=ingest) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(r.version for r in results if r.version) == [1]  # type: ignore[union-attr]
    assert {r.latest for r in results} == {1}  # type: ignore[union-attr]
    with RemoteRepository(any_hub.url) as anonymous:
        assert [v.number for v in anonymous.versions("model", "EuroSAT-RGB")] == [1]


def test_one_user_uploading_the_same_blob_twice_at_once_gets_no_409(sqlite_hub: HubServer, tmp_path: Path):
    data = bytes(range(256)) * (40 * 1024)  # 10 MiB: several batches, so the two uploads interleave
    source = tmp_path / "blob.bin"
    source.write_bytes(data)
    from eohub.repository.manifest import FileEntry
    from eohub.repository.progress import Silent

    item = FileEntry("blob.bin", len(data), entry(data, "blob.bin")["sha256"])
    errors: list[BaseException] = []
    token = sqlite_hub.token("alice")

    def send() -> None:
        try:
            with RemoteRepository(sqlite_hub.url, token) as repo:
                repo.upload_blob(item, source, Silent())
                assert repo.missing_blobs({item.sha256}) == set()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
