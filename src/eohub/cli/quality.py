"""``eohub quality FOLDER``: the Q0..Q3 level of a model or dataset folder and why it is not higher."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from eohub.cli.common import OutputFormat, echo, print_json, user_errors


class KindOption(StrEnum):
    """What the folder holds."""

    model = "model"
    dataset = "dataset"


def quality(
    folder: Annotated[
        Path, typer.Argument(help="A model or dataset folder (README.md, catalog.json, files).")
    ],
    kind: Annotated[KindOption, typer.Option("--kind", help="model or dataset.")] = KindOption.model,
    format: Annotated[OutputFormat, typer.Option("--format", help="text or json.")] = OutputFormat.text,
) -> None:
    """Assess a folder's quality level (Q0 files, Q1 STAC, Q2 MLM/label metadata, Q3 model runs)."""
    from eohub.quality import assess_quality  # the validation stack loads only for this command

    with user_errors():
        report = assess_quality(folder, kind.value)
    if format is OutputFormat.json:
        print_json(report.to_dict())
        return
    echo(f"{folder}: {report.label} ({report.kind})")
    for reason in report.reasons:
        echo(f"  {reason}")
    for note in report.notes:
        echo(f"  note: {note}")
