"""The Python API, compatible with EOTDL's tutorial: one mechanism, bound to a kind.

``eohub.models`` and ``eohub.datasets`` expose the same four functions for their kind::

    from eohub.models import download_model, ingest_model
    path = download_model("EuroSAT-RGB", path="data", version=1, force=True)   # 'data/EuroSAT-RGB/v1'
    ingest_model("data/EuroSAT-RGB/STAC", name="EuroSAT-RGB")                  # -> version 2

Every call opens the configured repository (:func:`eohub.repository.open_repository`: embedded under
``EOHUB_HOME``, or the hub at ``EOHUB_URL``) and closes it. ``download_*(path=None)`` writes under the
current directory, like ``git clone``. ``retrieve_*(name)`` returns a dict that a notebook shows as the
web page shows the repository (:class:`~eohub.repository.display.RepositoryView`). Errors are typed
exceptions from :mod:`eohub.errors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from eohub.repository import IngestResult, Kind, check_kind, open_repository
from eohub.repository.progress import Progress

if TYPE_CHECKING:
    from eohub.repository.display import RepositoryView


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
        trained_on: Sequence[str] = (),
    ) -> IngestResult:
        """Store a folder (files, or a STAC catalog) as the next version; ``result.version`` is ``None``
        when nothing changed since the latest version. Local assets outside the folder are read only
        under the current directory or a folder of ``allow_outside``. A model may name the dataset
        versions that trained it, ``trained_on=["datasets/EuroSAT@v2"]`` (its MLM items' ``derived_from``
        links to the hub's datasets count too); what the hub cannot find is in ``result.notes``."""
        with open_repository() as repo:
            return repo.ingest(
                self.kind, path, name, private, allow_invalid, progress, allow_outside, trained_on
            )

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

    def retrieve(self, name: str) -> RepositoryView:
        """One repository as a dict (name, owner, metadata, latest version and its quality) that a notebook
        shows as its web page does, with the model cards of the latest version."""
        # Imported here: the display and card code load only for the call that shows them.
        from eohub.core.readme import metadata_notes
        from eohub.mlm.card import model_cards
        from eohub.repository.display import RepositoryView

        with open_repository() as repo:
            info = repo.get(self.kind, name)
            if info.latest is None or self.kind != "model":
                return RepositoryView(info)  # datasets: no cards, and their manifests can be long
            manifest = repo.manifest(self.kind, info.name, info.latest.number)
        cards = model_cards(manifest.documents, {f.path for f in manifest.files})
        return RepositoryView(info, cards, metadata_notes(manifest.metadata))


MODELS = KindApi("model")
DATASETS = KindApi("dataset")
