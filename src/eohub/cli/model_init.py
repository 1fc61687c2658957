"""``eohub models init FOLDER --from MODEL.onnx``: an ONNX file to a model folder ready to publish."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eohub.cli.common import ForceOption, echo, overwriting, user_errors
from eohub.cli.item_options import (
    ArchitectureOption,
    BandsOption,
    ClassesOption,
    MaxOption,
    MeanOption,
    MinOption,
    StdOption,
    TasksOption,
    comma_list,
    item_options,
)
from eohub.errors import InvalidStacError

# The command imports pystac and onnx only when it runs: the command line starts without them.


def init(
    folder: Annotated[Path, typer.Argument(help="The model folder to write (created if missing).")],
    model: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="The ONNX model: copied into FOLDER, or used where it is when it is inside FOLDER "
            "(default: the one .onnx file at FOLDER's top).",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help="The name on the hub (default: README.md's with --overwrite, else the folder's)."),
    ] = None,
    license: Annotated[
        str | None,
        typer.Option(
            help="SPDX licence identifier, e.g. MIT or CC-BY-4.0 (required unless README.md has one)."
        ),
    ] = None,
    authors: Annotated[str | None, typer.Option(help="Comma list of authors.")] = None,
    source: Annotated[str | None, typer.Option(help="Where the model comes from: a URL, a paper.")] = None,
    description: Annotated[
        str | None, typer.Option(help="What the model does, in Markdown (default: what the graph says).")
    ] = None,
    tags: Annotated[str | None, typer.Option(help="Comma list of tags (default: the tasks).")] = None,
    tasks: TasksOption = None,
    architecture: ArchitectureOption = None,
    bands: BandsOption = None,
    classes: ClassesOption = None,
    mean: MeanOption = None,
    std: StdOption = None,
    minimum: MinOption = None,
    maximum: MaxOption = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", help="Replace the files init writes (kept by default); README.md keeps its text."
        ),
    ] = False,
    force: ForceOption = False,
) -> None:
    """Package an ONNX model to publish: README.md, a STAC catalog, a collection and an MLM item in FOLDER.

    Inputs, outputs, types and sizes come from the graph, the rest from the options. Nothing is written
    unless the metadata validates and lints clean; what was assumed is said on stderr. Then
    `eohub quality FOLDER` runs the model (Q3) and `eohub models ingest FOLDER` publishes it.
    """
    from eohub.mlm.package import package_model

    force = overwriting(overwrite, force)
    with user_errors():
        try:
            result = package_model(
                folder,
                model,
                name=name,
                description=description,
                license=license,
                authors=comma_list(authors),
                source=source,
                tags=comma_list(tags),
                force=force,
                **item_options(tasks, architecture, bands, classes, mean, std, minimum, maximum),
            )
        except InvalidStacError as exc:
            for problem in exc.problems:
                echo(f"  {problem}", err=True)
            raise
    for note in result.notes:
        echo(f"note: {note}", err=True)
    files = [p.relative_to(result.folder).as_posix() for p in result.written]
    copied = f" (the model copied from {result.source})" if result.copied else ""
    echo(f"{result.name}: wrote {', '.join(files)} in {folder}{copied}")
    echo(f"next: eohub quality {folder}, then eohub models ingest {folder}")
