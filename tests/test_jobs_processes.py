"""``eohub serve --workers 2``: both hub processes take jobs from one queue, each job is run by exactly
one of them (one result version per job), and stopping the hub stops every Dask worker it started."""

from __future__ import annotations

import sys

import httpx
from sqlalchemy import text

from eohub.db.engine import open_database
from tests.hub_server import HubServer
from tests.jobs_hub import api, children, ingest, no_leftovers, submit, wait, write_dataset, write_model
from tests.servers import _spawn, _started, free_port


class TwoProcessHub(HubServer):
    """An ``eohub serve --workers 2`` on its own port and home."""

    def start(self) -> TwoProcessHub:
        self.home.mkdir(parents=True, exist_ok=True)
        args = [
            sys.executable,
            "-m",
            "eohub",
            "serve",
            "--no-demo",
            "--port",
            str(self.port),
            "--workers",
            "2",
        ]
        self.process = _spawn(args, self.home, self.log, env=self._environment())
        return _started(
            self, lambda: httpx.get(f"{self.url}/api", timeout=1).raise_for_status(), self.log, "hub"
        )


def test_each_job_is_run_by_exactly_one_of_the_hubs_processes(tmp_path) -> None:
    env = {"EOHUB_JOB_WORKERS": "1", "EOHUB_MAX_USER_JOBS": "4"}
    hub = TwoProcessHub(tmp_path / "hub", free_port(), env).start()
    try:
        ingest(hub, "alice", "model", write_model(tmp_path / "model", "seg-model"))
        ingest(hub, "alice", "dataset", write_dataset(tmp_path / "data", "scenes", [(200, 160), (120, 90)]))
        ids = [
            submit(hub, "alice", "seg-model", {"inputs": [{"dataset": "scenes"}]}).json()["id"]
            for _ in range(4)
        ]
        jobs = [wait(hub, "alice", job_id) for job_id in ids]
        assert [j["state"] for j in jobs] == ["done"] * 4, jobs
        assert sorted(j["result"]["version"] for j in jobs) == [1, 2, 3, 4]  # one version per job, none twice
        versions = api(hub, "alice", "GET", "/api/datasets/seg-model-predictions/versions").json()
        assert len(versions) == 4
        database = open_database(f"sqlite:///{hub.home / 'eohub.sqlite'}")
        try:
            with database.engine.connect() as connection:
                workers = connection.execute(text("SELECT DISTINCT worker FROM jobs")).scalars().all()
        finally:
            database.close()
        assert 1 <= len(workers) <= 2 and all(workers)
        spawned = children(hub.process.pid)
    finally:
        hub.stop()
    assert no_leftovers(spawned) == []
