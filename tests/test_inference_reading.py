"""How input files are read: every file layout gives the same scene, and the raster stack starts lean."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import rasterio

from eohub.inference.predictor import Predictor
from eohub.inference.raster_input import gdal_env, open_input
from tests.inference_helpers import CRS, TRANSFORM, classifier_item, regressor_item

BANDS = ["B02", "B03", "B04"]
TILED = {"tiled": True, "blockxsize": 64, "blockysize": 64}
LAYOUTS = {
    "tiled, pixel-interleaved, uncompressed": TILED,
    "tiled, DEFLATE": {**TILED, "compress": "deflate", "predictor": 2},
    "tiled, band-interleaved": {**TILED, "interleave": "band"},
    "striped": {"tiled": False, "blockysize": 1},
}


def scene(seed: int = 3) -> np.ndarray:
    """uint16 bands with nodata (0) pixels, a size that is not a multiple of the blocks."""
    data = np.random.default_rng(seed).integers(1, 4000, (3, 200, 170)).astype(np.uint16)
    data[:, 10:14, 20:90] = 0
    return data


def write(path, data: np.ndarray, layout: dict) -> str:
    profile = {
        "driver": "GTiff", "width": data.shape[2], "height": data.shape[1], "count": data.shape[0],
        "dtype": "uint16", "crs": CRS, "transform": TRANSFORM, "nodata": 0, **layout,
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for i, name in enumerate(BANDS):
            dst.set_band_description(i + 1, name)
    return str(path)


def test_only_uncompressed_pixel_interleaved_tiles_are_read_without_the_block_cache(tmp_path) -> None:
    data = scene()
    direct = {}
    for n, (name, layout) in enumerate(LAYOUTS.items()):
        with gdal_env():
            raster = open_input([write(tmp_path / f"{n}.tif", data, layout)])
        direct[name] = raster.direct_io
    assert direct == {name: name == "tiled, pixel-interleaved, uncompressed" for name in LAYOUTS}


@pytest.mark.parametrize("overlap", [0, 12])
def test_every_file_layout_gives_the_same_blended_scene(tmp_path, overlap) -> None:
    data = scene()
    predictor = Predictor.from_item(
        regressor_item(tmp_path, BANDS, outputs=2, scaling=[{"type": "z-score", "mean": 2000, "stddev": 900}])
    )
    results = []
    for n, layout in enumerate(LAYOUTS.values()):
        raster = write(tmp_path / f"in{n}.tif", data, layout)
        out = predictor.run(raster, tmp_path / f"out{n}.tif", tile=48, overlap=overlap, region=70, batch=4)
        with rasterio.open(out) as src:
            results.append(src.read())
    assert np.isnan(results[0][:, 10:14, 20:90]).all()  # nodata stays nodata
    for result in results[1:]:
        assert np.array_equal(result, results[0], equal_nan=True)


def test_every_file_layout_gives_the_same_patch_classes_and_scores(tmp_path) -> None:
    data = scene(seed=8)
    scaling = [{"type": "z-score", "mean": 2000, "stddev": 900}]
    predictor = Predictor.from_item(classifier_item(tmp_path, BANDS, classes=4, size=16, scaling=scaling))
    results = []
    for n, layout in enumerate(LAYOUTS.values()):
        out = predictor.run(write(tmp_path / f"in{n}.tif", data, layout), tmp_path / f"out{n}.tif", batch=7)
        with rasterio.open(out) as src, rasterio.open(tmp_path / f"out{n}-scores.tif") as scores:
            results.append((src.read(), scores.read()))
    for classes, scores in results[1:]:
        assert np.array_equal(classes, results[0][0])
        assert np.array_equal(scores, results[0][1], equal_nan=True)


def run_python(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.splitlines()[-1])


def test_the_raster_stack_loads_without_boto3_and_an_s3_input_still_gets_rasterios_aws_session() -> None:
    seen = run_python(
        "import json, sys\n"
        "import eohub.inference.pipeline\n"
        "from rasterio.session import Session\n"
        "before = 'boto3' in sys.modules\n"
        "aws = Session.cls_from_path('s3://bucket/scene.tif').__name__\n"
        "import rasterio.session\n"
        "made = type(rasterio.session.boto3.Session()).__module__\n"
        "print(json.dumps({'before': before, 'aws': aws, 'made': made, 'after': 'boto3' in sys.modules}))"
    )
    assert seen == {"before": False, "aws": "AWSSession", "made": "boto3.session", "after": True}


def test_boto3_imported_first_or_in_another_thread_is_the_real_module() -> None:
    seen = run_python(
        "import json, sys, threading\n"
        "import eohub.inference\n"
        "import importlib.util\n"
        "results = {}\n"
        "def other():\n"
        "    import boto3\n"
        "    results['other'] = boto3.__name__\n"
        "thread = threading.Thread(target=other)\n"
        "thread.start()\n"
        "import rasterio.session\n"
        "thread.join()\n"
        "import boto3\n"
        "print(json.dumps({**results, 'same': sys.modules['boto3'] is boto3,"
        " 'usable': rasterio.session.boto3.Session is boto3.Session}))"
    )
    assert seen == {"other": "boto3", "same": True, "usable": True}
