"""Prediction jobs on a real hub with a real local Dask cluster: the result equals ``eohub predict``
bit for bit, carries its lineage into the STAC API, stays private when an input is, and a cancelled
job publishes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from eohub import __version__
from eohub.client import RemoteRepository
from tests.jobs_hub import (
    api,
    children,
    ingest,
    job_folder,
    jobs_hub,
    no_leftovers,
    row_counts,
    submit,
    wait,
    write_dataset,
    write_model,
)

MODEL, SLOW = "seg-model", "slow-seg-model"
SCENES, SLOW_SCENES, SECRET = "two-scenes", "big-scenes", "secret-scenes"
OUTPUT = f"{MODEL}-predictions"
OPTIONS = {"tile": 64, "overlap": 16, "batch": 8}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("jobs-run")
    hub = jobs_hub(root / "hub", EOHUB_JOB_WORKERS="2")
    work = root / "work"
    ingest(hub, "alice", "model", write_model(work / "model", MODEL))
    ingest(hub, "alice", "model", write_model(work / "slow", SLOW, hidden=192, seed=3))
    ingest(hub, "alice", "dataset", write_dataset(work / "scenes", SCENES, [(700, 300), (150, 220)]))
    ingest(
        hub, "alice", "dataset", write_dataset(work / "big", SLOW_SCENES, [(1536, 1536)] * 4, seed=10)
    )  # ~10 s: cancelled mid-run
    ingest(
        hub, "alice", "dataset", write_dataset(work / "secret", SECRET, [(100, 120)], seed=20), private=True
    )
    yield hub
    workers = children(hub.process.pid)
    hub.stop()
    assert no_leftovers(workers) == [], "the hub's Dask workers outlived it"


@pytest.fixture(scope="module")
def finished(hub):
    """A job of ``MODEL`` over both scenes of ``SCENES`` (tile 64, overlap 16: a scene in several parts)."""
    answer = submit(hub, "alice", MODEL, {"inputs": [{"dataset": SCENES}], "options": OPTIONS})
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert job["state"] == "queued" and job["owner"] == "alice" and job["model_version"] == 1
    assert job["inputs"] == [{"dataset": SCENES, "version": 1, "items": None}]
    assert job["output_dataset"] == OUTPUT and job["options"] == OPTIONS
    return wait(hub, "alice", job["id"])


def read(path: Path) -> tuple[np.ndarray, dict]:
    with rasterio.open(path) as src:
        return src.read(), {"crs": src.crs, "transform": src.transform, "dtypes": src.dtypes}


def test_a_job_on_a_dataset_version_equals_eohub_predict_on_the_same_files(hub, finished, tmp_path) -> None:
    assert finished["state"] == "done", finished
    assert finished["error"] is None and finished["result"] == {"dataset": OUTPUT, "version": 1}
    assert finished["progress"]["done"] == finished["progress"]["total"] > 0
    assert finished["timings"]["run_seconds"] > 0 and finished["timings"]["queued_seconds"] >= 0
    assert not job_folder(finished["id"]).exists()  # staged inputs and the result's files removed
    with RemoteRepository(hub.url, hub.token("alice")) as repo:
        result = repo.download("dataset", OUTPUT, tmp_path / "result")
        scenes = repo.download("dataset", SCENES, tmp_path / "scenes")
        model = repo.download("model", MODEL, tmp_path / "model")
        info = repo.get("dataset", OUTPUT)
    assert not info.private and info.latest is not None and info.latest.quality_level == 2, info
    env = {k: v for k, v in os.environ.items() if not k.startswith("EOHUB_")} | {"EOHUB_HOME": str(tmp_path)}
    for n in range(2):
        local = tmp_path / f"local-{n}.tif"
        flags = [f"--{k}={v}" for k, v in OPTIONS.items()]
        args = [sys.executable, "-m", "eohub", "predict", str(model), str(scenes / f"scene-{n}.json"), *flags]
        subprocess.run([*args, "-o", str(local)], env=env, check=True, capture_output=True, timeout=120)
        on_hub, profile = read(result / "predictions" / f"scene-{n}" / f"scene-{n}.tif")
        expected, local_profile = read(local)
        assert profile == local_profile
        assert np.array_equal(on_hub, expected)  # identical, not just close


def test_the_result_links_its_inputs_and_model_and_the_stac_api_finds_it_by_them(hub, finished) -> None:
    item = api(hub, None, "GET", f"/stac/collections/datasets.{OUTPUT}/items/scene-1").json()
    derived = {link["title"]: link for link in item["links"] if link["rel"] == "derived_from"}
    source = f"{hub.url}/stac/collections/datasets.{SCENES}/items/scene-1?version=1"
    assert derived["input scene-1"]["href"] == source
    model = derived[f"model {MODEL} version 1"]
    assert model["href"].startswith(f"{hub.url}/stac/collections/models.{MODEL}/items/") and model["mlm:name"]
    assert api(hub, None, "GET", source.removeprefix(hub.url)).json()["id"] == "scene-1"  # the link resolves
    assert api(hub, None, "GET", model["href"].removeprefix(hub.url)).json()["properties"]["mlm:input"]
    props = item["properties"]
    assert props["processing:software"] == {"eohub": __version__} and "processing:datetime" in props
    assert props["label:type"] == "raster" and props["label:classes"] == [
        {"name": None, "classes": ["water", "land"]}
    ]
    for query in (
        {
            "filter": {"op": "=", "args": [{"property": "eohub:derived_from"}, source]},
            "filter-lang": "cql2-json",
        },
        {
            "filter": f"\"eohub:derived_from\" LIKE '%/datasets.{SCENES}/items/scene-1?%'",
            "filter-lang": "cql2-text",
        },
    ):
        found = api(hub, None, "POST", "/stac/search", json=query).json()["features"]
        assert [(f["collection"], f["id"]) for f in found] == [(f"datasets.{OUTPUT}", "scene-1")], query
    queryables = api(hub, None, "GET", f"/stac/collections/datasets.{OUTPUT}/queryables").json()
    assert queryables["properties"]["eohub:derived_from"]["type"] == "string"
    by_model = {"filter": {"op": "=", "args": [{"property": "eohub:derived_from"}, model["href"]]}}
    found = api(hub, None, "POST", "/stac/search", json=by_model).json()["features"]
    assert sorted(f["id"] for f in found) == ["scene-0", "scene-1"]


def test_a_private_input_gives_a_private_result(hub, finished) -> None:
    body = {"inputs": [{"dataset": SECRET}], "output": {"dataset": "secret-predictions"}}
    job = wait(hub, "alice", submit(hub, "alice", MODEL, body).json()["id"])
    assert job["state"] == "done", job
    assert api(hub, "alice", "GET", "/api/datasets/secret-predictions").json()["private"] is True
    assert api(hub, "bob", "GET", "/api/datasets/secret-predictions").status_code == 404
    assert api(hub, None, "GET", "/stac/collections/datasets.secret-predictions").status_code == 404
    by_input = {"filter": f"\"eohub:derived_from\" LIKE '%/datasets.{SECRET}/%'", "filter-lang": "cql2-text"}
    for user, found in (("bob", []), (None, []), ("alice", ["scene-0"])):  # lineage names stay private
        features = api(hub, user, "POST", "/stac/search", json=by_input).json()["features"]
        assert [f["id"] for f in features] == found, user
    into_public = submit(
        hub, "alice", MODEL, {"inputs": [{"dataset": SECRET}], "output": {"dataset": OUTPUT}}
    )
    assert into_public.status_code == 403 and "public" in into_public.json()["detail"]


def test_cancelling_a_running_job_stops_it_and_publishes_nothing(hub) -> None:
    body = {"inputs": [{"dataset": SLOW_SCENES}], "output": {"dataset": "never-published"}}
    before = row_counts(hub)
    job = submit(hub, "alice", SLOW, body).json()
    running = wait(hub, "alice", job["id"], lambda j: j["state"] == "running" and 0 < j["progress"]["done"])
    assert running["progress"]["done"] < running["progress"]["total"]  # progress while it runs
    cancelled = api(hub, "alice", "POST", f"/api/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert wait(hub, "alice", job["id"])["result"] is None
    again = api(hub, "alice", "POST", f"/api/jobs/{job['id']}/cancel")
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]
    assert api(hub, "alice", "GET", "/api/datasets/never-published").status_code == 404
    wait(hub, "alice", job["id"], lambda j: not job_folder(j["id"]).exists(), timeout=30)
    assert row_counts(hub) == before  # no version, no file, document, blob or index row


def test_jobs_are_listed_newest_first_for_their_owner_only(hub, finished) -> None:
    mine = api(hub, "alice", "GET", "/api/jobs").json()
    created = [j["created"] for j in mine]
    assert created == sorted(created, reverse=True) and finished["id"] in [j["id"] for j in mine]
    done = api(hub, "alice", "GET", "/api/jobs", params={"state": "done"}).json()
    assert done and all(j["state"] == "done" for j in done)
    assert api(hub, "bob", "GET", "/api/jobs").json() == []
    assert api(hub, "bob", "GET", f"/api/jobs/{finished['id']}").status_code == 404
    assert api(hub, None, "GET", "/api/jobs").status_code == 401


def test_a_failed_job_gives_the_reason_eohub_predict_prints(hub, tmp_path) -> None:
    bad = {"tile": 64, "overlap": 100}
    job = submit(hub, "alice", MODEL, {"inputs": [{"dataset": SCENES, "items": ["scene-1"]}], "options": bad})
    failed = wait(hub, "alice", job.json()["id"])
    assert failed["state"] == "failed" and failed["result"] is None
    with RemoteRepository(hub.url, hub.token("alice")) as repo:
        scenes = repo.download("dataset", SCENES, tmp_path / "scenes")
        model = repo.download("model", MODEL, tmp_path / "model")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EOHUB_")} | {"EOHUB_HOME": str(tmp_path)}
    args = [sys.executable, "-m", "eohub", "predict", str(model), str(scenes / "scene-1.json"), "-o"]
    local = subprocess.run([*args, str(tmp_path / "x.tif"), "--tile=64", "--overlap=100"], env=env,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert local.returncode != 0 and local.stderr.startswith("error: ")
    assert failed["error"] == local.stderr.strip().removeprefix("error: ")
    assert "overlap" in failed["error"]
