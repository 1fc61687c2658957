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
  hrefs relative to themselves, ``self`` links are dropped; links (URLs of any scheme but ``file:``,
  ``//host/...`` and container image references such as ``ghcr.io/org/name:tag``: the rule of
  :mod:`eohub.core.hrefs`) stay as written, never read.

What ingest may read (the folder, the current directory for local assets, ``--allow-outside`` roots;
never ``EOHUB_HOME``, hidden paths outside the folder, FIFOs or devices) is decided by
:mod:`eohub.repository.confine`, whose docstring holds the rules; every file and document is checked
there. Parent, root and collection links to documents outside the catalog are dropped (logged), never
read. Every file read from outside the folder is listed in :attr:`IngestPlan.outside`.

The metadata is the README's front matter, its empty fields filled from the catalog
(:func:`eohub.core.readme.stac_metadata`); a README-less catalog gives it all.

The plan hashes every file (SHA-256) so the repository can compare it with the latest version and upload
only missing blobs. Nothing is written anywhere.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eohub.core.hrefs import is_link, missing_hint
from eohub.core.names import check_stored_path
from eohub.core.readme import ReadmeMetadata, parse_readme_text, stac_metadata
from eohub.errors import UsageError
from eohub.mlm.documents import (
    MAX_DOCUMENT_BYTES,
    StacDocument,
    list_field,
    real_path,
    shown,
    shown_href,
    walk,
)
from eohub.repository.confine import (
    Confinement,
    LocalFile,
    is_under,
    local_target,
    open_checked,
    utf8_name,
    walk_folder,
)
from eohub.repository.manifest import FileEntry, Manifest
from eohub.repository.placement import Placer, relative_href

log = logging.getLogger(__name__)

README = "README.md"
CATALOG = "catalog.json"
STRUCTURAL_RELS = frozenset({"child", "item", "parent", "root", "collection", "items"})
HASH_READ_BYTES = 256 * 1024
"""Bytes read per call while hashing: one buffer, refilled, small enough to be hashed from the CPU's cache
(SHA-256 of a 1 GiB file: about 1.1 GB/s in 8 MiB reads, 1.25 in 256 KiB ones on this project's VM)."""


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


def _hash(file: LocalFile, stored: str) -> FileEntry:
    h = hashlib.sha256()
    size = 0
    buffer = bytearray(HASH_READ_BYTES)
    view = memoryview(buffer)
    with open_checked(file) as handle:
        try:
            while n := handle.readinto(buffer):
                h.update(view[:n])
                size += n
        except OSError as exc:
            raise UsageError(f"{shown(file.real)}: cannot read file ({exc.strerror or exc})") from None
    return FileEntry(check_stored_path(utf8_name(stored, file.path)), size, h.hexdigest())


# --- hrefs ---------------------------------------------------------------------------------------------


def _assets(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assets = data.get("assets")
    return {k: v for k, v in assets.items() if isinstance(v, dict)} if isinstance(assets, dict) else {}


def _rel(link: dict[str, Any]) -> str:
    rel = link.get("rel")
    return rel if isinstance(rel, str) else ""


def _local_href(value: Any) -> str | None:
    """The href if it names a local file (a non-empty string, not a link); other values are left alone."""
    return value if isinstance(value, str) and value and not is_link(value) else None


class _Files:
    """The checked files of one ingest, keyed by where they are placed in the version."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.by_key: dict[Path, LocalFile] = {}

    def key(self, file: LocalFile) -> Path:
        """The path a file is placed by: as named when that is in the folder, else where it resolves to."""
        return file.path if is_under(file.path, self.root) else file.real

    def add(self, file: LocalFile) -> Path:
        key = self.key(file)
        self.by_key.setdefault(key, file)
        return key

    def outside(self) -> list[str]:
        return sorted({shown(f.real) for f in self.by_key.values() if not is_under(f.real, self.root)})


class _StacScanner:
    """Walks the catalog, checks local hrefs and rewrites documents for their stored paths."""

    def __init__(self, root: Path, placer: Placer, confinement: Confinement, files: _Files) -> None:
        self.root = root
        self.placer = placer
        self.confinement = confinement
        self.files = files
        self.docs = walk(root / CATALOG, confine=confinement.document)
        self.doc_paths = {d.path for d in self.docs}
        self.problems: list[str] = []
        self.checked: dict[tuple[Path, str], LocalFile | None] = {}
        for doc in self.docs:
            placer.add(doc.path)
            for href, what, link in self._hrefs(doc):
                self._collect(doc, href, what, link)

    @staticmethod
    def _hrefs(doc: StacDocument) -> list[tuple[str, str, bool]]:
        out = []
        for key, asset in _assets(doc.data).items():
            href = _local_href(asset.get("href"))
            if href:
                out.append((href, f"{shown(doc.path)}: asset {key!r} href {shown_href(href)}", False))
        for link in list_field(doc.data, "links"):
            rel = _rel(link) if isinstance(link, dict) else "self"
            href = _local_href(link.get("href")) if isinstance(link, dict) else None
            if href and rel not in STRUCTURAL_RELS and rel != "self":
                name = f"{rel!r} link" if rel else "link"
                out.append((href, f"{shown(doc.path)}: {name} href {shown_href(href)}", True))
        return out

    def _collect(self, doc: StacDocument, href: str, what: str, is_link: bool) -> None:
        target = local_target(doc.path, href, what)
        file = self.confinement.check(target, what, assets=True, folders=True)
        self.checked[(doc.path, href)] = file
        if file is None:
            if not is_link:
                name = f"{doc.data.get('type', 'document')} '{doc.data.get('id', doc.path.name)}'"
                self.problems.append(
                    f"{name}: asset href {shown_href(href)} names a missing file{missing_hint(href)}"
                )
        elif file.is_dir:
            for inner in walk_folder(file.real, self.confinement, assets=True):
                self.placer.add(self.files.add(inner))
        else:
            self.placer.add(self.files.add(file))

    def rewrite(self, doc: StacDocument) -> tuple[str, dict[str, Any]]:
        stored = self.placer[doc.path]
        data = copy.deepcopy(doc.data)
        for asset in _assets(data).values():
            href = _local_href(asset.get("href"))
            if href:
                asset["href"] = self._href(doc, stored, href)
        links = []
        for link in list_field(data, "links"):
            if not isinstance(link, dict) or _rel(link) == "self":
                continue
            href = _local_href(link.get("href"))
            if href is None:
                links.append(link)
            elif _rel(link) in STRUCTURAL_RELS:
                target = self._document(doc, href)
                if target is None:
                    log.warning(
                        "%s: dropping %s link to %s (not part of the catalog)",
                        shown(doc.path),
                        _rel(link),
                        shown_href(href),
                    )
                    continue
                links.append({**link, "href": relative_href(stored, target, href)})
            elif self.checked.get((doc.path, href)) is None:
                log.warning("%s: dropping link to missing local file %s", shown(doc.path), shown_href(href))
            else:
                links.append({**link, "href": self._href(doc, stored, href)})
        if isinstance(data.get("links"), list):
            data["links"] = links
        return stored, data

    def _document(self, doc: StacDocument, href: str) -> str | None:
        """The stored path of the catalog document a structural link names, if it is one."""
        try:
            target = real_path(local_target(doc.path, href))
        except UsageError:
            return None
        return self.placer[target] if target in self.doc_paths else None

    def _href(self, doc: StacDocument, stored: str, href: str) -> str:
        file = self.checked.get((doc.path, href))
        if file is None:
            return href  # a missing file (reported as a problem)
        if file.is_dir:
            folder = self.placer.folder(file.real)
            return href if folder is None else relative_href(stored, folder, href)
        return relative_href(stored, self.placer[self.files.key(file)], href)


def _read_readme(file: LocalFile) -> ReadmeMetadata:
    with open_checked(file) as handle:
        raw = handle.read(MAX_DOCUMENT_BYTES + 1)
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise UsageError(f"{shown(file.real)}: README larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{shown(file.real)}: cannot read README (not UTF-8: {exc.reason})") from None
    return parse_readme_text(text, shown(file.path))


def folder_of(path: str | Path) -> Path:
    """The folder to ingest: ``path``, or the folder of a ``catalog.json`` path."""
    given = Path(path)
    try:
        st = os.stat(given)
    except (FileNotFoundError, NotADirectoryError):
        raise UsageError(f"{shown(given)}: no such folder") from None
    except OSError as exc:
        raise UsageError(f"{shown(given)}: cannot read ({exc.strerror or exc})") from None
    except ValueError:
        raise UsageError(f"{shown(given)}: not a valid path (it holds a NUL character)") from None
    if stat.S_ISREG(st.st_mode) and given.name == CATALOG:
        return given.parent
    if not stat.S_ISDIR(st.st_mode):
        raise UsageError(
            f"{shown(given)}: not a folder (ingest takes a folder of files or a STAC catalog folder)"
        )
    return given


def scan_folder(path: str | Path, allow_outside: Sequence[str | Path] = ()) -> IngestPlan:
    """Build the ingest plan of a folder (a ``catalog.json`` path stands for its folder).

    Files outside the folder are read only as the module docstring says: local assets under the current
    directory, or anything under a file or folder of ``allow_outside``.
    """
    folder = folder_of(path)
    root = real_path(folder.absolute())
    confinement = Confinement(root, allow_outside)
    files = _Files(root)
    placer = Placer(root, reserved={README})
    local = [files.add(f) for f in walk_folder(root, confinement, assets=True)]
    stac = os.path.lexists(root / CATALOG) and not (root / CATALOG).is_dir()
    scanner = _StacScanner(root, placer, confinement, files) if stac else None
    doc_paths = scanner.doc_paths if scanner else set()
    for key in local:
        if key not in doc_paths:
            placer.add(key)
    placer.place()
    plan = IngestPlan(folder=folder, stac=stac)
    plan.files = [
        PlannedFile(_hash(files.by_key[p], stored), files.by_key[p].real)
        for p, stored in sorted(placer.placed.items(), key=lambda kv: kv[1])
        if p not in doc_paths
    ]
    plan.outside = sorted(set(files.outside()) | {shown(p) for p in doc_paths if not is_under(p, root)})
    readme = files.by_key.get(root / README)
    if readme is not None:
        plan.metadata = _read_readme(readme)
        plan.has_readme = True
    if scanner:
        plan.problems = scanner.problems
        plan.documents = dict(scanner.rewrite(d) for d in scanner.docs)
        root_doc = scanner.docs[0].data
        plan.catalog_id = str(root_doc.get("id") or "")
        plan.metadata = plan.metadata.filled(stac_metadata(d.data for d in scanner.docs))
    for outside in plan.outside:
        log.info("read from outside the folder: %s", outside)
    log.info("%s: %d files, %d STAC documents", shown(folder), len(plan.files), len(plan.documents))
    return plan
