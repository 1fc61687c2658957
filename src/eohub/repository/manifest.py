"""What a version holds: files (path, size, SHA-256), STAC documents, and README metadata.

A :class:`Manifest` is the content of a version, independent of where it is stored; two manifests
with the same files, documents and metadata are the same version ("no changes"). :func:`diff` says what
changed between two versions; STAC documents count as entries too, named by their stored path.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from eohub.config import Limits
from eohub.core.geometry import positions
from eohub.core.hrefs import SCHEME, is_link
from eohub.core.jsonbounds import finite_numbers
from eohub.core.names import check_stored_path
from eohub.core.readme import ReadmeMetadata
from eohub.errors import IntegrityError

_DIGEST = re.compile(r"[0-9a-f]{64}")
MAX_SIZE = 2**63 - 1
MAX_HREF = 4096
MAX_NAME = 255
"""The longest local href and path component (Linux's PATH_MAX and NAME_MAX): longer ones name no file."""


@dataclass(frozen=True)
class FileEntry:
    """One stored file of a version: its path inside the version, size and content digest."""

    path: str
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileEntry:
        """Read an entry that may come from elsewhere (a hub, a request): malformed ones are refused."""
        try:
            path, size, digest = data["path"], data["size"], data["sha256"]
        except (KeyError, TypeError):
            raise IntegrityError(
                f"malformed manifest entry {data!r}: it needs path, size and sha256"
            ) from None
        if (
            not isinstance(size, int)
            or isinstance(size, bool)
            or size < 0
            or not _DIGEST.fullmatch(str(digest))
        ):
            raise IntegrityError(f"malformed manifest entry {data!r}: size >= 0, sha256 as 64 hex digits")
        return cls(check_stored_path(str(path)), size, str(digest))


def document_text(doc: dict[str, Any]) -> str:
    """The canonical JSON text of a STAC document (what is stored and compared)."""
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def document_digest(doc: dict[str, Any]) -> str:
    return hashlib.sha256(document_text(doc).encode("utf-8")).hexdigest()


@dataclass
class Manifest:
    """The files, STAC documents (stored path -> JSON object) and README metadata of one version."""

    files: list[FileEntry] = field(default_factory=list)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    metadata: ReadmeMetadata = field(default_factory=ReadmeMetadata)

    def __post_init__(self) -> None:
        self.files = sorted(self.files, key=lambda e: e.path)

    def check(self, limits: Limits | None = None) -> Manifest:
        """Return the manifest if every path names one thing and it is within ``limits``, else raise
        :class:`IntegrityError`.

        Refused: a path given twice, a file at a STAC document's path, a path that is also a folder of
        another path (``a`` and ``a/b``); with ``limits``, more files plus documents than
        ``max_manifest_files``, a document longer than ``max_document_bytes`` and an item geometry of
        more than ``max_geometry_points`` positions (every search, index entry and map pays for it).
        """
        count = len(self.files) + len(self.documents)
        if limits is not None:
            if count > limits.max_manifest_files:
                raise IntegrityError(
                    f"a version holds at most {limits.max_manifest_files} files and documents, not {count} "
                    "(EOHUB_MAX_MANIFEST_FILES)"
                )
            self._check_documents(limits)
        seen: set[str] = set()
        for path in [e.path for e in self.files] + list(self.documents):
            check_stored_path(path)
            if path in seen:
                what = "a STAC document's path" if path in self.documents else "given twice"
                raise IntegrityError(f"manifest path {path!r} is {what}: every path names one file")
            seen.add(path)
        for path in seen:
            parts = path.split("/")
            for i in range(1, len(parts)):
                folder = "/".join(parts[:i])
                if folder in seen:
                    raise IntegrityError(
                        f"manifest path {folder!r} is a file and also the folder of {path!r}"
                    )
        return self

    @property
    def size(self) -> int:
        return sum(e.size for e in self.files)

    def file(self, path: str) -> FileEntry | None:
        return next((e for e in self.files if e.path == path), None)

    def digests(self) -> set[str]:
        return {e.sha256 for e in self.files}

    def entries(self) -> dict[str, str]:
        """Every path (files and documents) with the digest of its content."""
        out = {e.path: e.sha256 for e in self.files}
        out.update({path: document_digest(doc) for path, doc in self.documents.items()})
        return out

    def tasks(self) -> list[str]:
        """The ``mlm:tasks`` declared by any item, sorted."""
        tasks: set[str] = set()
        for doc in self.documents.values():
            if doc.get("type") == "Feature":
                tasks.update(str(t) for t in (doc.get("properties") or {}).get("mlm:tasks") or [])
        return sorted(tasks)

    def summary(self) -> dict[str, list[str]]:
        """What searches filter models by, from every item's MLM fields: tasks, frameworks,
        architectures and input band names (each sorted, without duplicates)."""
        found: dict[str, set[str]] = {
            "tasks": set(),
            "frameworks": set(),
            "architectures": set(),
            "bands": set(),
        }
        for doc in self.documents.values():
            if doc.get("type") != "Feature":
                continue
            props = doc.get("properties") or {}
            found["tasks"].update(str(t) for t in props.get("mlm:tasks") or [])
            for key, field_ in (("frameworks", "mlm:framework"), ("architectures", "mlm:architecture")):
                if props.get(field_):
                    found[key].add(str(props[field_]))
            inputs = props.get("mlm:input")
            for spec in inputs if isinstance(inputs, list) else [inputs] if isinstance(inputs, dict) else []:
                for band in (spec.get("bands") or []) if isinstance(spec, dict) else []:
                    name = band.get("name") if isinstance(band, dict) else band
                    if name:
                        found["bands"].add(str(name))
        return {key: sorted(values) for key, values in found.items()}

    def _check_documents(self, limits: Limits) -> None:
        for path, doc in self.documents.items():
            text = document_text(doc)
            if not finite_numbers(text):
                raise IntegrityError(f"{path}: NaN, Infinity or a number past 1e308 is not JSON")
            size = len(text.encode("utf-8"))
            if size > limits.max_document_bytes:
                raise IntegrityError(
                    f"{path}: {size} bytes, more than a STAC document may hold ({limits.max_document_bytes}: "
                    "EOHUB_MAX_DOCUMENT_BYTES)"
                )
            if positions(doc.get("geometry"), limits.max_geometry_points) > limits.max_geometry_points:
                raise IntegrityError(
                    f"{path}: its geometry has more than {limits.max_geometry_points} positions "
                    "(EOHUB_MAX_GEOMETRY_POINTS); simplify the footprint"
                )

    def check_hrefs(self) -> Manifest:
        """Return the manifest if every local href of its documents stays inside the version, else raise
        :class:`IntegrityError` naming the first that does not.

        Stored documents hold hrefs relative to themselves (ingest writes them so); an absolute path, a
        ``file:`` URL or a ``..`` that climbs out of the version names a file of whatever machine reads
        it. A hub checks this before it rates a version, so its rating never opens its own files."""
        for path, doc in self.documents.items():
            for href in local_hrefs(doc):
                if SCHEME.match(href) or href.startswith("/") or "\\" in href or "\x00" in href:
                    raise IntegrityError(f"{path}: href {href[:200]!r} is not relative to the document")
                decoded = unquote(href)
                if len(decoded) > MAX_HREF or any(len(p.encode()) > MAX_NAME for p in decoded.split("/")):
                    raise IntegrityError(f"{path}: href {href[:200]!r}... is longer than a file name may be")
                target = posixpath.normpath(posixpath.join(posixpath.dirname(path), decoded))
                if target == ".." or target.startswith("../") or target.startswith("/"):
                    raise IntegrityError(f"{path}: href {href[:200]!r} leaves the version")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": [e.to_dict() for e in self.files],
            "documents": dict(self.documents),
            "metadata": self.metadata.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        files, documents, metadata = (
            data.get("files") or [],
            data.get("documents") or {},
            data.get("metadata"),
        )
        if (
            not isinstance(files, list)
            or not isinstance(documents, dict)
            or not isinstance(metadata, dict | None)
        ):
            raise IntegrityError("malformed manifest: files is a list, documents and metadata are objects")
        if not all(isinstance(d, dict) for d in documents.values()):
            raise IntegrityError("malformed manifest: every STAC document is a JSON object")
        docs = {check_stored_path(str(p)): dict(d) for p, d in documents.items()}
        return cls(
            [FileEntry.from_dict(f) for f in data.get("files") or []],
            docs,
            ReadmeMetadata.from_dict(data.get("metadata") or {}),
        ).check()


def local_hrefs(doc: dict[str, Any]) -> list[str]:
    """Every href of a document's assets and links that names a local path (not a URL or an image)."""
    hrefs = []
    assets = doc.get("assets")
    for asset in assets.values() if isinstance(assets, dict) else []:
        if isinstance(asset, dict):
            hrefs.append(asset.get("href"))
    links = doc.get("links")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict):
            hrefs.append(link.get("href"))
    return [h for h in hrefs if isinstance(h, str) and h and not is_link(h)]


@dataclass(frozen=True)
class ManifestDiff:
    """Paths added, changed and removed from one version to the next, and whether metadata changed."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    metadata_changed: bool = False

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed or self.metadata_changed)

    def counts(self) -> dict[str, Any]:
        return {
            "added": len(self.added),
            "changed": len(self.changed),
            "removed": len(self.removed),
            "metadata": self.metadata_changed,
        }

    def summary(self) -> str:
        """``+2 ~1 -0`` style, with ``metadata`` appended when the README metadata changed."""
        text = f"+{len(self.added)} ~{len(self.changed)} -{len(self.removed)}"
        return text + " metadata" if self.metadata_changed else text


def diff(old: Manifest | None, new: Manifest) -> ManifestDiff:
    """What changed from ``old`` (None for a first version) to ``new``."""
    before = old.entries() if old else {}
    after = new.entries()
    return ManifestDiff(
        added=sorted(p for p in after if p not in before),
        changed=sorted(p for p in after if p in before and before[p] != after[p]),
        removed=sorted(p for p in before if p not in after),
        metadata_changed=old is not None and old.metadata.to_dict() != new.metadata.to_dict(),
    )
