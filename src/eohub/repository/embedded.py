"""The repository in this process: metadata in a SQLAlchemy database, bytes in a blob store.

Used directly by the CLI and Python API when no hub is configured, and by the hub server, which builds
one per request with the authenticated user. ``user`` is who acts (``None``: anonymous, read-only);
private repositories are visible to their owner and admins only, and only they may write to them.

Committing a version is one transaction: the repository row (when new), the version row, its files and
its STAC documents. The version number is ``max + 1`` under the unique constraint
``(repository_id, number)``; a writer that loses a race gets a constraint violation (or, on SQLite, a
busy database), rolls back, and retries with the new maximum.
"""

from __future__ import annotations

import getpass
import json
import logging
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, undefer

from eohub.config import Limits
from eohub.core.names import Kind, check_kind, check_name, name_key
from eohub.core.readme import ReadmeMetadata, parse_readme_text, stac_metadata
from eohub.db.engine import Database
from eohub.db.tables import DocumentRow, FileRow, RepositoryRow, UserRow, VersionRow, utcnow
from eohub.errors import (
    AlreadyExistsError,
    Argument,
    AuthenticationError,
    IntegrityError,
    InvalidStacError,
    NotFoundError,
    PermissionDeniedError,
    UsageError,
)
from eohub.quality import QualityReport
from eohub.quality.metrics.shape import DatasetMetrics
from eohub.repository import ledger, training
from eohub.repository.assess import assess, stac_problems
from eohub.repository.base import CommitResult, Repository, RepositoryInfo, VersionInfo, check_version
from eohub.repository.confine import open_source
from eohub.repository.links import TrainedModel
from eohub.repository.manifest import FileEntry, Manifest, diff, document_text
from eohub.repository.progress import CountingReader, Progress
from eohub.repository.scan import README, IngestPlan, PlannedFile
from eohub.search import index as search_index
from eohub.storage import BlobStore, LocalBlobStore
from eohub.storage.base import sha256_stream, verify_digest

log = logging.getLogger(__name__)

COMMIT_ATTEMPTS = 20
MAX_README_BYTES = 1024 * 1024


def local_user() -> str:
    """The owner of what is ingested in embedded mode: the local user name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _version_info(row: VersionRow, author: str = "", metrics: bool = True) -> VersionInfo:
    """A version row as :class:`VersionInfo`; ``metrics`` loads its dataset metrics (listings leave them)."""
    stored = row.metrics if metrics else None
    return VersionInfo(
        number=row.number,
        created=_aware(row.created_at),
        quality_level=row.quality_level,
        quality_reasons=list(row.quality_reasons or []),
        size=row.total_size,
        files=row.file_count + row.document_count,
        documents=row.document_count,
        tasks=list(row.tasks or []),
        summary=dict(row.summary or {}),
        changes=dict(row.changes or {}),
        author=author,
        metrics=DatasetMetrics.from_dict(stored) if isinstance(stored, dict) else None,
    )


def _stored_metrics(kind: Kind, quality: QualityReport) -> dict[str, Any] | None:
    """The dataset metrics a rating computed, in their stored (bounded) shape; ``None`` for models."""
    found = quality.details.get("metrics")
    if kind != "dataset" or not isinstance(found, dict):
        return None
    return DatasetMetrics.from_dict(found).to_dict()


def _repository_info(row: RepositoryRow, latest: VersionRow | None, metrics: bool = True) -> RepositoryInfo:
    return RepositoryInfo(
        kind=row.kind,
        name=row.name,
        owner=row.owner.name,
        private=row.private,
        metadata=ReadmeMetadata.from_dict(row.metadata_json or {}),
        created=_aware(row.created_at),
        updated=_aware(row.updated_at),
        latest=_version_info(latest, metrics=metrics) if latest is not None else None,
    )


def _insert_files(session: Session, version_id: int, manifest: Manifest) -> None:
    rows = [{"version_id": version_id, **e.to_dict()} for e in manifest.files]
    if rows:
        session.execute(insert(FileRow), rows)


def _insert_documents(session: Session, version_id: int, manifest: Manifest) -> None:
    rows = [
        {
            "version_id": version_id,
            "path": p,
            "stac_type": str(d.get("type", ""))[:16],
            "content": document_text(d),
        }
        for p, d in manifest.documents.items()
    ]
    if rows:
        session.execute(insert(DocumentRow), rows)


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, sa_exc.IntegrityError):
        return True
    return isinstance(exc, sa_exc.OperationalError) and "locked" in str(exc).lower()


class EmbeddedRepository(Repository):
    """A :class:`Repository` over a database and a blob store (see the module docstring)."""

    def __init__(
        self,
        database: Database,
        store: BlobStore,
        user: str | None = None,
        admin: bool = False,
        limits: Limits | None = None,
    ) -> None:
        self.database = database
        self.store = store
        self.user = user
        self.admin = admin
        self.limits = limits or Limits()
        self.hub_urls: tuple[str, ...] = ()
        """This hub's URLs (the server sets them): a training link to one of them names a dataset here."""

    def close(self) -> None:
        self.database.close()

    # --- access ---------------------------------------------------------------------------------

    def _visible(self, row: RepositoryRow) -> bool:
        return not row.private or self.admin or (self.user is not None and row.owner.name == self.user)

    def _check_writer(self, row: RepositoryRow) -> None:
        if self.user is None:
            raise AuthenticationError("writing needs a user (set EOHUB_TOKEN or run eohub auth login)")
        if not self.admin and row.owner.name != self.user:
            owner = row.owner.name if self._visible(row) else "another user"  # private: do not name them
            raise PermissionDeniedError(
                f"{row.kind} '{row.name}' belongs to {owner}; only its owner may change it"
            )

    def _row(self, session: Session, kind: Kind, name: str) -> RepositoryRow:
        kind = check_kind(kind)
        row = session.scalar(
            select(RepositoryRow).where(RepositoryRow.kind == kind, RepositoryRow.name_key == name_key(name))
        )
        if row is None or not self._visible(row):
            raise NotFoundError(f"no {kind} named '{name}'")
        return row

    @staticmethod
    def _version_row(session: Session, repo: RepositoryRow, version: int | None) -> VersionRow:
        query = select(VersionRow).where(VersionRow.repository_id == repo.id)
        if version is None:
            row = session.scalar(query.order_by(VersionRow.number.desc()).limit(1))
        else:
            row = session.scalar(query.where(VersionRow.number == check_version(version)))
        if row is None:
            latest = session.scalar(
                select(func.max(VersionRow.number)).where(VersionRow.repository_id == repo.id)
            )
            what = "no versions" if version is None or latest is None else f"no version {version}"
            hint = f" (latest is {latest})" if latest else ""
            raise NotFoundError(f"{repo.kind} '{repo.name}' has {what}{hint}")
        return row

    # --- reads ----------------------------------------------------------------------------------

    def list(self, kind: Kind, name: str | None = None, limit: int | None = None) -> list[RepositoryInfo]:
        kind = check_kind(kind)
        latest = (
            select(VersionRow.repository_id, func.max(VersionRow.number).label("number"))
            .group_by(VersionRow.repository_id)
            .subquery()
        )
        query = (
            select(RepositoryRow, VersionRow)
            .outerjoin(latest, latest.c.repository_id == RepositoryRow.id)
            .outerjoin(
                VersionRow,
                (VersionRow.repository_id == RepositoryRow.id) & (VersionRow.number == latest.c.number),
            )
            .where(RepositoryRow.kind == kind)
            .order_by(RepositoryRow.name_key)
        )
        if name:
            pattern = name.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(RepositoryRow.name_key.like(f"%{pattern}%", escape="\\"))
        out: list[RepositoryInfo] = []
        with self.database.sessions() as s:
            for repo, version in s.execute(query):
                if self._visible(repo):
                    out.append(_repository_info(repo, version, metrics=False))
                    if limit is not None and len(out) >= limit:
                        break
        return out

    def get(self, kind: Kind, name: str) -> RepositoryInfo:
        with self.database.sessions() as s:
            repo = self._row(s, kind, name)
            latest = s.scalar(
                select(VersionRow)
                .where(VersionRow.repository_id == repo.id)
                .order_by(VersionRow.number.desc())
            )
            info = _repository_info(repo, latest)
            if info.latest is not None and latest is not None:
                info.latest.trained_on = training.links_of(s, [latest.id], self._visible).get(latest.id, [])
            return info

    def versions(self, kind: Kind, name: str) -> list[VersionInfo]:
        with self.database.sessions() as s:
            repo = self._row(s, kind, name)
            rows = s.execute(
                select(VersionRow, UserRow.name)
                .join(UserRow, UserRow.id == VersionRow.author_id)
                .where(VersionRow.repository_id == repo.id)
                .order_by(VersionRow.number)
                .options(undefer(VersionRow.metrics))
            ).all()
            links = training.links_of(s, [v.id for v, _ in rows], self._visible)
            return [replace(_version_info(v, author), trained_on=links.get(v.id, [])) for v, author in rows]

    def trained_models(self, name: str) -> list[TrainedModel]:
        with self.database.sessions() as s:
            return training.trained_models(s, self._row(s, "dataset", name).id, self._visible)

    def manifest(self, kind: Kind, name: str, version: int | None = None) -> Manifest:
        with self.database.sessions() as s:
            repo = self._row(s, kind, name)
            row = self._version_row(s, repo, version)
            return self._manifest(s, row)

    @staticmethod
    def _manifest(session: Session, row: VersionRow) -> Manifest:
        files = session.scalars(select(FileRow).where(FileRow.version_id == row.id))
        docs = session.scalars(select(DocumentRow).where(DocumentRow.version_id == row.id))
        return Manifest(
            [FileEntry(f.path, f.size, f.sha256) for f in files],
            {d.path: json.loads(d.content) for d in docs},
            ReadmeMetadata.from_dict(row.metadata_json or {}),
        )

    def file_entry(self, kind: Kind, name: str, version: int | None, path: str) -> tuple[FileEntry, int]:
        """One stored file of a version (the latest for ``None``) and that version's number."""
        with self.database.sessions() as s:
            row = self._version_row(s, self._row(s, kind, name), version)
            found = s.scalar(select(FileRow).where(FileRow.version_id == row.id, FileRow.path == path))
            if found is None:
                raise NotFoundError(f"{kind} '{name}' version {row.number} has no file {path!r}")
            return FileEntry(found.path, found.size, found.sha256), row.number

    def read_file(
        self, kind: Kind, name: str, version: int, path: str, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        entry, _ = self.file_entry(kind, name, version, path)
        return self.store.read(entry.sha256, start, end)

    def fetch(self, kind: Kind, name: str, version: int, entry: FileEntry, start: int = 0) -> Iterator[bytes]:
        return self.store.read(entry.sha256, start)  # the manifest was read with the caller's access

    # --- writes ---------------------------------------------------------------------------------

    def missing_blobs(self, digests: set[str]) -> set[str]:
        """Digests the store lacks, and those the caller may not reference (they must upload them)."""
        missing = self.store.missing(digests)
        with self.database.sessions.begin() as s:
            allowed = ledger.referenceable(s, self.user, self.admin, set(digests) - missing)
            ledger.touch(s, allowed)  # about to be referenced: housekeeping leaves them alone
        return set(digests) - allowed

    def may_reference(self, digest: str) -> bool:
        """True when the blob is stored and the caller may put it in a version."""
        if not self.store.exists(digest):
            return False
        with self.database.sessions() as s:
            return bool(ledger.referenceable(s, self.user, self.admin, [digest]))

    def upload_blob(self, entry: FileEntry, source: Path, progress: Progress) -> None:
        with open_source(source) as f:
            reader = CountingReader(f, progress)
            if self.store.exists(entry.sha256):  # one copy is kept; the bytes still prove possession
                digest, size = sha256_stream(reader)
                verify_digest(entry.sha256, digest)
            else:
                size = self.store.write(entry.sha256, reader)
        if size != entry.size:
            raise IntegrityError(f"{source}: stored {size} bytes, expected {entry.size}")
        self.accept_upload(entry.sha256, size)

    def accept_upload(self, digest: str, size: int) -> None:
        """Record that the caller uploaded the verified bytes of ``digest`` (now in the store)."""
        self.accept_uploads({digest: size})

    def accept_uploads(self, sizes: dict[str, int]) -> None:
        """:meth:`accept_upload` of several blobs in one transaction (a batch of small files)."""
        if self.user is None:
            raise AuthenticationError("uploading needs a user (set EOHUB_TOKEN or run eohub auth login)")
        with self.database.sessions.begin() as s:
            user = self._user_row(s)
            for digest, size in sorted(sizes.items()):  # one order for all: concurrent batches never deadlock
                ledger.record_blob(s, digest, size)
                ledger.record_proof(s, user, digest)

    def commit_version(
        self,
        kind: Kind,
        name: str,
        manifest: Manifest,
        quality: QualityReport | None,
        private: bool = False,
        allow_invalid: bool = False,
        key: str | None = None,
        trained_on: Sequence[str] = (),
    ) -> CommitResult:
        kind = check_kind(kind)
        check_name(name)
        if trained_on and kind != "model":
            raise UsageError("only a model names the datasets that trained it (trained_on)")
        if self.user is None:
            raise AuthenticationError("ingesting needs a user (set EOHUB_TOKEN or run eohub auth login)")
        manifest.check(self.limits)
        self._check_name_free(kind, name)
        if quality is None:  # a hub: what it can check itself, it does not take from the client
            self._check_blobs(manifest)
            manifest = Manifest(manifest.files, manifest.documents, self._metadata_of(name, manifest))
        unchanged = self._unchanged(kind, name, manifest, key)
        if unchanged is not None:
            return unchanged
        if quality is None:
            quality = self._rate_stored(kind, manifest, allow_invalid)
        else:
            self._check_blobs(manifest)
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                with self.database.sessions.begin() as s:
                    return self._commit(s, kind, name, manifest, quality, private, key, trained_on)
            except (sa_exc.IntegrityError, sa_exc.OperationalError) as exc:
                if not _retryable(exc) or attempt == COMMIT_ATTEMPTS - 1:
                    raise
                log.info("version commit of %s lost a race (%s); retrying", name, type(exc).__name__)
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
        raise AssertionError("unreachable")

    def _metadata_of(self, name: str, manifest: Manifest) -> ReadmeMetadata:
        """The version's metadata as ingest derives it, from the stored README (checked as the caller's
        by :meth:`_check_blobs`) and the STAC documents: a client's claim of license or authors is not
        taken on its word."""
        readme = manifest.file(README)
        metadata = ReadmeMetadata()
        if readme is not None:
            if readme.size > MAX_README_BYTES:
                raise IntegrityError(f"{README} is larger than {MAX_README_BYTES} bytes")
            text = b"".join(self.store.read(readme.sha256)).decode("utf-8", errors="replace")
            metadata = parse_readme_text(text)
        metadata = metadata.filled(stac_metadata(manifest.documents.values()))
        if readme is None or not metadata.name:
            metadata.name = name
        return metadata

    def _unchanged(self, kind: Kind, name: str, manifest: Manifest, key: str | None) -> CommitResult | None:
        """The latest version when ``manifest`` is the same (or ``key`` made it): nothing to rate or store."""
        with self.database.sessions() as s:
            repo = s.scalar(
                select(RepositoryRow).where(
                    RepositoryRow.kind == kind, RepositoryRow.name_key == name_key(name)
                )
            )
            if repo is None:
                return None
            self._check_writer(repo)
            return self._same_as_latest(s, repo, manifest, key)

    def _same_as_latest(
        self, s: Session, repo: RepositoryRow, manifest: Manifest, key: str | None
    ) -> CommitResult | None:
        if key is not None:
            done = s.scalar(
                select(VersionRow).where(VersionRow.repository_id == repo.id, VersionRow.commit_key == key)
            )
            if done is not None:  # a retry of a commit that was made: report it as made
                return CommitResult(_version_info(done, self._author(s, done)), done.number == 1, True)
        last = s.scalar(
            select(VersionRow).where(VersionRow.repository_id == repo.id).order_by(VersionRow.number.desc())
        )
        if last is None or not diff(self._manifest(s, last), manifest).empty:
            return None
        return CommitResult(_version_info(last, self._author(s, last)), False, False)

    @staticmethod
    def _author(s: Session, row: VersionRow) -> str:
        return s.scalar(select(UserRow.name).where(UserRow.id == row.author_id)) or ""

    def _check_blobs(self, manifest: Manifest) -> None:
        """Every blob is stored, its size is the store's, and the caller may reference it."""
        digests = manifest.digests()
        missing = self.store.missing(digests)
        if missing:
            raise IntegrityError(
                f"cannot commit: {len(missing)} blob(s) are not stored (e.g. {min(missing)}); "
                "upload them first"
            )
        with self.database.sessions.begin() as s:
            sizes = ledger.known(s, digests)
            for digest in digests:
                if sizes.get(digest) is None:  # stored before the hub listed blobs, or by an old client
                    sizes[digest] = self.store.size(digest)
                    ledger.record_blob(s, digest, sizes[digest])
            allowed = ledger.referenceable(s, self.user, self.admin, digests)
        for entry in manifest.files:
            if entry.sha256 not in allowed:
                raise IntegrityError(
                    f"{entry.path}: blob {entry.sha256} was not uploaded by you and is in no version you "
                    "can read; upload the file (eohub does this when the blob is reported missing)"
                )
            if sizes[entry.sha256] != entry.size:
                raise IntegrityError(
                    f"{entry.path}: declared size {entry.size} differs from the stored blob's "
                    f"{sizes[entry.sha256]} bytes"
                )

    def _check_name_free(self, kind: Kind, name: str) -> None:
        """Writing to a repository one cannot see: say the name is taken, never whose it is."""
        with self.database.sessions() as s:
            row = s.scalar(
                select(RepositoryRow).where(
                    RepositoryRow.kind == kind, RepositoryRow.name_key == name_key(name)
                )
            )
            if row is not None and not self._visible(row):
                raise AlreadyExistsError(f"the {kind} name '{name}' is taken; choose another name")

    def _rate_stored(self, kind: Kind, manifest: Manifest, allow_invalid: bool) -> QualityReport:
        """Validate and rate a version from its stored blobs (the hub's own rating): only what the
        version holds is read, never a path its documents name elsewhere on this machine."""
        manifest.check_hrefs()
        plan = IngestPlan(
            folder=Path(manifest.metadata.name or kind),
            stac=bool(manifest.documents),
            files=[PlannedFile(e, self.store.local_path(e.sha256)) for e in manifest.files],
            documents=dict(manifest.documents),
            metadata=manifest.metadata,
        )
        invalid = stac_problems(plan)
        if invalid and not allow_invalid:
            allow = Argument("allow_invalid")
            raise InvalidStacError(
                f"invalid STAC ({len(invalid)} problem(s)); fix them, or pass {allow} to store it as Q0",
                invalid,
                arguments=[allow],
            )
        staging = self.store.root.parent / "staging" if isinstance(self.store, LocalBlobStore) else None
        read = lambda e: self.store.read(e.sha256)  # noqa: E731 - the blob reader of assess
        return assess(plan, kind, read, invalid, self.limits, staging=staging, symlinks=False)

    def _user_row(self, session: Session) -> UserRow:
        """The acting user's row, made on first use (embedded mode); another process may make it first."""
        query = select(UserRow).where(UserRow.name == self.user)
        user = session.scalar(query)
        if user is None:
            try:
                with session.begin_nested():
                    user = UserRow(name=self.user, is_admin=False)
                    session.add(user)
            except sa_exc.IntegrityError:
                user = session.scalar(query)
        assert user is not None
        return user

    def _commit(
        self,
        s: Session,
        kind: Kind,
        name: str,
        manifest: Manifest,
        quality: QualityReport,
        private: bool,
        key: str | None,
        trained_on: Sequence[str] = (),
    ) -> CommitResult:
        user = self._user_row(s)
        repo = s.scalar(
            select(RepositoryRow).where(RepositoryRow.kind == kind, RepositoryRow.name_key == name_key(name))
        )
        created = repo is None
        previous: Manifest | None = None
        if repo is None:
            repo = RepositoryRow(kind=kind, name=name, name_key=name_key(name), owner=user, private=private)
            s.add(repo)
            s.flush()
            number = 1
        else:
            self._check_writer(repo)
            same = self._same_as_latest(s, repo, manifest, key)  # a concurrent identical commit won
            if same is not None:
                return same
            last = s.scalar(
                select(VersionRow)
                .where(VersionRow.repository_id == repo.id)
                .order_by(VersionRow.number.desc())
            )
            number = last.number + 1 if last else 1
            previous = self._manifest(s, last) if last else None
        gone = manifest.digests() - ledger.touch(s, manifest.digests())
        if gone:
            raise IntegrityError(
                f"cannot commit: blob {min(gone)} was removed from the store meanwhile; ingest again"
            )
        row = VersionRow(
            repository_id=repo.id,
            number=number,
            author_id=user.id,
            quality_level=quality.level,
            quality_reasons=list(quality.reasons),
            metadata_json=manifest.metadata.to_dict(),
            total_size=manifest.size,
            file_count=len(manifest.files),
            document_count=len(manifest.documents),
            tasks=manifest.tasks(),
            summary=manifest.summary(),
            changes=diff(previous, manifest).counts(),
            commit_key=key,
            metrics=_stored_metrics(kind, quality),
        )
        s.add(row)
        s.flush()
        _insert_files(s, row.id, manifest)
        _insert_documents(s, row.id, manifest)
        notes = []
        if kind == "model":  # before the index: the items' eohub:trained_on values come from the links
            notes = training.link_version(
                s,
                row.id,
                manifest.documents,
                trained_on,
                self._visible,
                self.hub_urls,
                self.limits.max_training_links,
            )
        search_index.index_version(s, repo, row)
        repo.metadata_json = manifest.metadata.to_dict()
        repo.updated_at = utcnow()
        s.flush()
        info = _version_info(row, user.name)
        info.trained_on = training.links_of(s, [row.id], self._visible).get(row.id, [])
        return CommitResult(info, created, True, notes)

    def set_visibility(self, kind: Kind, name: str, private: bool) -> RepositoryInfo:
        with self.database.sessions.begin() as s:
            repo = self._row(s, kind, name)
            self._check_writer(repo)
            repo.private = private
            repo.updated_at = utcnow()
        return self.get(kind, name)

    def delete(self, kind: Kind, name: str) -> None:
        with self.database.sessions.begin() as s:
            repo = self._row(s, kind, name)
            self._check_writer(repo)
            search_index.remove_repository(s, repo.id)
            s.delete(repo)

    def stats(self) -> dict[str, Any]:
        """Counts of repositories, versions and file entries (for diagnostics and tests)."""
        with self.database.sessions() as s:
            return {
                "repositories": s.scalar(select(func.count(RepositoryRow.id))),
                "versions": s.scalar(select(func.count(VersionRow.id))),
                "files": s.scalar(select(func.count(FileRow.id))),
                "documents": s.scalar(select(func.count(DocumentRow.id))),
            }
