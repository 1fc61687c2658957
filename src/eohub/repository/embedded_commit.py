"""Committing a version of an embedded repository: checked, rated when the caller is a client, idempotent.

Committing a version is one transaction: the repository row (when new), the version row, its files and
its STAC documents. The version number is ``max + 1`` under the unique constraint
``(repository_id, number)``; a writer that loses a race gets a constraint violation (or, on SQLite, a
busy database), rolls back, and retries with the new maximum. A manifest equal to the latest version's,
or a retry with the commit's ``key``, answers the version that exists.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from eohub.core.names import Kind, check_kind, check_name, name_key
from eohub.core.readme import ReadmeMetadata, parse_readme_text, stac_metadata
from eohub.db.tables import DocumentRow, FileRow, RepositoryRow, VersionRow, utcnow
from eohub.errors import (
    AlreadyExistsError,
    Argument,
    AuthenticationError,
    IntegrityError,
    InvalidStacError,
    UsageError,
)
from eohub.quality import QualityReport
from eohub.quality.metrics.shape import DatasetMetrics
from eohub.repository import ledger, training
from eohub.repository.assess import assess, stac_problems
from eohub.repository.embedded_access import EmbeddedAccess
from eohub.repository.embedded_rows import author_of, manifest_of, version_info
from eohub.repository.manifest import Manifest, diff, document_text
from eohub.repository.records import CommitResult
from eohub.repository.scan import README, IngestPlan, PlannedFile
from eohub.search import index as search_index
from eohub.storage import LocalBlobStore

log = logging.getLogger(__name__)

COMMIT_ATTEMPTS = 20
MAX_README_BYTES = 1024 * 1024


def _stored_metrics(kind: Kind, quality: QualityReport) -> dict[str, Any] | None:
    """The dataset metrics a rating computed, in their stored (bounded) shape; ``None`` for models."""
    found = quality.details.get("metrics")
    if kind != "dataset" or not isinstance(found, dict):
        return None
    return DatasetMetrics.from_dict(found).to_dict()


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


class EmbeddedCommits(EmbeddedAccess):
    """:meth:`commit_version` of an embedded repository and the checks it makes (module docstring)."""

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
                return CommitResult(version_info(done, author_of(s, done)), done.number == 1, True)
        last = s.scalar(
            select(VersionRow).where(VersionRow.repository_id == repo.id).order_by(VersionRow.number.desc())
        )
        if last is None or not diff(manifest_of(s, last), manifest).empty:
            return None
        return CommitResult(version_info(last, author_of(s, last)), False, False)

    def _check_blobs(self, manifest: Manifest) -> None:
        """Every blob is stored, its size is the store's, and the caller may reference it.

        Whether the caller may reference each blob is checked first, so a commit never tells whether the
        hub stores a digest the caller may not reference. Every blob is then asked of the store: a blob
        listed in ``blobs`` may still have been deleted by a housekeeping run that raced the upload which
        listed it again."""
        digests = manifest.digests()
        with self.database.sessions() as s:
            allowed = ledger.referenceable(s, self.user, self.admin, digests)
        for entry in manifest.files:
            if entry.sha256 not in allowed:
                raise IntegrityError(
                    f"{entry.path}: blob {entry.sha256} was not uploaded by you and is in no version you "
                    "can read; upload the file (eohub does this when the blob is reported missing)"
                )
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
        for entry in manifest.files:
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
            previous = manifest_of(s, last) if last else None
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
        info = version_info(row, user.name)
        info.trained_on = training.links_of(s, [row.id], self._visible).get(row.id, [])
        return CommitResult(info, created, True, notes)
