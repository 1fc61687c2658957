"""The "Run" form of a model page: which datasets the signed-in caller may run the model on.

Only a signed-in caller sees it (a job belongs to someone, and its result is a dataset they own). The
datasets offered are those the caller can read (the repository's own rule: public ones, their own private
ones, every one for an admin) that have a version, listed by name; the form posts to
``/models/{name}/run`` (:mod:`eohub.server.web.jobs`).
"""

from __future__ import annotations

from dataclasses import dataclass

from eohub.repository import Repository, RepositoryInfo, VersionInfo
from eohub.server.accounts import Account

MAX_DATASETS_OFFERED = 500
"""Datasets listed in the form (the rest are reachable with ``eohub jobs submit``)."""


@dataclass(frozen=True)
class RunForm:
    """What the form needs: the model version to run, the datasets offered, the default output."""

    model: str
    version: int
    datasets: list[RepositoryInfo]
    more: bool
    default_output: str


def run_form(
    repo: Repository, caller: Account | None, kind: str, info: RepositoryInfo, version: VersionInfo
) -> RunForm | None:
    """The form for ``version`` of model ``info``, or ``None`` (a dataset's page, or nobody signed in)."""
    if kind != "model" or caller is None:
        return None
    readable = [d for d in repo.list("dataset", None, MAX_DATASETS_OFFERED + 1) if d.latest is not None]
    readable.sort(key=lambda d: d.name.lower())
    return RunForm(
        model=info.name,
        version=version.number,
        datasets=readable[:MAX_DATASETS_OFFERED],
        more=len(readable) > MAX_DATASETS_OFFERED,
        default_output=f"{info.name}-predictions"[:64],
    )
