"""``RemoteRepository``: the :class:`~eohub.repository.Repository` interface over a hub's HTTP API.

The shared steps (scan, "no changes", download layout and verification) are the ones in
:mod:`eohub.repository.base`; this class only moves bytes and JSON:

- **Uploads** ask the hub which blobs it lacks and send only those, in ``PATCH`` requests that stream the
  file from the offset the hub confirms (``GET /api/uploads/{sha256}``). A broken connection, a killed
  client or a restarted hub loses at most the bytes in flight: the next attempt (or the next ingest)
  continues from the hub's offset. Memory stays at one read buffer whatever the file size.
- **Quality** is left to the hub, which rates the version from the stored blobs when it is committed.
- **Downloads** stream each file with an HTTP ``Range`` from the bytes already on disk, retrying a
  broken stream from where it stopped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx

from eohub.client.http import HubSession, _Retryable, hub_error, parse_answer, read_bounded
from eohub.core.names import PLURALS, Kind, check_kind, check_name, name_key
from eohub.errors import EohubError, IntegrityError, TransferError
from eohub.quality import QualityReport
from eohub.repository.base import CommitResult, Repository, RepositoryInfo, VersionInfo, check_version
from eohub.repository.confine import open_source
from eohub.repository.manifest import FileEntry, Manifest
from eohub.repository.progress import Progress
from eohub.repository.scan import IngestPlan

log = logging.getLogger(__name__)

READ_SIZE = 1024 * 1024
REQUEST_BYTES = 64 * 1024 * 1024
"""The most bytes one ``PATCH`` carries; a file larger than this takes several requests."""
DIGEST_BATCH = 10_000


class RemoteRepository(Repository):
    """A hub at ``url``, acting as the owner of ``token`` (anonymous, read-only, without one)."""

    def __init__(self, url: str, token: str | None = None, **session: Any) -> None:
        self.session = HubSession(url, token, **session)
        self.url = self.session.url
        self.bytes_sent = 0
        self.bytes_received = 0
        self._lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    @staticmethod
    def _path(kind: Kind, name: str, *rest: str) -> str:
        parts = [PLURALS[check_kind(kind)], quote(name, safe="")] + [quote(p, safe="/") for p in rest]
        return "/api/" + "/".join(parts)

    # --- reads ----------------------------------------------------------------------------------

    def list(self, kind: Kind, name: str | None = None, limit: int | None = None) -> list[RepositoryInfo]:
        params = {k: v for k, v in (("name", name), ("limit", limit)) if v is not None}
        data = self.session.json("GET", f"/api/{PLURALS[check_kind(kind)]}", params=params)
        return [_checked_repository(d, kind) for d in _list(data)]

    def get(self, kind: Kind, name: str) -> RepositoryInfo:
        return _checked_repository(self.session.json("GET", self._path(kind, name)), kind, name)

    def versions(self, kind: Kind, name: str) -> list[VersionInfo]:
        return [
            _checked_version(d) for d in _list(self.session.json("GET", self._path(kind, name, "versions")))
        ]

    def manifest(self, kind: Kind, name: str, version: int | None = None) -> Manifest:
        number = "latest" if version is None else str(check_version(version))
        data = self.session.json("GET", self._path(kind, name, "versions", number, "manifest"))
        try:
            return Manifest.from_dict(data if isinstance(data, dict) else {"files": None})
        except (TypeError, ValueError, AttributeError) as exc:
            raise IntegrityError(f"the hub sent a malformed manifest ({_short(exc)})") from None

    def read_file(
        self, kind: Kind, name: str, version: int, path: str, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        url = self._path(kind, name, "versions", str(check_version(version)), "files", path)
        return self._stream(url, start, end)

    def fetch(self, kind: Kind, name: str, version: int, entry: FileEntry, start: int = 0) -> Iterator[bytes]:
        return self.read_file(kind, name, version, entry.path, start, entry.size)

    def _stream(self, url: str, start: int, end: int | None) -> Iterator[bytes]:
        """Bytes ``[start, end)`` of ``url``; a broken stream is resumed where it stopped."""
        position = start
        failures = 0
        while True:
            before = position
            try:
                for chunk in self.session.retrying(url, lambda at=position: self._open_range(url, at, end)):
                    position += len(chunk)
                    with self._lock:
                        self.bytes_received += len(chunk)
                    yield chunk
                return
            except (httpx.TransportError, _Retryable) as exc:
                failures = 0 if position > before else failures + 1
                if failures >= self.session.attempts:
                    raise TransferError(
                        f"{url}: the download keeps breaking off at byte {position}; run it again to resume"
                    ) from None
                log.info("download of %s broke off at byte %d (%s); resuming", url, position, exc)

    def _open_range(self, url: str, start: int, end: int | None) -> Iterator[bytes]:
        """Open the response now (so connection errors are retried) and return its chunks."""
        headers = {"Range": f"bytes={start}-{'' if end is None else end - 1}"} if start or end else {}
        context = self.session.stream("GET", url, headers=headers)
        response = context.__enter__()
        if start and response.status_code != 206:
            context.__exit__(None, None, None)
            raise IntegrityError(f"{url}: the hub ignored the byte range (status {response.status_code})")
        return _chunks(context, response)

    # --- writes ---------------------------------------------------------------------------------

    def rate(
        self, plan: IngestPlan, kind: Kind, name: str, existing: RepositoryInfo | None, invalid: list[str]
    ) -> QualityReport | None:
        return None  # the hub rates what it stores

    def missing_blobs(self, digests: set[str]) -> set[str]:
        ordered = sorted(digests)
        missing: set[str] = set()
        for i in range(0, len(ordered), DIGEST_BATCH):
            body = {"digests": ordered[i : i + DIGEST_BATCH]}
            answer = self.session.json("POST", "/api/blobs/missing", json=body)
            listed = answer.get("missing") if isinstance(answer, dict) else None
            if not isinstance(listed, list):
                raise IntegrityError("the hub sent a malformed list of missing blobs")
            missing.update(str(d) for d in listed)
        return missing & set(ordered)

    def upload_offset(self, digest: str) -> tuple[int, bool]:
        """How many bytes of ``digest`` the hub has, and whether the blob is complete."""
        return _upload_state(self.session.json("GET", f"/api/uploads/{digest}"), self.url)

    def upload_blob(self, entry: FileEntry, source: Path, progress: Progress) -> None:
        with open_source(source) as f:
            offset, complete = self.upload_offset(entry.sha256)
            progress.advance(offset)
            stalled = 0
            while not complete:
                if offset > entry.size:
                    raise IntegrityError(f"{source}: the hub holds more bytes than the file has")
                before = offset
                offset, complete = self._send(entry, f, offset, progress)
                stalled = stalled + 1 if offset <= before and not complete else 0
                if stalled > self.session.attempts:
                    raise TransferError(
                        f"{source}: the hub keeps taking no bytes at offset {offset}; run the command again"
                    )

    def _send(self, entry: FileEntry, f: BinaryIO, offset: int, progress: Progress) -> tuple[int, bool]:
        """One ``PATCH`` from ``offset``; after a transient failure, the hub's offset to go on from."""
        stop = min(entry.size, offset + REQUEST_BYTES)

        def body() -> Iterator[bytes]:
            f.seek(offset)
            position = offset
            while position < stop:
                chunk = f.read(min(READ_SIZE, stop - position))
                if not chunk:
                    raise IntegrityError(f"{entry.path}: the file shrank while it was being uploaded")
                position += len(chunk)
                with self._lock:
                    self.bytes_sent += len(chunk)
                progress.advance(len(chunk))
                yield chunk

        headers = {
            "Upload-Offset": str(offset),
            "Upload-Length": str(entry.size),
            "Content-Type": "application/octet-stream",
            "Content-Length": str(stop - offset),
        }
        try:
            with self.session.http.stream(
                "PATCH", f"/api/uploads/{entry.sha256}", content=body(), headers=headers
            ) as streamed:
                response = read_bounded(streamed, self.url)
        except httpx.TransportError as exc:
            log.info("upload of %s broke off (%s); asking the hub where to go on", entry.path, exc)
            return self.session.retrying(entry.path, lambda: self._offset_after_failure(entry.sha256))
        if response.status_code in (502, 503, 504):
            return self.session.retrying(entry.path, lambda: self._offset_after_failure(entry.sha256))
        if response.status_code == 409 and "offset" in _json(response):
            return _upload_state({**_json(response), "complete": False}, self.url)
        if response.status_code >= 400:
            raise hub_error(response)
        return _upload_state(_json(response), self.url)

    def _offset_after_failure(self, digest: str) -> tuple[int, bool]:
        with self.session.http.stream("GET", f"/api/uploads/{digest}") as streamed:
            response = read_bounded(streamed, self.url)
        if response.status_code in (502, 503, 504):
            raise _Retryable(str(response.status_code))
        if response.status_code >= 400:
            raise hub_error(response)
        return _upload_state(_json(response), self.url)

    def commit_version(
        self,
        kind: Kind,
        name: str,
        manifest: Manifest,
        quality: QualityReport | None,
        private: bool = False,
        allow_invalid: bool = False,
        key: str | None = None,
    ) -> CommitResult:
        body = {"manifest": manifest.to_dict(), "private": private, "allow_invalid": allow_invalid}
        if key is not None:
            body["key"] = key
        data = self.session.json("POST", self._path(kind, name, "versions"), json=body)
        if not isinstance(data, dict):
            raise IntegrityError("the hub sent a malformed commit answer")
        return CommitResult(
            _checked_version(data.get("version")),
            data.get("created") is True,
            data.get("changed") is not False,
        )

    def set_visibility(self, kind: Kind, name: str, private: bool) -> RepositoryInfo:
        data = self.session.json("PATCH", self._path(kind, name), json={"private": private})
        return _checked_repository(data, kind, name)

    def delete(self, kind: Kind, name: str) -> None:
        self.session.request("DELETE", self._path(kind, name))

    def whoami(self) -> dict[str, Any]:
        """The account of this session's token (raises :class:`AuthenticationError`)."""
        return dict(self.session.json("GET", "/api/whoami"))


def _list(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise IntegrityError("the hub sent a malformed answer: a list was expected")
    return data


def _chunks(context: Any, response: httpx.Response) -> Iterator[bytes]:
    try:
        yield from response.iter_bytes(READ_SIZE)
    finally:
        context.__exit__(None, None, None)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = parse_answer(response.content, "", "")
    except EohubError:
        return {}
    return data if isinstance(data, dict) else {}


def _upload_state(data: Any, hub: str) -> tuple[int, bool]:
    """``(offset, complete)`` of an upload as a hub reports it, checked."""
    offset = data.get("offset") if isinstance(data, dict) else None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise IntegrityError(f"the hub at {hub} sent a malformed upload state: {str(data)[:200]}")
    return offset, data.get("complete") is True


def _checked_repository(data: Any, kind: Kind, asked: str | None = None) -> RepositoryInfo:
    """A repository as a hub describes it, refused unless its kind, name and version numbers pass the
    checks the hub itself applies (and, when ``asked``, it is the repository asked for)."""
    try:
        info = RepositoryInfo.from_dict(data)
        check_kind(info.kind)
        check_name(info.name)
        if info.latest is not None:
            check_version(info.latest.number)
    except (KeyError, TypeError, ValueError, AttributeError, EohubError) as exc:
        raise IntegrityError(f"the hub sent a malformed {kind} description ({_short(exc)})") from None
    if info.kind != kind or (asked is not None and name_key(info.name) != name_key(asked)):
        raise IntegrityError(
            f"the hub answered with {info.kind} '{info.name}' when asked for {kind} '{asked}'"
        )
    return info


def _checked_version(data: Any) -> VersionInfo:
    try:
        info = VersionInfo.from_dict(data)
        check_version(info.number)
    except (KeyError, TypeError, ValueError, AttributeError, EohubError) as exc:
        raise IntegrityError(f"the hub sent a malformed version ({_short(exc)})") from None
    return info


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
