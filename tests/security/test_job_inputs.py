"""Hostile job requests get a 4xx before anything is queued: unknown or unreadable inputs, another user's
private items and uploads, options out of bounds, path-like names, outputs the caller does not own, and
requests without a token. One positive control shows the same hub accepts a proper request."""

from __future__ import annotations

import hashlib

import pytest

from tests.jobs_hub import api, ingest, jobs_hub, submit, write_dataset, write_model, write_scene

from .attacks import upload


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("job-inputs")
    hub = jobs_hub(root / "hub")
    ingest(hub, "alice", "model", write_model(root / "model", "seg-model"))
    ingest(hub, "alice", "dataset", write_dataset(root / "public", "open-scenes", [(64, 64)]))
    ingest(hub, "bob", "dataset", write_dataset(root / "bob", "bob-secret", [(64, 64)], seed=5), private=True)
    ingest(hub, "bob", "dataset", write_dataset(root / "bob2", "bob-public", [(64, 64)], seed=6))
    scene = write_scene(root / "scene.tif", 64, 64, seed=9).read_bytes()
    assert upload(hub, "bob", scene).status_code in (200, 204)
    hub.bob_upload = hashlib.sha256(scene).hexdigest()
    yield hub
    hub.stop()


def refused(hub, body, status: int, *words: str, model: str = "seg-model", user: str | None = "alice"):
    answer = api(hub, user, "POST", f"/api/models/{model}/jobs", json=body)
    assert answer.status_code == status, (body, answer.text)
    for word in words:
        assert word in answer.json()["detail"], (body, answer.json())
    return answer


def test_inputs_the_caller_cannot_read_are_not_found(hub) -> None:
    refused(hub, {"inputs": [{"dataset": "no-such-data"}]}, 404, "no-such-data")
    refused(hub, {"inputs": [{"dataset": "bob-secret"}]}, 404, "bob-secret")
    refused(hub, {"inputs": [{"stac_item": "datasets.bob-secret/scene-0"}]}, 404)
    refused(hub, {"inputs": [{"dataset": "open-scenes", "items": ["scene-9"]}]}, 404, "scene-9")
    refused(hub, {"inputs": [{"dataset": "open-scenes", "version": 7}]}, 404, "version 7")
    refused(hub, {"inputs": [{"dataset": "open-scenes"}]}, 404, "no-model", model="no-model")


def test_a_blob_the_caller_never_uploaded_cannot_be_an_input(hub) -> None:
    for digest in (hub.bob_upload, "0" * 64):
        body = {"inputs": [{"upload": {"sha256": digest, "name": "scene.tif"}}]}
        refused(hub, body, 422, digest, "upload")


def vrt_of(path, bands: int = 3) -> bytes:
    """A VRT of the raster at ``path`` (any file on the hub's host), as a hostile upload would carry it."""
    sources = "".join(
        f'<VRTRasterBand dataType="UInt16" band="{b}"><SimpleSource><SourceFilename relativeToVRT="0">'
        f"{path}</SourceFilename><SourceBand>{b}</SourceBand></SimpleSource></VRTRasterBand>"
        for b in range(1, bands + 1)
    )
    return f'<VRTDataset rasterXSize="64" rasterYSize="64">{sources}</VRTDataset>'.encode()


def test_an_upload_that_names_other_files_is_refused(hub, tmp_path) -> None:
    host_file = write_scene(tmp_path / "on-the-host.tif", 64, 64, seed=11)  # a raster that is no blob
    database = hub.home / "eohub.sqlite"
    raw = (
        '<VRTDataset rasterXSize="16" rasterYSize="16"><VRTRasterBand dataType="Byte" band="1" '
        f'subClass="VRTRawRasterBand"><SourceFilename relativetoVRT="0">{database}</SourceFilename>'
        "</VRTRasterBand></VRTDataset>"
    ).encode()  # the hub's database, as pixels
    for data in (vrt_of(host_file), raw):
        assert upload(hub, "alice", data).status_code in (200, 204)
        body = {"inputs": [{"upload": {"sha256": hashlib.sha256(data).hexdigest(), "name": "scene.tif"}}]}
        answer = refused(hub, body, 400, "scene.tif", "not a readable GeoTIFF or JPEG 2000")
        assert str(hub.home) not in answer.text and str(host_file) not in answer.text


@pytest.mark.parametrize(
    "options",
    [{"tile": -1}, {"tile": 10**12}, {"batch": 0}, {"overlap": -5}, {"overlap": "8"}, {"tile": True},
     {"tile": 1.5}, {"threads": 64}],
)  # fmt: skip
def test_options_out_of_bounds_are_refused(hub, options) -> None:
    refused(hub, {"inputs": [{"dataset": "open-scenes"}], "options": options}, 400, "options")


@pytest.mark.parametrize(
    "body",
    [
        {"inputs": [{"upload": {"sha256": "0" * 64, "name": "../../etc/passwd.tif"}}]},
        {"inputs": [{"upload": {"sha256": "0" * 64, "name": "a/b.tif"}}]},
        {"inputs": [{"upload": {"sha256": "0" * 64, "name": "scene.exe"}}]},
        {"inputs": [{"upload": {"sha256": "../" * 20 + "0000", "name": "scene.tif"}}]},
        {"inputs": [{"dataset": "../../etc"}]},
        {"inputs": [{"dataset": "open-scenes", "items": ["../scene-0"]}]},
        {"inputs": [{"stac_item": "datasets.open-scenes/../scene-0"}]},
        {"inputs": [{"stac_item": "../datasets.open-scenes/scene-0"}]},
        {"inputs": [{"dataset": "open-scenes"}], "output": {"dataset": "../out"}},
        {"inputs": [{"dataset": "open-scenes"}], "output": {"dataset": "x" * 5000}},
        {"inputs": [{"dataset": "open-scenes", "extra": 1}]},
        {"inputs": []},
        {"inputs": "open-scenes"},
        {"inputs": [{"dataset": "open-scenes"}], "version": -1},
        [{"dataset": "open-scenes"}],
    ],
)
def test_malformed_and_path_like_requests_are_refused(hub, body) -> None:
    refused(hub, body, 400)


def test_too_many_inputs_are_refused_naming_the_bound(hub) -> None:
    body = {"inputs": [{"dataset": "open-scenes"}] * 1001}
    refused(hub, body, 413, "EOHUB_MAX_JOB_INPUTS")


def test_the_output_must_be_a_dataset_the_caller_owns(hub) -> None:
    owned = refused(hub, {"inputs": [{"dataset": "open-scenes"}], "output": {"dataset": "bob-public"}}, 403)
    assert "bob" in owned.json()["detail"]
    hidden = refused(hub, {"inputs": [{"dataset": "open-scenes"}], "output": {"dataset": "bob-secret"}}, 409)
    assert "taken" in hidden.json()["detail"] and "belongs to" not in hidden.json()["detail"]


def test_jobs_need_a_token_and_other_users_jobs_do_not_exist(hub) -> None:
    refused(hub, {"inputs": [{"dataset": "open-scenes"}]}, 401, user=None)
    assert api(hub, "alice", "GET", "/api/jobs").json() == []  # nothing above was queued
    accepted = submit(
        hub, "bob", "seg-model", {"inputs": [{"upload": {"sha256": hub.bob_upload, "name": "s.tif"}}]}
    )
    assert accepted.status_code == 202, accepted.text  # bob's own upload is fine
    job = accepted.json()["id"]
    for path in (f"/api/jobs/{job}", "/api/jobs/..%2F..%2Fetc", "/api/jobs/" + "f" * 32):
        assert api(hub, "alice", "GET", path).status_code == 404
    assert api(hub, "alice", "POST", f"/api/jobs/{job}/cancel").status_code == 404
    assert api(hub, "alice", "GET", "/api/jobs", params={"state": "everything"}).status_code == 400
    assert api(hub, "bob", "POST", f"/api/jobs/{job}/cancel").status_code in (200, 409)
