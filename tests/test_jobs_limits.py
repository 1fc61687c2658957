"""Every bound on prediction jobs, on a real hub: too many pixels and too many jobs at once are refused at
submit with a 413 naming the bound and its variable; a job running past its time fails naming it and
publishes nothing; once it has ended, the user may submit again."""

from __future__ import annotations

import pytest

from tests.jobs_hub import (
    api,
    ingest,
    job_folder,
    jobs_hub,
    submit,
    wait,
    write_dataset,
    write_looping_model,
    write_model,
)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("jobs-limits")
    limits = {"EOHUB_MAX_USER_JOBS": "1", "EOHUB_MAX_JOB_SECONDS": "2", "EOHUB_MAX_JOB_PIXELS": "1000000",
              "EOHUB_RATING_SECONDS": "3"}  # fmt: skip
    hub = jobs_hub(root / "hub", **limits)
    ingest(hub, "alice", "model", write_model(root / "model", "slow-model", hidden=192, seed=3))
    ingest(hub, "alice", "model", write_looping_model(root / "loop", "loop-model"))  # never ends
    ingest(hub, "alice", "dataset", write_dataset(root / "one", "one-scene", [(768, 768)]))
    ingest(hub, "alice", "dataset", write_dataset(root / "two", "two-scenes", [(768, 768)] * 2))
    yield hub
    hub.stop()


def test_inputs_over_the_pixel_limit_are_refused_before_anything_runs(hub) -> None:
    answer = submit(hub, "alice", "slow-model", {"inputs": [{"dataset": "two-scenes"}]})
    assert answer.status_code == 413
    assert "1000000 pixels" in answer.json()["detail"] and "EOHUB_MAX_JOB_PIXELS" in answer.json()["detail"]
    assert api(hub, "alice", "GET", "/api/jobs").json() == []  # nothing was queued


def test_concurrent_jobs_and_run_time_are_bounded(hub) -> None:
    first = submit(hub, "alice", "loop-model", {"inputs": [{"dataset": "one-scene"}]})
    assert first.status_code == 202, first.text
    second = submit(hub, "alice", "slow-model", {"inputs": [{"dataset": "one-scene"}]})
    assert second.status_code == 413 and "EOHUB_MAX_USER_JOBS" in second.json()["detail"]
    other_user = submit(hub, "bob", "slow-model", {"inputs": [{"dataset": "one-scene"}]})
    assert other_user.status_code == 202  # the bound is per user
    api(hub, "bob", "POST", f"/api/jobs/{other_user.json()['id']}/cancel")
    job = wait(hub, "alice", first.json()["id"])
    assert job["state"] == "failed", job
    assert "2 s" in job["error"] and "EOHUB_MAX_JOB_SECONDS" in job["error"]
    assert api(hub, "alice", "GET", "/api/datasets/loop-model-predictions").status_code == 404
    wait(hub, "alice", job["id"], lambda j: not job_folder(j["id"]).exists(), timeout=30)
    again = submit(hub, "alice", "slow-model", {"inputs": [{"dataset": "one-scene"}]})
    assert again.status_code == 202  # the ended job no longer counts
    api(hub, "alice", "POST", f"/api/jobs/{again.json()['id']}/cancel")
