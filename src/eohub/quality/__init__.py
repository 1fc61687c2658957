"""Quality levels of a model or dataset folder, Q0 to Q3, with the reasons it is not one level higher.

- **Q0**: files.
- **Q1**: a valid STAC catalog (``catalog.json`` at the root; every linked document valid offline) whose
  assets cover the files: each file other than STAC documents and ``README.md`` is some asset's href.
  Local hrefs resolve against the document holding them and may leave the folder; links (URLs, container
  image references: :mod:`eohub.core.hrefs`) are fine and are never files to cover or find.
- **Q2**: for a model, every item using MLM lints without errors (it is valid since Q1); for a dataset,
  items use the label or ml-aoi extension and were validated against it offline, and the dataset
  metrics (:mod:`eohub.quality.metrics`: class balance, duplicates, split leakage, label validity) found
  nothing severe; a severe finding is a reason the dataset stays at Q1 (it is stored all the same).
- **Q3** (models only): each MLM item's ONNX model runs in ONNX Runtime on a synthetic input built from
  ``mlm:input`` and every output has its declared shape and data type (:mod:`eohub.quality.run`), in a
  child process with memory and time limits (:mod:`eohub.quality.sandbox`). A model that cannot be
  checked within them stays at Q2, "not verified" with the cause.

Levels are about content. Metadata (name, description, license, authors, source) comes from README front
matter, the catalog filling what it lacks (:mod:`eohub.core.readme`); what is missing from both is a
**note** (``QualityReport.notes``), shown with the version, and never lowers the level.

Each reason starts with the level the folder stays at because of it: ``"Q1: item 'model': MLM lint error
MLM003 at /properties/mlm:output/0/result: ..."`` explains why the folder is Q1 and not Q2;
``"Q2: not verified: input too large: item 'model': ..."`` why it is Q2 and not Q3.

The modules: :mod:`~eohub.quality.report` (``QualityReport``, ``RunCheck``), :mod:`~eohub.quality.levels`
(the checks of each level, ``assess_quality``), :mod:`~eohub.quality.run` (running a model once) and
:mod:`~eohub.quality.sandbox` (the child process). The report names import cheaply; the checks load the
validation stack on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eohub.core.lazy import lazy_exports
from eohub.quality.report import KINDS, TOP_LEVEL, Kind, QualityReport, RunCheck

if TYPE_CHECKING:
    from eohub.quality.levels import (
        DATASET_EXTENSIONS,
        MAX_LISTED_FILES,
        assess_quality,
        asset_path,
        doc_name,
        mlm_items,
    )

__all__ = [
    "DATASET_EXTENSIONS",
    "KINDS",
    "MAX_LISTED_FILES",
    "TOP_LEVEL",
    "Kind",
    "QualityReport",
    "RunCheck",
    "asset_path",
    "assess_quality",
    "doc_name",
    "mlm_items",
]

__getattr__ = lazy_exports(
    __name__,
    {
        name: "levels"
        for name in (
            "DATASET_EXTENSIONS",
            "MAX_LISTED_FILES",
            "asset_path",
            "assess_quality",
            "doc_name",
            "mlm_items",
        )
    },
)
