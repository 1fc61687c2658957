"""What quality checks return: ``QualityReport`` (a folder's level and why it is not higher) and
``RunCheck`` (what running one model told); :func:`quality_html`, a level with its reasons for notebooks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from markupsafe import Markup

Kind = Literal["model", "dataset"]
KINDS: tuple[str, ...] = ("model", "dataset")
TOP_LEVEL = {"model": 3, "dataset": 2}
LEVEL_MEANING = {
    0: "files",
    1: "a valid STAC catalog whose assets cover the files (links to URLs and container images are fine)",
    2: "MLM lints clean (models) or label / ml-aoi items without a severe finding of the dataset metrics "
    "(datasets)",
    3: "the ONNX model runs and its outputs match mlm:output",
}
"""What each level says, in the words the web page and the notebook display use."""


def quality_html(level: int, kind: str, reasons: Sequence[str], notes: Sequence[str] = ()) -> Markup:
    """A level, what it means, why it is not higher and the notes on the metadata, as notebook HTML
    (:mod:`eohub.core.html`: every reason escaped)."""
    from markupsafe import Markup

    from eohub.core.html import bullets, paragraph, quality_badge, text

    meaning = LEVEL_MEANING.get(level, "not a known level")
    parts = [paragraph(quality_badge(level) + text(f" {meaning}."))]
    if reasons:
        parts += [paragraph("Why it is not higher:"), bullets(reasons, what="reasons")]
    elif kind in TOP_LEVEL and level >= TOP_LEVEL[kind]:
        parts.append(paragraph(f"This is the highest level a {kind} can reach."))
    if notes:
        parts += [
            paragraph("Notes on the metadata (they do not lower the level):"),
            bullets(notes, what="notes"),
        ]
    return Markup("").join(parts)


@dataclass
class QualityReport:
    """The level a folder reaches (0..3), why it is not higher, and what was looked at.

    ``notes`` say what the metadata lacks (no authors, no license...); they never lower the level."""

    folder: str
    kind: str
    level: int
    reasons: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"Q{self.level}"

    def _repr_html_(self) -> str:
        from eohub.core.html import code, frame, heading, text

        title = heading(text(f"Quality of the {self.kind} at ") + code(self.folder))
        return frame(title, quality_html(self.level, self.kind, self.reasons, self.notes))

    @property
    def top(self) -> bool:
        """True when the folder is at the highest level its kind has (Q3 models, Q2 datasets)."""
        return self.level == TOP_LEVEL[self.kind]

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "kind": self.kind,
            "level": self.level,
            "label": self.label,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QualityReport:
        return cls(
            data["folder"],
            data["kind"],
            int(data["level"]),
            list(data["reasons"]),
            dict(data["details"]),
            [str(n) for n in data.get("notes") or []],
        )


@dataclass
class RunCheck:
    """What running one model told: problems (empty when it matches its metadata) and shapes.

    ``unverified`` is set when the model could not be checked at all: ``(cause, detail)``, e.g.
    ``("input too large", "input 'x' [1, 3, 30000, 30000] float32 takes 10,300 MiB, ...")``."""

    problems: list[str] = field(default_factory=list)
    input_shapes: dict[str, list[int]] = field(default_factory=dict)
    output_shapes: dict[str, list[int]] = field(default_factory=dict)
    unverified: tuple[str, str] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and self.unverified is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunCheck:
        unverified = data.get("unverified")
        return cls(
            [str(p) for p in data.get("problems") or []],
            {str(k): [int(n) for n in v] for k, v in (data.get("input_shapes") or {}).items()},
            {str(k): [int(n) for n in v] for k, v in (data.get("output_shapes") or {}).items()},
            (str(unverified[0]), str(unverified[1])) if unverified else None,
        )
