"""``/api/blobs`` and ``/api/uploads``: which blobs the hub lacks, and resumable uploads.

The client asks ``POST /api/blobs/missing`` first and uploads only those (missing for the caller: see
:mod:`eohub.repository.ledger`). Then, for up to a thousand blobs at once, ``POST /api/uploads`` says how
to send each (:class:`~eohub.storage.uploads.UploadPlan`):

- ``"patch"``: through the hub, ``PATCH /api/uploads/{sha256}`` with ``Upload-Offset`` (where these
  bytes start) and ``Upload-Length`` (the blob's size); the last byte triggers the SHA-256 check.
  ``GET /api/uploads/{sha256}`` says how many bytes the hub has, so a broken upload continues there.
- ``"batch"`` (when the client asks for batches): a small blob that would go through the hub goes with
  others in ``POST /api/uploads/batch`` (:mod:`eohub.server.routes.upload_batch`), at most
  ``batch_bytes`` per request, the answer's bound.
- ``"direct"`` (S3 storage): presigned ``PUT`` requests straight to S3, then
  ``POST /api/uploads/complete`` with the digests, where the hub checks each blob's SHA-256
  (:mod:`eohub.storage.s3_uploads`) before it enters the store.

Only a checked blob is recorded as the caller's (their proof of possession); only then can their
versions reference it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from eohub.errors import EohubError, LimitError, UsageError
from eohub.repository.embedded import EmbeddedRepository
from eohub.server.context import Hub, HubContext, Repo, SignedIn
from eohub.server.errors import status_of
from eohub.storage.base import check_digest
from eohub.storage.uploads import MAX_TARGETS, OffsetMismatch, UploadPlan

router = APIRouter(prefix="/api", tags=["transfers"])

MAX_DIGESTS = 10_000
"""Digests of one question (the client asks in batches of this many; the body stays under 1 MiB)."""
MAX_UPLOADS = 1_000
"""Blobs of one ``POST /api/uploads`` or ``/api/uploads/complete``."""
BATCH_FILE_SHARE = 8
"""A blob is sent in a batch (``POST /api/uploads/batch``) if it takes at most this share of a request
body (``max_request_bytes``: 128 KiB of the default 1 MiB); larger ones are not round trips first."""


class Digests(BaseModel):
    digests: list[str] = Field(max_length=MAX_DIGESTS)


class UploadState(BaseModel):
    offset: int
    complete: bool


class Wanted(BaseModel):
    sha256: str
    length: int = Field(ge=0)


class PlanRequest(BaseModel):
    uploads: list[Wanted] = Field(max_length=MAX_UPLOADS)
    parts: int | None = Field(None, ge=1, le=MAX_TARGETS, description="most part URLs per blob")
    batch: bool = Field(False, description="the client sends small blobs in POST /api/uploads/batch")


class CompleteRequest(BaseModel):
    digests: list[str] = Field(max_length=MAX_UPLOADS)


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


def check_upload_length(context: HubContext, length: int) -> None:
    """A blob larger than the hub's largest file is a 413 before any byte of it is stored."""
    limit = context.settings.limits.max_file_bytes
    if length > limit:
        raise LimitError(
            f"Upload-Length {length} is above the hub's largest file, {limit} bytes (EOHUB_MAX_FILE_BYTES)"
        )


@router.post("/uploads", summary="How to send each of these blobs (through the hub, or straight to S3)")
def plan_uploads(body: PlanRequest, context: Hub, repo: Repo, caller: SignedIn) -> dict[str, Any]:
    """One answer per blob, in order: ``complete`` when the caller may already reference it; else
    ``method`` ``"patch"`` from ``offset``, or ``"direct"`` with the ``targets`` to ``PUT`` (presigned,
    valid ``expires_in`` seconds; ``more`` when further parts remain: ask again after sending these)."""
    wanted = {check_digest(w.sha256): w.length for w in body.uploads}
    for length in wanted.values():
        check_upload_length(context, length)
    ready = set(wanted) - repo.missing_blobs(set(wanted))
    todo = {d: n for d, n in wanted.items() if d not in ready}
    planned = {p.digest: p for p in context.uploads.plan_many(caller.name, todo, body.parts)}
    plans = [planned.get(d) or UploadPlan(d, n, n, complete=True) for d, n in wanted.items()]
    batch_bytes = context.settings.limits.max_request_bytes
    if body.batch:  # small blobs that would go through the hub go many per request
        plans = [_batched(p, batch_bytes // BATCH_FILE_SHARE) for p in plans]
    return {"uploads": [p.to_dict() for p in plans], "batch_bytes": batch_bytes}


def _batched(plan: UploadPlan, most: int) -> UploadPlan:
    if plan.method != "patch" or plan.complete or plan.offset != 0 or plan.length > most:
        return plan
    return replace(plan, method="batch")


@router.post("/uploads/complete", summary="Check blobs sent straight to S3 and make them the caller's")
def complete_uploads(
    body: CompleteRequest, context: Hub, repo: Repo, caller: SignedIn
) -> dict[str, list[Any]]:
    """Each blob's bytes are checked against its SHA-256 before it enters the store; then the caller has
    proved they hold it. One answer per digest: ``complete``, or ``error`` with its ``status`` (422: the
    bytes are not the digest's, and are gone; 400: not every byte has arrived)."""
    digests = list(dict.fromkeys(check_digest(d) for d in body.digests))
    ready = set(digests) - repo.missing_blobs(set(digests))
    todo = [d for d in digests if d not in ready]
    outcomes = dict(zip(todo, context.uploads.complete_many(caller.name, todo), strict=True))
    answers = [_completed(d, outcomes.get(d), repo) for d in digests]
    accepted = {a["sha256"]: a["size"] for a in answers if a["complete"] and a["size"] is not None}
    if accepted:
        repo.accept_uploads(accepted)
    for answer in answers:
        answer.pop("size", None)
    return {"uploads": answers}


def _completed(digest: str, outcome: int | EohubError | None, repo: EmbeddedRepository) -> dict[str, Any]:
    if outcome is None:  # the caller could reference it already
        return {"sha256": digest, "complete": True, "size": None}
    if isinstance(outcome, EohubError):
        if repo.may_reference(digest):  # another request of the caller's completed it meanwhile
            return {"sha256": digest, "complete": True, "size": None}
        return {"sha256": digest, "complete": False, "error": str(outcome), "status": status_of(outcome)}
    return {"sha256": digest, "complete": True, "size": outcome}


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
    The last byte makes the hub check the upload's SHA-256; only then may the caller's versions
    reference it."""
    check_digest(digest)
    check_upload_length(context, upload_length)
    if upload_offset > upload_length:
        raise UsageError(f"Upload-Offset {upload_offset} is beyond Upload-Length {upload_length}")
    if await run_in_threadpool(repo.may_reference, digest):
        return UploadState(offset=upload_length, complete=True)
    writer = await run_in_threadpool(
        context.uploads.writer, caller.name, digest, upload_offset, upload_length
    )
    stream = request.stream()
    writing: asyncio.Future[int] | None = None
    try:
        while (batch := await _next_batch(stream)) is not None:
            if writing is not None:
                await writing  # in order: one batch is hashed and written while the next arrives
            writing = asyncio.ensure_future(run_in_threadpool(writer.write, batch))
        if writing is not None:
            await writing
    finally:
        if writing is not None:  # never closed under a write; its error, if first, was raised above
            await asyncio.wait({writing})
            if not writing.cancelled():
                writing.exception()
        offset = await run_in_threadpool(writer.close)
    if offset == upload_length:
        return await run_in_threadpool(_complete, context, repo, caller.name, digest, upload_length)
    return UploadState(offset=offset, complete=False)


def _complete(
    context: HubContext, repo: EmbeddedRepository, who: str, digest: str, length: int
) -> UploadState:
    size = context.uploads.complete(who, digest, length)
    repo.accept_upload(digest, size)
    return UploadState(offset=length, complete=True)


async def _next_batch(stream: AsyncIterator[bytes]) -> list[bytes] | None:
    """About ``BATCH`` bytes of the request body, in the pieces it came in (not joined: a copy of each
    byte less); ``None`` once it has ended (or the client left)."""
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
    return parts or None


__all__ = ["OffsetMismatch", "router"]
