"""Uploads into an S3 store: the bytes go straight from the client to S3, the hub checks them.

An upload is a row of ``uploads`` (whose, which SHA-256, how long, a random token) plus what S3 holds
under the staging key ``<prefix>/uploads/<user>/<token>``; any hub process resumes any upload, none
keeps anything on its disk. Two ways in:

- **one PUT** (files up to ``EOHUB_S3_SINGLE_PUT_BYTES``, 5 GiB by default, S3's largest PUT): a
  presigned URL whose signed header ``x-amz-checksum-sha256`` is the blob's digest. S3 refuses other
  bytes (and a request without the header fails the signature). Completing it, the hub asks S3 for the
  object's size and the SHA-256 it checked, and (only when this S3 server was seen to verify such
  checksums, :meth:`~eohub.storage.s3.S3BlobStore.verifies_checksums`) takes that as proof: no byte of
  the file passes through the hub. Otherwise it reads the object back and hashes it.
- **parts** (larger files, and bytes relayed by the hub for ``PATCH`` clients): a multipart upload whose
  parts the client sends through presigned part URLs (or the hub, as they arrive). S3 checks no SHA-256
  of a whole multipart object (its checksum of part checksums is not the file's SHA-256), so completing
  it the hub reads the object back from S3 and hashes it: the file's bytes pass through the hub once,
  from S3, never from the client.

Only then does the hub copy the staging object to the blob's key, inside S3 and only while its ETag is
the one it checked, and record the caller's proof. A staging object whose bytes do not match is deleted:
it never becomes a blob.

- **one PUT to the blob's key** (a single-PUT file whose blob is not stored yet, on a server that was
  seen to enforce signed checksums and ``If-None-Match``, :meth:`~S3Staging.writes_blobs`): the PUT
  can only create the key, only with the right bytes, and it records the upload's random token in the
  object's metadata. Completing it, the hub takes the object as proof only if it carries the token of
  the caller's upload, so no copy is made; an object written by another upload sends the caller back to
  a staging key (it sends the bytes again). ``docs/security.md`` gives the argument in full.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy import exc as sa_exc

from eohub.config import Limits
from eohub.db.engine import Database
from eohub.db.tables import BlobRow, UploadRow, UserRow, utcnow
from eohub.errors import AuthenticationError, EohubError, IntegrityError, UsageError
from eohub.storage.base import AbandonedWrite, check_digest, verify_digest
from eohub.storage.s3 import S3BlobStore
from eohub.storage.s3_parts import BLOB, PARTS, PUT, RelayWriter, Session, part_size_for
from eohub.storage.s3_staging import S3Staging
from eohub.storage.uploads import (
    EMPTY_SHA256,
    MAX_TARGETS,
    OffsetMismatch,
    Target,
    UploadPlan,
    Uploads,
    UploadWriter,
    _each,
    check_uploader,
)

log = logging.getLogger(__name__)

LISTED_BATCH = 500


class S3Uploads(Uploads):
    """Uploads into ``store`` with their state in ``database`` (see the module docstring)."""

    through_hub = False  # presigned URLs: the bytes go straight to S3

    def __init__(self, store: S3BlobStore, database: Database, limits: Limits) -> None:
        self.store = store
        self.staging = S3Staging(store)
        self.database = database
        self.limits = limits

    # --- sessions ---------------------------------------------------------------------------------

    def _snapshot(self, row: UploadRow, uploader: str) -> Session:
        key = self.store.key(row.sha256) if row.mode == BLOB else self.staging.key(uploader, row.token)
        return Session(
            row.id, row.sha256, row.length, key, row.mode, row.multipart_id, row.part_size, row.token
        )

    def _put_mode(self, digests: list[str]) -> dict[str, str]:
        """The mode of a new single-PUT upload of each of ``digests``: to the blob's own key when the
        server allows it and the hub lists no such blob, else to a staging key.

        The ``blobs`` table answers, not a HEAD per digest: a blob stored but not listed (written by an
        upload that never completed, or by another one a moment ago) refuses the create-only PUT (412),
        and the client's next plan finds the key written by another upload and moves to staging."""
        if not digests or not self.staging.writes_blobs():
            return dict.fromkeys(digests, PUT)
        listed: set[str] = set()
        with self.database.sessions() as s:
            for i in range(0, len(digests), LISTED_BATCH):
                batch = digests[i : i + LISTED_BATCH]
                listed.update(s.scalars(select(BlobRow.sha256).where(BlobRow.sha256.in_(batch))))
        return {d: PUT if d in listed else BLOB for d in digests}

    def _find(self, uploader: str, digest: str) -> Session | None:
        with self.database.sessions() as s:
            row = s.scalar(
                select(UploadRow)
                .join(UserRow, UserRow.id == UploadRow.user_id)
                .where(UserRow.name == check_uploader(uploader), UploadRow.sha256 == check_digest(digest))
            )
            return self._snapshot(row, uploader) if row is not None else None

    def _find_many(self, uploader: str, digests: list[str]) -> dict[str, Session]:
        with self.database.sessions() as s:
            rows = s.scalars(
                select(UploadRow)
                .join(UserRow, UserRow.id == UploadRow.user_id)
                .where(UserRow.name == check_uploader(uploader), UploadRow.sha256.in_(digests))
            ).all()
            return {row.sha256: self._snapshot(row, uploader) for row in rows}

    def _open_puts(self, uploader: str, wanted: dict[str, int]) -> dict[str, Session]:
        """New single-PUT sessions for blobs with none, made in one transaction (``{}`` if another
        request made one of them first: then each is opened on its own)."""
        user = check_uploader(uploader)
        tokens = {digest: secrets.token_hex(16) for digest in wanted}
        modes = self._put_mode(list(wanted))
        try:
            with self.database.sessions.begin() as s:
                user_id = s.scalar(select(UserRow.id).where(UserRow.name == user))
                if user_id is None:
                    raise AuthenticationError(f"no user {uploader!r} on this hub")
                rows = [
                    UploadRow(
                        user_id=user_id,
                        sha256=d,
                        length=n,
                        token=tokens[d],
                        mode=modes[d],
                        part_size=part_size_for(n, self.limits.s3_part_bytes),
                    )
                    for d, n in wanted.items()
                ]
                s.add_all(rows)
                s.flush()
                return {row.sha256: self._snapshot(row, user) for row in rows}
        except sa_exc.IntegrityError:
            return {}

    def _open(self, uploader: str, digest: str, length: int, mode: str | None) -> tuple[Session, bool]:
        """The caller's session for ``digest``, made (or made again) when it does not fit: another length,
        or not ``mode`` (``None``: any mode fits; a new one is a PUT up to the single-PUT size); and
        whether it is new (nothing can have been sent to it yet)."""
        found = self._find(uploader, digest)
        if found is not None and found.length == length and mode in (None, found.mode):
            with self.database.sessions.begin() as s:
                s.execute(update(UploadRow).where(UploadRow.id == found.id).values(touched_at=utcnow()))
            return found, False
        if found is not None:
            self._forget(found)
        if mode is None:
            mode = self._put_mode([digest])[digest] if length <= self.limits.s3_single_put_bytes else PARTS
        token = secrets.token_hex(16)
        key = self.store.key(digest) if mode == BLOB else self.staging.key(uploader, token)
        part_size = part_size_for(length, self.limits.s3_part_bytes)
        multipart_id = self.staging.start_parts(key) if mode == PARTS and length else None
        try:
            with self.database.sessions.begin() as s:
                user_id = s.scalar(select(UserRow.id).where(UserRow.name == uploader))
                if user_id is None:
                    raise AuthenticationError(f"no user {uploader!r} on this hub")
                row = UploadRow(
                    user_id=user_id,
                    sha256=digest,
                    length=length,
                    token=token,
                    mode=mode,
                    multipart_id=multipart_id,
                    part_size=part_size,
                )
                s.add(row)
                s.flush()
                session = self._snapshot(row, uploader)
        except sa_exc.IntegrityError:  # another request of the same uploader made it first: use that one
            if multipart_id:
                self.staging.abort_parts(key, multipart_id)
            again = self._find(uploader, digest)
            if again is None:
                raise
            return again, False
        except BaseException:
            if multipart_id:
                self.staging.abort_parts(key, multipart_id)
            raise
        return session, True

    def _forget(self, session: Session) -> None:
        """Remove a session's row, then what it left in S3."""
        self._forget_many([session])

    def _forget_many(self, sessions: list[Session]) -> None:
        """Remove sessions' rows, then what they left in the staging area (a blob's own key is never
        removed here: housekeeping collects a blob no version references)."""
        if not sessions:
            return
        with self.database.sessions.begin() as s:
            s.execute(delete(UploadRow).where(UploadRow.id.in_([x.id for x in sessions])))
        for session in sessions:
            if session.multipart_id:
                self.staging.abort_parts(session.key, session.multipart_id)
        self.staging.delete_keys([x.key for x in sessions if x.mode != BLOB])

    # --- state --------------------------------------------------------------------------------------

    def _uploaded(self, session: Session) -> dict[int, str] | None:
        """The parts of a session that are complete and of the right size, ``{number: etag}``; ``None``
        when its multipart upload is gone."""
        assert session.multipart_id is not None
        parts = self.staging.parts(session.key, session.multipart_id)
        if parts is None:
            return None
        return {
            number: etag
            for number, (size, etag) in parts.items()
            if 1 <= number <= session.count and size == session.span(number)[1]
        }

    def _confirmed(self, session: Session, uploaded: dict[int, str] | None) -> int:
        if session.mode in (PUT, BLOB) or uploaded is None:
            head = self.staging.head_key(session.key)
            if session.mode == BLOB and head is not None and head["upload"] != session.token:
                return 0  # another upload wrote the blob: this one has sent nothing
            return session.length if head is not None and head["size"] == session.length else 0
        offset = 0
        for number in range(1, session.count + 1):
            if number not in uploaded:
                break
            offset += session.span(number)[1]
        return offset

    def offset(self, uploader: str, digest: str) -> int:
        session = self._find(uploader, digest)
        if session is None or session.length == 0:
            return 0
        return self._confirmed(session, self._uploaded(session) if session.mode == PARTS else None)

    def plan(self, uploader: str, digest: str, length: int, parts: int | None = None) -> UploadPlan:
        check_digest(digest)
        seconds = self.limits.presign_seconds
        plan = UploadPlan(digest, length, method="direct", expires_in=seconds)
        if length == 0:
            return plan  # the empty blob: nothing to send, completing it stores it
        session, fresh = self._open(uploader, digest, length, None)
        if session.mode == BLOB and not fresh:
            head = self.staging.head_key(session.key)
            if head is not None and head["upload"] != session.token:
                session = self._to_staging(session, uploader)
        if session.mode in (PUT, BLOB):
            plan.offset = 0 if fresh else self._confirmed(session, None)
            if plan.offset < length:
                plan.targets = [Target(*self._presign_put(session), 0, length)]
            return plan
        uploaded = self._uploaded(session)
        if uploaded is None:  # the multipart upload was completed or abandoned: start again
            self._forget(session)
            session, _ = self._open(uploader, digest, length, PARTS)
            uploaded = {}
        plan.offset = self._confirmed(session, uploaded)
        missing = [n for n in range(1, session.count + 1) if n not in uploaded]
        limit = max(1, min(parts or MAX_TARGETS, MAX_TARGETS))
        assert session.multipart_id is not None
        for number in missing[:limit]:
            start, size = session.span(number)
            url = self.staging.presign_part(session.key, session.multipart_id, number, seconds)
            plan.targets.append(Target(url, {}, start, size, number))
        plan.more = len(missing) > limit
        return plan

    def plan_many(self, uploader: str, wanted: dict[str, int], parts: int | None = None) -> list[UploadPlan]:
        """Blobs new to the caller that fit one PUT get their sessions in one transaction; the rest are
        planned one by one."""
        existing = self._find_many(uploader, list(wanted))
        small = {
            d: n for d, n in wanted.items() if d not in existing and 0 < n <= self.limits.s3_single_put_bytes
        }
        made = self._open_puts(uploader, small) if small else {}
        seconds = self.limits.presign_seconds

        def one(digest: str) -> UploadPlan:
            session = made.get(digest)
            if session is None:
                return self.plan(uploader, digest, wanted[digest], parts)
            target = Target(*self._presign_put(session), 0, session.length)
            return UploadPlan(digest, session.length, method="direct", targets=[target], expires_in=seconds)

        return _each(one, list(wanted))

    def _presign_put(self, session: Session) -> tuple[str, dict[str, str]]:
        token = session.token if session.mode == BLOB else None
        return self.staging.presign_put(session.key, session.digest, self.limits.presign_seconds, token)

    # --- bytes through the hub -------------------------------------------------------------------------

    def writer(self, uploader: str, digest: str, offset: int, length: int) -> UploadWriter:
        if length < 0 or offset < 0:
            raise UsageError("upload offsets and lengths are not negative")
        session, _ = self._open(uploader, digest, length, PARTS if length else None)
        confirmed = 0 if length == 0 else self._confirmed(session, self._uploaded(session))
        if confirmed != offset:
            raise OffsetMismatch(digest, confirmed, offset)
        return RelayWriter(self.staging, session, offset)

    # --- completion -------------------------------------------------------------------------------------

    def complete(self, uploader: str, digest: str, length: int | None = None) -> int:
        check_digest(digest)
        session = self._find(uploader, digest)
        if digest == EMPTY_SHA256 or length == 0 or (session is not None and session.length == 0):
            verify_digest(digest, EMPTY_SHA256)  # everyone holds the empty file: nothing to send
            self.store.write(digest, _Empty())
            if session is not None:
                self._forget(session)
            return 0
        if session is None:
            raise UsageError(f"no upload of {digest[:12]}... is in progress: start it first")
        if length is not None and length != session.length:
            raise UsageError(f"upload of {digest[:12]}... is of {session.length} bytes, not {length}")
        try:
            size = self._check_and_adopt(session, uploader)
        except IntegrityError:
            self._forget(session)
            raise
        self._forget(session)
        return size

    def complete_many(self, uploader: str, digests: list[str]) -> list[int | EohubError]:
        """Sessions found in one query, checked several at once, forgotten in one transaction."""
        if EMPTY_SHA256 in digests:
            return super().complete_many(uploader, digests)
        sessions = self._find_many(uploader, digests)
        done: list[Session] = []

        def one(digest: str) -> int | EohubError:
            session = sessions.get(digest)
            if session is None or session.length == 0:
                return _outcome(lambda: self.complete(uploader, digest))
            outcome = _outcome(lambda: self._check_and_adopt(session, uploader))
            if not isinstance(outcome, EohubError) or isinstance(outcome, IntegrityError):
                done.append(session)  # list.append is atomic: threads share it safely
            return outcome

        outcomes = _each(one, digests)
        self._forget_many(done)
        return outcomes

    def _check_and_adopt(self, session: Session, uploader: str) -> int:
        """Check the staged bytes of ``session`` against its SHA-256 and store them as the blob."""
        digest = session.digest
        head = self._finished_object(session)
        if session.mode == BLOB:
            return self._claim(session, head, uploader)
        reported = head["sha256"]
        if reported not in (None, digest):
            verify_digest(digest, reported)  # S3 checked other bytes: no need to read them
        if not (session.mode == PUT and reported == digest and self.staging.verifies_checksums()):
            actual, size = self.staging.sha256_of(session.key, head["etag"])  # the bytes, read back
            verify_digest(digest, actual)
            if size != session.length:
                raise IntegrityError(f"upload of {digest[:12]}... has {size} bytes, not {session.length}")
        self.staging.adopt(digest, session.key, head["etag"], head["size"])
        log.info("blob %s received from %s in S3 (%d bytes)", digest, uploader, session.length)
        return session.length

    def _claim(self, session: Session, head: dict, uploader: str) -> int:
        """Take a blob the caller's upload wrote at its own key: only if the object carries this upload's
        token (S3 checked its bytes against the signed checksum). Written by another upload, it proves
        nothing of the caller: the session moves to a staging key and the caller sends the bytes."""
        digest = session.digest
        if head["upload"] != session.token:
            self._to_staging(session, uploader)
            raise UsageError(
                f"blob {digest[:12]}... was stored by another upload meanwhile: send its bytes again"
            )
        if head["sha256"] != digest:  # only a server that stopped checking what it was seen to check
            self.store.delete(digest)
            raise IntegrityError(f"blob {digest[:12]}...: S3 kept other bytes than the signed checksum's")
        log.info("blob %s written to its key in S3 by %s (%d bytes)", digest, uploader, session.length)
        return session.length

    def _to_staging(self, session: Session, uploader: str) -> Session:
        """``session`` moved from the blob's key (written by another upload) to a staging key."""
        with self.database.sessions.begin() as s:
            s.execute(
                update(UploadRow).where(UploadRow.id == session.id).values(mode=PUT, touched_at=utcnow())
            )
        return replace(session, mode=PUT, key=self.staging.key(uploader, session.token))

    def _finished_object(self, session: Session) -> dict:
        """The staging object holding every byte of ``session`` (its parts joined first)."""
        if session.mode == PARTS:
            uploaded = self._uploaded(session)
            if uploaded is not None:
                offset = self._confirmed(session, uploaded)
                if len(uploaded) < session.count:
                    raise UsageError(
                        f"upload of {session.digest[:12]}... has {offset} of its {session.length} bytes"
                    )
                assert session.multipart_id is not None
                self.staging.complete_parts(session.key, session.multipart_id, uploaded)
        head = self.staging.head_key(session.key)
        if head is None or head["size"] != session.length:
            raise UsageError(
                f"upload of {session.digest[:12]}... has {0 if head is None else head['size']} of its "
                f"{session.length} bytes: send them first"
            )
        return head

    def discard(self, uploader: str, digest: str) -> None:
        session = self._find(uploader, digest)
        if session is not None:
            self._forget(session)

    # --- housekeeping -------------------------------------------------------------------------------------

    def abandoned(self, older_than: float) -> list[AbandonedWrite]:
        """Sessions untouched since ``older_than``, and staging objects or multipart uploads older than
        that which no session owns (a process that died between two steps)."""
        cutoff = datetime.fromtimestamp(older_than, UTC)
        found: list[AbandonedWrite] = []
        with self.database.sessions() as s:
            rows = s.execute(
                select(UploadRow, UserRow.name).join(UserRow, UserRow.id == UploadRow.user_id)
            ).all()
        live: set[str] = set()
        for row, user in rows:
            session = self._snapshot(row, user)
            live.add(session.key)
            touched = row.touched_at if row.touched_at.tzinfo else row.touched_at.replace(tzinfo=UTC)
            if touched < cutoff:
                found.append(
                    AbandonedWrite(
                        f"s3://{self.store.bucket}/{session.key} ({row.sha256[:12]}..., {user})",
                        0,
                        lambda sess=session: self._forget(sess),
                    )
                )
        for key, size, modified in self.staging.staged_objects():
            if key not in live and modified < older_than:
                found.append(
                    AbandonedWrite(
                        f"s3://{self.store.bucket}/{key}", size, lambda k=key: self.staging.delete_keys([k])
                    )
                )
        for key, upload_id, started in self.staging.staged_parts():
            if key not in live and started < older_than:
                found.append(
                    AbandonedWrite(
                        f"s3://{self.store.bucket}/{key} (parts)",
                        0,
                        lambda k=key, u=upload_id: self.staging.abort_parts(k, u),
                    )
                )
        return found


def _outcome(work: Callable[[], int]) -> int | EohubError:
    try:
        return work()
    except EohubError as exc:
        return exc


class _Empty:
    def read(self, size: int = -1) -> bytes:
        return b""
