"""``/api/{models|datasets}``: list, inspect, version, download, change visibility, delete.

Every route calls the repository (``Depends(repository)``); access rules live there: private
repositories are invisible (404) to everyone but their owner and admins.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from eohub.core.blob_batch import MEDIA_TYPE, encode_head
from eohub.errors import UsageError
from eohub.repository import Kind, Manifest
from eohub.repository.links import MAX_HREF
from eohub.server.context import Hub, Repo, SignedIn
from eohub.server.head import is_head
from eohub.server.limits import MAX_VERSION, whole_number

router = APIRouter(prefix="/api", tags=["repositories"])
MAX_TRAINED_ON = 1000
MAX_LOCATIONS = 1000
FILE_BATCH_FILE_BYTES = 1024 * 1024
"""The largest file ``POST .../files`` answers (small files are round trips more than bytes)."""
FILE_BATCH_BYTES = 4 * 1024 * 1024
"""The most bytes of files one ``POST .../files`` answer holds (it is built in memory)."""
WHOLE_BODY_BYTES = 1024 * 1024
"""A file span up to this size is answered from memory rather than streamed."""


class Plural(str, Enum):  # noqa: UP042 - FastAPI path enums
    models = "models"
    datasets = "datasets"

    @property
    def kind(self) -> Kind:
        return "model" if self is Plural.models else "dataset"


class Visibility(BaseModel):
    private: bool


class NewVersion(BaseModel):
    manifest: dict[str, Any] = Field(description="files (path, size, sha256), STAC documents, metadata")
    private: bool = Field(False, description="make the repository private when this creates it")
    allow_invalid: bool = Field(False, description="store invalid STAC as Q0 instead of refusing it")
    key: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="chosen once per ingest: a retried commit that was already made answers that version",
    )
    trained_on: list[Annotated[str, Field(max_length=MAX_HREF)]] = Field(
        default_factory=list,
        max_length=MAX_TRAINED_ON,
        description="a model's training datasets (datasets/NAME@vN), resolved at commit; what is not found "
        "is a note of the answer",
    )


def _version(value: str) -> int | None:
    if value == "latest":
        return None
    number = whole_number(value, MAX_VERSION)
    if not number:
        raise UsageError(
            f"a version is 'latest' or a whole number from 1 to {MAX_VERSION}, not {value[:40]!r}"
        )
    return number


@router.get("/{plural}", summary="Repositories the caller can see")
def list_repositories(
    plural: Plural,
    repo: Repo,
    name: Annotated[str | None, Query(description="case-insensitive substring of the name")] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> list[dict[str, Any]]:
    return [info.to_dict() for info in repo.list(plural.kind, name, limit)]


@router.get("/{plural}/{name}", summary="One repository and its latest version")
def get_repository(plural: Plural, name: str, repo: Repo) -> dict[str, Any]:
    return repo.get(plural.kind, name).to_dict()


@router.patch("/{plural}/{name}", summary="Make a repository private or public (owner only)")
def set_visibility(plural: Plural, name: str, body: Visibility, repo: Repo, _: SignedIn) -> dict[str, Any]:
    return repo.set_visibility(plural.kind, name, body.private).to_dict()


@router.delete("/{plural}/{name}", status_code=204, summary="Delete a repository (owner only)")
def delete_repository(plural: Plural, name: str, repo: Repo, _: SignedIn) -> Response:
    repo.delete(plural.kind, name)
    return Response(status_code=204)


@router.get("/{plural}/{name}/versions", summary="Every version, oldest first")
def list_versions(plural: Plural, name: str, repo: Repo) -> list[dict[str, Any]]:
    return [v.to_dict() for v in repo.versions(plural.kind, name)]


def _new_version(raw: bytes) -> tuple[NewVersion, Manifest]:
    """The commit's body, parsed and checked (a large manifest: called off the event loop)."""
    try:
        body = NewVersion.model_validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())) or 'body'}: {e.get('msg', 'invalid')}"
            for e in exc.errors()[:10]
        )
        raise UsageError(f"bad request: {problems}") from None
    return body, Manifest.from_dict(body.manifest)


@router.post(
    "/{plural}/{name}/versions",
    status_code=201,
    summary="Commit the next version",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": NewVersion.model_json_schema()}},
        }
    },
)
async def commit_version(
    plural: Plural, name: str, request: Request, repo: Repo, _: SignedIn, response: Response
) -> dict[str, Any]:
    """Every blob of the manifest must be uploaded first (by the caller, or be in a version the caller
    can read). The hub validates the STAC documents and rates the version itself (Q0..Q3) from the
    stored blobs. A manifest identical to the latest version answers that version with 200 and
    ``"changed": false``. The body (up to ``EOHUB_MAX_MANIFEST_BYTES``) is parsed off the event loop,
    so a large manifest never stalls other requests."""
    body, manifest = await run_in_threadpool(_new_version, await request.body())
    repo.hub_urls = (str(request.base_url),)  # links to this hub's pages name its datasets
    commit = await run_in_threadpool(
        repo.commit_version,
        plural.kind,
        name,
        manifest,
        None,
        body.private,
        body.allow_invalid,
        body.key,
        body.trained_on,
    )
    if not commit.changed:
        response.status_code = 200
    return {
        "version": commit.version.to_dict(),
        "created": commit.created,
        "changed": commit.changed,
        "notes": commit.notes,
    }


@router.get("/datasets/{name}/models", summary="Model versions trained on a version of the dataset")
def trained_models(name: str, repo: Repo) -> list[dict[str, Any]]:
    """Only the models the caller can see (each model version's ``trained_on`` is the other direction)."""
    return [m.to_dict() for m in repo.trained_models(name)]


@router.get("/{plural}/{name}/versions/{version}/manifest", summary="Files, STAC documents, metadata")
def get_manifest(plural: Plural, name: str, version: str, repo: Repo) -> dict[str, Any]:
    manifest = repo.manifest(plural.kind, name, _version(version))
    return manifest.to_dict()


_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")
_BEYOND = 10**18
"""An offset with more digits than this (a byte past any file) is read as this."""


def _offset(digits: str) -> int:
    return whole_number(digits, _BEYOND) or (0 if not digits.strip("0") else _BEYOND)


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` (end exclusive) of a single-range ``Range`` header; ``None`` for the whole file."""
    if header is None:
        return None
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        raise _RangeNotSatisfiable(size)
    first, last = match.groups()
    if first == "":  # the last N bytes
        start, end = max(0, size - _offset(last)), size
    else:
        start, end = _offset(first), size if last == "" else min(size, _offset(last) + 1)
    if start >= size or start >= end:
        raise _RangeNotSatisfiable(size)
    return start, end


class _RangeNotSatisfiable(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


class Paths(BaseModel):
    paths: list[Annotated[str, Field(max_length=MAX_HREF, pattern=r"^[^\x00-\x1f\x7f]*$")]] = Field(
        max_length=MAX_LOCATIONS
    )


@router.post(
    "/{plural}/{name}/versions/{version}/locations",
    summary="Where to download these files straight from storage (presigned URLs; none on local storage)",
)
def file_locations(
    plural: Plural, name: str, version: str, body: Paths, repo: Repo, context: Hub
) -> dict[str, Any]:
    """A presigned ``GET`` URL, valid ``expires_in`` seconds, for each non-empty file among ``paths``
    (at most 1,000): what ``GET .../files/{path}`` would redirect to, asked for many files at once.
    Paths the version lacks are left out; so is everything when the hub serves the bytes itself."""
    presign = getattr(context.store, "presign_get", None)
    seconds = context.settings.limits.presign_seconds
    entries, _ = repo.file_entries(plural.kind, name, _version(version), list(dict.fromkeys(body.paths)))
    urls = {e.path: presign(e.sha256, seconds) for e in entries if e.size} if presign is not None else {}
    return {"expires_in": seconds, "locations": urls}


@router.post(
    "/{plural}/{name}/versions/{version}/files",
    summary="The bytes of many small files in one answer (what a hub on local storage serves itself)",
    response_class=Response,
)
def file_batch(plural: Plural, name: str, version: str, body: Paths, repo: Repo) -> Response:
    """The files among ``paths`` (at most 1,000), in that order, framed as an upload batch
    (:mod:`eohub.core.blob_batch`): one line of JSON naming each file's SHA-256 and length, then their
    bytes. Paths the version lacks are left out. A file above ``FILE_BATCH_FILE_BYTES``, or files above
    ``FILE_BATCH_BYTES`` together, are a 400: ask for those one by one."""
    asked = list(dict.fromkeys(body.paths))
    listed, number = repo.file_entries(plural.kind, name, _version(version), asked)
    found = {e.path: e for e in listed}
    entries = [found[p] for p in asked if p in found]
    largest = max((e.size for e in entries), default=0)
    if largest > FILE_BATCH_FILE_BYTES or sum(e.size for e in entries) > FILE_BATCH_BYTES:
        raise UsageError(
            f"POST .../files answers files of at most {FILE_BATCH_FILE_BYTES} bytes, {FILE_BATCH_BYTES} "
            "together; download larger ones with GET .../files/{path}"
        )
    parts = [encode_head([(e.sha256, e.size) for e in entries])]
    parts += [b"".join(repo.fetch(plural.kind, name, number, e)) for e in entries]
    return Response(b"".join(parts), media_type=MEDIA_TYPE, headers={"Cache-Control": "no-store"})


@router.get(
    "/{plural}/{name}/versions/{version}/files/{path:path}",
    summary="Download one file (HTTP Range supported)",
    response_class=StreamingResponse,
)
def download_file(
    plural: Plural,
    name: str,
    version: str,
    path: str,
    request: Request,
    repo: Repo,
    context: Hub,
    range: Annotated[str | None, Header()] = None,  # noqa: A002 - the header's name
) -> Response:
    """With S3 storage, a GET is answered with a redirect (307) to a presigned URL of the blob, valid
    ``EOHUB_PRESIGN_SECONDS``: the bytes go straight from S3 (ranges too); the SHA-256 to check them
    against is in ``X-Checksum-Sha256``."""
    entry, number = repo.file_entry(plural.kind, name, _version(version), path)
    headers = {"Accept-Ranges": "bytes", "ETag": f'"{entry.sha256}"', "X-Checksum-Sha256": entry.sha256}
    presign = getattr(context.store, "presign_get", None)
    if presign is not None and not is_head(request) and entry.size:
        url = presign(entry.sha256, context.settings.limits.presign_seconds)
        return RedirectResponse(url, status_code=307, headers={**headers, "Cache-Control": "no-store"})
    try:
        span = _byte_range(range, entry.size)
    except _RangeNotSatisfiable:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{entry.size}"})
    start, end = span or (0, entry.size)
    headers["Content-Length"] = str(end - start)
    status = 200
    if span is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{entry.size}"
    reading = end > start and not is_head(request)  # a HEAD gets the headers only: the blob stays shut
    chunks = repo.fetch(plural.kind, name, number, entry, start, end) if reading else iter(())
    if end - start <= WHOLE_BODY_BYTES:  # read here: no thread hand-over per chunk while it is sent
        return Response(b"".join(chunks), status, headers, media_type="application/octet-stream")
    return StreamingResponse(
        chunks, status_code=status, headers=headers, media_type="application/octet-stream"
    )
