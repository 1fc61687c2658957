"""A job as the API shows it: states, timings and the Job JSON of a ``jobs`` row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from eohub.db.tables import JobRow

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
STATES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)
ACTIVE = (QUEUED, RUNNING)
ENDED = (DONE, FAILED, CANCELLED)
HUB_RESTARTED = "hub restarted"


def aware(moment: datetime | None) -> datetime | None:
    """A database time as an aware UTC datetime (SQLite gives naive ones back)."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    moment = aware(moment)
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    start, end = aware(start), aware(end)
    if start is None:
        return None
    return round(((end or datetime.now(UTC)) - start).total_seconds(), 3)


def job_json(row: JobRow) -> dict[str, Any]:
    """The Job JSON of ``row`` (the contract of ``/api/jobs``)."""
    request = row.request or {}
    result = None
    if row.state == DONE and row.result_version is not None:
        result = {"dataset": row.output_dataset, "version": row.result_version}
    return {
        "id": row.id,
        "model": row.model,
        "model_version": row.model_version,
        "owner": row.owner.name,
        "state": row.state,
        "progress": {"done": int(row.progress_done or 0), "total": int(row.progress_total or 0)},
        "error": row.error,
        "created": _iso(row.created_at),
        "started": _iso(row.started_at),
        "finished": _iso(row.finished_at),
        "timings": {
            "queued_seconds": _seconds(row.created_at, row.started_at or row.finished_at),
            "run_seconds": _seconds(row.started_at, row.finished_at),
        },
        "inputs": list(request.get("inputs") or []),
        "options": dict(request.get("options") or {}),
        "output_dataset": row.output_dataset,
        "result": result,
    }
