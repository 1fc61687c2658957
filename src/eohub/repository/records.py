"""What a repository answers, as plain records with their JSON (``to_dict`` / ``from_dict``).

A version (:class:`VersionInfo`), a repository (:class:`RepositoryInfo`), what a commit, a download and an
ingest did; and :func:`describe_files`, the one way eohub says what a version holds. A record read from a
hub is bounded (:data:`MAX_LINKS_READ`) and checked as it is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from eohub.core.readme import ReadmeMetadata
from eohub.quality import QualityReport
from eohub.quality.metrics.shape import DatasetMetrics
from eohub.repository.links import TrainingLink

MAX_LINKS_READ = 10_000


def describe_files(files: int, documents: int) -> str:
    """The one way eohub says what a version holds: ``5 files (2 data files, 3 STAC documents)``.

    **Files** are everything a download writes; the **STAC documents** among them are the catalog,
    collections and items the hub keeps as documents (indexed, served by the STAC API); the other files
    are **data files** (README, model weights, rasters, labels), stored as blobs by SHA-256. A version's
    changes count files of both kinds."""
    data = files - documents
    text = f"{files} file{'' if files == 1 else 's'}"
    if not documents:
        return text
    return (
        f"{text} ({data} data file{'' if data == 1 else 's'}, "
        f"{documents} STAC document{'' if documents == 1 else 's'})"
    )


@dataclass
class VersionInfo:
    """One immutable version: its number, when, its quality and a summary of its content.

    ``files`` counts every file a download writes, ``documents`` the STAC documents among them
    (:func:`describe_files`); ``size`` is the bytes of the data files."""

    number: int
    created: datetime
    quality_level: int
    quality_reasons: list[str] = field(default_factory=list)
    size: int = 0
    files: int = 0
    tasks: list[str] = field(default_factory=list)
    summary: dict[str, list[str]] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)
    author: str = ""
    documents: int = 0
    metrics: DatasetMetrics | None = None
    """A dataset version's metrics (:mod:`eohub.quality.metrics`); ``None`` for models, versions older
    than the metrics, and listings (which leave them out)."""
    trained_on: list[TrainingLink] = field(default_factory=list)
    """A model version's training datasets as the caller sees them (:mod:`eohub.repository.links`);
    empty in listings, which leave them out like the metrics."""

    @property
    def quality(self) -> str:
        return f"Q{self.quality_level}"

    @property
    def data_files(self) -> int:
        return self.files - self.documents

    @property
    def files_text(self) -> str:
        """``5 files (2 data files, 3 STAC documents)``: :func:`describe_files`."""
        return describe_files(self.files, self.documents)

    def _repr_html_(self) -> str:
        from eohub.repository.display import version_html

        return version_html(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "created": self.created.isoformat(),
            "quality": self.quality,
            "quality_level": self.quality_level,
            "quality_reasons": list(self.quality_reasons),
            "size": self.size,
            "files": self.files,
            "data_files": self.data_files,
            "documents": self.documents,
            "tasks": list(self.tasks),
            "summary": {k: list(v) for k, v in self.summary.items()},
            "changes": dict(self.changes),
            "author": self.author,
            "metrics": self.metrics.to_dict() if self.metrics is not None else None,
            "trained_on": [link.to_dict() for link in self.trained_on],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VersionInfo:
        """A version as a hub sends it. A hub older than ``documents`` counted data files only in
        ``files``: its versions show those, with no STAC documents."""
        number = data["number"]
        if isinstance(number, bool) or not isinstance(number, int):
            raise ValueError(f"a version number is an integer, not {str(number)[:40]!r}")
        files = max(0, int(data.get("files") or 0))
        documents = min(files, max(0, int(data.get("documents") or 0)))
        return cls(
            number=number,
            created=datetime.fromisoformat(data["created"]),
            quality_level=int(data["quality_level"]),
            quality_reasons=list(data.get("quality_reasons") or []),
            size=int(data.get("size") or 0),
            files=files,
            documents=documents,
            tasks=list(data.get("tasks") or []),
            summary={str(k): [str(x) for x in v] for k, v in (data.get("summary") or {}).items()},
            changes=dict(data.get("changes") or {}),
            author=str(data.get("author") or ""),
            metrics=_metrics(data.get("metrics")),
            trained_on=[TrainingLink.from_dict(d) for d in _bounded(data.get("trained_on"))],
        )


@dataclass
class RepositoryInfo:
    """A model or dataset: name, owner, visibility, README metadata and its latest version."""

    kind: str
    name: str
    owner: str
    private: bool
    metadata: ReadmeMetadata
    created: datetime
    updated: datetime
    latest: VersionInfo | None = None

    def _repr_html_(self) -> str:
        from eohub.repository.display import repository_html

        return repository_html(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "owner": self.owner,
            "private": self.private,
            "metadata": self.metadata.to_dict(),
            "created": self.created.isoformat(),
            "updated": self.updated.isoformat(),
            "latest": self.latest.to_dict() if self.latest else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RepositoryInfo:
        return cls(
            kind=str(data["kind"]),
            name=str(data["name"]),
            owner=str(data["owner"]),
            private=bool(data["private"]),
            metadata=ReadmeMetadata.from_dict(data.get("metadata") or {}),
            created=datetime.fromisoformat(data["created"]),
            updated=datetime.fromisoformat(data["updated"]),
            latest=VersionInfo.from_dict(data["latest"]) if data.get("latest") else None,
        )


@dataclass(frozen=True)
class CommitResult:
    """What a commit did: the version it made (or the latest, when it changed nothing), whether it
    created the repository, and whether it made a new version."""

    version: VersionInfo
    created: bool
    changed: bool = True
    notes: list[str] = field(default_factory=list)
    """What the commit could not link (training data it cannot find; :mod:`eohub.repository.training`)."""


@dataclass(frozen=True)
class Downloaded:
    """A version :meth:`Repository.download_version` wrote: its folder, number and what it holds
    (``files`` every file written, ``documents`` the STAC documents among them, ``size`` the data files'
    bytes), counted as :class:`VersionInfo` counts them."""

    path: Path
    number: int
    files: int
    documents: int
    size: int

    @property
    def files_text(self) -> str:
        return describe_files(self.files, self.documents)


@dataclass
class IngestResult:
    """What an ingest did: the version created (``None`` when nothing changed), whether the repository
    was created, the quality of the (new or unchanged) latest version, and that version's number."""

    name: str
    version: int | None
    created: bool
    quality: QualityReport
    latest: int = 0
    outside: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the version's metadata lacks (:func:`~eohub.core.readme.metadata_notes`); no effect on quality."""

    @property
    def changed(self) -> bool:
        return self.version is not None

    def _repr_html_(self) -> str:
        from eohub.repository.display import ingest_html

        return ingest_html(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "created": self.created,
            "changed": self.changed,
            "latest": self.latest,
            "quality": self.quality.label,
            "quality_level": self.quality.level,
            "quality_reasons": list(self.quality.reasons),
            "outside": list(self.outside),
            "notes": list(self.notes),
        }


def _bounded(value: Any) -> list[Any]:
    """A list a hub sent, at most :data:`MAX_LINKS_READ` long (anything else: empty)."""
    return value[:MAX_LINKS_READ] if isinstance(value, list) else []


def _metrics(data: Any) -> DatasetMetrics | None:
    return DatasetMetrics.from_dict(data) if isinstance(data, dict) else None
