"""Blobs as objects in an S3 bucket (AWS or any S3-compatible server): ``<prefix>/<sha256>``.

A write streams the bytes as a multipart upload straight to the final key while hashing them, and
completes the upload only when the SHA-256 matches; on a mismatch or any error the upload is aborted.
S3 makes an object visible only when its multipart upload completes, so readers never see a partial or
wrong blob. Memory stays at one part (``part_size``) whatever the blob size. Uploads abandoned by a
killed process stay invisible; a bucket lifecycle rule (AbortIncompleteMultipartUpload) reclaims them.

Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_PROFILE``, instance roles...).

**Staging.** Bytes that clients send straight to S3 (presigned URLs, :mod:`eohub.storage.s3_uploads`)
land under ``<prefix>/uploads/<user>/<random>``, never under a blob's name: the hub checks them and
copies them to ``<prefix>/<sha256>`` itself (:mod:`eohub.storage.s3_staging`). Presigned URLs are only
ever made for staging keys (uploads) or for stored blobs (downloads).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from eohub.errors import EohubError, NotFoundError, UsageError
from eohub.storage.base import (
    _DIGEST,
    CHUNK,
    AbandonedWrite,
    BlobStore,
    StoredBlob,
    check_digest,
    verify_digest,
)
from eohub.storage.s3_heads import QuickHeads

log = logging.getLogger(__name__)

PART_SIZE = 8 * 1024 * 1024
"""Bytes per uploaded part: S3 allows 10,000 parts, so one blob may be up to 80 GB at this size."""

_MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PARTS = 10_000
"""S3's most parts of one multipart upload."""
COPY_LIMIT = 5 * 1024**3
"""The largest object one CopyObject copies; larger ones are copied in parts."""
STAGING = "uploads"
"""Where bytes sent straight to S3 wait (``<prefix>/uploads/<user>/<random>``) until the hub checks them."""
LOOKUPS = 16
"""HEAD requests in flight when asking which of many blobs are stored."""
ABANDONED_AFTER = 6 * 3600
"""A multipart upload this old is abandoned: a 64 GiB blob at 4 MB/s is written in under 5 hours."""
_ACCESS_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403"}


class S3BlobStore(BlobStore):
    """A blob store in an S3 bucket under an optional key prefix."""

    def __init__(self, client: Any, bucket: str, prefix: str = "", part_size: int = PART_SIZE) -> None:
        if part_size < _MIN_PART_SIZE:
            raise UsageError(f"S3 part size must be at least {_MIN_PART_SIZE} bytes, got {part_size}")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.part_size = part_size
        self.heads = QuickHeads(client, bucket)

    @classmethod
    def from_url(cls, url: str, endpoint: str | None = None, part_size: int = PART_SIZE) -> S3BlobStore:
        """The store for ``s3://bucket/prefix``; ``endpoint`` points at an S3-compatible server."""
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise UsageError(f"not an S3 location (expected s3://bucket/prefix): {url!r}")
        config = Config(
            signature_version="s3v4",  # presigned URLs sign their headers (x-amz-checksum-sha256)
            retries={"mode": "standard", "max_attempts": 5},
            s3={"addressing_style": "path"} if endpoint else {},
            request_checksum_calculation="when_required",  # no SDK checksums inside presigned URLs
            response_checksum_validation="when_required",
            max_pool_connections=32,
        )
        client = boto3.session.Session().client("s3", endpoint_url=endpoint, config=config)
        return cls(client, parsed.netloc, parsed.path, part_size=part_size)

    def key(self, digest: str) -> str:
        """The object key of a blob."""
        check_digest(digest)
        return self._under(digest)

    def _under(self, rest: str) -> str:
        return f"{self.prefix}/{rest}" if self.prefix else rest

    def staging_key(self, user: str, token: str) -> str:
        """The key where ``user``'s upload ``token`` waits until the hub has checked it."""
        return self._under(f"{STAGING}/{user}/{token}")

    def exists(self, digest: str) -> bool:
        try:
            self._head(digest)
        except NotFoundError:
            return False
        return True

    def missing(self, digests: Iterable[str]) -> set[str]:
        """One HEAD per digest, :data:`LOOKUPS` at once (a thousand small files are a thousand questions)."""
        wanted = sorted(set(digests))
        if len(wanted) <= 1:
            return super().missing(wanted)
        with ThreadPoolExecutor(min(LOOKUPS, len(wanted))) as pool:
            present = list(pool.map(self.exists, wanted))
        return {d for d, here in zip(wanted, present, strict=True) if not here}

    def size(self, digest: str) -> int:
        return int(self._head(digest)["ContentLength"])

    def _head(self, digest: str) -> dict:
        key = self.key(digest)
        try:
            head = self.heads.head(key)
        except (ClientError, BotoCoreError) as e:
            raise self._error(e, digest) from None
        if head is None:
            raise NotFoundError(f"blob {digest} is not stored")
        return head

    def write(self, digest: str, source: BinaryIO) -> int:
        key = self.key(digest)
        try:
            return self.size(digest)  # already stored: blobs are immutable
        except NotFoundError:
            pass
        h = hashlib.sha256()
        buf = bytearray(self.part_size)  # the one part held in memory, refilled for each part
        n = _fill(source, buf, h)
        if n < self.part_size:  # the whole blob fits in one part: a plain PUT
            verify_digest(digest, h.hexdigest())
            del buf[n:]
            self._call(self.client.put_object, digest, Bucket=self.bucket, Key=key, Body=buf)
            return n
        return self._write_multipart(digest, key, source, h, buf)

    def _write_multipart(self, digest: str, key: str, source: BinaryIO, h: Any, buf: bytearray) -> int:
        """Upload ``buf`` (the first part, full) then the rest of ``source``; complete only if verified."""
        upload = self._call(self.client.create_multipart_upload, digest, Bucket=self.bucket, Key=key)
        upload_id = upload["UploadId"]
        parts: list[dict] = []
        size, n = 0, len(buf)
        try:
            while n:
                del buf[n:]  # shortens only the last part
                number = len(parts) + 1
                done = self._call(
                    self.client.upload_part,
                    digest,
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=buf,
                )
                parts.append({"PartNumber": number, "ETag": done["ETag"]})
                size += n
                n = _fill(source, buf, h)
            verify_digest(digest, h.hexdigest())
            self._call(
                self.client.complete_multipart_upload,
                digest,
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            self._abort(key, upload_id)
            raise
        return size

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except (ClientError, BotoCoreError) as e:  # the upload stays invisible; lifecycle rules reclaim it
            log.warning("could not abort multipart upload %s of %s: %s", upload_id, key, e)

    def read(self, digest: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        key = self.key(digest)
        if end is not None and end <= start:
            self._head(digest)  # still report a missing blob
            return iter(())
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if start or end is not None:
            args["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            body = self.client.get_object(**args)["Body"]
        except ClientError as e:
            if _code(e) == "InvalidRange":  # start at or past the end: no bytes, like a local file
                self._head(digest)
                return iter(())
            raise self._error(e, digest) from None
        except BotoCoreError as e:
            raise self._error(e, digest) from None
        return _stream(body)

    def stored(self) -> Iterator[StoredBlob]:
        pages = self.client.get_paginator("list_objects_v2")
        prefix = f"{self.prefix}/" if self.prefix else ""
        try:
            for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
                for obj in page.get("Contents") or []:
                    name = str(obj["Key"])[len(prefix) :]
                    if _DIGEST.fullmatch(name):
                        yield StoredBlob(name, int(obj["Size"]), obj["LastModified"].timestamp())
        except (ClientError, BotoCoreError) as e:
            raise self._error(e, "(listing)") from None

    def abandoned_writes(self, older_than: float) -> list[AbandonedWrite]:
        """Multipart uploads started before ``older_than`` and at least :data:`ABANDONED_AFTER` ago:
        S3 cannot tell whether a process still writes one, so only old ones count."""
        cutoff = min(older_than, time.time() - ABANDONED_AFTER)
        prefix = f"{self.prefix}/" if self.prefix else ""
        found: list[AbandonedWrite] = []
        pages = self.client.get_paginator("list_multipart_uploads")
        try:
            for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
                for upload in page.get("Uploads") or []:
                    if str(upload["Key"]).startswith(self._under(f"{STAGING}/")):
                        continue  # an upload's staging: its session decides (s3_uploads)
                    if upload["Initiated"].timestamp() < cutoff:
                        key, upload_id = str(upload["Key"]), str(upload["UploadId"])
                        found.append(
                            AbandonedWrite(
                                f"s3://{self.bucket}/{key} (upload {upload_id[:12]})",
                                self._uploaded_bytes(key, upload_id),
                                lambda k=key, u=upload_id: self._abort(k, u),
                            )
                        )
        except (ClientError, BotoCoreError) as e:
            raise self._error(e, "(listing)") from None
        return found

    def _uploaded_bytes(self, key: str, upload_id: str) -> int:
        try:
            parts = self.client.list_parts(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except (ClientError, BotoCoreError):
            return 0
        return sum(int(p.get("Size", 0)) for p in parts.get("Parts") or [])

    def delete(self, digest: str) -> None:
        self._call(self.client.delete_object, digest, Bucket=self.bucket, Key=self.key(digest))

    def presign_get(self, digest: str, seconds: int) -> str:
        """A URL that reads the blob for ``seconds`` without credentials (``Range`` allowed).

        The answer's content headers are set by the URL, not taken from the object: an uploader may have
        sent ``Content-Encoding: gzip`` or ``Content-Type: text/html`` with the bytes, and a client would
        then decode (and fail the SHA-256) or a browser render what was uploaded."""
        return self._call(
            self.client.generate_presigned_url,
            digest,
            ClientMethod="get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self.key(digest),
                "ResponseContentEncoding": "identity",
                "ResponseContentType": "application/octet-stream",
                "ResponseContentDisposition": "attachment",
            },
            ExpiresIn=seconds,
        )

    def _call(self, method: Any, digest: str, **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except (ClientError, BotoCoreError) as e:
            raise self._error(e, digest) from None

    def _error(self, e: Exception, digest: str) -> EohubError:
        """A one-line eohub error for an S3 failure, saying what to check."""
        where = f"s3://{self.bucket}/{self.prefix}"
        if isinstance(e, ClientError):
            code = _code(e)
            if code in ("404", "NoSuchKey", "NotFound"):
                return NotFoundError(f"blob {digest} is not stored")
            if code == "NoSuchBucket":
                return UsageError(f"S3 bucket {self.bucket!r} does not exist (check EOHUB_STORAGE)")
            if code in _ACCESS_CODES:
                return UsageError(
                    f"S3 refused access to {where} ({code}): "
                    "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                )
        return EohubError(f"S3 request to {where} failed: {e}")


def _code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


def _fill(source: BinaryIO, buf: bytearray, h: Any) -> int:
    """Fill ``buf`` from ``source`` (short only at the end of the stream); hash and count the bytes read."""
    n = 0
    with memoryview(buf) as view:
        while n < len(view):
            chunk = source.read(min(CHUNK, len(view) - n))
            if not chunk:
                break
            view[n : n + len(chunk)] = chunk
            n += len(chunk)
        h.update(view[:n])
    return n


def _stream(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()
