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
    near_iou: Annotated[
        float | None,
        typer.Option(
            "--near-iou", help="Datasets: footprints overlapping this much (IoU) are near duplicates (0.9)."
        ),
    ] = None,
    leakage_distance: Annotated[
        float | None,
        typer.Option("--leakage-distance", help="Datasets: items of different splits this close (m) leak."),
    ] = None,
) -> None:
    """Assess a folder's quality level (Q0 files, Q1 STAC, Q2 MLM/label metadata, Q3 model runs); for a
    dataset, its metrics too (class balance, duplicates, split leakage, label validity)."""
    from dataclasses import replace

    from eohub.quality import assess_quality  # the validation stack loads only for this command
    from eohub.quality.metrics import DatasetMetrics, MetricSettings
    from eohub.quality.metrics.text import metrics_lines

    with user_errors():
        settings = MetricSettings.from_environment()
        changed = {"near_iou": near_iou, "leakage_distance_m": leakage_distance}
        settings = replace(settings, **{k: v for k, v in changed.items() if v is not None})
        report = assess_quality(folder, kind.value, settings=settings)
    if format is OutputFormat.json:
        print_json(report.to_dict())
        return
    echo(f"{folder}: {report.label} ({report.kind})")
    for reason in report.reasons:
        echo(f"  {reason}")
    for note in report.notes:
        echo(f"  note: {note}")
    if isinstance(report.details.get("metrics"), dict):
        echo("\n".join(metrics_lines(DatasetMetrics.from_dict(report.details["metrics"]))))
