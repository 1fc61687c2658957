"""Training links in the database: resolved and stored at a model version's commit, read per caller.

:func:`link_version` runs inside the commit's transaction: the references of ``--trained-on`` and of
the MLM items' links (:mod:`eohub.repository.links`) are resolved as the committer sees the hub, and
each dataset version found is stored once (``training_links``). A reference to a dataset that does not
exist, has no such version, or that the committer cannot read gets one and the same note, so a note never
tells a private dataset from a missing one; nothing fails. At most ``limit`` references are read.

:func:`links_of` and :func:`trained_models` read both directions for one caller: a training dataset the
caller cannot see is a :class:`~eohub.repository.links.TrainingLink` marked private, without its name;
models the caller cannot see are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from eohub.core.names import name_key
from eohub.db.tables import RepositoryRow, TrainingLinkRow, VersionRow
from eohub.repository.links import TRAINING_RELS, Reference, TrainedModel, TrainingLink, parse_reference

Visible = Callable[[RepositoryRow], bool]
SHOWN_CHARS = 120
MAX_NOTES = 20
"""Notes on references not linked, one each; past it, one note counts the rest."""
NOT_A_DATASET = "not a dataset of this hub (datasets/NAME@vN); not linked"
NOT_FOUND = "no dataset version you can read has this name; not linked"
"""The one note for a dataset that does not exist, has no such version, or the committer cannot read."""


def references(
    documents: dict[str, Any], trained_on: Sequence[str], hub_urls: tuple[str, ...]
) -> Iterable[tuple[str, str, Reference | None]]:
    """``(source, href, reference)`` of ``--trained-on`` values, then of the items' training links that
    look like this hub's (``reference`` ``None``: it names nothing here)."""
    for value in trained_on:
        yield "trained-on", value, parse_reference(value, hub_urls)
    for _, document in sorted(documents.items()):
        if not isinstance(document, dict) or document.get("type") != "Feature":
            continue
        links = document.get("links")
        for link in links if isinstance(links, list) else ():
            if isinstance(link, dict) and link.get("rel") in TRAINING_RELS:
                reference = parse_reference(link.get("href"), hub_urls)
                if reference is not None:
                    yield "item link", str(link["href"]), reference


def _shown(href: str) -> str:
    text = "".join(c if c.isprintable() else "?" for c in href)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def link_version(
    session: Session,
    version_id: int,
    documents: dict[str, Any],
    trained_on: Sequence[str],
    visible: Visible,
    hub_urls: tuple[str, ...] = (),
    limit: int = 100,
) -> list[str]:
    """Resolve and store the training links of a model version (see the module docstring); the notes."""
    notes: list[str] = []
    wanted: list[tuple[str, str, Reference]] = []
    extra = 0
    rows: dict[tuple[int, int], str] = {}
    for source, href, reference in references(documents, trained_on, hub_urls):
        if reference is None:
            notes.append(f"trained on {_shown(href)!r}: {NOT_A_DATASET}")
        elif len(wanted) < limit:
            wanted.append((source, href, reference))
        else:
            extra += 1
    if not wanted:
        return _counted(notes, extra, limit)
    keys = {name_key(r.name) for _, _, r in wanted}
    repos = {
        row.name_key: row
        for row in session.scalars(
            select(RepositoryRow).where(RepositoryRow.kind == "dataset", RepositoryRow.name_key.in_(keys))
        )
        if visible(row)
    }
    ids = [row.id for row in repos.values()]
    numbers: dict[int, set[int]] = {}
    for repository_id, number in session.execute(
        select(VersionRow.repository_id, VersionRow.number).where(VersionRow.repository_id.in_(ids))
    ):
        numbers.setdefault(repository_id, set()).add(number)
    for source, href, reference in wanted:
        repo = repos.get(name_key(reference.name))
        have = numbers.get(repo.id, set()) if repo is not None else set()
        number = reference.version if reference.version is not None else max(have, default=None)
        if repo is None or number not in have:  # missing, private, or no such version: one note for all
            notes.append(f"trained on {_shown(href)!r}: {NOT_FOUND}")
            continue
        rows.setdefault((repo.id, number), source)
    if rows:
        session.execute(
            insert(TrainingLinkRow),
            [
                {"version_id": version_id, "dataset_id": d, "dataset_number": n, "source": s}
                for (d, n), s in rows.items()
            ],
        )
    return _counted(notes, extra, limit)


def _counted(notes: list[str], extra: int, limit: int) -> list[str]:
    """At most :data:`MAX_NOTES` notes, then what was left out."""
    if len(notes) > MAX_NOTES:
        notes = notes[:MAX_NOTES] + [f"{len(notes) - MAX_NOTES} more training reference(s) not linked"]
    if extra:
        notes.append(f"{extra} more training reference(s) not read: a version names at most {limit}")
    return notes


def links_of(session: Session, version_ids: Sequence[int], visible: Visible) -> dict[int, list[TrainingLink]]:
    """The training links of model versions as the caller sees them (links to deleted datasets dropped)."""
    out: dict[int, list[TrainingLink]] = {}
    if not version_ids:
        return out
    rows = session.execute(
        select(TrainingLinkRow, RepositoryRow, VersionRow.quality_level)
        .join(RepositoryRow, RepositoryRow.id == TrainingLinkRow.dataset_id)
        .outerjoin(
            VersionRow,
            (VersionRow.repository_id == TrainingLinkRow.dataset_id)
            & (VersionRow.number == TrainingLinkRow.dataset_number),
        )
        .where(TrainingLinkRow.version_id.in_(set(version_ids)))
        .order_by(TrainingLinkRow.version_id, RepositoryRow.name_key, TrainingLinkRow.dataset_number)
    )
    for link, repo, level in rows:
        shown = (
            TrainingLink(repo.name, link.dataset_number, level)
            if visible(repo)
            else TrainingLink(None, None, None, private=True)
        )
        out.setdefault(link.version_id, []).append(shown)
    for key, links in out.items():  # private ones last, and only once: they are not told apart
        named = [link for link in links if not link.private]
        out[key] = named + ([TrainingLink(None, None, None, True)] if len(named) < len(links) else [])
    return out


def trained_models(
    session: Session, dataset_id: int, visible: Visible, limit: int = 1000
) -> list[TrainedModel]:
    """The model versions the caller can see that were trained on a version of the dataset."""
    rows = session.execute(
        select(RepositoryRow, VersionRow.number, VersionRow.quality_level, TrainingLinkRow.dataset_number)
        .join(VersionRow, VersionRow.id == TrainingLinkRow.version_id)
        .join(RepositoryRow, RepositoryRow.id == VersionRow.repository_id)
        .where(TrainingLinkRow.dataset_id == dataset_id)
        .order_by(RepositoryRow.name_key, VersionRow.number.desc(), TrainingLinkRow.dataset_number)
    )
    out = []
    for repo, number, level, dataset_number in rows:
        if visible(repo):
            out.append(TrainedModel(repo.name, number, dataset_number, level))
            if len(out) >= limit:
                break
    return out
