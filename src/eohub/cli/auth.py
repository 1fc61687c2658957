"""``eohub auth``: keep the API token for the hub at EOHUB_URL (EOHUB_TOKEN overrides it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from eohub.cli.common import EXIT_USAGE, echo, fail, user_errors
from eohub.client.credentials import forget_token, store_token, token_for
from eohub.config import Settings, load_settings

if TYPE_CHECKING:
    from eohub.client import RemoteRepository

app = typer.Typer(help="Sign in to a hub (EOHUB_URL) with an API token.", no_args_is_help=True)


def _remote(url: str, token: str | None, settings: Settings) -> RemoteRepository:
    from eohub.client import RemoteRepository  # imported on use: start-up stays light

    return RemoteRepository(url, token, attempts=settings.retries + 1)


def _hub(settings: Settings, url: str | None) -> str:
    hub = url or settings.url
    if not hub:
        raise fail("no hub: set EOHUB_URL (or pass --url)", EXIT_USAGE)
    return hub


@app.command("login")
def login(
    token: Annotated[
        str | None, typer.Option("--token", help="The token (asked for, hidden, when not given).")
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="The hub (default: EOHUB_URL).")] = None,
) -> None:
    """Check a token with the hub and store it in a file only you can read."""
    with user_errors():
        settings = load_settings()
    hub = _hub(settings, url)
    token = (token or typer.prompt("API token", hide_input=True)).strip()
    with user_errors(), _remote(hub, token, settings) as remote:
        me = remote.whoami()
        path = store_token(settings, hub, token)
    echo(f"signed in to {hub} as {me['name']} (token stored in {path})")


@app.command("logout")
def logout(
    url: Annotated[str | None, typer.Option("--url", help="The hub (default: EOHUB_URL).")] = None,
) -> None:
    """Forget the stored token of a hub."""
    with user_errors():
        settings = load_settings()
    hub = _hub(settings, url)
    with user_errors():
        removed = forget_token(settings, hub)
    echo(f"signed out of {hub}" if removed else f"no token was stored for {hub}")


@app.command("whoami")
def whoami() -> None:
    """Who the hub at EOHUB_URL thinks you are."""
    with user_errors():
        settings = load_settings()
    hub = _hub(settings, None)
    with user_errors(), _remote(hub, token_for(settings), settings) as remote:
        me = remote.whoami()
    echo(me["name"] + (" (admin)" if me.get("admin") else ""))
