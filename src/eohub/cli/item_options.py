"""The options that say what an ONNX graph cannot (tasks, bands, classes, scaling), as ``eohub mlm init``
spells them: one definition for every command that builds an MLM item (``eohub models init`` so far).

Lists are comma-separated on the command line; :func:`item_options` turns them into the keyword arguments
of :func:`eohub.mlm.build.build_item`, which checks the names against the graph.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from eohub.errors import UsageError

TasksOption = Annotated[str | None, typer.Option(help="Comma list of MLM tasks, e.g. classification.")]
ArchitectureOption = Annotated[str | None, typer.Option(help="mlm:architecture, e.g. ResNet-18.")]
BandsOption = Annotated[str | None, typer.Option(help="Comma list of input band names, in order.")]
ClassesOption = Annotated[str | None, typer.Option(help="Comma list of class names, in class-index order.")]
MeanOption = Annotated[str | None, typer.Option(help="Per-band means for z-score scaling (with --std).")]
StdOption = Annotated[str | None, typer.Option(help="Per-band standard deviations (with --mean).")]
MinOption = Annotated[str | None, typer.Option("--min", help="Per-band minimums for min-max scaling.")]
MaxOption = Annotated[str | None, typer.Option("--max", help="Per-band maximums (with --min).")]


def comma_list(value: str | None) -> list[str] | None:
    """A comma-separated option as a list (``None`` when not given); the API checks the names."""
    return None if value is None else [v.strip() for v in value.split(",")]


def comma_numbers(value: str | None, option: str) -> list[float] | None:
    """Comma-separated numbers; :class:`UsageError` naming ``option`` for anything else."""
    if value is None:
        return None
    try:
        return [float(v) for v in value.split(",")]
    except ValueError:
        raise UsageError(f"{option} takes comma-separated numbers, got {value!r}") from None


def item_options(
    tasks: str | None,
    architecture: str | None,
    bands: str | None,
    classes: str | None,
    mean: str | None,
    std: str | None,
    minimum: str | None,
    maximum: str | None,
) -> dict[str, Any]:
    """The ``build_item`` keyword arguments of the options above, as given on the command line."""
    return {
        "tasks": comma_list(tasks),
        "architecture": architecture,
        "bands": comma_list(bands),
        "classes": comma_list(classes),
        "mean": comma_numbers(mean, "--mean"),
        "std": comma_numbers(std, "--std"),
        "minimum": comma_numbers(minimum, "--min"),
        "maximum": comma_numbers(maximum, "--max"),
    }
