"""README.md front matter: the Q0 metadata of a model or dataset.

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

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from eohub.errors import UsageError

REQUIRED_FIELDS = ("name", "authors", "license", "source")


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
