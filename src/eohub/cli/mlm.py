"""``eohub mlm``: validate, lint, migrate and build MLM metadata."""

from __future__ import annotations

from pathlib import Path

import typer

from eohub.cli.common import EXIT_INVALID, OutputFormat, print_json, user_errors
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
