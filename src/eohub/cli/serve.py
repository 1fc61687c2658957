"""``eohub serve``: run the hub (API, STAC, web pages) on this machine's configuration."""

from __future__ import annotations

from typing import Annotated

import typer

from eohub.cli.common import echo, user_errors
from eohub.config import load_settings


def _raise_open_files_limit() -> None:
    """Take the hard limit of open files as the soft one: each connection holds a descriptor, and the
    usual soft limit (1,024) lets a thousand idle connections stop the hub. (Header and body timeouts
    against slow clients are a reverse proxy's job: docs/security.md.)"""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1_048_576
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            pass


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo/--no-demo", help="Ingest a demo model and dataset into an empty hub.")
    ] = True,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=256,
            help="Hub processes sharing the port (each opens the database and store; uploads resume in any).",
        ),
    ] = 1,
) -> None:
    """Start the hub server on EOHUB_DATABASE_URL and EOHUB_STORAGE (SQLite and files under EOHUB_HOME)."""
    import uvicorn

    from eohub.demo.hub import DEMO_USER, seed_demo
    from eohub.repository import EmbeddedRepository
    from eohub.server import create_app
    from eohub.server.context import HubContext

    _raise_open_files_limit()
    settings = load_settings()
    with user_errors():
        context = HubContext.open(settings)
        if demo:
            for line in seed_demo(EmbeddedRepository(context.database, context.store, DEMO_USER)):
                echo(f"demo: ingested {line}")
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    echo(f"eohub hub: {settings.database_url.split('://')[0]} metadata, blobs in {settings.storage}")
    echo(f"serving http://{shown}:{port}/  (API /api, OpenAPI /openapi.json, STAC /stac)")
    if workers == 1:
        uvicorn.run(create_app(context=context), host=host, port=port, log_level="info")
        return
    context.close()  # each worker opens its own (create_app() reads the same environment)
    echo(f"{workers} worker processes")
    uvicorn.run(
        "eohub.server.app:create_app", factory=True, workers=workers, host=host, port=port, log_level="info"
    )
