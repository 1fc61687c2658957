"""Content-addressed blob stores: bytes stored once under their SHA-256, on local disk or S3."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eohub.storage.base import BlobStore, sha256_file
from eohub.storage.local import LocalBlobStore

if TYPE_CHECKING:
    from eohub.config import Settings
    from eohub.db.engine import Database
    from eohub.storage.uploads import Uploads

__all__ = ["BlobStore", "LocalBlobStore", "open_store", "open_uploads", "sha256_file"]


def open_store(location: str, s3_endpoint: str | None = None) -> BlobStore:
    """The blob store for a configured location: ``s3://bucket/prefix`` or a local folder."""
    if location.startswith("s3://"):
        from eohub.storage.s3 import S3BlobStore

        return S3BlobStore.from_url(location, endpoint=s3_endpoint)
    return LocalBlobStore(location)


def open_uploads(settings: Settings, database: Database, store: BlobStore) -> Uploads:
    """Uploads in progress for a hub on ``store``: into S3 (state in the database and S3), or partial
    files under ``EOHUB_HOME/uploads`` (shared by the hub processes of one machine)."""
    if settings.storage.startswith("s3://"):
        from eohub.storage.s3 import S3BlobStore
        from eohub.storage.s3_uploads import S3Uploads

        if isinstance(store, S3BlobStore):
            return S3Uploads(store, database, settings.limits)
    from eohub.storage.uploads import UploadArea

    return UploadArea(settings.home / "uploads", store)
