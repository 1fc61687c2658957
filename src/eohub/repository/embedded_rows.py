"""An embedded repository's database rows read back: as records (:mod:`eohub.repository.records`) and
as the manifest of a version."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from eohub.core.readme import ReadmeMetadata
from eohub.db.tables import DocumentRow, FileRow, RepositoryRow, UserRow, VersionRow
from eohub.quality.metrics.shape import DatasetMetrics
from eohub.repository.manifest import FileEntry, Manifest
from eohub.repository.records import RepositoryInfo, VersionInfo


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def version_info(row: VersionRow, author: str = "", metrics: bool = True) -> VersionInfo:
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


def repository_info(row: RepositoryRow, latest: VersionRow | None, metrics: bool = True) -> RepositoryInfo:
    """A repository row and its latest version row as :class:`RepositoryInfo`."""
    return RepositoryInfo(
        kind=row.kind,
        name=row.name,
        owner=row.owner.name,
        private=row.private,
        metadata=ReadmeMetadata.from_dict(row.metadata_json or {}),
        created=_aware(row.created_at),
        updated=_aware(row.updated_at),
        latest=version_info(latest, metrics=metrics) if latest is not None else None,
    )


def manifest_of(session: Session, row: VersionRow) -> Manifest:
    """The files, STAC documents and metadata a version row holds."""
    files = session.scalars(select(FileRow).where(FileRow.version_id == row.id))
    docs = session.scalars(select(DocumentRow).where(DocumentRow.version_id == row.id))
    return Manifest(
        [FileEntry(f.path, f.size, f.sha256) for f in files],
        {d.path: json.loads(d.content) for d in docs},
        ReadmeMetadata.from_dict(row.metadata_json or {}),
    )


def author_of(session: Session, row: VersionRow) -> str:
    """The name of the user who committed a version row (``""`` when unknown)."""
    return session.scalar(select(UserRow.name).where(UserRow.id == row.author_id)) or ""
