"""Alembic environment: migrates the database eohub is configured for to ``eohub.db.tables``.

Run in-process by :func:`eohub.db.migrate.upgrade`, which hands over an open connection; without one,
the URL comes from the Alembic config (``sqlalchemy.url``) or ``EOHUB_DATABASE_URL``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from eohub.config import load_settings
from eohub.db.engine import make_engine
from eohub.db.migrate import PG_LOCK_KEY
from eohub.db.tables import Base, in_metadata


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        include_name=in_metadata,  # not the spatial index (eohub.search.spatial)
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
        context.run_migrations()


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or load_settings().database_url
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _migrate(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("eohub migrations run online only: eohub.db.migrate.upgrade(engine)")
run()
