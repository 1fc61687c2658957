"""The job queue in the database: claiming a queued job, the running job's lease, ending it, recovery.

Several hub processes (``eohub serve --workers N``, or hubs on several machines) share one queue. A
process claims a job with one ``UPDATE jobs SET state='running' ... WHERE id=? AND state='queued'``:
the database lets exactly one such update change the row, so one process runs each job. While it
runs, the process renews ``heartbeat_at`` every few seconds; every later update of that job is
conditional on ``state='running' AND worker=<this process>``, so a job cancelled (or failed by
recovery) meanwhile is noticed at the next heartbeat and never overwritten. The lease is renewed by a
thread of its own (:class:`Lease`), so a long step (assembling a COG, committing the result) never lets
it expire while the process lives. A job whose commit lands is done (:func:`published`), even if
recovery failed it meanwhile: a job that published is never left "failed".

Recovery (:func:`recover`, run by every process when it starts and then periodically) ends jobs whose
process is gone: on this machine, a process id that no longer runs (or is this process under another
start); anywhere, a heartbeat older than ``EOHUB_JOB_LEASE_SECONDS``. Such a job is failed with
"hub restarted", unless its result version was committed (the commit key is the job id), when it is
done. A job running past ``EOHUB_MAX_JOB_SECONDS`` plus the lease is failed naming the limit.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from datetime import timedelta

from sqlalchemy import select, update

from eohub.config import Limits
from eohub.core.names import name_key
from eohub.db.engine import Database
from eohub.db.tables import JobRow, RepositoryRow, VersionRow, utcnow
from eohub.jobs.records import CANCELLED, DONE, FAILED, HUB_RESTARTED, QUEUED, RUNNING, aware

log = logging.getLogger(__name__)

_PROCESS = f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def worker_id() -> str:
    """This process's name in ``jobs.worker``: host, process id and a random start token."""
    if not _PROCESS.split(":")[1] == str(os.getpid()):  # a forked child is another worker
        globals()["_PROCESS"] = f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"
    return _PROCESS


def claim(database: Database) -> str | None:
    """Claim the oldest queued job for this process; its id, or ``None`` when none is queued."""
    me, now = worker_id(), utcnow()
    with database.sessions() as s:
        candidates = list(
            s.scalars(select(JobRow.id).where(JobRow.state == QUEUED).order_by(JobRow.created_at).limit(8))
        )
    for job_id in candidates:
        with database.sessions.begin() as s:
            claimed = s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state == QUEUED)
                .values(state=RUNNING, worker=me, started_at=now, heartbeat_at=now)
            )
        if claimed.rowcount == 1:
            return job_id
    return None


def _mine(job_id: str) -> object:
    return (JobRow.id == job_id) & (JobRow.state == RUNNING) & (JobRow.worker == worker_id())


def heartbeat(database: Database, job_id: str, done: int | None = None, total: int | None = None) -> bool:
    """Renew the lease (and progress); ``False`` when the job is no longer this process's to run."""
    values: dict[str, object] = {"heartbeat_at": utcnow()}
    if done is not None:
        values["progress_done"] = done
    if total is not None:
        values["progress_total"] = total
    with database.sessions.begin() as s:
        return s.execute(update(JobRow).where(_mine(job_id)).values(**values)).rowcount == 1


class Lease:
    """Renews a running job's lease from a thread of its own every ``every`` seconds, whatever the job's
    thread is doing (staging, assembling a COG, committing): only a process that is gone lets a lease
    expire. Past ``deadline`` seconds (the run time limit and a lease more) it stops renewing and fails
    the job with ``reason``, so a job whose thread hangs is not left running. ``lost`` is set once the
    job is no longer this process's (cancelled, failed by recovery or by the deadline)."""

    def __init__(self, database: Database, job_id: str, every: float, deadline: float, reason: str) -> None:
        self.database, self.job_id, self.every = database, job_id, every
        self.deadline, self.reason = time.monotonic() + deadline, reason
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"eohub-lease-{job_id[:8]}", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                if time.monotonic() > self.deadline:
                    finish(self.database, self.job_id, FAILED, self.reason)
                    self.lost.set()
                    return
                if not heartbeat(self.database, self.job_id):
                    self.lost.set()
                    return
            except Exception:  # noqa: BLE001 - the database may be away a moment; the lease says so if longer
                log.warning("renewing the lease of job %s failed", self.job_id, exc_info=True)


def begin_publishing(database: Database, job_id: str) -> bool:
    """Mark the job as committing its result (cancel is refused from now on); ``False`` if it ended."""
    with database.sessions.begin() as s:
        changed = s.execute(
            update(JobRow).where(_mine(job_id)).values(publishing=True, heartbeat_at=utcnow())
        )
        return changed.rowcount == 1


def finish(
    database: Database, job_id: str, state: str, error: str | None = None, version: int | None = None
) -> bool:
    """End a job this process runs as ``state`` (done with ``version``, failed with ``error``)."""
    values: dict[str, object] = {"state": state, "error": error, "finished_at": utcnow(), "publishing": False}
    if version is not None:
        values["result_version"] = version
    with database.sessions.begin() as s:
        return s.execute(update(JobRow).where(_mine(job_id)).values(**values)).rowcount == 1


def published(database: Database, job_id: str, version: int) -> bool:
    """Record that the job committed ``version`` (its commit key is the job id): it is done, even when
    recovery failed it meanwhile (a commit that lands makes the job done, as :func:`recover` says)."""
    values = {"state": DONE, "result_version": version, "error": None, "publishing": False}
    with database.sessions.begin() as s:
        changed = s.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.state.in_((RUNNING, FAILED)))
            .values(finished_at=utcnow(), **values)
        )
        return changed.rowcount == 1


def _gone(worker: str | None) -> bool:
    """True when ``worker`` names a process of this machine that is not running any more."""
    host, _, rest = (worker or "").partition(":")
    pid_text, _, token = rest.partition(":")
    if host != socket.gethostname()[:80] or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return worker != worker_id()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def committed_version(database: Database, row: JobRow) -> int | None:
    """The version a job committed (its commit key is the job id), if it did."""
    with database.sessions() as s:
        return s.scalar(
            select(VersionRow.number)
            .join(RepositoryRow, RepositoryRow.id == VersionRow.repository_id)
            .where(
                RepositoryRow.kind == "dataset",
                RepositoryRow.name_key == name_key(row.output_dataset),
                VersionRow.commit_key == row.id,
            )
        )


def recover(database: Database, limits: Limits) -> list[str]:
    """End the running jobs whose process is gone or that ran far too long (see the module docstring);
    returns their ids."""
    now = utcnow()
    stale = now - timedelta(seconds=limits.job_lease_seconds)
    overdue = now - timedelta(seconds=limits.max_job_seconds + limits.job_lease_seconds)
    with database.sessions() as s:
        rows = list(s.scalars(select(JobRow).where(JobRow.state == RUNNING)))
        s.expunge_all()
    ended: list[str] = []
    for row in rows:
        beat = aware(row.heartbeat_at)
        dead = _gone(row.worker) or beat is None or beat < stale
        late = aware(row.started_at) is not None and aware(row.started_at) < overdue
        if not (dead or late):
            continue
        version = committed_version(database, row)
        if version is not None:
            values: dict[str, object] = {"state": DONE, "result_version": version, "error": None}
        elif late and not dead:
            values = {"state": FAILED, "error": runtime_message(limits)}
        else:
            values = {"state": FAILED, "error": HUB_RESTARTED}
        with database.sessions.begin() as s:
            changed = s.execute(
                update(JobRow)
                .where(
                    JobRow.id == row.id,
                    JobRow.state == RUNNING,
                    JobRow.worker == row.worker,
                    JobRow.heartbeat_at == row.heartbeat_at,
                )  # fmt: skip
                .values(finished_at=now, publishing=False, **values)
            )
        if changed.rowcount == 1:
            ended.append(row.id)
            log.warning("job %s of %s: %s (%s)", row.id, row.worker, values["state"], values.get("error"))
    return ended


def runtime_message(limits: Limits) -> str:
    return (
        f"the job ran longer than {limits.max_job_seconds} s, the most a job may run (EOHUB_MAX_JOB_SECONDS)"
    )


def is_cancelled(database: Database, job_id: str) -> bool:
    with database.sessions() as s:
        return s.scalar(select(JobRow.state).where(JobRow.id == job_id)) == CANCELLED
