"""Alembic migrations give SQLite and PostgreSQL exactly the schema the ORM tables declare."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

from eohub.db import Base, UserRow, open_database
from eohub.db.engine import make_engine
from eohub.db.migrate import INITIAL_REVISION, alembic_config, current_revision, head_revision, upgrade
from eohub.db.tables import SPATIAL_NAMES, in_metadata


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a new, empty database of each supported kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'eohub.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def schema_differences(engine: Engine) -> list:
    """What Alembic's autogenerate would change to make the database match the tables (empty: nothing)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": in_metadata}
        )
        return compare_metadata(context, Base.metadata)


def test_upgrading_an_empty_database_gives_exactly_the_declared_tables(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    assert schema_differences(empty_engine) == []
    tables = set(inspect(empty_engine).get_table_names()) - SPATIAL_NAMES  # the R*Tree of SQLite
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert current_revision(empty_engine) == head_revision()


def test_upgrading_again_keeps_the_data(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(UserRow.__table__.insert().values(name="alice", is_admin=False))
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        assert connection.execute(select(UserRow.name)).scalars().all() == ["alice"]
    assert current_revision(empty_engine) == head_revision()


def test_database_made_before_migrations_is_adopted_not_recreated(empty_engine: Engine) -> None:
    # the schema of revision 0001, as create_all made it before eohub had migrations: no alembic_version
    config = alembic_config()
    with empty_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, INITIAL_REVISION)
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(
            text("INSERT INTO users (name, is_admin, created_at) VALUES ('bob', true, '2026-01-01')")
        )
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    with empty_engine.connect() as connection:
        assert connection.execute(select(UserRow.name)).scalars().all() == ["bob"]


def test_opening_a_new_database_migrates_it_to_the_latest_revision(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'new' / 'eohub.sqlite'}")
    try:
        assert current_revision(database.engine) == head_revision()
        assert schema_differences(database.engine) == []
    finally:
        database.close()
