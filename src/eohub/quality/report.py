"""What quality checks return: ``QualityReport`` (a folder's level and why it is not higher) and
``RunCheck`` (what running one model told)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["model", "dataset"]
KINDS: tuple[str, ...] = ("model", "dataset")
TOP_LEVEL = {"model": 3, "dataset": 2}


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
