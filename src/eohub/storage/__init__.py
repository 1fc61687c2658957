"""Content-addressed blob stores: bytes stored once under their SHA-256, on local disk or S3."""

from __future__ import annotations

from eohub.storage.base import BlobStore, sha256_file
from eohub.storage.local import LocalBlobStore

__all__ = ["BlobStore", "LocalBlobStore", "open_store", "sha256_file"]


def open_store(location: str, s3_endpoint: str | None = None) -> BlobStore:
    """The blob store for a configured location: ``s3://bucket/prefix`` or a local folder."""
    if location.startswith("s3://"):
        from eohub.storage.s3 import S3BlobStore

        return S3BlobStore.from_url(location, endpoint=s3_endpoint)
    return LocalBlobStore(location)
