"""Which stored blobs a user may reference: knowing a digest is not the same as having the bytes.

The blob store keeps one copy of each content; the ``blobs`` table lists what it holds with the size the
store measured, and ``blob_proofs`` records who uploaded the bytes. A commit may reference a blob only
if the committer

- proved they hold it (uploaded it: the hub verified the SHA-256 of the bytes they sent), or
- may read a version that already references it (downloading that version gives them the bytes anyway).

Everything else is "missing" for that caller: they upload it to prove they have it (the store still keeps
one copy), and nobody learns that someone else's private file exists. Blobs of a deleted repository stop
being referenceable at once, because the versions that made them readable are gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import exc as sa_exc
from sqlalchemy import exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from eohub.db.tables import BlobProofRow, BlobRow, FileRow, RepositoryRow, UserRow, VersionRow, utcnow

BATCH = 500


def _batches(digests: Iterable[str]) -> Iterator[list[str]]:
    ordered = sorted(set(digests))
    for i in range(0, len(ordered), BATCH):
        yield ordered[i : i + BATCH]


def known(session: Session, digests: Iterable[str]) -> dict[str, int | None]:
    """The digests listed in ``blobs``, with their measured size (``None``: not measured yet)."""
    out: dict[str, int | None] = {}
    for batch in _batches(digests):
        rows = session.execute(select(BlobRow.sha256, BlobRow.size).where(BlobRow.sha256.in_(batch)))
        out.update({digest: size for digest, size in rows})
    return out


def record_blob(session: Session, digest: str, size: int) -> None:
    """List a blob the store now holds (or fill in the size of one listed without it)."""
    row = session.get(BlobRow, digest)
    if row is not None:
        if row.size is None:
            row.size = size
        return
    try:
        with session.begin_nested():  # another upload of the same bytes may list it first
            session.add(BlobRow(sha256=digest, size=size))
    except sa_exc.IntegrityError:
        pass


def _insert_new(session: Session, table: type[BlobRow] | type[BlobProofRow], rows: list[dict]) -> None:
    """Insert ``rows``, skipping those whose unique key is taken (another request listed them first):
    ``ON CONFLICT DO NOTHING`` on both databases, no savepoint per batch."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    make = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}.get(dialect)
    if make is None:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(f"no ON CONFLICT for {dialect}")
    session.execute(make(table).on_conflict_do_nothing(), rows)


def record_blobs(session: Session, sizes: dict[str, int]) -> None:
    """:func:`record_blob` of many: the listed ones found in batches, the others inserted together."""
    listed = known(session, sizes)
    for digest, size in listed.items():
        if size is None:
            record_blob(session, digest, sizes[digest])
    moment = utcnow()
    new = [d for d in sorted(sizes) if d not in listed]
    rows = [{"sha256": d, "size": sizes[d], "created_at": moment, "touched_at": moment} for d in new]
    _insert_new(session, BlobRow, rows)


def record_proofs(session: Session, user: UserRow, digests: Iterable[str]) -> None:
    """Remember that ``user`` uploaded the bytes of each of ``digests`` (in digest order: concurrent
    batches never deadlock)."""
    moment = utcnow()
    rows = [{"user_id": user.id, "sha256": d, "created_at": moment} for d in sorted(set(digests))]
    _insert_new(session, BlobProofRow, rows)


def referenceable(session: Session, user: str | None, admin: bool, digests: Iterable[str]) -> set[str]:
    """The digests among ``digests`` that ``user`` may put in a version (see the module docstring)."""
    if user is None:
        return set()
    out: set[str] = set()
    for batch in _batches(digests):
        proved = select(BlobProofRow.sha256).join(UserRow, UserRow.id == BlobProofRow.user_id)
        proved = proved.where(UserRow.name == user, BlobProofRow.sha256.in_(batch))
        out.update(session.scalars(proved))
        rest = [d for d in batch if d not in out]
        if not rest:
            continue
        readable = (
            select(FileRow.sha256)
            .join(VersionRow, VersionRow.id == FileRow.version_id)
            .join(RepositoryRow, RepositoryRow.id == VersionRow.repository_id)
            .where(FileRow.sha256.in_(rest))
        )
        if not admin:
            owner = exists().where(UserRow.id == RepositoryRow.owner_id, UserRow.name == user)
            readable = readable.where(or_(RepositoryRow.private.is_(False), owner))
        out.update(session.scalars(readable.distinct()))
    return out


def touch(session: Session, digests: Iterable[str], moment: datetime | None = None) -> set[str]:
    """Renew ``touched_at`` of listed blobs (so gc leaves them alone); return those that are listed.

    In the commit's transaction this also locks the rows, so a concurrent gc either removed a blob
    before (the commit then fails, naming it) or sees the new reference and keeps it."""
    moment = moment or utcnow()
    found: set[str] = set()
    for batch in _batches(digests):
        session.execute(update(BlobRow).where(BlobRow.sha256.in_(batch)).values(touched_at=moment))
        found.update(session.scalars(select(BlobRow.sha256).where(BlobRow.sha256.in_(batch))))
    return found
