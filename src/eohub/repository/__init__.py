"""Versioned models and datasets behind one interface, :class:`Repository`.

:func:`open_repository` is the ONE place that decides which implementation callers get: the embedded
repository under ``EOHUB_HOME`` (SQLite + local blobs by default, or ``EOHUB_DATABASE_URL`` /
``EOHUB_STORAGE``), or, when ``EOHUB_URL`` is set, the remote hub client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eohub.config import Settings, load_settings
from eohub.core.lazy import lazy_exports
from eohub.core.names import KINDS, Kind, check_kind, check_name
from eohub.errors import UsageError

if TYPE_CHECKING:
    from eohub.repository.base import Repository
    from eohub.repository.embedded import EmbeddedRepository
    from eohub.repository.manifest import FileEntry, Manifest, ManifestDiff, diff
    from eohub.repository.records import IngestResult, RepositoryInfo, VersionInfo

# Imported on first use, so that commands which never open a repository do not pay for the database
# and validation stack at start-up (PEP 562).
__getattr__ = lazy_exports(
    __name__,
    {
        "IngestResult": "records",
        "Repository": "base",
        "RepositoryInfo": "records",
        "VersionInfo": "records",
        "EmbeddedRepository": "embedded",
        "local_user": "embedded",
        "FileEntry": "manifest",
        "Manifest": "manifest",
        "ManifestDiff": "manifest",
        "diff": "manifest",
    },
)

__all__ = [
    "KINDS",
    "EmbeddedRepository",
    "FileEntry",
    "IngestResult",
    "Kind",
    "Manifest",
    "ManifestDiff",
    "Repository",
    "RepositoryInfo",
    "VersionInfo",
    "check_kind",
    "check_name",
    "diff",
    "open_embedded",
    "open_repository",
]


def open_embedded(
    settings: Settings | None = None, user: str | None = None, admin: bool = False
) -> EmbeddedRepository:
    """The embedded repository for ``settings`` (the environment by default), acting as ``user``."""
    from eohub.db import open_database
    from eohub.repository.embedded import EmbeddedRepository, local_user
    from eohub.storage import open_store

    settings = settings or load_settings()
    store = open_store(settings.storage, settings.s3_endpoint)
    return EmbeddedRepository(
        open_database(settings.database_url), store, user or local_user(), admin, settings.limits
    )


def open_repository(settings: Settings | None = None) -> Repository:
    """The repository the configuration points at; use it as a context manager to release it."""
    settings = settings or load_settings()
    if settings.remote:
        from eohub.client import RemoteRepository
        from eohub.client.credentials import token_for

        assert settings.url is not None
        if not settings.url.startswith(("http://", "https://")):
            raise UsageError(f"EOHUB_URL must be an http(s):// URL, not {settings.url!r}")
        return RemoteRepository(settings.url, token_for(settings), attempts=settings.retries + 1)
    return open_embedded(settings)
