"""Report objects shared by validate, lint and quality: findings that serialize themselves."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How bad a finding is: errors make a document unusable, warnings are likely mistakes."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One problem in one document, located by a JSON pointer (RFC 6901)."""

    code: str
    severity: Severity
    file: str
    pointer: str
    message: str
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(**{**data, "severity": Severity(data["severity"])})

    def line(self) -> str:
        """The one-line form the CLI prints: ``file: pointer: [code] message (hint)``."""
        text = f"{self.file}: {self.pointer or '/'}: {self.severity.value} {self.code}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


@dataclass
class Report:
    """The findings of one run over one or more documents."""

    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def ok(self) -> bool:
        """True when no finding is an error."""
        return not self.errors

    def extend(self, other: Report) -> None:
        self.findings.extend(other.findings)
        self.files.extend(f for f in other.files if f not in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files": list(self.files),
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(findings=[Finding.from_dict(f) for f in data["findings"]], files=list(data["files"]))


def pointer(*parts: str | int) -> str:
    """Build a JSON pointer from path parts, escaping ``~`` and ``/``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
