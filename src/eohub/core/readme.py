"""A repository's metadata (name, authors, license, source, tags, description) and where it comes from.

Two sources, neither required: README.md front matter (below; its body is the description), and the STAC
catalog (:func:`stac_metadata`: the root catalog's id, description or title, licenses, providers as
authors, keywords, ``cite-as``/``about`` links, read from the root, then collections, then items). The
README wins; the catalog fills what it leaves empty (:meth:`ReadmeMetadata.filled`). What is still
missing is a note (:func:`metadata_notes`), shown with the version; it never lowers the quality level,
which is about content.

```
---
name: EuroSAT-RGB
authors: [Jane Doe]
license: MIT
source: https://example.org/eurosat
tags: [classification, sentinel-2]
---
The body is the description, in Markdown.
```
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from eohub.errors import UsageError

REQUIRED_FIELDS = ("name", "authors", "license", "source")
NOTED_FIELDS = ("name", "description", "license", "authors", "source")
AUTHOR_ROLES = frozenset({"producer", "licensor", "processor"})
SOURCE_RELS = ("cite-as", "about")
MAX_FROM_STAC = 50
"""At most this many authors and tags are taken from a catalog (a dataset's items may name thousands)."""
WHERE = {
    "name": "`name` in README.md front matter, an id on the root catalog, or --name",
    "description": "a README.md body, or a description on the root catalog",
    "license": "`license` in README.md front matter, or a license on the STAC catalog or collection",
    "authors": "`authors` in README.md front matter, or providers on the STAC catalog or collection",
    "source": "`source` in README.md front matter, or a cite-as link on the STAC catalog or collection",
}


@dataclass
class ReadmeMetadata:
    """What a README's front matter says about a repository, plus its body as the description."""

    name: str = ""
    authors: list[str] = field(default_factory=list)
    license: str = ""
    source: str = ""
    thumbnail: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str = ""

    def missing(self) -> list[str]:
        """The required front-matter fields that are empty."""
        return [name for name in REQUIRED_FIELDS if not getattr(self, name)]

    def filled(self, other: ReadmeMetadata) -> ReadmeMetadata:
        """This metadata, with every empty field taken from ``other``."""
        values = {f.name: getattr(self, f.name) or getattr(other, f.name) for f in fields(self)}
        return ReadmeMetadata(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReadmeMetadata:
        """Read stored or received metadata; values of the wrong type are coerced (lists, strings)."""
        known: dict[str, Any] = {}
        for key in cls.__dataclass_fields__:
            value = data.get(key)
            if key in ("authors", "tags"):
                known[key] = _as_list(value)
            elif key == "thumbnail":
                known[key] = None if value is None else str(value)
            elif value is not None:
                known[key] = str(value)
        return cls(**known)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def parse_readme_text(text: str, label: str = "README.md") -> ReadmeMetadata:
    """Parse README text; a file without front matter gives empty fields and its text as description."""
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{label}: front matter is not valid YAML ({exc})") from exc
    meta = post.metadata
    return ReadmeMetadata(
        name=str(meta.get("name") or ""),
        authors=_as_list(meta.get("authors")),
        license=str(meta.get("license") or ""),
        source=str(meta.get("source") or ""),
        thumbnail=str(meta["thumbnail"]) if meta.get("thumbnail") else None,
        tags=_as_list(meta.get("tags")),
        description=post.content.strip(),
    )


def parse_readme(path: str | Path) -> ReadmeMetadata:
    """Parse a README.md file (see :func:`parse_readme_text`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read README ({exc})") from exc
    return parse_readme_text(text, str(path))


def render_readme(meta: ReadmeMetadata) -> str:
    """Write metadata back as a README with YAML front matter."""
    head = {k: v for k, v in meta.to_dict().items() if k != "description" and v not in (None, "", [])}
    return frontmatter.dumps(frontmatter.Post(meta.description, **head)) + "\n"


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))[:MAX_FROM_STAC]


def stac_metadata(documents: Iterable[dict[str, Any]]) -> ReadmeMetadata:
    """What a STAC catalog says of its repository; ``documents`` start with the root catalog.

    Fields are looked for in the root, then the collections, then the items (their ``properties``), and
    the first value found is kept; authors are the providers that produce, license or process the data
    (not mere hosts), keywords become tags."""
    docs = [d for d in documents if isinstance(d, dict)]
    if not docs:
        return ReadmeMetadata()
    root = docs[0]
    ordered = [root] + [d for d in docs[1:] if d.get("type") == "Collection"]
    ordered += [d for d in docs[1:] if d.get("type") == "Feature"]
    views = [_fields(d) for d in ordered]
    authors = [
        _text(p.get("name"))
        for v in views
        for p in _dicts(v.get("providers"))
        if not isinstance(p.get("roles"), list) or AUTHOR_ROLES & {str(r) for r in p["roles"]}
    ]
    links = [(link, _text(link.get("href"))) for d in ordered for link in _dicts(d.get("links"))]
    sources = [h for rel in SOURCE_RELS for link, h in links if link.get("rel") == rel]
    keywords = [
        _text(k) for v in views for k in (v.get("keywords") if isinstance(v.get("keywords"), list) else [])
    ]
    return ReadmeMetadata(
        name=_text(root.get("id")),
        authors=_unique(authors),
        license=next((lic for v in views if (lic := _text(v.get("license")))), ""),
        source=next((h for h in sources if h.lower().startswith(("http://", "https://"))), ""),
        tags=_unique(keywords),
        description=_text(root.get("description"))
        or _text(root.get("title"))
        or next((t for v in views[1:] if (t := _text(v.get("description")))), ""),
    )


def _fields(doc: dict[str, Any]) -> dict[str, Any]:
    """Where a document keeps its descriptive fields: an item in ``properties``, others at the top."""
    props = doc.get("properties")
    return props if doc.get("type") == "Feature" and isinstance(props, dict) else doc


def metadata_notes(meta: ReadmeMetadata) -> list[str]:
    """One note per field the metadata still lacks, saying where it may be given."""
    return [f"no {name} (set {WHERE[name]})" for name in NOTED_FIELDS if not getattr(meta, name)]
