"""Repository-level search: one text box plus filters, over the repositories a caller can see.

A hub holds hundreds of repositories, not millions, so :func:`search` lists every visible one with
:meth:`Repository.list` (private repositories of others never appear: the repository hides them) and
filters in memory:

- ``text``: every word must occur (ignoring case) in the name, the README description or a tag;
- ``kind``, ``owner``; ``task``, ``framework`` and ``bands`` against the latest version's summary
  (``VersionInfo.summary``: tasks, frameworks, input band names, recorded at commit);
- ``min_quality``: the latest version is at least Q\\ *n*.

Results are sorted (last update first, or by name) and cut into pages. :class:`SearchPage` also holds the
facets (every task, framework and band among the visible repositories) for the filters' choices.
Item-level search over STAC documents is the STAC API's job, not this module's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from eohub.core.names import KINDS, Kind
from eohub.repository.base import Repository, RepositoryInfo

Sort = Literal["updated", "name"]
SORTS: tuple[str, ...] = ("updated", "name")
FACETS: tuple[str, ...] = ("tasks", "frameworks", "bands")
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class SearchQuery:
    """What a search asks for; empty fields filter nothing."""

    text: str = ""
    kind: Kind | None = None
    task: str = ""
    framework: str = ""
    min_quality: int | None = None
    bands: tuple[str, ...] = ()
    owner: str | None = None
    sort: Sort = "updated"
    page: int = 1
    per_page: int = 20

    @property
    def words(self) -> list[str]:
        return [w for w in self.text.lower().split() if w]

    def filters_versions(self) -> bool:
        """True when a filter needs a latest version (repositories without one never match it)."""
        return bool(self.task or self.framework or self.bands or self.min_quality is not None)


@dataclass
class SearchPage:
    """One page of results, how many matched in all, and the facets of every visible repository."""

    results: list[RepositoryInfo]
    total: int
    page: int
    per_page: int
    facets: dict[str, list[str]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def summary_values(info: RepositoryInfo, key: str) -> list[str]:
    """``tasks``, ``frameworks``, ``architectures`` or ``bands`` of the latest version (empty without one)."""
    if info.latest is None:
        return []
    values = info.latest.summary.get(key)
    if not values and key == "tasks":
        values = info.latest.tasks
    return list(values or [])


def _folded(values: Iterable[str]) -> set[str]:
    return {v.casefold() for v in values}


def matches(info: RepositoryInfo, query: SearchQuery) -> bool:
    """Whether one repository passes every filter of ``query``."""
    if query.kind and info.kind != query.kind:
        return False
    if query.owner is not None and info.owner != query.owner:
        return False
    meta = info.metadata
    haystack = " ".join([info.name, meta.name, meta.description, *meta.tags]).lower()
    if any(word not in haystack for word in query.words):
        return False
    if query.filters_versions() and info.latest is None:
        return False
    if query.task and query.task.casefold() not in _folded(summary_values(info, "tasks")):
        return False
    if query.framework and query.framework.casefold() not in _folded(summary_values(info, "frameworks")):
        return False
    if query.bands and not _folded(query.bands) <= _folded(summary_values(info, "bands")):
        return False
    level = info.latest.quality_level if info.latest else -1
    return query.min_quality is None or level >= query.min_quality


def facets(infos: Iterable[RepositoryInfo]) -> dict[str, list[str]]:
    """Every task, framework and band name among ``infos`` (once, ignoring case), sorted, for the filters."""
    found: dict[str, dict[str, str]] = {key: {} for key in FACETS}  # folded -> first spelling seen
    for info in infos:
        for key in FACETS:
            for value in summary_values(info, key):
                found[key].setdefault(value.casefold(), value)
    return {key: sorted(values.values(), key=str.casefold) for key, values in found.items()}


def _ordered(infos: list[RepositoryInfo], sort: Sort) -> list[RepositoryInfo]:
    by_name = sorted(infos, key=lambda i: (i.name.casefold(), i.kind))
    if sort == "name":
        return by_name
    return sorted(by_name, key=lambda i: i.updated, reverse=True)  # stable: ties stay by name


def search(repository: Repository, query: SearchQuery) -> SearchPage:
    """The page ``query.page`` of the visible repositories matching ``query`` (see the module docstring)."""
    kinds: tuple[Kind, ...] = (query.kind,) if query.kind else KINDS
    visible = [info for kind in kinds for info in repository.list(kind)]
    found = _ordered([info for info in visible if matches(info, query)], query.sort)
    per_page = min(max(1, query.per_page), MAX_PER_PAGE)
    pages = max(1, math.ceil(len(found) / per_page))
    page = min(max(1, query.page), pages)
    start = (page - 1) * per_page
    return SearchPage(found[start : start + per_page], len(found), page, per_page, facets(visible))
