"""A page's training links: the datasets that trained a model version, or the models trained on a dataset.

Both come from the repository as the caller sees it (:mod:`eohub.repository.training`): a training dataset
the caller cannot see is one row "private dataset", without a name or a link; models the caller cannot
see are not listed. At most :data:`MAX_LISTED` models are listed (the page says how many more).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eohub.repository import Kind, Repository, VersionInfo
from eohub.server.web.pages import repository_url

MAX_LISTED = 100


@dataclass
class TrainingRow:
    """One row: what it names, where it leads (``None``: nowhere to go), its quality level."""

    label: str
    url: str | None
    quality_level: int | None
    detail: str = ""


def context(repo: Repository, kind: Kind, name: str, version: VersionInfo) -> dict[str, Any]:
    """``trained_on`` (a model version's datasets) or ``trained_models`` (a dataset's models)."""
    if kind == "model":
        rows = [
            TrainingRow("private dataset", None, None)
            if link.private or link.dataset is None
            else TrainingRow(
                link.dataset,
                repository_url("dataset", link.dataset, link.version),
                link.quality_level,
                f"v{link.version}",
            )
            for link in version.trained_on
        ]
        return {"trained_on": rows, "trained_models": None, "trained_models_total": 0}
    models = repo.trained_models(name)
    rows = [
        TrainingRow(m.model, repository_url("model", m.model, m.version), m.quality_level, f"v{m.version}")
        for m in models[:MAX_LISTED]
    ]
    for row, model in zip(rows, models, strict=False):
        row.detail += f", trained on v{model.dataset_version}"
    return {"trained_on": None, "trained_models": rows, "trained_models_total": len(models)}
