"""Engines and sessions for ``EOHUB_DATABASE_URL``.

``postgresql://`` URLs are served by psycopg 3 (the driver eohub ships). SQLite gets connection
settings that matter for several writers (a busy timeout, WAL journal, enforced foreign keys); these are
connection pragmas, not schema features, so the schema itself stays portable. Opening a database
migrates it to the current schema with Alembic (:mod:`eohub.db.migrate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from eohub.db.migrate import upgrade
from eohub.errors import UsageError

SQLITE_BUSY_SECONDS = 30


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` use psycopg 3; other URLs are returned unchanged."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; for a SQLite file its folder is created first."""
    try:
        parsed = make_url(normalize_url(url))
    except Exception as exc:  # sqlalchemy.exc.ArgumentError and friends
        raise UsageError(f"EOHUB_DATABASE_URL is not a database URL: {url!r} ({exc})") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed, connect_args={"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


@dataclass
class Database:
    """An engine with its session factory; ``close()`` releases the connections."""

    engine: Engine
    sessions: sessionmaker[Session]

    def close(self) -> None:
        self.engine.dispose()


def open_database(url: str, create: bool = True) -> Database:
    """Connect to ``url`` and (by default) migrate it to the current schema (``alembic upgrade head``)."""
    engine = make_engine(url)
    if create:
        try:
            upgrade(engine)
        except OperationalError as exc:
            engine.dispose()
            where = engine.url.render_as_string(hide_password=True)
            raise UsageError(
                f"cannot open the database {where} (check EOHUB_DATABASE_URL): {exc.orig}"
            ) from None
    return Database(engine, sessionmaker(engine, expire_on_commit=False))
