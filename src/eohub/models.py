"""Models: ``from eohub.models import download_model, ingest_model`` (the EOTDL tutorial's imports), and
``run_model``, ``get_job``, ``list_jobs``, ``cancel_job`` to run one on the hub
(:mod:`eohub.client.job_api`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eohub.core.lazy import lazy_exports
from eohub.repository.api import MODELS

if TYPE_CHECKING:
    from eohub.client.job_api import cancel_job, get_job, list_jobs, run_model, wait_job

ingest_model = MODELS.ingest
download_model = MODELS.download
retrieve_models = MODELS.retrieve_all
retrieve_model = MODELS.retrieve

__all__ = [
    "cancel_job",
    "download_model",
    "get_job",
    "ingest_model",
    "list_jobs",
    "retrieve_model",
    "retrieve_models",
    "run_model",
    "wait_job",
]

# Prediction jobs run on a hub (EOHUB_URL); their client loads on first use.
__getattr__ = lazy_exports(
    "eohub.client",
    {name: f"job_api:{name}" for name in ("run_model", "get_job", "list_jobs", "cancel_job", "wait_job")},
)
