"""Small files to a hub that plans them ``"batch"``: many per ``POST /api/uploads/batch``.

A thousand 16 KiB files sent one ``PATCH`` each are a thousand round trips and a thousand checks and
transactions on the hub; in batches they are a few requests, sent on several threads at once. The body's
format is :mod:`eohub.core.blob_batch`. A file is read whole (a hub plans only small ones this way) and
must still have the size it was scanned with; the hub hashes every blob itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eohub.client.http import HubSession
from eohub.core.blob_batch import MAX_BLOBS, MEDIA_TYPE, encode_head, head_bytes
from eohub.errors import IntegrityError
from eohub.repository.confine import open_source
from eohub.repository.scan import PlannedFile

SMALLEST_GROUP = 64 * 1024
"""Bytes below which a group is not split further to keep every thread busy."""


def groups(files: Sequence[PlannedFile], budget: int, threads: int) -> list[list[PlannedFile]]:
    """``files`` in order, cut into groups whose body fits ``budget`` bytes, about one per thread."""
    total = sum(f.entry.size for f in files) + head_bytes(len(files))
    target = min(budget, max(SMALLEST_GROUP, -(-total // max(1, threads))))
    out: list[list[PlannedFile]] = []
    group: list[PlannedFile] = []
    size = head_bytes(0)
    for f in files:
        grown = size + f.entry.size + head_bytes(1) - head_bytes(0)
        if group and (grown > target or len(group) == MAX_BLOBS):
            out.append(group)
            group, size = [], head_bytes(0)
            grown = size + f.entry.size + head_bytes(1) - head_bytes(0)
        if grown > budget:
            raise IntegrityError(f"{f.source}: too large for an upload batch of {budget} bytes")
        group.append(f)
        size = grown
    if group:
        out.append(group)
    return out


def body(files: Sequence[PlannedFile]) -> bytearray:
    """The batch body of ``files``, each read whole into one buffer of the body's size; a file whose size
    changed since the scan is an :class:`IntegrityError`."""
    head = encode_head([(f.entry.sha256, f.entry.size) for f in files])
    out = bytearray(len(head) + sum(f.entry.size for f in files))
    out[: len(head)] = head
    view = memoryview(out)
    at = len(head)
    for f in files:
        assert f.source is not None
        with open_source(f.source) as source:
            got = 0
            while got < f.entry.size and (n := source.readinto(view[at + got : at + f.entry.size])):
                got += n
            grew = bool(source.read(1))
        if got != f.entry.size or grew:
            raise IntegrityError(f"{f.source}: its size changed since it was scanned; run the command again")
        at += f.entry.size
    return out


def send(session: HubSession, files: Sequence[PlannedFile]) -> dict[str, str]:
    """``POST /api/uploads/batch`` of ``files``: the refusals (digest: why); bytes that are not their
    digest's raise :class:`IntegrityError`."""
    digests = [f.entry.sha256 for f in files]
    data = body(files)
    headers = {"Content-Type": MEDIA_TYPE, "Content-Length": str(len(data))}
    # a list, not the buffer: httpx iterates a bytearray as numbers; a list can be sent again on a retry
    answer = session.json("POST", "/api/uploads/batch", content=[memoryview(data)], headers=headers)
    return outcomes(answer, digests, session.url, "sending an upload batch")


def outcomes(answer: Any, digests: Sequence[str], hub: str, what: str) -> dict[str, str]:
    """A hub's answer of one outcome per digest (``complete``, else ``error`` and ``status``), checked:
    the refusals (digest: why), or :class:`IntegrityError` for a 422 (the bytes were not the digest's)
    and for a malformed answer."""
    listed = answer.get("uploads") if isinstance(answer, dict) else None
    if not isinstance(listed, list) or len(listed) != len(digests):
        raise IntegrityError(f"the hub at {hub} sent a malformed answer to {what}")
    failed: dict[str, str] = {}
    for digest, item in zip(digests, listed, strict=True):
        if not isinstance(item, dict) or item.get("sha256") != digest:
            raise IntegrityError(f"the hub at {hub} sent a malformed answer to {what}")
        if item.get("complete") is not True:
            message = str(item.get("error") or "the upload did not complete")[:2000]
            if item.get("status") == 422:
                raise IntegrityError(f"{digest[:12]}...: {message}")
            failed[digest] = message
    return failed
