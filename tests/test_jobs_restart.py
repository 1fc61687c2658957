"""A hub killed while a job runs (SIGKILL of ``eohub serve``) leaves no job running once it is back: the
job fails as "hub restarted", publishes nothing, and neither its Dask workers nor its files outlive it."""

from __future__ import annotations

from tests.jobs_hub import (
    alive,
    api,
    children,
    dask_workers,
    ingest,
    job_folder,
    jobs_hub,
    no_leftovers,
    submit,
    wait,
    write_dataset,
    write_model,
)


def test_a_hub_killed_mid_job_leaves_no_job_running_after_restart(tmp_path) -> None:
    hub = jobs_hub(tmp_path / "hub")
    try:
        ingest(hub, "alice", "model", write_model(tmp_path / "model", "slow-model", hidden=192, seed=3))
        ingest(
            hub, "alice", "dataset", write_dataset(tmp_path / "data", "big-scenes", [(1536, 1536)] * 3)
        )  # ~7 s: killed mid-run
        queued = submit(hub, "alice", "slow-model", {"inputs": [{"dataset": "big-scenes"}]}).json()
        wait(hub, "alice", queued["id"], lambda j: j["state"] == "running" and j["progress"]["total"] > 0)
        workers = dask_workers(hub.process.pid)
        assert workers, "the hub runs its jobs on a local cluster of worker processes"
        hub.kill()
        assert no_leftovers(workers) == [], "the Dask workers of a killed hub must not outlive it"
        hub.start()
        job = wait(hub, "alice", queued["id"], timeout=30)
        assert job["state"] == "failed" and job["error"] == "hub restarted", job
        assert job["finished"] is not None and job["result"] is None
        assert api(hub, "alice", "GET", "/api/jobs", params={"state": "running"}).json() == []
        assert api(hub, "alice", "GET", "/api/datasets/slow-model-predictions").status_code == 404
        assert not job_folder(queued["id"]).exists()
    finally:
        leftovers = children(hub.process.pid) if hub.process else []
        hub.stop()
        assert not alive(leftovers) or no_leftovers(leftovers) == []
