"""Visibility changed while a job runs, on a real hub: an input made private mid-run never lands in a
public dataset, and an input its owner hides from the job's owner mid-run stops the job; either way the
job fails and publishes nothing."""

from __future__ import annotations

import pytest

from tests.jobs_hub import api, ingest, jobs_hub, submit, wait, write_dataset, write_model


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("job-visibility")
    hub = jobs_hub(root / "hub", EOHUB_MAX_USER_JOBS="4")
    ingest(hub, "alice", "model", write_model(root / "model", "slow-model", hidden=192, seed=3))
    # scenes the slow model needs several seconds for on a quiet machine (1024² took 1 s): the visibility
    # change lands while the job runs, not after it
    ingest(hub, "alice", "dataset", write_dataset(root / "mine", "alice-scenes", [(3072, 3072)]))
    ingest(hub, "alice", "dataset", write_dataset(root / "out", "public-out", [(32, 32)], seed=2))
    ingest(hub, "bob", "dataset", write_dataset(root / "bob", "bob-scenes", [(3072, 3072)], seed=4))
    yield hub
    hub.stop()


def run_and_change(hub, owner: str, dataset: str, output: str) -> dict:
    answer = submit(
        hub, "alice", "slow-model", {"inputs": [{"dataset": dataset}], "output": {"dataset": output}}
    )
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    wait(hub, "alice", job_id, lambda j: j["state"] == "running" and j["progress"]["total"] > 0)
    assert api(hub, owner, "PATCH", f"/api/datasets/{dataset}", json={"private": True}).status_code == 200
    assert api(hub, "alice", "GET", f"/api/jobs/{job_id}").json()["state"] == "running"  # still mid-run
    return wait(hub, "alice", job_id)


def test_an_input_made_private_mid_run_never_lands_in_a_public_dataset(hub) -> None:
    job = run_and_change(hub, "alice", "alice-scenes", "public-out")
    assert job["state"] == "failed" and "is public and an input" in job["error"], job
    assert api(hub, "alice", "GET", "/api/datasets/public-out").json()["latest"]["number"] == 1


def test_an_input_hidden_mid_run_stops_the_job(hub) -> None:
    job = run_and_change(hub, "bob", "bob-scenes", "from-bob")
    assert job["state"] == "failed" and "bob-scenes" in job["error"], job
    assert api(hub, "alice", "GET", "/api/datasets/from-bob").status_code == 404
