"""``eohub admin``: hub-side account management, run where the hub's database is configured."""

from __future__ import annotations

from typing import Annotated

import typer

from eohub.cli.common import user_errors
from eohub.config import load_settings

app = typer.Typer(help="Manage the hub's users (on the hub's own database).", no_args_is_help=True)


@app.command("create-user")
def create_user_command(
    name: Annotated[str, typer.Argument(help="User name: letters, digits, '-', 3 to 64 characters.")],
    admin: Annotated[bool, typer.Option("--admin", help="May change every repository.")] = False,
) -> None:
    """Create a user and print its API token (shown only this once)."""
    from eohub.accounts import create_user
    from eohub.db.engine import open_database

    with user_errors():
        database = open_database(load_settings().database_url)
        try:
            token = create_user(database, name, admin)
        finally:
            database.close()
    typer.echo(token)
    typer.echo(f"user {name} created; the token above is shown only once", err=True)


@app.command("create-token")
def create_token_command(name: Annotated[str, typer.Argument(help="An existing user.")]) -> None:
    """Print a new API token for an existing user (shown only this once)."""
    from eohub.accounts import create_token
    from eohub.db.engine import open_database

    with user_errors():
        database = open_database(load_settings().database_url)
        try:
            token = create_token(database, name)
        finally:
            database.close()
    typer.echo(token)
