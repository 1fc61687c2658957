"""Demo content: tiny seeded ONNX models (:mod:`eohub.demo.models`, also used by tests and benchmarks)
and the demo model and dataset a new hub ingests on first start (:mod:`eohub.demo.hub`)."""

from __future__ import annotations

from eohub.demo.models import make_classifier, make_segmenter

__all__ = ["make_classifier", "make_segmenter"]
