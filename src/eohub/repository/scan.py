"""Turn a folder into an ingest plan: the files to store, the STAC documents as stored, the metadata.

Two kinds of folder:

- **Files only (Q0)**: every file is stored under its path relative to the folder. Hidden files and
  folders (a component starting with ``.``, which covers ``.git``) are left out.
- **STAC** (``catalog.json`` at the root): the same files, plus the whole catalog walked through its
  child and item links at any depth; every catalog, collection and item is kept. Local hrefs (assets
  and non-structural links such as ``license``) are stored with the files: inside the folder under their
  relative path; **outside** it (the tutorial's model asset points at ``../v1/model.onnx``) under their
  path relative to the deepest folder holding all outside files, at the version root when that collides
  with nothing, else below ``external/`` (``external-2/``... if that is taken too). Stored documents get
  hrefs relative to themselves, ``self`` links are dropped, remote ``http(s)://`` hrefs stay links.

The plan hashes every file (SHA-256) so the repository can compare it with the latest version and upload
only missing blobs. Nothing is written anywhere.
"""

from __future__ import annotations

import copy
import logging
import os
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from eohub.errors import UsageError
from eohub.mlm.documents import StacDocument, walk
from eohub.readme import ReadmeMetadata, parse_readme
from eohub.repository.manifest import FileEntry, Manifest
from eohub.repository.names import check_stored_path
from eohub.storage import sha256_file

log = logging.getLogger(__name__)

README = "README.md"
CATALOG = "catalog.json"
STRUCTURAL_RELS = frozenset({"child", "item", "parent", "root", "collection", "items"})
EXTERNAL_PREFIX = "external"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass
class PlannedFile:
    """A file of the new version and where its bytes come from (``None``: already stored, carried over)."""

    entry: FileEntry
    source: Path | None


@dataclass
class IngestPlan:
    """What ingesting a folder would store; see the module docstring."""

    folder: Path
    stac: bool
    files: list[PlannedFile] = field(default_factory=list)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    metadata: ReadmeMetadata = field(default_factory=ReadmeMetadata)
    has_readme: bool = False
    catalog_id: str = ""
    problems: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    """Files read from outside the folder (what the ingest output lists)."""

    @property
    def suggested_name(self) -> str:
        """The README's ``name``, else (README-less STAC) the catalog id."""
        return self.metadata.name or (self.catalog_id if self.stac and not self.has_readme else "")

    def carry(self, entry: FileEntry, metadata: ReadmeMetadata) -> None:
        """Keep a previous version's README (the folder has none): same blob, same metadata."""
        self.files.append(PlannedFile(entry, None))
        self.files.sort(key=lambda f: f.entry.path)
        self.metadata = metadata
        self.has_readme = True

    def manifest(self) -> Manifest:
        return Manifest([f.entry for f in self.files], dict(self.documents), self.metadata)


def is_remote(href: str) -> bool:
    """True for ``http://``, ``s3://``... hrefs (kept as links); ``file://`` and plain paths are local."""
    return bool(_SCHEME.match(href)) and not href.startswith("file:")


def local_target(doc_path: Path, href: str) -> Path:
    """The normalized local path an href names, resolved against the folder of its document."""
    if href.startswith("file:"):
        href = unquote(urlparse(href).path)
    path = Path(href)
    return Path(os.path.normpath(path if path.is_absolute() else doc_path.parent / path))


def _visible_files(root: Path) -> list[Path]:
    """Every non-hidden file under ``root`` (symlinked files included, symlinked folders not entered)."""
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=_unreadable):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out.extend(Path(dirpath) / f for f in sorted(filenames) if not f.startswith("."))
    return out


def _unreadable(exc: OSError) -> None:
    raise UsageError(f"{exc.filename}: cannot read folder ({exc.strerror or exc})")


def _inside(path: Path, root: Path) -> str | None:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None


class _Placer:
    """Chooses the stored path of every local file or document the version holds."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.internal: dict[Path, str] = {}
        self.external: set[Path] = set()
        self.placed: dict[Path, str] = {}

    def add(self, path: Path) -> None:
        rel = _inside(path, self.root)
        if rel is None:
            self.external.add(path)
        else:
            self.internal[path] = rel

    def place(self) -> dict[Path, str]:
        self.placed = dict(self.internal)
        if not self.external:
            return self.placed
        common = Path(os.path.commonpath([str(p.parent) for p in self.external]))
        relative = {p: p.relative_to(common).as_posix() for p in self.external}
        taken = set(self.internal.values()) | {README}
        taken_dirs = {posixpath.dirname(t) for t in taken}
        taken_dirs |= {d for t in list(taken_dirs) for d in _ancestors(t)}
        for n in range(1, 1000):
            prefix = "" if n == 1 else EXTERNAL_PREFIX if n == 2 else f"{EXTERNAL_PREFIX}-{n - 1}"
            paths = {p: posixpath.join(prefix, rel) if prefix else rel for p, rel in relative.items()}
            if not any(_collides(s, taken, taken_dirs) for s in paths.values()):
                self.placed.update(paths)
                return self.placed
        raise UsageError("cannot find a free folder name for the files outside the catalog folder")

    def __getitem__(self, path: Path) -> str:
        return self.placed[path]

    def folder(self, directory: Path) -> str | None:
        """Where the files of a local folder were placed (``None`` when none of them was)."""
        for path, stored in self.placed.items():
            if path.is_relative_to(directory):
                rel = path.relative_to(directory).as_posix()
                return stored[: -len(rel)].rstrip("/") or "."
        return None


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _collides(path: str, taken: set[str], taken_dirs: set[str]) -> bool:
    return path in taken or path in taken_dirs or any(a in taken for a in _ancestors(path))


def _relative_href(from_doc: str, to_path: str, original: str = "") -> str:
    """The href from a stored document to a stored path; an equivalent relative original is kept."""
    href = posixpath.relpath(to_path, posixpath.dirname(from_doc) or ".")
    if original and not posixpath.isabs(original) and not original.startswith("file:"):
        if posixpath.normpath(original) == href:
            return original
    return href


def _readme_less_metadata(root_doc: dict[str, Any], docs: list[StacDocument]) -> ReadmeMetadata:
    """Metadata a README-less STAC folder gives: title or description, and a license."""
    license_ = str(root_doc.get("license") or "")
    if not license_:
        license_ = next((str(d.data["license"]) for d in docs if d.data.get("license")), "")
    description = str(root_doc.get("description") or root_doc.get("title") or "")
    return ReadmeMetadata(license=license_, description=description)


class _StacScanner:
    """Walks the catalog, collects local hrefs and rewrites documents for their stored paths."""

    def __init__(self, root: Path, placer: _Placer) -> None:
        self.root = root
        self.placer = placer
        try:
            self.docs = walk(root / CATALOG)
        except OSError as exc:
            raise UsageError(f"{exc.filename}: cannot read STAC document ({exc.strerror or exc})") from None
        self.doc_paths = {d.path for d in self.docs}
        self.problems: list[str] = []
        self.targets: list[Path] = []  # local files (or folders) that hrefs name
        for doc in self.docs:
            placer.add(doc.path)
            for href, is_link in self._hrefs(doc):
                self._collect(doc, href, is_link)

    @staticmethod
    def _hrefs(doc: StacDocument) -> list[tuple[str, bool]]:
        out = [(str(a.get("href") or ""), False) for a in _assets(doc.data).values()]
        for link in doc.data.get("links") or []:
            if (
                isinstance(link, dict)
                and link.get("rel") not in STRUCTURAL_RELS
                and link.get("rel") != "self"
            ):
                out.append((str(link.get("href") or ""), True))
        return [(h, is_link) for h, is_link in out if h and not is_remote(h)]

    def _collect(self, doc: StacDocument, href: str, is_link: bool) -> None:
        target = local_target(doc.path, href)
        if target.is_file() or target.is_dir():
            self.targets.append(target)
        elif not is_link:
            name = f"{doc.data.get('type', 'document')} '{doc.data.get('id', doc.path.name)}'"
            self.problems.append(f"{name}: asset href {href!r} names a missing file")

    def files(self) -> list[Path]:
        out: list[Path] = []
        for target in self.targets:
            out.extend(_visible_files(target) if target.is_dir() else [target])
        return out

    def rewrite(self, doc: StacDocument) -> tuple[str, dict[str, Any]]:
        stored = self.placer[doc.path]
        data = copy.deepcopy(doc.data)
        for asset in _assets(data).values():
            asset["href"] = self._href(doc, stored, str(asset.get("href") or ""))
        links = []
        for link in data.get("links") or []:
            if not isinstance(link, dict) or link.get("rel") == "self":
                continue
            href = str(link.get("href") or "")
            if not href or is_remote(href):
                links.append(link)
                continue
            target = local_target(doc.path, href)
            if link.get("rel") in STRUCTURAL_RELS and target not in self.doc_paths:
                log.warning(
                    "%s: dropping %s link to %s (not part of the catalog)", doc.label, link["rel"], href
                )
                continue
            if target not in self.placer.placed and not target.is_dir():
                log.warning("%s: dropping link to missing local file %s", doc.label, href)
                continue
            links.append({**link, "href": self._href(doc, stored, href)})
        if "links" in data:
            data["links"] = links
        return stored, data

    def _href(self, doc: StacDocument, stored: str, href: str) -> str:
        if not href or is_remote(href):
            return href
        target = local_target(doc.path, href)
        if target in self.placer.placed:
            return _relative_href(stored, self.placer[target], href)
        if target.is_dir():  # a folder asset: its files were placed under one stored folder
            folder = self.placer.folder(target)
            if folder is not None:
                return _relative_href(stored, folder, href)
        return href  # a missing file (reported as a problem)


def _assets(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assets = data.get("assets") or {}
    return {k: v for k, v in assets.items() if isinstance(v, dict)} if isinstance(assets, dict) else {}


def _hash(path: Path, stored: str) -> FileEntry:
    try:
        digest, size = sha256_file(path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    return FileEntry(check_stored_path(stored), size, digest)


def scan_folder(path: str | Path, allow_outside: Sequence[str | Path] = ()) -> IngestPlan:
    """Build the ingest plan of a folder (a ``catalog.json`` path stands for its folder)."""
    folder = Path(path)
    if folder.is_file() and folder.name == CATALOG:
        folder = folder.parent
    if not folder.exists():
        raise UsageError(f"{path}: no such folder")
    if not folder.is_dir():
        raise UsageError(f"{path}: not a folder (ingest takes a folder of files or a STAC catalog folder)")
    root = Path(os.path.normpath(folder.resolve()))
    placer = _Placer(root)
    stac = (root / CATALOG).is_file()
    scanner = _StacScanner(root, placer) if stac else None
    local = [p for p in _visible_files(root) if scanner is None or p not in scanner.doc_paths]
    for p in local + (scanner.files() if scanner else []):
        placer.add(p)
    placer.place()
    doc_paths = scanner.doc_paths if scanner else set()
    plan = IngestPlan(folder=folder, stac=stac)
    plan.files = [
        PlannedFile(_hash(p, stored), p)
        for p, stored in sorted(placer.placed.items(), key=lambda kv: kv[1])
        if p not in doc_paths
    ]
    if (root / README).is_file():
        plan.metadata = parse_readme(root / README)
        plan.has_readme = True
    if scanner:
        plan.problems = scanner.problems
        plan.documents = dict(scanner.rewrite(d) for d in scanner.docs)
        root_doc = scanner.docs[0].data
        plan.catalog_id = str(root_doc.get("id") or "")
        if not plan.has_readme:
            plan.metadata = _readme_less_metadata(root_doc, scanner.docs)
    log.info("%s: %d files, %d STAC documents", folder, len(plan.files), len(plan.documents))
    return plan
