"""Datasets: ``from eohub.datasets import download_dataset, ingest_dataset``."""

from __future__ import annotations

from eohub.repository.api import DATASETS

ingest_dataset = DATASETS.ingest
download_dataset = DATASETS.download
retrieve_datasets = DATASETS.retrieve_all
retrieve_dataset = DATASETS.retrieve

__all__ = ["download_dataset", "ingest_dataset", "retrieve_dataset", "retrieve_datasets"]
