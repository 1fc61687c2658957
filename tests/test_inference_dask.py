"""Scale-out with Dask gives exactly the single-process result, for one big scene and for several scenes."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from eohub.inference.distributed import run_scenes, split
from eohub.inference.options import RunOptions
from eohub.inference.predictor import Predictor
from eohub.inference.scenes import SceneJob
from tests.inference_helpers import regressor_item, segmenter_item, write_raster
from tests.test_inference_tiling import smooth_scene

distributed = pytest.importorskip("distributed")
BANDS = ["B02", "B03", "B04"]


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def read(path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read()


def test_split_covers_every_region_row_once() -> None:
    assert split(10, 4) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert split(2, 8) == [(0, 1), (1, 2)]


def test_windows_of_one_scene_on_workers_equal_the_single_process_result(tmp_path, client) -> None:
    raster = write_raster(tmp_path / "in.tif", smooth_scene(230, 150), BANDS, block=32)
    predictor = Predictor.from_item(
        regressor_item(tmp_path, BANDS, scaling=[{"type": "scale", "value": 1000}])
    )
    options = RunOptions(tile=32, overlap=10, region=40, batch=4)
    single = predictor.run(raster, tmp_path / "single.tif", tile=32, overlap=10, region=40, batch=4)
    job = SceneJob([str(raster)], tmp_path / "dask.tif")
    [spread] = run_scenes(predictor, [job], options, client, parts_per_worker=3)
    assert np.array_equal(read(spread), read(single))  # identical, not just close
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # part files removed


def test_several_scenes_on_workers_equal_running_them_one_by_one(tmp_path, client) -> None:
    predictor = Predictor.from_item(segmenter_item(tmp_path, BANDS, size=32))
    jobs = []
    for n, (h, w) in enumerate(((60, 70), (45, 100), (20, 20))):
        path = write_raster(tmp_path / f"s{n}.tif", smooth_scene(h, w).astype(np.uint16), BANDS, block=16)
        jobs.append(SceneJob([str(path)], tmp_path / f"d{n}.tif"))
    written = run_scenes(predictor, jobs, RunOptions(overlap=8), client)
    for n, job in enumerate(jobs):
        single = predictor.run(job.sources, tmp_path / f"p{n}.tif", overlap=8)
        assert written[n] == job.output
        assert np.array_equal(read(job.output), read(single))


def test_the_cli_runs_on_a_scheduler_given_by_address(tmp_path, client) -> None:
    from typer.testing import CliRunner

    from eohub.cli.main import app

    model = segmenter_item(tmp_path, BANDS, size=32)
    raster = write_raster(tmp_path / "in.tif", smooth_scene(80, 60).astype(np.uint16), BANDS, block=16)
    runner = CliRunner()
    args = ["predict", str(model), str(raster), "--overlap", "8", "-o"]
    result = runner.invoke(
        app, [*args, str(tmp_path / "remote.tif"), "--scheduler", client.scheduler.address]
    )
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, [*args, str(tmp_path / "local.tif")]).exit_code == 0
    assert np.array_equal(read(tmp_path / "remote.tif"), read(tmp_path / "local.tif"))
    unreachable = runner.invoke(app, [*args, str(tmp_path / "x.tif"), "--scheduler", "tcp://127.0.0.1:9"])
    assert (
        unreachable.exit_code == 2
        and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in unreachable.output
    )
    assert not (tmp_path / "x.tif").exists()
