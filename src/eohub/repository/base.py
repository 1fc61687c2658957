"""The one repository interface: embedded (database + blob store here) and remote (a hub over HTTP).

Callers (the Python API, the CLI, the server's routes) only ever see :class:`Repository`. The steps
that must behave the same everywhere live here, written once:

- :meth:`Repository.ingest` scans the folder, resolves the name, validates STAC, compares with the latest
  version ("no changes"), rates quality, uploads the blobs the store lacks, then commits the version.
- :meth:`Repository.download` writes a version with :func:`eohub.repository.download.write_version`.

A backend implements the reads (``list``, ``get``, ``versions``, ``manifest``, ``read_file``) and three
write primitives: ``missing_blobs``, ``upload_blob`` and ``commit_version``. ``commit_version`` is the
only step that makes anything visible, in one transaction, and only if every blob is stored: a failure
anywhere before it leaves no version (blobs already uploaded are harmless, they are content-addressed).
What a repository answers (versions, repositories, what an ingest did) are the records of
:mod:`eohub.repository.records`.
"""

from __future__ import annotations

import logging
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path

from eohub.config import Limits
from eohub.core.names import Kind, check_kind, check_name, check_version
from eohub.core.readme import metadata_notes
from eohub.errors import Argument, InvalidStacError, NotFoundError, UsageError
from eohub.quality import QualityReport
from eohub.repository.assess import assess, stac_problems, upgrade_mlm
from eohub.repository.download import Fetch, version_folder, write_version
from eohub.repository.links import TrainedModel, check_trained_on
from eohub.repository.manifest import FileEntry, Manifest, diff
from eohub.repository.progress import Progress, Silent
from eohub.repository.records import CommitResult, Downloaded, IngestResult, RepositoryInfo, VersionInfo
from eohub.repository.records import describe_files as describe_files  # re-exported: its old home
from eohub.repository.scan import README, IngestPlan, PlannedFile, scan_folder

log = logging.getLogger(__name__)


class Repository(ABC):
    """Models and datasets with immutable, numbered versions. See the module docstring."""

    limits: Limits = Limits()
    """The bounds a version must respect (an embedded repository's own; a hub applies its own too)."""

    # --- reads ------------------------------------------------------------------------------------

    @abstractmethod
    def list(self, kind: Kind, name: str | None = None, limit: int | None = None) -> list[RepositoryInfo]:
        """Visible repositories of ``kind`` by name; ``name`` filters by case-insensitive substring."""

    @abstractmethod
    def get(self, kind: Kind, name: str) -> RepositoryInfo:
        """One repository (raises :class:`NotFoundError`)."""

    @abstractmethod
    def versions(self, kind: Kind, name: str) -> list[VersionInfo]:
        """Every version, oldest first (raises :class:`NotFoundError`)."""

    @abstractmethod
    def manifest(self, kind: Kind, name: str, version: int | None = None) -> Manifest:
        """The files, documents and metadata of a version (the latest by default)."""

    @abstractmethod
    def read_file(
        self, kind: Kind, name: str, version: int, path: str, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        """Stream bytes ``[start, end)`` of one stored file of a version."""

    # --- write primitives ---------------------------------------------------------------------------

    @abstractmethod
    def missing_blobs(self, digests: set[str]) -> set[str]:
        """The digests among ``digests`` whose blobs are not stored yet."""

    @abstractmethod
    def upload_blob(self, entry: FileEntry, source: Path, progress: Progress) -> None:
        """Store the file ``source`` as the blob ``entry.sha256`` (verified by the store)."""

    @abstractmethod
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
        """Create the next version atomically (the repository too, if new).

        A manifest identical to the latest version's changes nothing and answers that version
        (``changed`` False), so retries and concurrent identical ingests never make empty versions;
        ``key`` (chosen once per ingest) lets a retry of a commit that was made report it as made.
        Raises :class:`IntegrityError` if a blob is missing, has another size than declared, or may
        not be referenced by the caller (see :mod:`eohub.repository.ledger`).

        ``quality`` ``None`` means the backend rates the version itself from the stored blobs (what a
        hub does: it never trusts a client's rating); invalid STAC is then refused unless
        ``allow_invalid``. ``trained_on`` (``datasets/NAME@vN``) and the MLM items' training links of a
        model are resolved and stored with the version; what cannot be is in ``notes``."""

    @abstractmethod
    def trained_models(self, name: str) -> list[TrainedModel]:
        """The model versions the caller can see that were trained on a version of dataset ``name``."""

    def rate(
        self, plan: IngestPlan, kind: Kind, name: str, existing: RepositoryInfo | None, invalid: list[str]
    ) -> QualityReport | None:
        """The quality of the version ``plan`` would create, or ``None`` to leave it to the backend."""
        return assess(plan, kind, lambda e: self.read_file(kind, name, _number(existing), e.path), invalid)

    @abstractmethod
    def set_visibility(self, kind: Kind, name: str, private: bool) -> RepositoryInfo:
        """Make a repository private or public (owner only)."""

    @abstractmethod
    def delete(self, kind: Kind, name: str) -> None:
        """Delete a repository and its versions (owner only); shared blobs stay."""

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release connections; the repository is unusable afterwards."""

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- shared steps -------------------------------------------------------------------------------

    def find(self, kind: Kind, name: str) -> RepositoryInfo | None:
        """Like :meth:`get`, but ``None`` for an unknown name."""
        try:
            return self.get(kind, name)
        except NotFoundError:
            return None

    def ingest(
        self,
        kind: Kind,
        path: str | Path,
        name: str | None = None,
        private: bool = False,
        allow_invalid: bool = False,
        progress: Progress | None = None,
        allow_outside: Sequence[str | Path] = (),
        trained_on: Sequence[str] = (),
    ) -> IngestResult:
        """Store a folder as the next version of ``name`` (see the module docstring).

        The name is ``name``, else the README's ``name``, else the catalog id; an existing repository
        keeps its spelling. A folder without ``README.md`` keeps the previous version's README (same
        blob, same metadata); metadata the README lacks comes from the catalog (:mod:`eohub.core.readme`),
        and what is still missing is listed in ``result.notes``. ``private`` applies when the repository
        is created.
        Invalid STAC raises :class:`InvalidStacError` unless ``allow_invalid``, which stores it as Q0.
        Files outside the folder are read only where :func:`~eohub.repository.scan.scan_folder` allows
        (local assets under the current directory, or under a folder of ``allow_outside``); they are
        listed in ``result.outside``. ``trained_on`` names a model's training datasets
        (``datasets/NAME@vN``; references the hub cannot resolve are notes).
        """
        kind = check_kind(kind)
        trained_on = _trained_on(kind, trained_on)
        progress = progress or Silent()
        plan = scan_folder(path, allow_outside=allow_outside)
        name = self._resolve_name(plan, name)
        existing = self.find(kind, name)
        latest = self.manifest(kind, existing.name, None) if existing and existing.latest else None
        if existing:
            name = existing.name
        self._complete_metadata(plan, name, latest)
        upgraded = upgrade_mlm(plan)
        invalid = stac_problems(plan)
        if invalid and not allow_invalid:
            allow = Argument("allow_invalid")
            raise InvalidStacError(
                f"{path}: invalid STAC ({len(invalid)} problem(s)); fix them, or pass {allow} to store the "
                "folder as Q0",
                invalid,
                arguments=[allow],
            )
        manifest = plan.manifest().check(self.limits)  # what the hub would refuse, before any upload
        notes = upgraded + metadata_notes(manifest.metadata)
        if latest is not None and diff(latest, manifest).empty:
            if trained_on:  # links belong to a version: an unchanged folder makes none
                notes.append(
                    "no new version, so --trained-on was not stored: it is linked with a new version"
                )
            assert existing is not None and existing.latest is not None
            log.info("%s %s: no changes since version %d", kind, name, existing.latest.number)
            report = QualityReport(
                str(path), kind, existing.latest.quality_level, existing.latest.quality_reasons
            )
            return IngestResult(name, None, False, report, existing.latest.number, plan.outside, notes)
        if plan.outside:  # said before anything leaves the machine, not only in the result
            log.warning(
                "reading %d file(s) from outside %s: %s", len(plan.outside), path, ", ".join(plan.outside)
            )
        quality = self.rate(plan, kind, name, existing, invalid)
        self._upload(plan, progress)
        commit = self.commit_version(
            kind, name, manifest, quality, private, bool(invalid), secrets.token_hex(16), trained_on
        )
        notes += commit.notes
        info = commit.version
        report = QualityReport(str(path), kind, info.quality_level, info.quality_reasons)
        if not commit.changed:
            log.info("%s %s: no changes since version %d", kind, name, info.number)
            return IngestResult(name, None, False, report, info.number, plan.outside, notes)
        log.info("%s %s: version %d created (%s)", kind, name, info.number, info.quality)
        return IngestResult(name, info.number, commit.created, report, info.number, plan.outside, notes)

    @staticmethod
    def _resolve_name(plan: IngestPlan, name: str | None) -> str:
        if name is None:
            name = plan.suggested_name
        if not name:
            given = Argument("name", ...)
            raise UsageError(
                f"{plan.folder}: no name: pass {given} or add a README.md whose front matter has a name",
                arguments=[given],
            )
        return check_name(name)

    def _complete_metadata(self, plan: IngestPlan, name: str, latest: Manifest | None) -> None:
        """Carry the previous README over when the folder has none (the catalog fills what it lacks);
        without a README, the metadata is named as the repository. Nothing missing stops an ingest: it
        is a note (:func:`~eohub.core.readme.metadata_notes`)."""
        readme = latest.file(README) if latest else None
        if not plan.has_readme and readme is not None and latest is not None:
            plan.carry(readme, latest.metadata.filled(plan.metadata))
            return
        if not plan.has_readme or not plan.metadata.name:
            plan.metadata.name = name

    def _missing_files(self, plan: IngestPlan) -> dict[str, PlannedFile]:
        """One file of the plan per blob the repository lacks (for this caller)."""
        pending = [f for f in plan.files if f.source is not None]
        missing = self.missing_blobs({f.entry.sha256 for f in pending})
        uploads: dict[str, PlannedFile] = {}
        for f in pending:
            if f.entry.sha256 in missing:
                uploads.setdefault(f.entry.sha256, f)
        return uploads

    def _upload(self, plan: IngestPlan, progress: Progress) -> None:
        uploads = self._missing_files(plan)
        progress.begin("uploading", sum(f.entry.size for f in uploads.values()), len(uploads))
        try:
            for f in uploads.values():
                assert f.source is not None
                self.upload_blob(f.entry, f.source, progress)
                progress.file_done()
        finally:
            progress.end()

    def download(
        self,
        kind: Kind,
        name: str,
        path: str | Path | None = None,
        version: int | None = None,
        force: bool = False,
        progress: Progress | None = None,
    ) -> Path:
        """Write a version (the latest by default) to ``{path}/{name}/v{N}`` and return that path.

        ``path`` defaults to the current directory. An existing target is an error unless ``force``,
        which replaces it completely.
        """
        return self.download_version(kind, name, path, version, force, progress).path

    def download_version(
        self,
        kind: Kind,
        name: str,
        path: str | Path | None = None,
        version: int | None = None,
        force: bool = False,
        progress: Progress | None = None,
    ) -> Downloaded:
        """:meth:`download`, answering what was written as well as where."""
        kind = check_kind(kind)
        info = self.get(kind, name)
        if info.latest is None:
            raise NotFoundError(f"{kind} '{info.name}' has no versions")
        number = info.latest.number if version is None else check_version(version)
        manifest = self.manifest(kind, info.name, number)
        target = version_folder(Path(".") if path is None else path, info.name, number)
        fetch = self.fetcher(kind, info.name, number, manifest)
        try:
            written = write_version(manifest, target, fetch, force, progress, part_threads=self.part_threads)
        finally:
            close = getattr(fetch, "close", None)  # a fetcher reading ahead stops
            if close is not None:
                close()
        files = len(manifest.files) + len(manifest.documents)
        return Downloaded(written, number, files, len(manifest.documents), manifest.size)

    part_threads = 1
    """Spans of one large file a download fetches at once (see :func:`write_version`)."""

    def fetcher(self, kind: Kind, name: str, version: int, manifest: Manifest) -> Fetch:
        """How :meth:`download_version` reads the files of ``manifest`` (a backend may look them up in
        batches; a ``close`` attribute, if any, is called when the download ends)."""
        return lambda entry, start, end=None: self.fetch(kind, name, version, entry, start, end)

    def fetch(
        self, kind: Kind, name: str, version: int, entry: FileEntry, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        """Bytes ``[start, end)`` of one manifest entry (a backend may read the blob directly)."""
        return self.read_file(kind, name, version, entry.path, start, end)


def _trained_on(kind: Kind, values: Sequence[str]) -> list[str]:
    if values and kind != "model":
        raise UsageError("only a model names the datasets that trained it (--trained-on)")
    try:
        return check_trained_on(list(values))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _number(info: RepositoryInfo | None) -> int:
    return info.latest.number if info and info.latest else 0
