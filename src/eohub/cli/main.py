"""The ``eohub`` console script: one Typer app that mounts each command group."""

from __future__ import annotations

import logging

import typer

from eohub import __version__
from eohub.cli import admin, auth, jobs, mlm
from eohub.cli import predict as predict_cli
from eohub.cli import quality as quality_cli
from eohub.cli import repo as repo_cli
from eohub.cli import serve as serve_cli
from eohub.cli.common import echo

app = typer.Typer(
    help="eohub: an open hub for Earth-observation datasets and ML models (STAC + MLM).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(mlm.app, name="mlm")
app.command("predict")(predict_cli.predict)
app.command("quality")(quality_cli.quality)
app.add_typer(repo_cli.models, name="models")
app.add_typer(repo_cli.datasets, name="datasets")
app.command("serve")(serve_cli.serve)
app.add_typer(admin.app, name="admin")
app.add_typer(auth.app, name="auth")
app.add_typer(jobs.app, name="jobs")


def _version(value: bool) -> None:
    if value:
        echo(__version__)
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what eohub does."),
) -> None:
    """eohub command line."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
