"""Settings read from the environment, in one place.

| variable | meaning | default |
| --- | --- | --- |
| ``EOHUB_HOME`` | where the embedded repository and client state live | ``~/.eohub`` |
| ``EOHUB_URL`` | a hub server to talk to instead of the embedded repository | unset |
| ``EOHUB_TOKEN`` | API token for writes to a hub (overrides ``eohub auth login``) | unset |
| ``EOHUB_DATABASE_URL`` | SQLAlchemy URL of the metadata database | SQLite under ``EOHUB_HOME`` |
| ``EOHUB_STORAGE`` | blob store: a local folder or ``s3://bucket/prefix`` | ``EOHUB_HOME/blobs`` |
| ``EOHUB_S3_ENDPOINT`` | S3 endpoint URL for an S3-compatible server | AWS default |
| ``EOHUB_RETRIES`` | how often a transient network failure is retried (with backoff) | ``5`` |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from eohub.errors import UsageError


@dataclass(frozen=True)
class Settings:
    """A snapshot of eohub's configuration."""

    home: Path
    url: str | None
    token: str | None
    database_url: str
    storage: str
    s3_endpoint: str | None
    retries: int = 5

    @property
    def remote(self) -> bool:
        """True when commands should talk to a hub server rather than the embedded repository."""
        return bool(self.url)


def load_settings() -> Settings:
    """Read the settings from the environment now (tests change it between calls)."""
    home = Path(os.environ.get("EOHUB_HOME") or Path.home() / ".eohub").expanduser()
    return Settings(
        home=home,
        url=os.environ.get("EOHUB_URL") or None,
        token=os.environ.get("EOHUB_TOKEN") or None,
        database_url=os.environ.get("EOHUB_DATABASE_URL") or f"sqlite:///{home / 'eohub.sqlite'}",
        storage=os.environ.get("EOHUB_STORAGE") or str(home / "blobs"),
        s3_endpoint=os.environ.get("EOHUB_S3_ENDPOINT") or None,
        retries=_count("EOHUB_RETRIES", 5),
    )


def _count(variable: str, default: int) -> int:
    value = os.environ.get(variable)
    if not value:
        return default
    if not value.isdigit():
        raise UsageError(f"{variable} must be a whole number, not {value!r}")
    return int(value)
