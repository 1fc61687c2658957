"""Shared fixtures: paths to the shipped examples and small ONNX models built by the tests."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from eohub.mlm.schemas import SCHEMA_ROOT
from tests.hub_server import InProcessHub
from tests.servers import (
    PostgresServer,
    S3Server,
    ServerUnavailable,
    start_postgres,
    start_seaweedfs,
    unavailable,
)

if TYPE_CHECKING:
    from eohub.repository import Repository

EXAMPLES = SCHEMA_ROOT / "mlm" / "examples"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per skipped suite, with what installs it (the suites skip only outside CI)."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = str(report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)
        reasons[reason.removeprefix("Skipped: ")] = reasons.get(reason.removeprefix("Skipped: "), 0) + 1
    for reason, count in sorted(reasons.items()):
        terminalreporter.write_line(f"skipped {count} test(s): {reason}", yellow=True)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own EOHUB_HOME and no remote hub configured."""
    home = tmp_path_factory.mktemp("eohub-home")
    monkeypatch.setenv("EOHUB_HOME", str(home))
    for var in ("EOHUB_URL", "EOHUB_TOKEN", "EOHUB_DATABASE_URL", "EOHUB_STORAGE"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def example_item() -> dict:
    """A fresh copy of the official MLM basic example item."""
    return json.loads((EXAMPLES / "item_basic.json").read_text())


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3 server (SeaweedFS) on loopback for the session; skips (or fails, in CI) without `weed`."""
    try:
        server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    except ServerUnavailable as e:
        unavailable(str(e))
    yield server
    server.stop()


@pytest.fixture
def s3_location(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty ``s3://bucket/prefix`` on the test server, its credentials and endpoint in the environment."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    return f"s3://{s3_server.bucket}/{uuid.uuid4().hex}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on loopback for the whole session; skips (or fails, in CI) without it."""
    try:
        server = start_postgres()
    except ServerUnavailable as e:
        unavailable(str(e))
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The SQLAlchemy URL of a new, empty PostgreSQL database, dropped after the test."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


# --- repositories: one factory per backend; the hub adds its backends to REPOSITORY_BACKENDS ---------


def _embedded_repository(request: pytest.FixtureRequest, user: str | None) -> Repository:
    from eohub.repository import open_embedded

    return open_embedded(user=user or "alice")


def _postgresql_s3_repository(request: pytest.FixtureRequest, user: str | None) -> Repository:
    """The embedded repository on the session's real PostgreSQL and S3 servers (one database per test)."""
    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("EOHUB_DATABASE_URL", request.getfixturevalue("postgres_url"))
    monkeypatch.setenv("EOHUB_STORAGE", request.getfixturevalue("s3_location"))
    return _embedded_repository(request, user)


@pytest.fixture
def inprocess_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHub]:
    """A hub on a free loopback port, served from a thread of the test process, with its own home."""
    hub = InProcessHub(tmp_path_factory.mktemp("hub-home")).start()
    yield hub
    hub.stop()


def _remote_repository(request: pytest.FixtureRequest, user: str | None) -> Repository:
    """The remote client talking HTTP to a real hub (embedded SQLite + local blobs on the server side)."""
    from eohub.client import RemoteRepository

    hub: InProcessHub = request.getfixturevalue("inprocess_hub")
    return RemoteRepository(hub.url, hub.token(user or "alice"))


REPOSITORY_BACKENDS: dict[str, Callable[[pytest.FixtureRequest, str | None], Repository]] = {
    "sqlite+local": _embedded_repository,
    "postgresql+s3": _postgresql_s3_repository,
    "remote": _remote_repository,
}


@pytest.fixture(params=sorted(REPOSITORY_BACKENDS))
def repository_factory(request: pytest.FixtureRequest) -> Iterator[Callable[..., Repository]]:
    """``make(user=None)`` opens a repository of one backend (acting as ``user``, default alice)."""
    opened: list[Repository] = []

    def make(user: str | None = None) -> Repository:
        repo = REPOSITORY_BACKENDS[request.param](request, user)
        opened.append(repo)
        return repo

    yield make
    for repo in opened:
        repo.close()


@pytest.fixture
def repository(repository_factory: Callable[..., Repository]) -> Repository:
    """A repository of each backend, empty, acting as the user alice."""
    return repository_factory()


# --- real hubs for the security tests: `eohub serve` processes on SQLite + files or PostgreSQL + S3 ----


def _hub_env(request: pytest.FixtureRequest, backend: str) -> dict[str, str]:
    if backend == "sqlite+files":
        return {}
    s3: S3Server = request.getfixturevalue("s3_server")
    return {
        **s3.env,
        "EOHUB_DATABASE_URL": request.getfixturevalue("postgres_url"),
        "EOHUB_STORAGE": f"s3://{s3.bucket}/{uuid.uuid4().hex}",
    }


@pytest.fixture
def hub_env() -> dict[str, str]:
    """Extra environment for the ``hub`` fixtures' server (a test may set bounds here first)."""
    return {}


@pytest.fixture(params=["sqlite+files", "postgresql+s3"])
def any_hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, hub_env: dict[str, str]
):
    """A real hub process on each storage backend: SQLite + local files, PostgreSQL + S3 (SeaweedFS)."""
    from tests.hub_server import start_hub

    hub = start_hub(tmp_path_factory.mktemp("hub"), {**_hub_env(request, request.param), **hub_env})
    yield hub
    hub.stop()


@pytest.fixture
def sqlite_hub(tmp_path_factory: pytest.TempPathFactory, hub_env: dict[str, str]):
    """A real hub process on SQLite + local files (what `make run` starts)."""
    from tests.hub_server import start_hub

    hub = start_hub(tmp_path_factory.mktemp("hub"), hub_env)
    yield hub
    hub.stop()
