"""The checks behind each quality level: the reasons a folder is not Q1, Q2 or Q3, and ``assess_quality``.

The levels themselves are described in :mod:`eohub.quality`. Metadata (README front matter filled from
the catalog) gives notes, never reasons; which hrefs are local files is :mod:`eohub.core.hrefs`'s rule.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from eohub.config import Limits, load_settings
from eohub.core.hrefs import is_link, local_path, missing_hint
from eohub.core.readme import ReadmeMetadata, metadata_notes, parse_readme, stac_metadata
from eohub.errors import UsageError
from eohub.mlm.documents import StacDocument, dict_field, list_field, real_path, walk
from eohub.mlm.lint import lint_document
from eohub.mlm.migrate import declared_version
from eohub.mlm.report import Finding
from eohub.mlm.schemas import LATEST_MLM_VERSION, parse_extension_url
from eohub.mlm.validate import SCHEMA_UNAVAILABLE, validate_document
from eohub.quality.metrics.shape import DatasetMetrics
from eohub.quality.metrics.verdicts import MetricSettings
from eohub.quality.report import KINDS, Kind, QualityReport, RunCheck
from eohub.quality.sandbox import run_isolated

log = logging.getLogger(__name__)

DATASET_EXTENSIONS = frozenset({"label", "ml-aoi"})
MAX_LISTED_FILES = 20
STAC_TYPE_NAMES = {"Feature": "item", "Collection": "collection", "Catalog": "catalog"}


def doc_name(doc: StacDocument) -> str:
    """``item 'model'``, ``catalog 'root'``: how reasons name a STAC document."""
    kind = STAC_TYPE_NAMES.get(doc.stac_type, "document")
    return f"{kind} '{doc.data.get('id', doc.path.name)}'"


def _extensions(doc: StacDocument) -> set[str]:
    names = set()
    for url in list_field(doc.data, "stac_extensions"):
        if isinstance(url, str) and (ext := parse_extension_url(url)):
            names.add(ext.name)
    return names


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return str(path)


def asset_path(doc: StacDocument, href: str) -> Path:
    """A local asset href (a path or a ``file:`` URL) resolved against the folder of its document.

    Raises :class:`UsageError` for a ``file:`` URL that names no local path."""
    path = Path(local_path(href))
    return path if path.is_absolute() else (doc.path.parent / path)


# --- metadata: notes ------------------------------------------------------------------------------------


def _metadata_notes(folder: Path, docs: list[StacDocument], details: dict[str, Any]) -> list[str]:
    """What the metadata (README front matter, filled from the catalog) lacks; never a reason."""
    notes: list[str] = []
    meta = ReadmeMetadata()
    details["readme"] = None
    if (folder / "README.md").is_file():
        try:
            meta = parse_readme(folder / "README.md")
            details["readme"] = meta.to_dict()
        except UsageError as exc:
            notes.append(" ".join(str(exc).split()))  # one line, whatever the YAML parser wrote
    meta = meta.filled(stac_metadata(d.data for d in docs))
    details["metadata"] = meta.to_dict()
    return notes + metadata_notes(meta)


# --- Q0 -> Q1 -----------------------------------------------------------------------------------------


def _catalog_documents(folder: Path) -> tuple[list[StacDocument], list[str]]:
    """Every document of the catalog, and a reason per link that cannot be followed."""
    root = folder / "catalog.json"
    if not root.is_file():
        return [], ["no catalog.json at the folder root: files only, no STAC catalog"]
    broken: list[Finding] = []
    try:
        docs = walk(root, broken)
    except UsageError as exc:
        return [], [f"the catalog cannot be read: {exc}"]
    names = {d.label: doc_name(d) for d in docs}
    return docs, [f"{names.get(f.file, f.file)}: broken link at {f.pointer}: {f.message}" for f in broken]


def _validity_reasons(docs: list[StacDocument]) -> list[str]:
    reasons = []
    for doc in docs:
        errors = validate_document(doc).errors
        for f in errors:
            reasons.append(f"{doc_name(doc)}: invalid STAC ({f.code}) at {f.pointer or '/'}: {f.message}")
        version = declared_version(doc.data)
        if errors and version and version != LATEST_MLM_VERSION:
            reasons.append(
                f"{doc_name(doc)}: declares MLM {version}; `eohub mlm migrate` upgrades it to "
                f"{LATEST_MLM_VERSION} and fixes what can be fixed automatically (ingest does so when "
                "the upgrade is valid)"
            )
    return reasons


def _coverage_reasons(folder: Path, docs: list[StacDocument], details: dict[str, Any]) -> list[str]:
    reasons: list[str] = []
    covered = {doc.path.resolve() for doc in docs} | {(folder / "README.md").resolve()}
    for doc in docs:
        for key, asset in dict_field(doc.data, "assets").items():
            href = asset.get("href") if isinstance(asset, dict) else None
            href = href if isinstance(href, str) else ""
            if not href or is_link(href):
                continue  # a URL or an image reference: a link, not a file of the version
            try:
                target = asset_path(doc, href).resolve()
            except UsageError as exc:
                reasons.append(f"{doc_name(doc)}: asset '{key}': {exc}")
                continue
            if target.is_dir():
                covered.update(p.resolve() for p in target.rglob("*") if p.is_file())
            elif target.is_file():
                covered.add(target)
            else:
                reasons.append(
                    f"{doc_name(doc)}: asset '{key}' points at a missing file ({href}){missing_hint(href)}"
                )
    files = [
        p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]
    uncovered = [_relative(p, folder) for p in files if p.resolve() not in covered]
    details["files"] = len(files)
    details["uncovered_files"] = uncovered
    for name in uncovered[:MAX_LISTED_FILES]:
        reasons.append(f"file '{name}' is not the href of any asset")
    if len(uncovered) > MAX_LISTED_FILES:
        reasons.append(f"... and {len(uncovered) - MAX_LISTED_FILES} more files no asset refers to")
    return reasons


# --- Q1 -> Q2 -----------------------------------------------------------------------------------------


def mlm_items(docs: list[StacDocument]) -> list[StacDocument]:
    """The items that declare the MLM extension."""
    return [d for d in docs if d.stac_type == "Feature" and "mlm" in _extensions(d)]


def _model_reasons(docs: list[StacDocument]) -> list[str]:
    items = mlm_items(docs)
    if not items:
        return ["no item uses the MLM extension (eohub mlm init MODEL.onnx writes one)"]
    reasons = []
    for doc in items:
        for f in lint_document(doc).errors:
            reasons.append(f"{doc_name(doc)}: MLM lint error {f.code} at {f.pointer or '/'}: {f.message}")
    return reasons


def _dataset_reasons(docs: list[StacDocument]) -> list[str]:
    items = [d for d in docs if d.stac_type == "Feature" and DATASET_EXTENSIONS & _extensions(d)]
    if not items:
        return ["no item uses the label or ml-aoi extension"]
    reasons = []
    for doc in items:
        for f in validate_document(doc).findings:
            if f.code == SCHEMA_UNAVAILABLE:
                reasons.append(f"{doc_name(doc)}: {f.message}")
    return reasons


# --- Q2 -> Q3 -----------------------------------------------------------------------------------------


def _onnx_model_asset(doc: StacDocument) -> tuple[str, str] | None:
    for key, asset in dict_field(doc.data, "assets").items():
        if not isinstance(asset, dict) or "mlm:model" not in list_field(asset, "roles"):
            continue
        href = str(asset.get("href") or "")
        kind = f"{asset.get('mlm:artifact_type', '')} {asset.get('type', '')} {href.split('?')[0]}".lower()
        if "onnx" in kind:
            return key, href
    return None


def _check_reasons(name: str, check: RunCheck) -> list[str]:
    reasons = []
    if check.unverified is not None:
        cause, detail = check.unverified
        reasons.append(f"not verified: {cause}: {name}" + (f": {detail}" if detail else ""))
    return reasons + [f"{name}: {problem}" for problem in check.problems]


def _run_reasons(docs: list[StacDocument], details: dict[str, Any], limits: Limits) -> list[str]:
    """Run each MLM item's model once. ``limits.rating_seconds`` bounds the whole version, not each run:
    items sharing a model and its description share one run, and once the time is spent the remaining
    items are "not verified" (a version naming one looping model a thousand times costs one run)."""
    reasons: list[str] = []
    runs: dict[str, Any] = {}
    done: dict[str, RunCheck] = {}
    deadline = time.monotonic() + limits.rating_seconds
    for doc in mlm_items(docs):
        name = doc_name(doc)
        found = _onnx_model_asset(doc)
        if found is None:
            reasons.append(f"{name}: no ONNX asset with the role mlm:model (eohub runs ONNX models)")
            continue
        key, href = found
        if is_link(href):
            reasons.append(f"{name}: model asset '{key}' is a link ({href}); Q3 runs local files only")
            continue
        props = doc.data.get("properties") or {}
        inputs, outputs = props.get("mlm:input") or [], props.get("mlm:output") or []
        model = asset_path(doc, href)
        same = json.dumps([os.path.abspath(model), inputs, outputs], sort_keys=True, default=str)
        check = done.get(same)
        if check is None:
            remaining = math.ceil(deadline - time.monotonic())
            if remaining < 1:
                reasons.append(
                    f"not verified: the version's rating time ({limits.rating_seconds} s, "
                    f"EOHUB_RATING_SECONDS) is used up: {name}"
                )
                continue
            check = run_isolated(model, inputs, outputs, replace(limits, rating_seconds=remaining))
            done[same] = check
        runs[str(doc.data.get("id"))] = {"inputs": check.input_shapes, "outputs": check.output_shapes}
        reasons.extend(_check_reasons(name, check))
    details["runs"] = runs
    return reasons


def _dataset_metrics(
    folder: Path,
    docs: list[StacDocument],
    limits: Limits | None,
    settings: MetricSettings | None,
    digests: dict[str, str] | None,
) -> DatasetMetrics:
    """The dataset metrics of the items already read (:mod:`eohub.quality.metrics`)."""
    from eohub.quality.metrics.compute import compute_metrics, hashing, item_docs, manifest_digests

    root = real_path(folder)
    digest = manifest_digests(root, digests) if digests is not None else hashing()
    return compute_metrics(item_docs(docs), root, digest, settings, limits)


def assess_quality(
    folder: str | Path,
    kind: Kind = "model",
    limits: Limits | None = None,
    settings: MetricSettings | None = None,
    digests: dict[str, str] | None = None,
) -> QualityReport:
    """The quality level of a model or dataset folder, with the reasons it is not one level higher.

    ``limits`` bound the Q3 run (``rating_*``) and the dataset metrics; by default those of the
    environment. A dataset's metrics (:mod:`eohub.quality.metrics`, thresholds ``settings``) are in
    ``details["metrics"]``; its severe findings keep it at Q1. ``digests`` (paths in the folder -> SHA-256)
    spare hashing its files to find exact duplicates."""
    folder = Path(folder)
    if kind not in KINDS:
        raise UsageError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder")
    details: dict[str, Any] = {}

    docs, reasons = _catalog_documents(folder)
    details["documents"] = [_relative(d.path, folder) for d in docs]
    notes = _metadata_notes(folder, docs, details)
    metrics = None
    if kind == "dataset" and docs:
        metrics = _dataset_metrics(folder, docs, limits, settings, digests)
        details["metrics"] = metrics.to_dict()

    def report(level: int, reasons: list[str]) -> QualityReport:
        return QualityReport(str(folder), kind, level, [f"Q{level}: {r}" for r in reasons], details, notes)

    if docs:
        reasons += _validity_reasons(docs) + _coverage_reasons(folder, docs, details)
    if reasons:
        return report(0, reasons)
    reasons = _model_reasons(docs) if kind == "model" else _dataset_reasons(docs)
    if reasons:
        return report(1, reasons)
    if kind == "dataset":
        severe = metrics.reasons() if metrics is not None else []
        return report(1, severe) if severe else report(2, [])
    reasons = _run_reasons(docs, details, limits or load_settings().limits)
    return report(2, reasons) if reasons else report(3, [])
