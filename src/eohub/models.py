"""Models: ``from eohub.models import download_model, ingest_model`` (the EOTDL tutorial's imports)."""

from __future__ import annotations

from eohub.repository.api import MODELS

ingest_model = MODELS.ingest
download_model = MODELS.download
retrieve_models = MODELS.retrieve_all
retrieve_model = MODELS.retrieve

__all__ = ["download_model", "ingest_model", "retrieve_model", "retrieve_models"]
