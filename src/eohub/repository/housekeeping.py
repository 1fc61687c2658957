"""Housekeeping (``eohub admin gc``): reclaim what killed processes, abandoned uploads and deleted
repositories leave behind, safely while ingests run.

Three kinds of garbage:

- **abandoned writes** in the blob store: temporary files of a local store whose writer is gone (it
  holds a lock while writing), multipart uploads to S3 started long ago;
- **abandoned uploads**: partial uploads to the hub untouched for ``Limits.upload_ttl_seconds``;
- **unreferenced blobs**: stored blobs no version references, untouched for the same time. A blob is
  "touched" when it is uploaded, reported present to an uploader, or referenced by a commit, so a blob an
  ingest is about to reference is never old. Each removal is one transaction that deletes the blob's
  ``blobs`` row only if it is still unreferenced and old; the commit that would reference it renews
  the row in its own transaction, so exactly one of the two wins, and the bytes go only after the row.

:func:`collect` with ``apply=False`` (the default of the command) only reports what it would remove.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, exists, select

from eohub.config import Limits
from eohub.db.engine import Database
from eohub.db.tables import BlobProofRow, BlobRow, FileRow
from eohub.storage import BlobStore
from eohub.storage.uploads import Uploads

log = logging.getLogger(__name__)

WRITE_GRACE_SECONDS = 60
"""A temporary blob file younger than this is left alone even when unlocked (its writer may be starting)."""


@dataclass
class Found:
    """What one kind of garbage amounts to: how many, how many bytes, and examples."""

    count: int = 0
    size: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, name: str, size: int) -> None:
        self.count += 1
        self.size += size
        if len(self.examples) < 5:
            self.examples.append(name)


@dataclass
class GcReport:
    """What :func:`collect` found (and removed, when ``applied``)."""

    applied: bool
    abandoned_writes: Found = field(default_factory=Found)
    abandoned_uploads: Found = field(default_factory=Found)
    unreferenced_blobs: Found = field(default_factory=Found)

    def sections(self) -> dict[str, Found]:
        return {
            "abandoned writes in the blob store": self.abandoned_writes,
            "abandoned uploads": self.abandoned_uploads,
            "blobs no version references": self.unreferenced_blobs,
        }

    def to_dict(self) -> dict[str, object]:
        return {
            "applied": self.applied,
            **{
                key: {"count": found.count, "bytes": found.size, "examples": found.examples}
                for key, found in (
                    ("abandoned_writes", self.abandoned_writes),
                    ("abandoned_uploads", self.abandoned_uploads),
                    ("unreferenced_blobs", self.unreferenced_blobs),
                )
            },
        }


def clear_abandoned_writes(store: BlobStore, now: float | None = None) -> Found:
    """Remove what writers that died left in the store (the hub does this when it starts)."""
    found = Found()
    for write in store.abandoned_writes((now or time.time()) - WRITE_GRACE_SECONDS):
        write.remove()
        found.add(write.name, write.size)
    if found.count:
        log.info("removed %d abandoned blob writes (%d bytes)", found.count, found.size)
    return found


def collect(
    database: Database,
    store: BlobStore,
    uploads: Uploads | None,
    limits: Limits,
    apply: bool = False,
    now: float | None = None,
) -> GcReport:
    """Find (and with ``apply`` remove) the garbage described in the module docstring."""
    now = now or time.time()
    report = GcReport(applied=apply)
    for write in store.abandoned_writes(now - WRITE_GRACE_SECONDS):
        if apply:
            write.remove()
        report.abandoned_writes.add(write.name, write.size)
    cutoff = now - limits.upload_ttl_seconds
    if uploads is not None:
        for upload in uploads.abandoned(cutoff):
            if apply:
                upload.remove()
            report.abandoned_uploads.add(upload.name, upload.size)
    _unreferenced(database, store, datetime.fromtimestamp(cutoff, UTC), apply, report.unreferenced_blobs)
    return report


def _unreferenced(database: Database, store: BlobStore, cutoff: datetime, apply: bool, found: Found) -> None:
    blobs = {b.digest: b for b in store.stored()}
    with database.sessions.begin() as s:
        listed = set(s.scalars(select(BlobRow.sha256)))
        for digest in blobs.keys() - listed:  # written before blobs were listed, or by a crashed ingest
            blob = blobs[digest]
            moment = datetime.fromtimestamp(blob.modified, UTC)
            s.add(BlobRow(sha256=digest, size=blob.size, created_at=moment, touched_at=moment))
    for digest, blob in sorted(blobs.items()):
        with database.sessions.begin() as s:
            still_unused = (
                (BlobRow.sha256 == digest)
                & (BlobRow.touched_at < cutoff)
                & ~exists().where(FileRow.sha256 == digest)
            )
            if not apply:
                if s.scalar(select(BlobRow.sha256).where(still_unused)) is not None:
                    found.add(digest, blob.size)
                continue
            removed = s.execute(delete(BlobRow).where(still_unused)).rowcount
            if removed:
                s.execute(delete(BlobProofRow).where(BlobProofRow.sha256 == digest))
        if apply and removed:
            store.delete(digest)  # after the row: a commit can no longer reference it
            found.add(digest, blob.size)
