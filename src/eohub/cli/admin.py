"""``eohub admin``: hub-side account management and housekeeping, run where the hub's database is
configured (the same ``EOHUB_*`` settings as ``eohub serve``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from eohub.cli.common import OutputFormat, echo, print_json, user_errors
from eohub.config import load_settings
from eohub.core.units import human_size

if TYPE_CHECKING:
    from eohub.db.engine import Database

app = typer.Typer(
    help="Manage the hub's users and storage (on the hub's own database).", no_args_is_help=True
)
T = TypeVar("T")


@contextmanager
def _database() -> Iterator[Database]:
    from eohub.db.engine import open_database

    database = open_database(load_settings().database_url)
    try:
        yield database
    finally:
        database.close()


def _run(action: Callable[[Database], T]) -> T:
    with user_errors(), _database() as database:
        return action(database)


@app.command("create-user")
def create_user_command(
    name: Annotated[str, typer.Argument(help="User name: letters, digits, '-', 3 to 64 characters.")],
    admin: Annotated[bool, typer.Option("--admin", help="May change every repository.")] = False,
) -> None:
    """Create a user and print its API token (shown only this once)."""
    from eohub.server.accounts import create_user

    token = _run(lambda db: create_user(db, name, admin))
    echo(token)
    echo(f"user {name} created; the token above is shown only once", err=True)


@app.command("create-token")
def create_token_command(name: Annotated[str, typer.Argument(help="An existing user.")]) -> None:
    """Print a new API token for an existing user (shown only this once)."""
    from eohub.server.accounts import create_token

    echo(_run(lambda db: create_token(db, name)))


@app.command("list-users")
def list_users_command(
    format: Annotated[OutputFormat, typer.Option("--format", help="text or json.")] = OutputFormat.text,
) -> None:
    """List users: admin or not, disabled or not, and their tokens by number (never the tokens)."""
    from eohub.server.accounts import list_users

    users = _run(list_users)
    if format is OutputFormat.json:
        print_json([u.to_dict() for u in users])
        return
    for user in users:
        flags = [f for f, on in (("admin", user.admin), ("disabled", user.disabled)) if on]
        tokens = ", ".join(f"#{n} ({created:%Y-%m-%d})" for n, created in user.tokens) or "no tokens"
        echo(f"{user.name}{' [' + ', '.join(flags) + ']' if flags else ''}: {tokens}")


@app.command("revoke-token")
def revoke_token_command(
    token: Annotated[str, typer.Argument(help="The token's number (eohub admin list-users) or the token.")],
) -> None:
    """Revoke one API token: requests with it get 401 from now on."""
    from eohub.server.accounts import revoke_token

    owner = _run(lambda db: revoke_token(db, token))
    echo(f"token of {owner} revoked")


@app.command("disable-user")
def disable_user_command(name: Annotated[str, typer.Argument(help="An existing user.")]) -> None:
    """Refuse every token of a user (401); their public repositories stay readable."""
    from eohub.server.accounts import set_disabled

    _run(lambda db: set_disabled(db, name, True))
    echo(f"user {name} disabled")


@app.command("enable-user")
def enable_user_command(name: Annotated[str, typer.Argument(help="A disabled user.")]) -> None:
    """Accept a disabled user's tokens again."""
    from eohub.server.accounts import set_disabled

    _run(lambda db: set_disabled(db, name, False))
    echo(f"user {name} enabled")


@app.command("gc")
def gc_command(
    delete: Annotated[
        bool, typer.Option("--delete", help="Remove what is found (without it: only report).")
    ] = False,
    format: Annotated[OutputFormat, typer.Option("--format", help="text or json.")] = OutputFormat.text,
) -> None:
    """Find what killed ingests, abandoned uploads and deleted repositories left in storage; with
    --delete, remove it (safe while ingests run)."""
    from eohub.repository.housekeeping import collect
    from eohub.storage import open_store, open_uploads

    settings = load_settings()

    def run(database: Database):  # noqa: ANN202 - a GcReport, imported lazily
        store = open_store(settings.storage, settings.s3_endpoint)
        uploads = open_uploads(settings, database, store)
        return collect(database, store, uploads, settings.limits, apply=delete)

    report = _run(run)
    if format is OutputFormat.json:
        print_json(report.to_dict())
        return
    verb = "removed" if report.applied else "would remove"
    for what, found in report.sections().items():
        echo(f"{verb} {found.count} {what} ({human_size(found.size)})")
        for example in found.examples:
            echo(f"  {example}")
    if not report.applied and any(f.count for f in report.sections().values()):
        echo("(a dry run: eohub admin gc --delete removes them)")
