"""The repository in this process: metadata in a SQLAlchemy database, bytes in a blob store.

Used directly by the CLI and Python API when no hub is configured, and by the hub server, which builds
one per request with the authenticated user. ``user`` is who acts (``None``: anonymous, read-only);
private repositories are visible to their owner and admins only, and only they may write to them.

:class:`EmbeddedRepository` is built in layers, each a module: the access rules
(:mod:`~eohub.repository.embedded_access`), the commit of a version, one transaction
(:mod:`~eohub.repository.embedded_commit`), and here the reads, the uploads, visibility and deletion;
rows are read back as records by :mod:`~eohub.repository.embedded_rows`.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from eohub.core.names import Kind, check_kind, check_version, name_key
from eohub.db.tables import DocumentRow, FileRow, RepositoryRow, UserRow, VersionRow, utcnow
from eohub.errors import AuthenticationError, IntegrityError, NotFoundError
from eohub.repository import ledger, training
from eohub.repository.confine import open_source
from eohub.repository.embedded_commit import EmbeddedCommits
from eohub.repository.embedded_rows import manifest_of, repository_info, version_info
from eohub.repository.links import TrainedModel
from eohub.repository.manifest import FileEntry, Manifest
from eohub.repository.progress import CountingReader, Progress
from eohub.repository.records import RepositoryInfo, VersionInfo
from eohub.search import index as search_index
from eohub.storage.base import sha256_stream, verify_digest


def local_user() -> str:
    """The owner of what is ingested in embedded mode: the local user name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


class EmbeddedRepository(EmbeddedCommits):
    """A :class:`Repository` over a database and a blob store (see the module docstring)."""

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
                    out.append(repository_info(repo, version, metrics=False))
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
            info = repository_info(repo, latest)
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
            return [replace(version_info(v, author), trained_on=links.get(v.id, [])) for v, author in rows]

    def trained_models(self, name: str) -> list[TrainedModel]:
        with self.database.sessions() as s:
            return training.trained_models(s, self._row(s, "dataset", name).id, self._visible)

    def manifest(self, kind: Kind, name: str, version: int | None = None) -> Manifest:
        with self.database.sessions() as s:
            repo = self._row(s, kind, name)
            row = self._version_row(s, repo, version)
            return manifest_of(s, row)

    def file_entry(self, kind: Kind, name: str, version: int | None, path: str) -> tuple[FileEntry, int]:
        """One stored file of a version (the latest for ``None``) and that version's number."""
        with self.database.sessions() as s:
            if version is not None:  # one query for the common case; the steps below name what is missing
                found = s.execute(
                    select(FileRow, RepositoryRow)
                    .join(VersionRow, VersionRow.id == FileRow.version_id)
                    .join(RepositoryRow, RepositoryRow.id == VersionRow.repository_id)
                    .where(
                        RepositoryRow.kind == check_kind(kind),
                        RepositoryRow.name_key == name_key(name),
                        VersionRow.number == check_version(version),
                        FileRow.path == path,
                    )
                ).first()
                if found is not None and self._visible(found[1]):
                    return FileEntry(found[0].path, found[0].size, found[0].sha256), version
            row = self._version_row(s, self._row(s, kind, name), version)
            found = s.scalar(select(FileRow).where(FileRow.version_id == row.id, FileRow.path == path))
            if found is None:
                raise NotFoundError(f"{kind} '{name}' version {row.number} has no file {path!r}")
            return FileEntry(found.path, found.size, found.sha256), row.number

    def file_entries(
        self, kind: Kind, name: str, version: int | None, paths: list[str]
    ) -> tuple[list[FileEntry], int]:
        """The stored files among ``paths`` of a version (the latest for ``None``; others are left out),
        and that version's number."""
        with self.database.sessions() as s:
            row = self._version_row(s, self._row(s, kind, name), version)
            found = s.scalars(select(FileRow).where(FileRow.version_id == row.id, FileRow.path.in_(paths)))
            return [FileEntry(f.path, f.size, f.sha256) for f in found], row.number

    def read_file(
        self, kind: Kind, name: str, version: int, path: str, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        entry, _ = self.file_entry(kind, name, version, path)
        return self.store.read(entry.sha256, start, end)

    def fetch(
        self, kind: Kind, name: str, version: int, entry: FileEntry, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        return self.store.read(entry.sha256, start, end)  # the manifest was read with the caller's access

    # --- writes ---------------------------------------------------------------------------------

    def missing_blobs(self, digests: set[str]) -> set[str]:
        """Digests the store lacks, and those the caller may not reference (they must upload them)."""
        with self.database.sessions() as s:
            allowed = ledger.referenceable(s, self.user, self.admin, digests)
        allowed -= self.store.missing(allowed)  # asked only of blobs the caller may reference
        with self.database.sessions.begin() as s:
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
            ledger.record_blobs(s, sizes)  # in digest order: concurrent batches never deadlock
            ledger.record_proofs(s, user, sizes)

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
