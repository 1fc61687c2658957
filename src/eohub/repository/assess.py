"""Validate and rate a version before it is stored: STAC validation and the quality level.

Quality is the quality of **what will be downloaded**, not of the folder as it happens to sit on disk: the
version is staged in a temporary folder laid out exactly like a download (files linked, not copied, when
the file system allows; STAC documents with their rewritten hrefs; a carried-over README), and
:func:`eohub.quality.assess_quality` rates that folder. Reasons are stored without the staging path.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

from eohub.config import Limits
from eohub.core.names import Kind
from eohub.errors import IntegrityError
from eohub.mlm.documents import StacDocument
from eohub.quality import QualityReport
from eohub.repository.manifest import FileEntry, local_hrefs
from eohub.repository.scan import IngestPlan

BlobReader = Callable[[FileEntry], Iterator[bytes]]


def upgrade_mlm(plan: IngestPlan) -> list[str]:
    """Migrate, in the plan, each MLM document that is invalid as written but valid once upgraded to the
    current MLM (what ``eohub mlm migrate`` does: the EOTDL tutorial's v1.2.0 layout, older versions);
    return one note per document migrated. A valid document is stored as written; one that needs a
    human stays as it is, and its validation errors say what is wrong."""
    candidates = [
        (path, data)
        for path, data in plan.documents.items()
        if data.get("type") in ("Feature", "Collection") and _mentions_mlm(data)
    ]
    if not candidates:
        return []
    from eohub.errors import EohubError
    from eohub.mlm.migrate import migrate_data
    from eohub.mlm.validate import validate_document

    notes = []
    for path, data in candidates:
        if not validate_document(StacDocument(Path(path), data)).errors:
            continue
        try:
            result = migrate_data(data, label=path)
        except EohubError:
            continue
        plan.documents[path] = result.data
        declared = f"MLM {result.from_version}" if result.from_version else "an MLM layout without version"
        notes.append(
            f"{path}: {declared} upgraded to {result.to_version} at ingest ({len(result.changes)} "
            "change(s); `eohub mlm migrate` shows them)"
        )
    return notes


def _mentions_mlm(data: dict) -> bool:
    properties = data.get("properties") if isinstance(data.get("properties"), dict) else {}
    extensions = data.get("stac_extensions") if isinstance(data.get("stac_extensions"), list) else []
    return any("mlm" in str(e) for e in extensions) or any(str(k).startswith("mlm:") for k in properties)


def stac_problems(plan: IngestPlan) -> list[str]:
    """Validation errors of the stored documents, and local hrefs naming missing files, one line each."""
    problems = list(plan.problems)
    if not plan.documents:
        return problems
    from eohub.mlm.validate import validate_document  # pystac and the schemas: only for documents

    for path, data in plan.documents.items():
        report = validate_document(StacDocument(Path(path), data))
        problems.extend(f.line() for f in report.errors)
    return problems


def _link(source: Path, dest: Path, symlinks: bool) -> None:
    """A read-only view of ``source`` at ``dest``: a hard link, else (when ``symlinks``) a symlink, else a
    copy.

    Staging never opens a linked file for writing (see :func:`_create`), so a stored blob or a user's
    file cannot be changed through the view. A hub stages without symlinks: a model opened through one
    would see the blob store's folder around it (ONNX external data is read from the model's folder)."""
    try:
        os.link(source, dest)
        return
    except OSError:
        pass
    if symlinks:
        try:
            os.symlink(source.resolve(), dest)
            return
        except OSError:
            pass
    shutil.copyfile(source, dest)


def _create(path: Path) -> BinaryIO:
    """A new file at ``path``; an existing file or link there is an error, never overwritten."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except FileExistsError:
        raise IntegrityError(f"{path.name}: two files of the version share one path") from None
    return os.fdopen(fd, "wb")


def rated_files(plan: IngestPlan) -> Callable[[str], bool]:
    """Which files of ``plan`` the rating reads the bytes of; the others it only sees exist, with their
    size (whether an asset covers them).

    All of them when a document describes an MLM model (its run may read any file of the model's
    folder: ONNX external data). Otherwise the README, JSON and Markdown files, and every file a
    document's asset or link names (dataset metrics read label rasters and vectors), or that lies in a
    folder one names; a file whose name is the last part of an href is counted in, whatever the href's
    folder. Each question is a few set lookups: a dataset of a million items costs no pairwise scan."""
    if any(_mentions_mlm(data) for data in plan.documents.values()):
        return lambda path: True
    targets: set[str] = set()
    names: set[str] = set()
    for path, data in plan.documents.items():
        for href in local_hrefs(data):
            decoded = unquote(href.split("#", 1)[0].split("?", 1)[0])
            targets.add(posixpath.normpath(posixpath.join(posixpath.dirname(path), decoded)))
            names.add(posixpath.basename(decoded.rstrip("/")))

    def needed(path: str) -> bool:
        if path.lower().endswith((".json", ".geojson", ".md")) or posixpath.basename(path) in names:
            return True
        parts = path.split("/")
        return any("/".join(parts[:n]) in targets for n in range(1, len(parts) + 1))

    return needed


def stage(
    plan: IngestPlan,
    folder: Path,
    read: BlobReader,
    symlinks: bool = True,
    needed: Callable[[str], bool] | None = None,
) -> None:
    """Lay the version out in ``folder`` as a download would (links to the sources where possible).

    A file to fetch through ``read`` that ``needed`` leaves out is a sparse file of its size: the
    rating of a version in S3 does not download files it never opens."""
    for planned in plan.files:
        dest = folder / planned.entry.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        if planned.source is not None:
            _link(planned.source, dest, symlinks)
        elif needed is not None and not needed(planned.entry.path):
            with _create(dest) as out:
                out.truncate(planned.entry.size)
        else:
            with _create(dest) as out:
                for chunk in read(planned.entry):
                    out.write(chunk)
    for path, data in plan.documents.items():
        dest = folder / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        with _create(dest) as out:
            out.write(json.dumps(data, indent=2).encode("utf-8"))


def assess(
    plan: IngestPlan,
    kind: Kind,
    read: BlobReader,
    invalid: list[str],
    limits: Limits | None = None,
    staging: Path | None = None,
    symlinks: bool = True,
) -> QualityReport:
    """The quality of the staged version; Q0 with the validation problems when ``invalid`` is not empty.

    ``limits`` bound the model run of Q3 (by default those of the environment). The version is staged
    in a temporary folder under ``staging`` (the system's temporary folder by default: a hub passes one
    beside its blobs, so files are hard links, not copies), with symbolic links only if ``symlinks``."""
    if staging is not None:
        staging.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="eohub-stage-", dir=staging) as tmp:
        staged = Path(tmp) / "version"
        staged.mkdir()
        stage(plan, staged, read, symlinks, rated_files(plan))
        digests = {planned.entry.path: planned.entry.sha256 for planned in plan.files}
        from eohub.quality import assess_quality  # numpy, ONNX Runtime: not for a client that only sends

        report = assess_quality(staged, kind, limits, digests=digests)
        prefixes = sorted({str(staged) + os.sep, str(staged.resolve()) + os.sep}, key=len, reverse=True)
    reasons = []
    for reason in report.reasons:
        for prefix in prefixes:
            reason = reason.replace(prefix, "")
        reasons.append(reason)
    level = report.level
    if invalid:
        level = 0
        reasons = [f"Q0: stored with --allow-invalid: {p}" for p in invalid] + reasons
    metrics = report.details.get("metrics")
    return QualityReport(str(plan.folder), kind, level, reasons, {"metrics": metrics} if metrics else {})
