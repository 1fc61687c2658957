"""How repositories, versions and ingest results show themselves in a notebook (``_repr_html_``).

A repository shows as on its web page: name, kind, quality, visibility, metadata, the latest version with
its quality and the reasons it is not higher, the notes on what the metadata lacks, and the model card of
each MLM item (:mod:`eohub.mlm.card_html`). :class:`RepositoryView` is what ``retrieve_model(name)``
returns: the tutorial's dict, with that display. Every value is escaped (:mod:`eohub.core.html`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from eohub.core.html import badge, code, facts, frame, heading, paragraph, quality_badge, text
from eohub.core.units import human_size
from eohub.mlm.card import ModelCard
from eohub.mlm.card_html import card_section
from eohub.quality.report import quality_html

if TYPE_CHECKING:
    from eohub.repository.records import IngestResult, RepositoryInfo, VersionInfo

MAX_DESCRIPTION = 600
"""Characters of a README body shown (it is Markdown, shown as text; the web page renders it)."""


def version_section(version: VersionInfo, kind: str = "", notes: Sequence[str] = ()) -> Markup:
    """A version's facts and its quality with the reasons it is not higher."""
    files = f"{version.files_text}, {human_size(version.size)}"  # as the CLI and the web page say it
    rows = [
        (
            "Created",
            f"{version.created:%Y-%m-%d %H:%M} UTC" + (f" by {version.author}" if version.author else ""),
        ),
        ("Files", files),
        ("Tasks", version.tasks),
    ]
    return (
        heading(f"Version {version.number}", 5)
        + facts(rows)
        + quality_html(version.quality_level, kind, version.quality_reasons, notes)
    )


def repository_section(
    info: RepositoryInfo, cards: Sequence[ModelCard] = (), notes: Sequence[str] = ()
) -> Markup:
    """A repository as its web page shows it (see the module docstring)."""
    latest = info.latest
    badges = [badge(info.kind), quality_badge(latest.quality_level) if latest else badge("no version")]
    badges += [badge("private", "#8b1c1c")] if info.private else []
    badges += [badge(f"v{latest.number}", "#333")] if latest else []
    meta = info.metadata
    parts = [heading(info.name, 3), paragraph(Markup(" ").join(badges))]
    if meta.description:
        parts.append(paragraph(text(meta.description, MAX_DESCRIPTION)))
    parts.append(
        facts(
            [
                ("Owner", info.owner),
                ("Authors", meta.authors),
                ("License", meta.license),
                ("Source", meta.source),
                ("Tags", meta.tags),
                ("Updated", f"{info.updated:%Y-%m-%d %H:%M} UTC"),
            ]
        )
    )
    if latest:
        parts.append(version_section(latest, info.kind, notes))
    if cards:
        parts.append(heading("Model card", 4))
        parts += [card_section(c) for c in cards]
    elif info.kind == "model" and latest:
        parts.append(paragraph("This version has no STAC item with MLM metadata, so there is no model card."))
    return Markup("").join(parts)


def repository_html(info: RepositoryInfo, cards: Sequence[ModelCard] = (), notes: Sequence[str] = ()) -> str:
    return frame(repository_section(info, cards, notes))


def version_html(version: VersionInfo) -> str:
    return frame(version_section(version))


def ingest_html(result: IngestResult) -> str:
    """What an ingest did (the version made, or "no changes") and the quality of the latest version."""
    if result.version is None:
        said = f"No changes: {result.name} is still version {result.latest}."
    else:
        said = f"{'Created' if result.created else 'Updated'} {result.name}: version {result.version}."
    parts = [paragraph(said)]
    if result.outside:
        parts.append(paragraph(text("Read from outside the folder: ") + code(", ".join(result.outside))))
    quality = result.quality
    return frame(*parts, quality_html(quality.level, quality.kind, quality.reasons, result.notes))


class RepositoryView(dict[str, Any]):
    """A retrieved repository: the dict the tutorial's ``retrieve_model`` returns (``["metadata"]``,
    ``["latest"]``...: :meth:`RepositoryInfo.to_dict`), which a notebook shows as the web page's card.

    ``info`` is the :class:`RepositoryInfo`; ``cards`` the model cards of the latest version (models only);
    ``notes`` what its metadata lacks."""

    def __init__(
        self, info: RepositoryInfo, cards: Sequence[ModelCard] = (), notes: Sequence[str] = ()
    ) -> None:
        super().__init__(info.to_dict())
        self.info = info
        self.cards = list(cards)
        self.notes = list(notes)

    def _repr_html_(self) -> str:
        return repository_html(self.info, self.cards, self.notes)
