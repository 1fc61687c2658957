"""eohub: an open hub for Earth-observation datasets and ML models described with STAC and MLM."""

from __future__ import annotations

__version__ = "0.1.0"
