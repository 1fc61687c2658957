"""``RemoteRepository``: the :class:`~eohub.repository.Repository` interface over a hub's HTTP API.

The shared steps (scan, "no changes", download layout and verification) are the ones in
:mod:`eohub.repository.base`; this class only moves bytes and JSON:

- **Uploads** (:mod:`eohub.client.uploads`) send only the blobs the hub lacks, through the hub or
  straight to its S3 storage, resuming from what the hub (or S3) confirms.
- **Quality** is left to the hub, which rates the version from the stored blobs when it is committed.
- **Downloads** stream each file with an HTTP ``Range`` from the bytes already on disk, retrying a
  broken stream from where it stopped. A hub with S3 storage answers with a redirect to a presigned URL,
  which is fetched without the hub's token (and asked for again when it expires).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from eohub.client.file_batches import FileBatches
from eohub.client.http import HubSession, _Retryable, read_bounded
from eohub.client.hub_checks import short, storage_url
from eohub.client.locations import Locations
from eohub.client.storage_reads import SpanReader, StorageReadError
from eohub.client.storage_writes import SpanSender
from eohub.client.uploads import HubUploads, _Batch
from eohub.core.blob_batch import MEDIA_TYPE
from eohub.core.kept_connections import through_proxy
from eohub.core.names import PLURALS, Kind, check_kind, check_name, name_key
from eohub.errors import EohubError, IntegrityError, TransferError, UsageError
from eohub.quality import QualityReport
from eohub.repository.base import CommitResult, Repository, RepositoryInfo, VersionInfo, check_version
from eohub.repository.download import Fetch
from eohub.repository.links import TrainedModel
from eohub.repository.manifest import FileEntry, Manifest
from eohub.repository.scan import IngestPlan

log = logging.getLogger(__name__)

READ_SIZE = 1024 * 1024
DIGEST_BATCH = 10_000
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_NOTES, MAX_NOTE, MAX_LISTED = 200, 500, 10_000
BULK_BYTES = 1024 * 1024
"""Spans of at least this many bytes are read from the hub into one buffer (:mod:`storage_reads`); from
storage, spans of any size are (a small file costs a third of the CPU httpx takes for it)..."""
BULK_MOST = 16 * 1024 * 1024
"""... of at most this many (a larger span, or a whole file, is streamed: the buffer is bounded)."""


class RemoteRepository(HubUploads, Repository):
    """A hub at ``url``, acting as the owner of ``token`` (anonymous, read-only, without one)."""

    def __init__(self, url: str, token: str | None = None, **session: Any) -> None:
        self.session = HubSession(url, token, **session)
        self.url = self.session.url
        self.bytes_sent = 0
        """File bytes sent, to the hub or straight to its storage."""
        self.bytes_received = 0
        self._lock = threading.Lock()
        self._storage: httpx.Client | None = None
        self._spans: SpanReader | None = None
        self._sender: SpanSender | None = None
        self._batches: dict[str, _Batch] = {}

    def close(self) -> None:
        self.session.close()
        if self._storage is not None:
            self._storage.close()
        if self._spans is not None:
            self._spans.close()
        if self._sender is not None:
            self._sender.close()

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
            raise IntegrityError(f"the hub sent a malformed manifest ({short(exc)})") from None

    def read_file(
        self, kind: Kind, name: str, version: int, path: str, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        url = self._path(kind, name, "versions", str(check_version(version)), "files", path)
        return self._stream(url, start, end)

    part_threads = 4

    def fetcher(self, kind: Kind, name: str, version: int, manifest: Manifest) -> Fetch:
        """Files are read straight from storage with URLs asked for a thousand at a time (a hub on S3),
        else small ones in groups (:mod:`eohub.client.file_batches`) and the others through
        ``GET .../files/{path}``."""
        where = self._path(kind, name, "versions", str(check_version(version)))
        locations = Locations(
            lambda paths: self.session.json("POST", f"{where}/locations", json={"paths": paths}),
            [e.path for e in manifest.files if e.size],
            lambda url: storage_url(url, self.url),
        )
        groups = FileBatches(
            lambda paths, most: self._read_at_most(f"{where}/files", paths, most), manifest.files
        )

        def fetch(entry: FileEntry, start: int, end: int | None = None) -> Iterator[bytes]:
            stop = entry.size if end is None else end
            if start >= stop:
                return iter(())  # nothing to ask for (an empty file's digest is still checked)
            url = locations.url(entry.path)
            if url is None:
                whole = groups.bytes_of(entry) if start == 0 and stop == entry.size else None
                if whole is not None:
                    with self._lock:
                        self.bytes_received += len(whole)
                    return iter((whole,))
                if BULK_BYTES <= stop - start <= BULK_MOST and not through_proxy(self.url):  # one buffer
                    return self._span(
                        f"{self.url}{where}/files/{quote(entry.path, safe='/')}",
                        self._token_header(),
                        entry,
                        start,
                        stop,
                        lambda at: self.fetch(kind, name, version, entry, at, stop),
                    )
                return self.fetch(kind, name, version, entry, start, stop)
            return self._from_storage(
                url, entry, start, stop, lambda at: self.fetch(kind, name, version, entry, at, stop)
            )

        fetch.close = groups.close  # type: ignore[attr-defined]
        return fetch

    def _read_at_most(self, path: str, paths: list[str], most: int) -> bytes:
        """The body of ``POST path`` with ``paths``, as sent (no content decoding: a small compressed
        answer cannot inflate past the bound), refused (:class:`IntegrityError`) past ``most`` bytes. Any
        answer but a 200 of the batch media type is a :class:`UsageError`: an older hub redirects to
        ``GET .../files/``, another refuses; each file is then fetched alone."""
        headers = {"Accept-Encoding": "identity"}
        with self.session.http.stream("POST", path, json={"paths": paths}, headers=headers) as response:
            media = response.headers.get("content-type", "").split(";")[0].strip()
            encoding = response.headers.get("content-encoding", "identity").strip().lower()
            if response.status_code != 200 or media != MEDIA_TYPE or encoding != "identity":
                raise UsageError(f"{response.status_code} {media or 'without a media type'} {encoding}")
            return read_bounded(response, self.url, most, raw=True).content

    def _token_header(self) -> dict[str, str]:
        """The hub's ``Authorization`` header (only ever sent to the hub's own URL)."""
        token = self.session.http.headers.get("Authorization")
        return {"Authorization": token} if token else {}

    def _span_reader(self) -> SpanReader:
        with self._lock:
            if self._spans is None:
                timeout = self.session.http.timeout.read or 120.0
                self._spans = SpanReader(timeout, self.session.http.headers["User-Agent"])
            return self._spans

    def fetch(
        self, kind: Kind, name: str, version: int, entry: FileEntry, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        return self.read_file(kind, name, version, entry.path, start, entry.size if end is None else end)

    def _from_storage(
        self, url: str, entry: FileEntry, start: int, end: int, rest: Callable[[int], Iterator[bytes]]
    ) -> Iterator[bytes]:
        """Bytes ``[start, end)`` of ``entry`` from a storage URL; what it does not give (expired, broken
        off) comes from ``rest(position)``, through the hub."""
        position = start
        whole = start == 0 and end == entry.size
        if end - start <= BULK_MOST and not through_proxy(url):
            yield from self._span(url, {}, entry, start, end, rest, "from storage")
            return
        try:
            headers = {"Range": f"bytes={start}-{end - 1}"}
            context = self.storage().stream("GET", url, headers=headers)
            response = context.__enter__()
            if response.status_code != 206 and not (whole and response.status_code == 200):
                context.__exit__(None, None, None)
                raise _Retryable(f"the storage answered {response.status_code}")
            for chunk in _chunks(context, response):
                if position + len(chunk) > end:
                    raise IntegrityError(f"{entry.path}: the storage sent more than the bytes asked for")
                position += len(chunk)
                with self._lock:
                    self.bytes_received += len(chunk)
                yield chunk
        except (httpx.TransportError, httpx.InvalidURL, _Retryable, ValueError) as exc:
            log.info("%s from storage stopped at byte %d (%s); through the hub", entry.path, position, exc)
        if position < end:
            yield from rest(position)

    def _span(
        self,
        url: str,
        headers: dict[str, str],
        entry: FileEntry,
        start: int,
        end: int,
        rest: Callable[[int], Iterator[bytes]],
        source: str = "from the hub",
    ) -> Iterator[bytes]:
        """Bytes ``[start, end)`` of ``entry`` read from ``url`` (``source``, for the log) into one buffer
        (:mod:`eohub.client.storage_reads`); what it does not give comes from ``rest(position)``."""
        try:
            data = self._span_reader().read(url, start, end, start == 0 and end == entry.size, headers)
        except StorageReadError as exc:
            log.info("%s %s stopped at byte %d (%s); streamed from the hub", entry.path, source, start, exc)
            data = exc.got
        with self._lock:
            self.bytes_received += len(data)
        if data:
            yield data
        if start + len(data) < end:
            yield from rest(start + len(data))

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
        """Open the response now (so connection errors are retried) and return its chunks; a redirect
        to storage is followed without the hub's token."""
        headers = {"Range": f"bytes={start}-{'' if end is None else end - 1}"} if start or end else {}
        context = self.session.stream("GET", url, headers=headers)
        response = context.__enter__()
        if response.status_code in REDIRECTS:
            location = response.headers.get("location", "")
            context.__exit__(None, None, None)
            context = self.storage().stream("GET", storage_url(location, self.url), headers=headers)
            response = context.__enter__()
            if response.status_code >= 400:  # an expired URL (403) and the like: ask the hub again
                context.__exit__(None, None, None)
                raise _Retryable(f"the storage answered {response.status_code}")
        if (start and response.status_code != 206) or response.status_code not in (200, 206):
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

    def commit_version(
        self,
        kind: Kind,
        name: str,
        manifest: Manifest,
        quality: QualityReport | None,
        private: bool = False,
        allow_invalid: bool = False,
        key: str | None = None,
        trained_on: Sequence[str] = (),
    ) -> CommitResult:
        body: dict[str, Any] = {
            "manifest": manifest.to_dict(),
            "private": private,
            "allow_invalid": allow_invalid,
        }
        if key is not None:
            body["key"] = key
        if trained_on:
            body["trained_on"] = list(trained_on)
        data = self.session.json("POST", self._path(kind, name, "versions"), json=body)
        if not isinstance(data, dict):
            raise IntegrityError("the hub sent a malformed commit answer")
        notes = data.get("notes") if isinstance(data.get("notes"), list) else []
        return CommitResult(
            _checked_version(data.get("version")),
            data.get("created") is True,
            data.get("changed") is not False,
            [str(n)[:MAX_NOTE] for n in notes[:MAX_NOTES]],
        )

    def trained_models(self, name: str) -> list[TrainedModel]:
        data = _list(self.session.json("GET", self._path("dataset", name, "models")))
        try:
            return [TrainedModel.from_dict(d) for d in data[:MAX_LISTED]]
        except ValueError as exc:
            raise IntegrityError(f"the hub sent a malformed list of models ({short(exc)})") from None

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
    """The body as it arrives (no re-chunking: no large buffers made and freed per chunk)."""
    try:
        if response.headers.get("content-encoding", "identity") == "identity":
            yield from response.iter_raw()
        else:
            yield from response.iter_bytes(READ_SIZE)
    finally:
        context.__exit__(None, None, None)


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
        raise IntegrityError(f"the hub sent a malformed {kind} description ({short(exc)})") from None
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
        raise IntegrityError(f"the hub sent a malformed version ({short(exc)})") from None
    return info
