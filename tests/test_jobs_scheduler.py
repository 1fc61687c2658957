"""A hub given ``EOHUB_DASK_SCHEDULER`` runs its jobs on that cluster and starts none of its own; a
scheduler it cannot reach fails the job with the line ``eohub predict --scheduler`` prints."""

from __future__ import annotations

import pytest

from tests.jobs_hub import dask_workers, ingest, jobs_hub, submit, wait, write_dataset, write_model

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def content(tmp_path_factory):
    root = tmp_path_factory.mktemp("jobs-scheduler")
    return write_model(root / "model", "seg-model"), write_dataset(root / "data", "some-scenes", [(90, 120)])


def one_job(hub, content) -> dict:
    """The ended job of the model over the dataset, both ingested into ``hub`` first."""
    ingest(hub, "alice", "model", content[0])
    ingest(hub, "alice", "dataset", content[1])
    job = submit(hub, "alice", "seg-model", {"inputs": [{"dataset": "some-scenes"}]}).json()
    return wait(hub, "alice", job["id"])


def test_jobs_run_on_the_cluster_the_hub_is_given(tmp_path, content) -> None:
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
            dashboard_address=None,
        )
        as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        hub = jobs_hub(tmp_path / "hub", EOHUB_DASK_SCHEDULER=cluster.scheduler_address)
        try:
            job = one_job(hub, content)
            assert job["state"] == "done", job
            assert dask_workers(hub.process.pid) == []  # no local cluster of its own
            assert client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.clients)) >= 2
        finally:
            hub.stop()


def test_a_scheduler_that_does_not_answer_fails_the_job_with_predicts_reason(tmp_path, content) -> None:
    hub = jobs_hub(tmp_path / "hub", EOHUB_DASK_SCHEDULER="tcp://127.0.0.1:9")
    try:
        job = one_job(hub, content)
        assert job["state"] == "failed"
        assert job["error"].startswith("cannot reach the Dask scheduler at tcp://127.0.0.1:9"), job
    finally:
        hub.stop()
