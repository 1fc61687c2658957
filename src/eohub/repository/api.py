"""The Python API, compatible with EOTDL's tutorial: one mechanism, bound to a kind.

``eohub.models`` and ``eohub.datasets`` expose the same four functions for their kind::

    from eohub.models import download_model, ingest_model
    path = download_model("EuroSAT-RGB", path="data", version=1, force=True)   # 'data/EuroSAT-RGB/v1'
    ingest_model("data/EuroSAT-RGB/STAC", name="EuroSAT-RGB")                  # -> version 2

Every call opens the configured repository (:func:`eohub.repository.open_repository`: embedded under
``EOHUB_HOME``, or the hub at ``EOHUB_URL``) and closes it. ``download_*(path=None)`` writes under the
current directory, like ``git clone``. Errors are typed exceptions from :mod:`eohub.errors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eohub.repository import IngestResult, Kind, check_kind, open_repository
from eohub.repository.progress import Progress


class KindApi:
    """The API functions of one kind (``model`` or ``dataset``)."""

    def __init__(self, kind: Kind) -> None:
        self.kind = check_kind(kind)

    def ingest(
        self,
        path: str | Path,
        name: str | None = None,
        private: bool = False,
        allow_invalid: bool = False,
        progress: Progress | None = None,
        allow_outside: Sequence[str | Path] = (),
    ) -> IngestResult:
        """Store a folder (files, or a STAC catalog) as the next version; ``result.version`` is ``None``
        when nothing changed since the latest version. Local assets outside the folder are read only
        under the current directory or a folder of ``allow_outside``."""
        with open_repository() as repo:
            return repo.ingest(self.kind, path, name, private, allow_invalid, progress, allow_outside)

    def download(
        self,
        name: str,
        path: str | Path | None = None,
        version: int | None = None,
        force: bool = False,
        progress: Progress | None = None,
    ) -> str:
        """Write a version (latest by default) to ``{path}/{name}/v{N}`` and return that path as a string."""
        with open_repository() as repo:
            return str(repo.download(self.kind, name, path, version, force, progress))

    def retrieve_all(self, name: str | None = None, limit: int | None = None) -> list[str]:
        """Names of the visible repositories, optionally filtered by a name substring."""
        with open_repository() as repo:
            return [info.name for info in repo.list(self.kind, name, limit)]

    def retrieve(self, name: str) -> dict[str, Any]:
        """One repository as a dict: name, owner, metadata, latest version and its quality."""
        with open_repository() as repo:
            return repo.get(self.kind, name).to_dict()


MODELS = KindApi("model")
DATASETS = KindApi("dataset")
