"""``eohub mlm``: validate, lint, migrate and build MLM metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eohub.cli.common import EXIT_INVALID, OutputFormat, print_json, user_errors
from eohub.mlm.migrate import LATEST_MLM_VERSION, UnmigratableError, migrate_file
from eohub.mlm.report import Report
from eohub.mlm.validate import validate

app = typer.Typer(help="Build, validate, lint and migrate STAC MLM metadata.", no_args_is_help=True)


def emit(report: Report, fmt: OutputFormat, ok_text: str) -> None:
    """Print a report (one line per finding, or JSON) and exit 1 when it holds errors."""
    if fmt is OutputFormat.json:
        print_json(report.to_dict())
    else:
        for finding in report.findings:
            typer.echo(finding.line())
        if report.ok:
            typer.echo(ok_text.format(n=len(report.files)))
    if not report.ok:
        raise typer.Exit(EXIT_INVALID)


@app.command("validate")
def validate_cmd(
    paths: list[Path] = typer.Argument(..., help="Item, Collection or Catalog JSON files, or catalog folders."),
    format: OutputFormat = typer.Option(OutputFormat.text, "--format", help="text or json."),
) -> None:
    """Validate STAC documents against the core and extension schemas, offline."""
    with user_errors():
        report = validate(paths)
    emit(report, format, "{n} document(s) valid")


@app.command("migrate")
def migrate_cmd(
    path: Annotated[Path, typer.Argument(help="An MLM Item or Collection JSON file.")],
    to: Annotated[str, typer.Option("--to", help="The MLM version to upgrade to.")] = LATEST_MLM_VERSION,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (may be PATH).")] = None,
) -> None:
    """Upgrade MLM metadata to a newer MLM version; nothing is written when a field needs a human.

    Without -o the upgraded JSON goes to stdout; the changes are listed on stderr.
    """
    with user_errors():
        try:
            result = migrate_file(path, to, output)
        except UnmigratableError as exc:
            typer.echo(f"error: {exc.summary}:", err=True)
            for problem in exc.problems:
                typer.echo(f"  {problem}", err=True)
            raise typer.Exit(EXIT_INVALID) from None
    for change in result.changes:
        typer.echo(f"changed {change}", err=True)
    if output is None:
        print_json(result.data)
    summary = f"{path}: MLM {result.from_version or 'undeclared'} -> {result.to_version}"
    where = f", written to {output}" if output is not None else ""
    typer.echo(f"{summary}, {len(result.changes)} change(s){where}", err=True)
