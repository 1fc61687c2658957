"""Training links: which dataset versions trained a model version, as references and as the hub shows them.

A model names its training data in two ways: links of its MLM items (``rel`` ``derived_from``,
``training-data`` or ``via``, as the MLM examples publish them, whose ``href`` points at a dataset of this
hub) and ``--trained-on datasets/NAME@vN`` at ingest. :func:`parse_reference` reads one such reference:

- ``datasets/NAME@vN``, ``datasets/NAME`` (the latest version at commit), ``datasets/NAME/versions/N``;
- a URL of this hub (its origin is one of ``hub_urls``) or a path on it: the web page
  ``/datasets/NAME[/versions/N]``, the API ``/api/datasets/NAME[/versions/N[/…]]``, the STAC API
  ``/stac/collections/datasets.NAME[/items/ID][?version=N]``.

Anything else (another hub, a Sentinel-2 collection, a path-like name) is not a reference to this hub.
This module holds no database code: :mod:`eohub.repository.training` resolves and stores the links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from eohub.core.names import check_name
from eohub.errors import EohubError

TRAINING_RELS = frozenset({"derived_from", "training-data", "via"})
MAX_HREF = 2048
"""A reference longer than this is not read."""
NAME = r"[A-Za-z0-9-]{3,64}"
_SHORT = re.compile(rf"^datasets/(?P<name>{NAME})(?:@v?(?P<at>\d{{1,9}})|/versions/(?P<num>\d{{1,9}}))?/?$")
_PATHS = (
    re.compile(rf"^/(?:api/)?datasets/(?P<name>{NAME})(?:/versions/(?P<num>\d{{1,9}})(?:/.*)?)?/?$"),
    re.compile(rf"^/stac/collections/datasets\.(?P<name>{NAME})(?:/items/[^/]+)?/?$"),
)


@dataclass(frozen=True)
class Reference:
    """A dataset of this hub, at a version (``None``: the latest at commit)."""

    name: str
    version: int | None = None

    def __str__(self) -> str:
        return f"datasets/{self.name}" + (f"@v{self.version}" if self.version else "")


def _checked(name: str, number: str | None) -> Reference | None:
    try:
        check_name(name)
    except EohubError:
        return None
    version = int(number) if number else None
    return Reference(name, version) if version != 0 else None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def parse_reference(href: Any, hub_urls: tuple[str, ...] = ()) -> Reference | None:
    """The dataset ``href`` names on this hub (see the module docstring), else ``None``."""
    if not isinstance(href, str) or not href or len(href) > MAX_HREF:
        return None
    href = href.strip()
    if match := _SHORT.match(href):
        return _checked(match["name"], match["at"] or match["num"])
    try:
        parts = urlsplit(href)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        here = [(_origin(u), urlsplit(u).path.rstrip("/")) for u in hub_urls]
        base = next((p for o, p in here if o == (parts.scheme.lower(), parts.netloc.lower())), None)
        if base is None or not parts.path.startswith(base + "/"):
            return None  # another host: not a dataset of this hub
        path = parts.path[len(base) :]
    elif href.startswith("/"):
        path = parts.path
    else:
        return None
    for pattern in _PATHS:
        if match := pattern.match(path):
            number = match.groupdict().get("num")
            if number is None:
                asked = (parse_qs(parts.query).get("version") or [""])[0]
                number = asked if asked.isdigit() and len(asked) < 10 else None
            return _checked(match["name"], number)
    return None


def check_trained_on(values: list[str] | tuple[str, ...]) -> list[str]:
    """``--trained-on`` values as a user typed them: each must be ``datasets/NAME[@vN]`` (a ValueError
    says which is not)."""
    for value in values:
        if _SHORT.match(value.strip()) is None or parse_reference(value) is None:
            raise ValueError(f"--trained-on {value[:80]!r}: expected datasets/NAME or datasets/NAME@vN")
    return [v.strip() for v in values]


@dataclass(frozen=True)
class TrainingLink:
    """A dataset version that trained a model version, as one caller may see it: a dataset the caller
    cannot read is ``private`` and has no name, version or quality."""

    dataset: str | None
    version: int | None
    quality_level: int | None
    private: bool = False

    @property
    def quality(self) -> str | None:
        return None if self.quality_level is None else f"Q{self.quality_level}"

    @property
    def label(self) -> str:
        return "private dataset" if self.private else f"datasets/{self.dataset}@v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "version": self.version,
            "quality": self.quality,
            "quality_level": self.quality_level,
            "private": self.private,
        }

    @classmethod
    def from_dict(cls, data: Any) -> TrainingLink:
        """A link as a hub sends it, checked (a ValueError for anything else)."""
        if not isinstance(data, dict):
            raise ValueError("a training link is an object")
        if data.get("private") is True:
            return cls(None, None, None, True)
        name, version, level = data.get("dataset"), data.get("version"), data.get("quality_level")
        if not isinstance(name, str) or _checked(name, None) is None:
            raise ValueError(f"bad training dataset name {str(name)[:40]!r}")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError("a training link's version is a whole number")
        if level is not None and (isinstance(level, bool) or not isinstance(level, int)):
            raise ValueError("a training link's quality level is a whole number")
        return cls(name, version, level, False)


@dataclass(frozen=True)
class TrainedModel:
    """A model version trained on a version of a dataset (the dataset's side of a training link)."""

    model: str
    version: int
    dataset_version: int
    quality_level: int

    @property
    def quality(self) -> str:
        return f"Q{self.quality_level}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "dataset_version": self.dataset_version,
            "quality": self.quality,
            "quality_level": self.quality_level,
        }

    @classmethod
    def from_dict(cls, data: Any) -> TrainedModel:
        if not isinstance(data, dict):
            raise ValueError("a trained model is an object")
        name = data.get("model")
        if not isinstance(name, str) or _checked(name, None) is None:
            raise ValueError(f"bad model name {str(name)[:40]!r}")
        numbers = [data.get(k) for k in ("version", "dataset_version", "quality_level")]
        if any(isinstance(n, bool) or not isinstance(n, int) for n in numbers):
            raise ValueError("a trained model's versions and quality level are whole numbers")
        return cls(name, *numbers)  # type: ignore[arg-type]
