"""``/api/blobs`` and ``/api/uploads``: which blobs the hub lacks, and resumable chunked uploads.

The client asks ``POST /api/blobs/missing`` first and uploads only those (missing for the caller: see
:mod:`eohub.repository.ledger`). An upload is
``PATCH /api/uploads/{sha256}`` with ``Upload-Offset`` (where these bytes start) and ``Upload-Length``
(the blob's size); ``GET /api/uploads/{sha256}`` says how many bytes the hub has, so a broken upload
continues from there. The last byte triggers the SHA-256 check; only then can a version reference it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from eohub.errors import LimitError, UsageError
from eohub.server.context import Hub, Repo, SignedIn
from eohub.storage.base import check_digest

router = APIRouter(prefix="/api", tags=["transfers"])

MAX_DIGESTS = 10_000
"""Digests of one question (the client asks in batches of this many; the body stays under 1 MiB)."""


class Digests(BaseModel):
    digests: list[str] = Field(max_length=MAX_DIGESTS)


class UploadState(BaseModel):
    offset: int
    complete: bool


@router.post("/blobs/missing", summary="Which of these SHA-256 digests the caller must upload")
def missing_blobs(body: Digests, repo: Repo, _: SignedIn) -> dict[str, list[str]]:
    """A blob is missing for the caller when the hub does not store it, or stores it but the caller has
    neither uploaded it nor may read a version holding it: they upload it to prove they have the bytes
    (the hub keeps one copy), and nobody learns whether someone else's file exists."""
    digests = {check_digest(d) for d in body.digests}
    return {"missing": sorted(repo.missing_blobs(digests))}


@router.get("/uploads/{digest}", summary="How many bytes of a blob the caller has sent")
def upload_state(digest: str, context: Hub, repo: Repo, caller: SignedIn) -> UploadState:
    check_digest(digest)
    if repo.may_reference(digest):
        return UploadState(offset=context.store.size(digest), complete=True)
    return UploadState(offset=context.uploads.offset(caller.name, digest), complete=False)


BATCH = 4 * 1024 * 1024


@router.patch("/uploads/{digest}", summary="Append bytes to a blob's upload")
async def append_upload(
    digest: str,
    request: Request,
    context: Hub,
    repo: Repo,
    caller: SignedIn,
    upload_offset: Annotated[int, Header(ge=0)],
    upload_length: Annotated[int, Header(ge=0)],
) -> UploadState:
    """Bytes are written in batches as they arrive, so a connection that breaks keeps what it sent.
    The last byte makes the hub hash the upload; only then may the caller's versions reference it."""
    check_digest(digest)
    limit = context.settings.limits.max_file_bytes
    if upload_length > limit:
        raise LimitError(
            f"Upload-Length {upload_length} is above the hub's largest file, {limit} bytes "
            "(EOHUB_MAX_FILE_BYTES)"
        )
    if upload_offset > upload_length:
        raise UsageError(f"Upload-Offset {upload_offset} is beyond Upload-Length {upload_length}")
    if await run_in_threadpool(repo.may_reference, digest):
        return UploadState(offset=upload_length, complete=True)
    offset = upload_offset
    uploads, who = context.uploads, caller.name
    stream = request.stream()
    while (batch := await _next_batch(stream)) is not None:
        offset = await run_in_threadpool(uploads.append, who, digest, offset, upload_length, [batch])
    await run_in_threadpool(uploads.append, who, digest, offset, upload_length, [], True)  # fsync
    if offset == upload_length:
        size = await run_in_threadpool(uploads.complete, who, digest, upload_length)
        await run_in_threadpool(repo.accept_upload, digest, size)
        return UploadState(offset=offset, complete=True)
    return UploadState(offset=offset, complete=False)


async def _next_batch(stream: AsyncIterator[bytes]) -> bytes | None:
    """Up to about ``BATCH`` bytes of the request body; ``None`` once it has ended (or the client left)."""
    parts: list[bytes] = []
    size = 0
    try:
        async for chunk in stream:
            parts.append(chunk)
            size += len(chunk)
            if size >= BATCH:
                break
    except ClientDisconnect:
        pass
    return b"".join(parts) if parts else None
