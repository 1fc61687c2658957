"""A hostile model and oversized results on a real hub: a model whose graph never ends fails its job on the
time limit, the hub answers other requests meanwhile, and the Dask worker it held is given back (the next
job runs); one that needs more memory than a worker may use fails its job, and the next job runs; a result
bigger than ``EOHUB_MAX_JOB_OUTPUT_BYTES`` fails before any part runs and publishes nothing."""

from __future__ import annotations

import time

import pytest

from tests.jobs_hub import (
    api,
    children,
    dask_workers,
    ingest,
    job_folder,
    jobs_hub,
    no_leftovers,
    row_counts,
    submit,
    wait,
    write_dataset,
    write_looping_model,
    write_memory_hog,
    write_model,
)

SCENES = "one-scene"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("job-runaway")
    limits = {
        "EOHUB_MAX_JOB_SECONDS": "6",
        "EOHUB_RATING_SECONDS": "3",
        "EOHUB_MAX_USER_JOBS": "4",
        "EOHUB_MAX_JOB_OUTPUT_BYTES": str(200 * 200),
    }
    hub = jobs_hub(root / "hub", **limits)
    ingest(hub, "alice", "model", write_looping_model(root / "loop", "loop-model"))
    ingest(hub, "alice", "model", write_model(root / "model", "seg-model"))
    ingest(hub, "alice", "dataset", write_dataset(root / "one", SCENES, [(128, 128)]))
    ingest(hub, "alice", "dataset", write_dataset(root / "big", "big-scene", [(256, 256)], seed=4))
    yield hub
    workers = children(hub.process.pid)
    hub.stop()
    assert no_leftovers(workers) == [], "the hub's Dask workers (restarted ones too) outlived it"


def test_a_model_that_never_ends_fails_on_the_time_limit_and_frees_its_worker(hub) -> None:
    endless = submit(hub, "alice", "loop-model", {"inputs": [{"dataset": SCENES}]})
    following = submit(hub, "alice", "seg-model", {"inputs": [{"dataset": SCENES}]})
    assert endless.status_code == following.status_code == 202, (endless.text, following.text)
    wait(hub, "alice", endless.json()["id"], lambda j: j["state"] == "running")
    time.sleep(1)  # the endless part runs on the worker now
    assert api(hub, "alice", "GET", "/api/models/seg-model").status_code == 200  # the hub answers
    job = wait(hub, "alice", endless.json()["id"], timeout=60)
    assert job["state"] == "failed" and "EOHUB_MAX_JOB_SECONDS" in job["error"], job
    assert api(hub, "alice", "GET", "/api/datasets/loop-model-predictions").status_code == 404
    after = wait(hub, "alice", following.json()["id"], timeout=60)
    assert after["state"] == "done", after  # the worker the endless model held was restarted
    assert len(dask_workers(hub.process.pid)) == 1  # restarted, not one more
    assert not job_folder(job["id"]).exists()


def test_a_result_over_the_output_bound_fails_before_any_part_runs(hub) -> None:
    before = row_counts(hub)
    answer = submit(
        hub, "alice", "seg-model", {"inputs": [{"dataset": "big-scene"}], "output": {"dataset": "big-out"}}
    )
    assert answer.status_code == 202, answer.text
    job = wait(hub, "alice", answer.json()["id"])
    assert job["state"] == "failed" and "EOHUB_MAX_JOB_OUTPUT_BYTES" in job["error"], job
    assert job["progress"]["done"] == 0
    assert row_counts(hub) == before  # nothing published
    assert api(hub, "alice", "GET", "/api/datasets/big-out").status_code == 404


@pytest.fixture
def hog_hub(tmp_path):
    hub = jobs_hub(tmp_path / "hub", EOHUB_JOB_WORKER_MEMORY_BYTES=str(640 * 1024 * 1024))
    ingest(hub, "alice", "model", write_model(tmp_path / "model", "seg-model"))
    ingest(hub, "alice", "model", write_memory_hog(tmp_path / "hog", "hog-model"))  # 1 GiB a call
    ingest(hub, "alice", "dataset", write_dataset(tmp_path / "one", SCENES, [(128, 128)]))
    yield hub
    hub.stop()


def test_a_model_that_needs_more_memory_than_a_worker_has_fails_its_job_only(hog_hub) -> None:
    hub = hog_hub
    answer = submit(
        hub, "alice", "hog-model", {"inputs": [{"dataset": SCENES}], "output": {"dataset": "hog-out"}}
    )
    assert answer.status_code == 202, answer.text
    job = wait(hub, "alice", answer.json()["id"], timeout=120)
    assert job["state"] == "failed" and "EOHUB_JOB_WORKER_MEMORY_BYTES" in job["error"], job
    assert api(hub, "alice", "GET", "/api/datasets/hog-out").status_code == 404
    again = submit(
        hub, "alice", "seg-model", {"inputs": [{"dataset": SCENES}], "output": {"dataset": "after-hog"}}
    )
    assert wait(hub, "alice", again.json()["id"])["state"] == "done"  # the hub and its workers go on
