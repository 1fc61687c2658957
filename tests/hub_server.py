"""A real hub for the tests: ``eohub serve`` in its own process on a free loopback port.

:class:`HubServer` runs the server with its own ``EOHUB_HOME`` (and optionally PostgreSQL/S3 through
``env``), makes users with :mod:`eohub.server.accounts` on the server's database, and can be killed and
restarted on the same port and data (the resume tests need that).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from eohub.db.engine import open_database
from eohub.server.accounts import create_user
from tests.servers import _spawn, _started, _stop, _tail, free_port


@dataclass
class HubServer:
    """An ``eohub serve`` process (see the module docstring)."""

    home: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EOHUB_")}
        env.update({"EOHUB_HOME": str(self.home)}, **self.env)
        return env

    def start(self) -> HubServer:
        self.home.mkdir(parents=True, exist_ok=True)
        args = [sys.executable, "-m", "eohub", "serve", "--no-demo", "--port", str(self.port)]
        self.process = _spawn(args, self.home, self.log, env=self._environment())
        return _started(
            self, lambda: httpx.get(f"{self.url}/api", timeout=1).raise_for_status(), self.log, "hub"
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None:
            _stop(self.process, sig, 10)
            self.process = None

    def kill(self) -> None:
        """Stop the server at once, as a crash would."""
        self.stop(signal.SIGKILL)

    def restart(self) -> HubServer:
        self.stop()
        return self.start()

    def tail(self) -> str:
        return _tail(self.log)

    def token(self, user: str, admin: bool = False) -> str:
        """The API token of ``user``, made on first use."""
        if user not in self.tokens:
            database_url = self.env.get("EOHUB_DATABASE_URL") or f"sqlite:///{self.home / 'eohub.sqlite'}"
            database = open_database(database_url)
            try:
                self.tokens[user] = create_user(database, user, admin)
            finally:
                database.close()
        return self.tokens[user]


def start_hub(home: Path, env: dict[str, str] | None = None) -> HubServer:
    """A started hub on a free port."""
    return HubServer(home, free_port(), dict(env or {})).start()


class InProcessHub:
    """The hub app served by uvicorn on a thread of this process (a real socket, fast to start).

    The repository test suite runs against it through :class:`eohub.client.RemoteRepository`.
    """

    def __init__(self, home: Path, wrap: Callable[[Any], Any] | None = None) -> None:
        """``wrap``: what stands between the hub's app and its clients (a proxy, as ASGI middleware)."""
        import uvicorn

        from eohub.config import load_settings
        from eohub.server import create_app

        old = os.environ.get("EOHUB_HOME")
        os.environ["EOHUB_HOME"] = str(home)
        try:
            self.settings = load_settings()
        finally:
            if old is None:
                os.environ.pop("EOHUB_HOME")
            else:
                os.environ["EOHUB_HOME"] = old
        self.home = home
        self.port = free_port()
        app = create_app(self.settings)
        config = uvicorn.Config(
            wrap(app) if wrap else app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.tokens: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> InProcessHub:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the in-process hub did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def token(self, user: str, admin: bool = False) -> str:
        if user not in self.tokens:
            database = open_database(self.settings.database_url)
            try:
                self.tokens[user] = create_user(database, user, admin)
            finally:
                database.close()
        return self.tokens[user]
