"""The job queue on SQLite and PostgreSQL: of several processes claiming at once, exactly one gets a job;
recovery ends the jobs of dead processes (or done, when their result was committed) and never a live
process's job."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from multiprocessing import get_context

import pytest
from sqlalchemy import select

from eohub.config import Limits
from eohub.db.engine import open_database
from eohub.db.tables import JobRow, RepositoryRow, UserRow, VersionRow, utcnow
from eohub.jobs import queue

HOST = socket.gethostname()[:80]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'eohub.sqlite'}"
    return request.getfixturevalue("postgres_url")


def add_jobs(url: str, *jobs: dict) -> None:
    database = open_database(url)
    try:
        with database.sessions.begin() as s:
            user = s.scalar(select(UserRow).where(UserRow.name == "alice")) or UserRow(name="alice")
            s.add(user)
            s.flush()
            for n, job in enumerate(jobs):
                values = {"model": "m", "model_version": 1, "state": "queued", "request": {},
                          "output_dataset": "out", "private": False, "pixels": 1, "base_url": "",
                          "progress_done": 0, "progress_total": 0,
                          "created_at": utcnow() + timedelta(milliseconds=n)}  # fmt: skip
                s.add(JobRow(owner_id=user.id, **{**values, **job}))
    finally:
        database.close()


def states(url: str) -> dict[str, tuple[str, str | None, int | None]]:
    database = open_database(url)
    try:
        with database.sessions() as s:
            return {r.id: (r.state, r.error, r.result_version) for r in s.scalars(select(JobRow))}
    finally:
        database.close()


def claim_at(url: str, moment: float) -> str | None:
    database = open_database(url)
    try:
        time.sleep(max(0.0, moment - time.time()))
        return queue.claim(database)
    finally:
        database.close()


def test_of_several_processes_claiming_at_once_exactly_one_runs_each_job(url) -> None:
    add_jobs(url, {"id": "a" * 32}, {"id": "b" * 32})
    start = time.time() + 1.5
    with ProcessPoolExecutor(4, mp_context=get_context("fork")) as pool:
        claimed = list(pool.map(claim_at, [url] * 4, [start] * 4))
    assert sorted(c for c in claimed if c) == ["a" * 32, "b" * 32]  # each once, the oldest first
    assert claimed.count(None) == 2
    assert {state for state, _, _ in states(url).values()} == {"running"}


def test_recovery_ends_the_jobs_of_dead_processes_only(url) -> None:
    finished = subprocess.Popen(["true"])
    finished.wait()
    now, limits = utcnow(), Limits(job_lease_seconds=30, max_job_seconds=3600)
    stale = now - timedelta(seconds=120)
    running = {"state": "running", "started_at": now, "heartbeat_at": now}
    add_jobs(
        url,
        {"id": "1" * 32, **running, "worker": f"{HOST}:{finished.pid}:dead"},  # its process is gone
        {"id": "2" * 32, **running, "worker": f"{HOST}:{os.getpid()}:earlier"},  # this pid, another start
        {"id": "3" * 32, **running, "worker": f"{HOST}:{os.getppid()}:alive"},  # a live process
        {"id": "4" * 32, **running, "worker": "elsewhere:12:x", "heartbeat_at": stale},  # lease expired
        {"id": "5" * 32, **running, "worker": "elsewhere:13:x"},  # another machine, lease fresh
        {"id": "6" * 32, **running, "worker": f"{HOST}:{finished.pid}:dead", "output_dataset": "made"},
        {"id": "7" * 32, "state": "queued"},
    )
    database = open_database(url)
    try:
        with database.sessions.begin() as s:  # job 6 committed its version before its process died
            user = s.scalar(select(UserRow))
            repo = RepositoryRow(kind="dataset", name="made", name_key="made", owner_id=user.id)
            s.add(repo)
            s.flush()
            s.add(VersionRow(repository_id=repo.id, number=1, author_id=user.id, quality_level=2,
                             commit_key="6" * 32))  # fmt: skip
        ended = queue.recover(database, limits)
    finally:
        database.close()
    assert sorted(ended) == ["1" * 32, "2" * 32, "4" * 32, "6" * 32]
    found = states(url)
    assert found["1" * 32] == found["2" * 32] == found["4" * 32] == ("failed", "hub restarted", None)
    assert found["6" * 32] == ("done", None, 1)
    assert found["3" * 32][0] == found["5" * 32][0] == "running"
    assert found["7" * 32][0] == "queued"


def test_a_process_can_only_touch_the_jobs_it_claimed(url) -> None:
    add_jobs(url, {"id": "c" * 32}, {"id": "d" * 32, "state": "running", "worker": "elsewhere:1:x"})
    database = open_database(url)
    try:
        assert queue.claim(database) == "c" * 32
        assert queue.heartbeat(database, "c" * 32, 3, 9)
        assert not queue.heartbeat(database, "d" * 32, 1, 1)  # another process's job
        assert not queue.finish(database, "d" * 32, "done", version=1)
        with database.sessions.begin() as s:  # cancelled meanwhile: the runner notices at its heartbeat
            s.get(JobRow, "c" * 32).state = "cancelled"
        assert not queue.heartbeat(database, "c" * 32, 4, 9)
        assert not queue.begin_publishing(database, "c" * 32)
    finally:
        database.close()
    assert states(url)["d" * 32][0] == "running" and states(url)["c" * 32][0] == "cancelled"


def test_a_live_process_keeps_its_lease_through_a_long_step_and_a_landed_commit_makes_the_job_done(
    url,
) -> None:
    add_jobs(url, {"id": "e" * 32})
    limits = Limits(job_lease_seconds=2, max_job_seconds=3600)
    database = open_database(url)
    try:
        assert queue.claim(database) == "e" * 32
        with queue.Lease(database, "e" * 32, 0.5, 3600, "late") as lease:  # its thread busy committing
            time.sleep(3)
            assert queue.recover(database, limits) == []  # its lease is fresh: nobody steals it
            assert not lease.lost.is_set()
        assert queue.begin_publishing(database, "e" * 32)
        with database.sessions.begin() as s:  # the process stalls past its lease while committing
            s.get(JobRow, "e" * 32).heartbeat_at = utcnow() - timedelta(seconds=60)
        assert queue.recover(database, limits) == ["e" * 32]  # failed: its commit had not landed
        with database.sessions.begin() as s:  # ... then the commit lands
            user = s.scalar(select(UserRow))
            repo = RepositoryRow(kind="dataset", name="out", name_key="out", owner_id=user.id)
            s.add(repo)
            s.flush()
            s.add(VersionRow(repository_id=repo.id, number=1, author_id=user.id, quality_level=2,
                             commit_key="e" * 32))  # fmt: skip
        assert queue.published(database, "e" * 32, 1)
    finally:
        database.close()
    assert states(url)["e" * 32] == ("done", None, 1)  # never a failed job that published


def test_a_job_whose_thread_hangs_is_failed_by_its_lease_past_the_run_time_limit(url) -> None:
    add_jobs(url, {"id": "f" * 32})
    database = open_database(url)
    try:
        assert queue.claim(database) == "f" * 32
        with queue.Lease(database, "f" * 32, 0.2, 1.0, "the job ran longer than 1 s") as lease:
            assert lease.lost.wait(10)  # the job's own thread never came back
    finally:
        database.close()
    assert states(url)["f" * 32] == ("failed", "the job ran longer than 1 s", None)
