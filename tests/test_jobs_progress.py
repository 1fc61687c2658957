"""A job's progress moves while a part runs, not only when parts finish: a part counts the windows of each
region it writes, its worker tells the run when asked, and the run counts them; the result is still bit
for bit ``eohub predict``'s. Real Dask (an in-process cluster) and a real model."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from eohub.config import Limits
from eohub.errors import LimitError
from eohub.inference.distributed import part_task, split, written_so_far
from eohub.inference.options import RunOptions
from eohub.inference.pipeline import run_part
from eohub.inference.planning import plan_scene
from eohub.inference.predictor import Predictor
from eohub.inference.raster_input import open_input
from eohub.inference.raster_output import remove_quietly
from eohub.inference.scenes import SceneJob
from eohub.jobs.execute import part_windows, run_on_cluster
from tests.inference_helpers import segmenter_item, write_raster
from tests.test_inference_tiling import smooth_scene

distributed = pytest.importorskip("distributed")
BANDS = ["B02", "B03", "B04"]
OPTIONS = RunOptions(tile=32, overlap=8, region=40, batch=4)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as c:
            yield c


@pytest.fixture
def scene(tmp_path):
    predictor = Predictor.from_item(segmenter_item(tmp_path, BANDS, size=None))
    raster = write_raster(tmp_path / "in.tif", smooth_scene(230, 150).astype(np.uint16), BANDS, block=32)
    return predictor, raster


def test_a_running_part_counts_the_windows_of_each_region_it_writes(scene, tmp_path) -> None:
    predictor, raster = scene
    source = open_input([str(raster)])
    written: list[int] = []
    try:
        plan = plan_scene(predictor, source, OPTIONS)
        i0, i1 = split(plan.grid.region_row_count, 2)[1]
        part = run_part(predictor, source, plan, i0, i1, tmp_path / "out.tif", OPTIONS, written.append)
    finally:
        source.close()
    assert len(written) > 2  # region by region, not once at the end
    assert sum(written) == part_windows(plan, i0, i1)  # the replayed row above is not counted
    remove_quietly(part.paths)


def test_workers_say_what_their_running_parts_wrote_and_forget_them_when_done(
    client, scene, tmp_path
) -> None:
    predictor, raster = scene
    item, out = predictor.portable_item_json(), str(tmp_path / "out.tif")
    part = client.submit(
        part_task, item, False, 1, [str(raster)], out, 0, 1, OPTIONS, ("topic-a", "p"), pure=False
    )
    remove_quietly(part.result().paths)
    assert list(client.run(written_so_far, "topic-a").values()) == [{}]


def test_the_run_counts_windows_within_parts_and_equals_predict(client, scene, tmp_path) -> None:
    predictor, raster = scene
    seen: list[tuple[int, int]] = []
    job = SceneJob([str(raster)], tmp_path / "job.tif")
    run_on_cluster(predictor, [job], OPTIONS, client, 1, lambda d, t: seen.append((d, t)), Limits())
    total = seen[0][1]
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)  # never backwards
    single = predictor.run(raster, tmp_path / "single.tif", tile=32, overlap=8, region=40, batch=4)
    with rasterio.open(job.output) as a, rasterio.open(single) as b:
        assert np.array_equal(a.read(), b.read())


@pytest.mark.parametrize(
    ("limits", "variable"),
    [(Limits(max_job_pixels=230 * 150 - 1), "EOHUB_MAX_JOB_PIXELS"),
     (Limits(max_job_output_bytes=1000), "EOHUB_MAX_JOB_OUTPUT_BYTES"),
     (Limits(max_job_batch_pixels=4 * 32 * 32 - 1), "EOHUB_MAX_JOB_BATCH_PIXELS")],
)  # fmt: skip
def test_a_scene_planned_over_a_bound_runs_no_part(client, scene, tmp_path, limits, variable) -> None:
    predictor, raster = scene
    seen: list[tuple[int, int]] = []
    with pytest.raises(LimitError, match=variable):
        run_on_cluster(predictor, [SceneJob([str(raster)], tmp_path / "x.tif")], OPTIONS, client, 1,
                       lambda d, t: seen.append((d, t)), limits)  # fmt: skip
    assert seen == [] and not (tmp_path / "x.tif").exists()


def test_the_hubs_local_cluster_bounds_each_workers_memory() -> None:
    from eohub.jobs.runner import Cluster

    cluster = Cluster(1, 1, None, memory=300 * 1024 * 1024)
    try:
        workers = cluster.client().scheduler_info()["workers"].values()
        assert [w["memory_limit"] for w in workers] == [300 * 1024 * 1024]
    finally:
        cluster.close()
