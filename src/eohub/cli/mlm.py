"""``eohub mlm``: validate, lint, migrate and build MLM metadata."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from eohub.cli.common import (
    EXIT_INVALID,
    ForceOption,
    OutputFormat,
    echo,
    overwriting,
    print_json,
    user_errors,
)
from eohub.cli.item_options import (
    ArchitectureOption,
    BandsOption,
    ClassesOption,
    MaxOption,
    MeanOption,
    MinOption,
    StdOption,
    TasksOption,
    item_options,
)
from eohub.errors import AlreadyExistsError
from eohub.mlm.schemas import LATEST_MLM_VERSION

if TYPE_CHECKING:
    from eohub.mlm.report import Report

# Each command imports the part of the toolkit it uses: the command line starts without pystac and onnx.

app = typer.Typer(help="Build, validate, lint and migrate STAC MLM metadata.", no_args_is_help=True)
PATHS_HELP = "Item, Collection or Catalog JSON files, or catalog folders."
EXIT_NOT_VALIDATED = 3


def emit(report: Report, fmt: OutputFormat, ok_text: str) -> None:
    """Print a report (one line per finding, or JSON) and exit 1 when it holds errors."""
    if fmt is OutputFormat.json:
        print_json(report.to_dict())
    else:
        for finding in report.findings:
            echo(finding.line())
        if report.ok:
            echo(ok_text.format(n=len(report.files)))
    if not report.ok:
        raise typer.Exit(EXIT_INVALID)


@app.command("validate")
def validate_cmd(
    paths: Annotated[list[Path], typer.Argument(help=PATHS_HELP)],
    format: Annotated[OutputFormat, typer.Option("--format", help="text or json.")] = OutputFormat.text,
) -> None:
    """Validate STAC documents against the core and extension schemas, offline; every error is listed.

    Exit status:
    0 valid;
    1 invalid (a schema error or a broken link);
    2 usage error (a path that cannot be read);
    3 not validated: nothing found wrong, but stac_version or the MLM version is newer than the schemas
    eohub ships (e.g. MLM v1.6.0), so they were not checked.
    Extensions whose schemas eohub does not ship (a project's own) are listed as not checked (exit 0).
    """
    from eohub.mlm.validate import not_validated, unchecked_extensions, validate

    with user_errors():
        report = validate(paths)
    if format is OutputFormat.json:
        print_json(report.to_dict())
    else:
        for finding in report.findings:
            echo(finding.line())
        echo(_validate_summary(report, unchecked_extensions(report), not_validated(report)))
    if not_validated(report):
        raise typer.Exit(EXIT_NOT_VALIDATED)
    if not report.ok:
        raise typer.Exit(EXIT_INVALID)


def _validate_summary(report: Report, unchecked: list[str], skipped: bool) -> str:
    documents = f"{len(report.files)} document(s)"
    if skipped:
        some = len({f.file for f in report.errors})
        which = documents if some == len(report.files) else f"{some} of {documents}"
        return f"{which} not validated: a schema they declare is not available offline"
    if not report.ok:
        return f"{documents}: {len(report.errors)} error(s)"
    if unchecked:
        return f"{documents} valid ({len(unchecked)} extension(s) not checked: {', '.join(unchecked)})"
    return f"{documents} valid"


@app.command("migrate")
def migrate_cmd(
    path: Annotated[Path, typer.Argument(help="An MLM Item or Collection JSON file.")],
    to: Annotated[str, typer.Option("--to", help="The MLM version to upgrade to.")] = LATEST_MLM_VERSION,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (may be PATH).")] = None,
) -> None:
    """Upgrade MLM metadata to a newer MLM version; nothing is written when a field needs a human.

    Without -o the upgraded JSON goes to stdout; the changes are listed on stderr. A document that
    declares a newer MLM version than --to (even one eohub does not ship, such as v1.6.0) is refused
    (exit 2): migrate never downgrades.
    """
    from eohub.mlm.migrate import UnmigratableError, migrate_file

    with user_errors():
        try:
            result = migrate_file(path, to, output)
        except UnmigratableError as exc:
            echo(f"error: {exc.summary}:", err=True)
            for problem in exc.problems:
                echo(f"  {problem}", err=True)
            raise typer.Exit(EXIT_INVALID) from None
    for change in result.changes:
        echo(f"changed {change}", err=True)
    if output is None:
        print_json(result.data)
    summary = f"{path}: MLM {result.from_version or 'undeclared'} -> {result.to_version}"
    where = f", written to {output}" if output is not None else ""
    echo(f"{summary}, {len(result.changes)} change(s){where}", err=True)


@app.command("lint")
def lint_cmd(
    paths: Annotated[list[Path], typer.Argument(help=PATHS_HELP)],
    format: Annotated[OutputFormat, typer.Option("--format", help="text or json.")] = OutputFormat.text,
) -> None:
    """Find what the schema cannot see: shape/band mismatches, contradictions with the ONNX graph, old keys.

    Exit 1 when a finding is an error (warnings and infos are printed but pass).
    """
    from eohub.mlm.lint import lint

    with user_errors():
        report = lint(paths)
    emit(report, format, "{n} document(s) linted, no errors")


def _write_new(path: Path, data: dict, overwrite: bool) -> None:
    """Write the item, refusing to replace an existing file unless ``overwrite``."""
    if path.exists() and not path.is_dir() and not overwrite:
        raise AlreadyExistsError(f"{path} exists; pass --overwrite to replace it")
    from eohub.mlm.documents import write_json

    write_json(path, data)


@app.command("init")
def init_cmd(
    model: Annotated[Path, typer.Argument(help="The ONNX model file.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the item here (default: stdout).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="mlm:name (default: from the file name).")] = None,
    tasks: TasksOption = None,
    architecture: ArchitectureOption = None,
    bands: BandsOption = None,
    classes: ClassesOption = None,
    mean: MeanOption = None,
    std: StdOption = None,
    minimum: MinOption = None,
    maximum: MaxOption = None,
    item_id: Annotated[str | None, typer.Option("--id", help="The item id (default: from the name).")] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing output file (kept by default).")
    ] = False,
    force: ForceOption = False,
) -> None:
    """Write an MLM v1.5.2 item for an ONNX model: inputs, outputs, types and sizes read from the graph.

    The model asset's href is relative to the output file. Nothing is written unless the item validates and
    lints with no errors.
    """
    from eohub.mlm.build import build_item
    from eohub.mlm.lint import lint_data
    from eohub.mlm.validate import validate_data

    with user_errors():
        base = (output.parent if output is not None else Path.cwd()).resolve()
        item = build_item(
            model,
            name=name,
            **item_options(tasks, architecture, bands, classes, mean, std, minimum, maximum),
            item_id=item_id,
            href=Path(os.path.relpath(model.resolve(), base)).as_posix(),
            on_assumption=lambda line: echo(f"note: {line}", err=True),
        )
        data = item.to_dict(include_self_link=False)
        report = validate_data(data, str(output or "<stdout>"))
        report.extend(lint_data(data, base, str(output or "<stdout>")))
        if not report.ok:
            emit(report, OutputFormat.text, "")
        if output is None:
            print_json(data)
        else:
            _write_new(output, data, overwriting(overwrite, force))
    graph = (
        f"{len(data['properties']['mlm:input'])} input(s), {len(data['properties']['mlm:output'])} output(s)"
    )
    where = f"wrote {output}" if output is not None else "item"
    echo(f"{where}: {graph}, {data['properties']['mlm:total_parameters']} parameters", err=True)
