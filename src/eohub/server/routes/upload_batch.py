"""``POST /api/uploads/batch``: many small blobs in one request (the format: :mod:`eohub.core.blob_batch`).

A hub on local storage plans its small blobs ``"batch"`` when the client asks for batches
(``POST /api/uploads`` with ``"batch": true``): the client then sends them a few hundred per request
instead of one ``PATCH`` each. A hub whose uploads go straight to S3 refuses batches (400). The body is
bounded like any other request (``max_request_bytes``, checked by
:class:`~eohub.server.limits.BodyLimits` before this route reads it), and at most :data:`AT_ONCE`
batches are stored at once per hub process (each may write a thousand files): the others wait without
holding a worker thread. The hub hashes every blob itself; only a blob whose bytes match its digest
becomes the caller's (their proof of possession), and a blob already stored is never written again.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

import anyio
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from eohub.core.blob_batch import decode
from eohub.errors import UsageError
from eohub.repository.embedded import EmbeddedRepository
from eohub.server.context import Hub, HubContext, Repo, SignedIn
from eohub.server.routes.blobs import check_upload_length
from eohub.storage.base import check_digest

router = APIRouter(prefix="/api", tags=["transfers"])

AT_ONCE = 2
"""Batches one hub process stores at once."""


@router.post("/uploads/batch", summary="Send many small blobs in one request")
async def upload_batch(request: Request, context: Hub, repo: Repo, caller: SignedIn) -> dict[str, list[Any]]:
    """One answer per blob, in the batch's order: ``complete``, or ``error`` with its ``status`` (422:
    the bytes are not the digest's, and nothing was stored)."""
    if not context.uploads.through_hub:
        raise UsageError("this hub takes uploads straight to its storage: POST /api/uploads says how")
    body = await request.body()
    state = request.app.state
    if getattr(state, "storing_batches", None) is None:  # made in the app's own event loop
        state.storing_batches = anyio.Semaphore(AT_ONCE)
    async with state.storing_batches:
        return await run_in_threadpool(store_batch, context, repo, body)


def store_batch(context: HubContext, repo: EmbeddedRepository, body: bytes) -> dict[str, list[Any]]:
    """Check and store the blobs of a batch body; record the caller's proofs in one transaction."""
    blobs = decode(body)
    for digest, data in blobs:
        check_digest(digest)
        check_upload_length(context, len(data))
    missing = repo.missing_blobs({digest for digest, _ in blobs})
    answers: list[dict[str, Any]] = []
    accepted: dict[str, int] = {}
    for digest, data in blobs:
        if digest in missing and hashlib.sha256(data).hexdigest() != digest:
            error = f"content does not match its SHA-256 {digest}"
            answers.append({"sha256": digest, "complete": False, "error": error, "status": 422})
            continue
        if digest in missing:  # hashed here first: a blob already stored is not written, nor trusted
            accepted[digest] = context.store.write(digest, io.BytesIO(data))
        answers.append({"sha256": digest, "complete": True})
    if accepted:
        repo.accept_uploads(accepted)
    return {"uploads": answers}


__all__ = ["router", "store_batch"]
