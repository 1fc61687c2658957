"""What the backend tests of prediction jobs share: a real ``eohub serve`` with its local Dask cluster,
a small segmenter model and datasets of seeded GeoTIFF scenes ingested through its API, and helpers to
call the jobs API and wait for a job to end."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import rasterio
from rasterio.transform import from_origin

from eohub.client import RemoteRepository
from eohub.demo import make_segmenter
from eohub.mlm.package import package_model
from tests.hub_server import HubServer, start_hub

BANDS = ["red", "green", "blue"]
ENDED = ("done", "failed", "cancelled")


def write_model(folder: Path, name: str, hidden: int = 8, seed: int = 0) -> Path:
    """A packaged fully convolutional segmenter (two classes from RGB, any size) ready to ingest;
    ``hidden`` sets how much work a pixel costs (the slow model of the cancel and restart tests)."""
    folder.mkdir(parents=True, exist_ok=True)
    onnx = make_segmenter(folder / "model.onnx", bands=3, classes=2, size=None, hidden=hidden, seed=seed)
    return package(folder, onnx, name, "Water and land.")


def package(folder: Path, onnx: Path, name: str, description: str) -> Path:
    """``folder`` with the segmenter ``onnx`` packaged as the model ``name`` (two classes from RGB)."""
    package_model(
        folder, onnx, name=name, license="MIT", authors=["eohub tests"], description=description,
        tasks=["semantic-segmentation"], bands=BANDS, classes=["water", "land"],
    )  # fmt: skip
    return folder


def write_scene(path: Path, height: int, width: int, seed: int) -> Path:
    """A tiled RGB GeoTIFF of seeded smooth values with band descriptions (the model's band names)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    data = np.stack(
        [100 + 60 * np.sin(x / (9 + b) + rng.uniform(0, 3)) * np.cos(y / (13 + b)) for b in range(3)]
    )
    data += rng.normal(0, 5, data.shape).astype(np.float32)
    profile = {
        "driver": "GTiff", "width": width, "height": height, "count": 3, "dtype": "uint16",
        "crs": "EPSG:32633", "transform": from_origin(500000 + 10_000 * seed, 5200000, 10, 10), "tiled": True,
        "blockxsize": 64, "blockysize": 64,
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as out:
        out.write(np.clip(data, 0, 1000).astype(np.uint16))
        out.descriptions = tuple(BANDS)
    return path


def write_dataset(folder: Path, name: str, scenes: list[tuple[int, int]], seed: int = 0) -> Path:
    """A dataset folder: one STAC item per scene ``(height, width)``, its raster the item's asset."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(
        f"---\nname: {name}\nauthors: [eohub tests]\nlicense: CC-BY-4.0\n---\nScenes for the jobs tests.\n"
    )
    links = [{"rel": "root", "href": "./catalog.json"}]
    for n, (height, width) in enumerate(scenes):
        item_id = f"scene-{n}"
        write_scene(folder / f"{item_id}.tif", height, width, seed + n)
        west = 15 + n
        item = {
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": item_id,
            "geometry": {"type": "Polygon", "coordinates": [
                [[west, 46], [west + 0.1, 46], [west + 0.1, 46.1], [west, 46.1], [west, 46]]
            ]},
            "bbox": [west, 46, west + 0.1, 46.1],
            "properties": {"datetime": f"2026-01-0{n % 9 + 1}T00:00:00Z"},
            "links": [{"rel": "root", "href": "./catalog.json"}, {"rel": "parent", "href": "./catalog.json"}],
            "assets": {"image": {"href": f"./{item_id}.tif", "type": "image/tiff; application=geotiff",
                                 "roles": ["data"]}},
        }  # fmt: skip
        (folder / f"{item_id}.json").write_text(json.dumps(item, indent=2))
        links.append({"rel": "item", "href": f"./{item_id}.json"})
    catalog = {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": name,
        "description": "scenes",
        "links": links,
    }
    (folder / "catalog.json").write_text(json.dumps(catalog, indent=2))
    return folder


def ingest(hub: HubServer, user: str, kind: str, folder: Path, private: bool = False) -> None:
    with RemoteRepository(hub.url, hub.token(user)) as repo:
        repo.ingest(kind, folder, private=private)


def jobs_hub(home: Path, **env: str) -> HubServer:
    """A hub whose jobs run on a local Dask cluster of one worker (two for ``EOHUB_JOB_WORKERS``)."""
    return start_hub(home, {"EOHUB_JOB_WORKERS": "1", "EOHUB_JOB_LEASE_SECONDS": "3", **env})


def api(hub: HubServer, user: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {hub.token(user)}"} if user else {}
    return httpx.request(method, f"{hub.url}{path}", headers=headers, timeout=30, **kwargs)


def submit(hub: HubServer, user: str, model: str, body: dict[str, Any]) -> httpx.Response:
    return api(hub, user, "POST", f"/api/models/{model}/jobs", json=body)


def wait(hub: HubServer, user: str, job_id: str, until: Any = None, timeout: float = 180) -> dict[str, Any]:
    """The job once ``until(job)`` holds (by default: once it has ended)."""
    until = until or (lambda job: job["state"] in ENDED)
    deadline = time.monotonic() + timeout
    while True:
        job = api(hub, user, "GET", f"/api/jobs/{job_id}").json()
        if until(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} did not get there: {job}\n{hub.tail()}")
        time.sleep(0.2)


def row_counts(hub: HubServer) -> dict[str, int]:
    """Rows of the hub's content tables (what a job that publishes nothing must leave as it was)."""
    from sqlalchemy import text

    from eohub.db.engine import open_database

    database = open_database(f"sqlite:///{hub.home / 'eohub.sqlite'}")
    try:
        with database.engine.connect() as connection:
            tables = ("repositories", "versions", "files", "documents", "blobs", "blob_proofs", "stac_items")
            return {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
    finally:
        database.close()


def job_folder(job_id: str) -> Path:
    """Where the hub stages a job's files (removed when the job ends)."""
    return Path(tempfile.gettempdir()) / "eohub-jobs" / job_id


def children(pid: int) -> list[int]:
    """Process ids of every descendant of ``pid`` (the Dask workers of a hub)."""
    import psutil

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def dask_workers(pid: int) -> list[int]:
    """The descendants of ``pid`` that multiprocessing spawned: a local Dask cluster's workers (the Q3
    sandbox's children come from a forkserver)."""
    import psutil

    found = []
    for child in children(pid):
        try:
            if "multiprocessing.spawn" in " ".join(psutil.Process(child).cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def alive(pids: list[int]) -> list[int]:
    import psutil

    return [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]


def no_leftovers(pids: list[int], timeout: float = 20) -> list[int]:
    """The processes of ``pids`` still running after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return alive(pids)


def write_looping_model(folder: Path, name: str) -> Path:
    """A packaged segmenter whose graph first runs an ONNX ``Loop`` of 2**62 iterations: a model that never
    ends (what a job's time limit must stop without leaving a worker busy)."""
    import onnx
    from onnx import TensorProto, helper

    folder.mkdir(parents=True, exist_ok=True)
    path = make_segmenter(folder / "model.onnx", bands=3, classes=2, size=None, hidden=4, seed=1)
    model = onnx.load(path)
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("Identity", ["v_in"], ["v_out"])],
        "forever",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_in", TensorProto.FLOAT, None),
        ],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, None)],
    )  # fmt: skip
    graph = model.graph
    graph.initializer.extend([
        helper.make_tensor("trips", TensorProto.INT64, [], [2**62]),
        helper.make_tensor("go", TensorProto.BOOL, [], [True]),
    ])  # fmt: skip
    for node in graph.node:
        node.input[:] = ["looped" if x == graph.input[0].name else x for x in node.input]
    loop = helper.make_node("Loop", ["trips", "go", graph.input[0].name], ["looped"], body=body)
    graph.node.insert(0, loop)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return package(folder, path, name, "Never ends.")


def write_memory_hog(folder: Path, name: str, values: int = 256 * 1024 * 1024) -> Path:
    """A packaged segmenter whose graph also fills a tensor of ``values`` floats (1 GiB by default) that
    its output depends on: a model that needs more memory than a bounded worker has."""
    import onnx
    from onnx import TensorProto, helper

    folder.mkdir(parents=True, exist_ok=True)
    path = make_segmenter(folder / "model.onnx", bands=3, classes=2, size=None, hidden=4, seed=1)
    model = onnx.load(path)
    graph, out = model.graph, model.graph.output[0].name
    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    graph.initializer.extend([
        helper.make_tensor("shape", TensorProto.INT64, [1], [values]),
        helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
    ])  # fmt: skip
    graph.node.extend([
        helper.make_node("ConstantOfShape", ["shape"], ["big"], value=one),
        helper.make_node("ReduceSum", ["big"], ["total"], keepdims=0),
        helper.make_node("Mul", ["total", "zero"], ["nothing"]),
        helper.make_node("Add", [out, "nothing"], ["needs_big"]),
    ])  # fmt: skip
    graph.output[0].name = "needs_big"
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return package(folder, path, name, "Needs a lot of memory.")
