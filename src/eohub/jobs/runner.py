"""The job runner of one hub process: a thread that claims queued jobs and runs them, one at a time.

The hub starts it with the app (``create_app``'s lifespan) and stops it at shutdown, which also
closes the Dask cluster. The cluster is made on first use: a client of ``EOHUB_DASK_SCHEDULER`` when
set, else a local cluster of ``EOHUB_JOB_WORKERS`` processes with ``EOHUB_JOB_THREADS`` threads each (and
``EOHUB_JOB_WORKER_MEMORY_BYTES`` of memory).
The thread wakes when a job is submitted in this process (:func:`wake`) and otherwise polls the queue
every second, so a job submitted to another process of the hub is picked up too; it runs
:func:`eohub.jobs.queue.recover` when it starts and every third of the lease. With ``eohub serve
--workers N`` every process has its runner, and makes its own local cluster when it runs a job; an
``EOHUB_DASK_SCHEDULER`` gives them one cluster to share.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from contextlib import ExitStack
from typing import Any

from eohub.jobs import queue, staging

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
_RUNNERS: weakref.WeakSet[JobRunner] = weakref.WeakSet()


def wake() -> None:
    """Tell this process's runners that a job was queued."""
    for runner in list(_RUNNERS):
        runner.wakeup.set()


class Cluster:
    """The Dask client jobs run on, made when first asked for and closed with :meth:`close`."""

    def __init__(self, workers: int, threads: int, scheduler: str | None, memory: int = 0) -> None:
        self.workers, self.threads, self.scheduler = workers, threads, scheduler
        self.memory: int | str = memory or "auto"
        self._stack: ExitStack | None = None
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None or self._client.status in ("closed", "closing"):
            from eohub.inference.distributed import dask_client

            self.close()
            stack = ExitStack()
            try:
                self._client = stack.enter_context(
                    dask_client(self.workers, self.scheduler, self.threads, self.memory)
                )
            except BaseException:
                stack.close()
                raise
            self._stack = stack
        return self._client

    def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            try:
                stack.close()
            except Exception:  # noqa: BLE001 - closing a broken cluster must not stop the hub's shutdown
                log.exception("closing the Dask cluster failed")


class JobRunner:
    """Claims and runs jobs on its own thread (see the module docstring)."""

    def __init__(self, hub: Any) -> None:
        limits = hub.settings.limits
        self.hub = hub
        memory, scheduler = limits.job_worker_memory_bytes, hub.settings.dask_scheduler
        self.cluster = Cluster(limits.job_workers, limits.job_threads, scheduler, memory)
        self.wakeup = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self._last_recovery = 0.0

    def start(self) -> JobRunner:
        _RUNNERS.add(self)
        self.thread = threading.Thread(target=self._loop, name="eohub-jobs", daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout: float = 60) -> None:
        """Stop after the running job stops (it fails as "hub restarted"); the thread closes the cluster
        (a Dask client is closed in the thread that opened it)."""
        self.stopping.set()
        self.wakeup.set()
        if self.thread is not None:
            self.thread.join(timeout)
        _RUNNERS.discard(self)

    def _recover(self) -> None:
        lease = self.hub.settings.limits.job_lease_seconds
        if time.monotonic() - self._last_recovery >= lease / 3:
            self._last_recovery = time.monotonic()
            for job_id in queue.recover(self.hub.database, self.hub.settings.limits):
                staging.remove(staging.job_folder(job_id))  # what a process of this machine left

    def _loop(self) -> None:
        from eohub.jobs.job import run_job

        while not self.stopping.is_set():
            try:
                self._recover()
                job_id = queue.claim(self.hub.database)
                if job_id is not None:
                    run_job(self.hub, job_id, self.cluster, self.stopping)
                    continue
            except Exception:  # noqa: BLE001 - the runner outlives any one failure (the database may be down)
                log.exception("the job runner failed; retrying")
            self.wakeup.wait(POLL_SECONDS)
            self.wakeup.clear()
        self.cluster.close()
