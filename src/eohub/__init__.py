"""eohub: an open hub for Earth-observation datasets and ML models described with STAC and MLM."""

from __future__ import annotations

__version__ = "0.1.0"

# The tutorial's functions, imported on first use so that `import eohub` (and the CLI) stays fast.
_API = {
    "ingest_model": "eohub.models",
    "download_model": "eohub.models",
    "retrieve_models": "eohub.models",
    "retrieve_model": "eohub.models",
    "ingest_dataset": "eohub.datasets",
    "download_dataset": "eohub.datasets",
    "retrieve_datasets": "eohub.datasets",
    "retrieve_dataset": "eohub.datasets",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> object:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'eohub' has no attribute {name!r}")
