"""The staging area of an S3 store: where bytes sent straight to S3 wait until the hub has checked them.

Clients write only under ``<prefix>/uploads/<user>/<random>`` (:data:`~eohub.storage.s3.STAGING`), with
presigned URLs that expire (``EOHUB_PRESIGN_SECONDS``): one PUT whose signed ``x-amz-checksum-sha256``
header makes S3 refuse other bytes, or the parts of a multipart upload. The hub checks a staged object's
SHA-256 and copies it to ``<prefix>/<sha256>`` itself, only while its ETag is the one it checked
(:meth:`S3Staging.adopt`).

One exception, only on a server seen to enforce it (:func:`probe_checksums`): a blob not stored yet may
be written at its own key by one PUT that carries the signed checksum, ``If-None-Match: *`` (S3 creates
the key, never replaces it) and the signed metadata ``eohub-upload: <token>`` naming the upload, so that
only the upload that wrote it can claim it (:meth:`S3Staging.presign_put` with ``token``).
:mod:`eohub.storage.s3_uploads` keeps the state.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from eohub.errors import EohubError, NotFoundError
from eohub.storage.base import check_digest
from eohub.storage.s3 import COPY_LIMIT, STAGING, S3BlobStore, _code, _stream

log = logging.getLogger(__name__)

UPLOAD_METADATA = "eohub-upload"
"""The S3 metadata naming the upload that wrote a blob at its own key."""
_PROBE_KEY = bytes(range(32))
UNSIGNED_PROBE_HEADERS = {
    "x-amz-server-side-encryption-customer-algorithm": "AES256",
    "x-amz-server-side-encryption-customer-key": base64.b64encode(_PROBE_KEY).decode("ascii"),
    "x-amz-server-side-encryption-customer-key-MD5": base64.b64encode(
        hashlib.md5(_PROBE_KEY).digest()
    ).decode(),
}
"""Headers a client could add to a presigned PUT without the hub signing them: a server that takes them
lets an uploader encrypt a shared blob with a key of their own."""


class S3Staging:
    """Staging keys, presigned uploads to them and their checked adoption as blobs of ``store``."""

    def __init__(self, store: S3BlobStore) -> None:
        self.store = store
        self._probe: Probe | None = None

    def key(self, user: str, token: str) -> str:
        """The key where ``user``'s upload ``token`` waits until the hub has checked it."""
        return self.store._under(f"{STAGING}/{user}/{token}")

    def presign_put(
        self, key: str, digest: str, seconds: int, token: str | None = None
    ) -> tuple[str, dict[str, str]]:
        """A URL that writes ``key`` with one PUT, and the headers the PUT must carry.

        ``x-amz-checksum-sha256`` is a signed header of the URL: a request without it, or with another
        value, fails its signature check, and S3 refuses a body whose SHA-256 differs from it. With
        ``token`` (a blob's own key), ``If-None-Match: *`` and the metadata ``eohub-upload: token`` are
        signed too: the PUT only creates the key, and the object says which upload wrote it."""
        checksum = base64.b64encode(bytes.fromhex(check_digest(digest))).decode("ascii")
        params: dict[str, Any] = {"Bucket": self.store.bucket, "Key": key, "ChecksumSHA256": checksum}
        headers = {"x-amz-checksum-sha256": checksum}
        if token is not None:
            params |= {"IfNoneMatch": "*", "Metadata": {UPLOAD_METADATA: token}}
            headers |= {"If-None-Match": "*", f"x-amz-meta-{UPLOAD_METADATA}": token}
        url = self.store._call(
            self.store.client.generate_presigned_url,
            key,
            ClientMethod="put_object",
            Params=params,
            ExpiresIn=seconds,
        )
        return url, headers

    def start_parts(self, key: str) -> str:
        """Begin a multipart upload to ``key``; its upload id."""
        return str(
            self.store._call(
                self.store.client.create_multipart_upload, key, Bucket=self.store.bucket, Key=key
            )["UploadId"]
        )

    def presign_part(self, key: str, upload_id: str, number: int, seconds: int) -> str:
        """A URL that uploads part ``number`` of a multipart upload."""
        return self.store._call(
            self.store.client.generate_presigned_url,
            key,
            ClientMethod="upload_part",
            Params={"Bucket": self.store.bucket, "Key": key, "UploadId": upload_id, "PartNumber": number},
            ExpiresIn=seconds,
        )

    def put_part(self, key: str, upload_id: str, number: int, body: bytes | bytearray | memoryview) -> None:
        """Upload one part through this process (the hub relaying a client's bytes)."""
        self.store._call(
            self.store.client.upload_part,
            key,
            Bucket=self.store.bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=bytes(body),
        )

    def parts(self, key: str, upload_id: str) -> dict[int, tuple[int, str]] | None:
        """The uploaded parts of a multipart upload, ``{number: (size, etag)}``; ``None`` when the upload
        is gone (completed or aborted)."""
        found: dict[int, tuple[int, str]] = {}
        pages = self.store.client.get_paginator("list_parts")
        try:
            for page in pages.paginate(Bucket=self.store.bucket, Key=key, UploadId=upload_id):
                for part in page.get("Parts") or []:
                    found[int(part["PartNumber"])] = (int(part["Size"]), str(part["ETag"]))
        except ClientError as e:
            if _code(e) in ("NoSuchUpload", "404", "NotFound"):
                return None
            raise self.store._error(e, key) from None
        except BotoCoreError as e:
            raise self.store._error(e, key) from None
        return found

    def complete_parts(self, key: str, upload_id: str, etags: dict[int, str]) -> None:
        """Join the parts of a multipart upload into the object ``key``."""
        parts = [{"PartNumber": n, "ETag": etags[n]} for n in sorted(etags)]
        self.store._call(
            self.store.client.complete_multipart_upload,
            key,
            Bucket=self.store.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
        )

    def abort_parts(self, key: str, upload_id: str) -> None:
        """Abandon a multipart upload (its parts are removed)."""
        self.store._abort(key, upload_id)

    def head_key(self, key: str) -> dict[str, Any] | None:
        """``{"size", "etag", "sha256", "upload"}`` of the object ``key`` (``sha256``: the hex SHA-256 S3
        checked when the object was written, ``None`` if it has none; ``upload``: the token of the upload
        that wrote it at a blob's key, else ``None``); ``None`` when there is no such object."""
        try:
            head = self.store.heads.head(key, checksum=True)
        except (ClientError, BotoCoreError) as e:
            error = self.store._error(e, key)
            if isinstance(error, NotFoundError):
                return None
            raise error from None
        if head is None:
            return None
        checksum = head.get("ChecksumSHA256")
        digest = None
        if isinstance(checksum, str) and "-" not in checksum:  # "-N": a checksum of part checksums
            try:
                raw = base64.b64decode(checksum, validate=True)
            except ValueError:
                raw = b""
            digest = raw.hex() if len(raw) == 32 else None
        metadata = head.get("Metadata") if isinstance(head.get("Metadata"), dict) else {}
        upload = metadata.get(UPLOAD_METADATA)
        return {
            "size": int(head["ContentLength"]),
            "etag": str(head["ETag"]),
            "sha256": digest,
            "upload": upload if isinstance(upload, str) else None,
        }

    def sha256_of(self, key: str, etag: str) -> tuple[str, int]:
        """Read the object ``key`` back (only while its ETag is ``etag``) and hash it: (digest, size)."""
        try:
            body = self.store.client.get_object(Bucket=self.store.bucket, Key=key, IfMatch=etag)["Body"]
        except (ClientError, BotoCoreError) as e:
            raise self.store._error(e, key) from None
        h = hashlib.sha256()
        size = 0
        for chunk in _stream(body):
            h.update(chunk)
            size += len(chunk)
        return h.hexdigest(), size

    def adopt(self, digest: str, key: str, etag: str, size: int) -> None:
        """Copy the checked staging object ``key`` to the blob ``digest`` inside S3 (no byte passes through
        this process), only while its ETag is still ``etag``: what was checked is what is stored. A blob
        already stored is left as it is."""
        if self.store.exists(digest):
            return
        source = {"Bucket": self.store.bucket, "Key": key}
        target = self.store.key(digest)
        if size <= COPY_LIMIT:
            self.store._call(
                self.store.client.copy_object,
                digest,
                Bucket=self.store.bucket,
                Key=target,
                CopySource=source,
                CopySourceIfMatch=etag,
            )
        else:
            self.store._call(
                self.store.client.copy,
                digest,
                CopySource=source,
                Bucket=self.store.bucket,
                Key=target,
                ExtraArgs={"CopySourceIfMatch": etag},
            )

    def delete_keys(self, keys: list[str]) -> None:
        """Remove objects (staging leftovers), a thousand per request; missing ones are fine."""
        for i in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[i : i + 1000]]
            self.store._call(
                self.store.client.delete_objects,
                "(staging)",
                Bucket=self.store.bucket,
                Delete={"Objects": batch, "Quiet": True},
            )

    def staged_objects(self) -> Iterator[tuple[str, int, float]]:
        """``(key, size, modified)`` of every object waiting in the staging area (for housekeeping)."""
        pages = self.store.client.get_paginator("list_objects_v2")
        try:
            for page in pages.paginate(Bucket=self.store.bucket, Prefix=self.store._under(f"{STAGING}/")):
                for obj in page.get("Contents") or []:
                    yield str(obj["Key"]), int(obj["Size"]), obj["LastModified"].timestamp()
        except (ClientError, BotoCoreError) as e:
            raise self.store._error(e, "(listing)") from None

    def staged_parts(self) -> Iterator[tuple[str, str, float]]:
        """``(key, upload_id, started)`` of every multipart upload in the staging area."""
        pages = self.store.client.get_paginator("list_multipart_uploads")
        try:
            for page in pages.paginate(Bucket=self.store.bucket, Prefix=self.store._under(f"{STAGING}/")):
                for upload in page.get("Uploads") or []:
                    yield str(upload["Key"]), str(upload["UploadId"]), upload["Initiated"].timestamp()
        except (ClientError, BotoCoreError) as e:
            raise self.store._error(e, "(listing)") from None

    def verifies_checksums(self) -> bool:
        """Whether this S3 server refuses a presigned PUT whose body does not match its signed
        ``x-amz-checksum-sha256``, or that leaves the header out, and reports the checksum it kept.

        Checked once per process on the server itself (:func:`probe_checksums`), never assumed: when it
        does not hold, the hub hashes what clients send by reading it back from S3."""
        return self._probed().verifies

    def writes_blobs(self) -> bool:
        """Whether a client may write a new blob at its own key (see the module docstring): the server
        verifies checksums, refuses a second PUT with ``If-None-Match: *`` and keeps the signed metadata."""
        probe = self._probed()
        return probe.verifies and probe.creates_only

    def _probed(self) -> Probe:
        if self._probe is None:
            self._probe = probe_checksums(self)
        return self._probe


@dataclass(frozen=True)
class Probe:
    """What an S3 server was seen to enforce on presigned PUTs."""

    verifies: bool
    creates_only: bool


def probe_checksums(staging: S3Staging) -> Probe:
    """Send the S3 server presigned PUTs to fresh staging keys and check it behaves as the hub's direct
    uploads need. ``verifies``: other bytes than the signed checksum are refused, a request without the
    header is refused, the right bytes are kept with that checksum. ``creates_only``: a PUT signed with
    ``If-None-Match: *`` and the upload's metadata is refused without them or with an ``x-amz-*`` header
    it does not sign (an uploader's SSE-C key would make the blob unreadable to everyone else), creates
    the key with the metadata, and is refused once the key exists. Any other outcome, or any error, is
    ``False``."""
    import httpx

    key, blob_key = (staging.key(".probe", secrets.token_hex(16)) for _ in range(2))
    right, wrong = b"eohub checksum probe: these bytes", b"eohub checksum probe: other bytes"
    digest = hashlib.sha256(right).hexdigest()
    verifies = creates_only = False
    try:
        url, headers = staging.presign_put(key, digest, 60)
        token = secrets.token_hex(16)
        blob_url, blob_headers = staging.presign_put(blob_key, digest, 60, token=token)
        with httpx.Client(timeout=30) as http:
            refused_body = http.put(url, content=wrong, headers=headers).status_code >= 400
            refused_bare = http.put(url, content=right).status_code >= 400
            empty = staging.head_key(key) is None
            kept = http.put(url, content=right, headers=headers).status_code == 200
            head = staging.head_key(key)
            stored = head is not None and head["sha256"] == digest
            verifies = all((refused_body, refused_bare, empty, kept, stored))
            if verifies:
                unsigned = {k: v for k, v in blob_headers.items() if k.lower() != "if-none-match"}
                refused_unsigned = http.put(blob_url, content=right, headers=unsigned).status_code >= 400
                extra = {**blob_headers, **UNSIGNED_PROBE_HEADERS}  # e.g. an uploader's own encryption key
                refused_extra = http.put(blob_url, content=right, headers=extra).status_code >= 400
                created = http.put(blob_url, content=right, headers=blob_headers).status_code == 200
                refused_again = http.put(blob_url, content=right, headers=blob_headers).status_code == 412
                blob = staging.head_key(blob_key)
                named = blob is not None and blob["sha256"] == digest and blob["upload"] == token
                creates_only = all((refused_unsigned, refused_extra, created, refused_again, named))
    except (httpx.HTTPError, EohubError) as e:
        log.warning("S3 checksum probe failed: %s", e)
    finally:
        try:
            staging.delete_keys([key, blob_key])
        except EohubError:
            pass
    if not verifies:
        log.warning(
            "S3 at %s does not verify x-amz-checksum-sha256 of presigned uploads: the hub reads every "
            "direct upload back to hash it",
            staging.store.bucket,
        )
    elif not creates_only:
        log.info(
            "S3 at %s does not enforce If-None-Match on presigned PUTs: uploads are staged",
            staging.store.bucket,
        )
    return Probe(verifies, creates_only)
