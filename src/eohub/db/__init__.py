"""The metadata database: SQLAlchemy 2 tables in one ``Base`` and an engine/session factory.

The tables use portable SQL only (no SQLite-only types or features), so the same schema runs on
SQLite (embedded default, ``EOHUB_HOME/eohub.sqlite``) and PostgreSQL (``EOHUB_DATABASE_URL``).
"""

from __future__ import annotations

from eohub.db.engine import open_database
from eohub.db.tables import Base, DocumentRow, FileRow, RepositoryRow, UserRow, VersionRow

__all__ = ["Base", "DocumentRow", "FileRow", "RepositoryRow", "UserRow", "VersionRow", "open_database"]
