"""What a run writes: a COG with georeferencing, nodata, class colours and names, scores, and a STAC item."""

from __future__ import annotations

import json

import numpy as np
import rasterio

from eohub.inference.predictor import Predictor
from eohub.mlm.validate import validate_data
from tests.inference_helpers import (
    CRS,
    TRANSFORM,
    classifier_item,
    regressor_item,
    segmenter_item,
    write_raster,
)

BANDS = ["B02", "B03", "B04"]


def scene(height: int = 70, width: int = 90, nodata_box: bool = True) -> np.ndarray:
    data = np.random.default_rng(1).integers(100, 3000, (3, height, width)).astype(np.uint16)
    if nodata_box:
        data[:, 5:15, 20:40] = 0
    return data


def test_segmentation_writes_a_tiled_compressed_cog_with_the_inputs_georeferencing(tmp_path) -> None:
    raster = write_raster(tmp_path / "in.tif", scene(), BANDS, nodata=0, block=32)
    out = Predictor.from_item(segmenter_item(tmp_path, BANDS, size=32)).run(raster, tmp_path / "out.tif")
    with rasterio.open(out) as src:
        assert src.crs == rasterio.crs.CRS.from_string(CRS)
        assert src.transform == TRANSFORM
        assert (src.width, src.height) == (90, 70)
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.compression.value == "DEFLATE"
        assert src.profile["tiled"]
        assert src.colormap(1)[1] == (0, 255, 0, 255)
        assert json.loads(src.tags(1)["classes"])[2] == {"value": 2, "name": "c2"}
        assert src.descriptions == ("class",)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("out")) == ["out.json", "out.tif"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_nodata_pixels_stay_nodata_in_class_maps_and_float_outputs(tmp_path) -> None:
    data = scene()
    raster = write_raster(tmp_path / "in.tif", data, BANDS, nodata=0, block=32)
    classes = Predictor.from_item(segmenter_item(tmp_path, BANDS, size=32)).run(raster, tmp_path / "cls.tif")
    values = Predictor.from_item(regressor_item(tmp_path, BANDS)).run(raster, tmp_path / "reg.tif", tile=32)
    nodata = data[0] == 0
    with rasterio.open(classes) as src:
        class_map = src.read(1)
        assert src.nodata == 255
    assert np.all(class_map[nodata] == 255) and np.all(class_map[~nodata] < 3)
    with rasterio.open(values) as src:
        regression = src.read()
        assert np.isnan(src.nodata)
    assert np.all(np.isnan(regression[:, nodata])) and not np.isnan(regression[:, ~nodata]).any()


def test_edges_and_scenes_smaller_than_a_tile_are_padded_not_dropped(tmp_path) -> None:
    predictor = Predictor.from_item(segmenter_item(tmp_path, BANDS, size=32))
    for height, width in ((70, 90), (20, 13)):
        raster = write_raster(tmp_path / f"in{height}.tif", scene(height, width, False), BANDS, block=16)
        out = predictor.run(raster, tmp_path / f"out{height}.tif", overlap=0)
        with rasterio.open(out) as src:
            assert (src.height, src.width) == (height, width)
            assert np.all(src.read(1) < 3)  # every pixel predicted, none left as nodata
    # the bottom-right corner of the 70x90 scene equals a prediction on the mirrored-padded window
    data = scene(70, 90, False).astype(np.float32)
    window = np.pad(data[:, 64:, 64:], [(0, 0), (0, 26), (0, 6)], mode="symmetric")
    expected = predictor.predict_windows(predictor.scale(window, 0)[None, None]).argmax(axis=1)[0]
    with rasterio.open(tmp_path / "out70.tif") as src:
        assert np.array_equal(src.read(1)[64:, 64:], expected[:6, :26])


def test_patch_classifier_writes_one_class_and_scores_per_patch(tmp_path) -> None:
    data = scene(70, 90)
    raster = write_raster(tmp_path / "in.tif", data, BANDS, nodata=0, block=32)
    predictor = Predictor.from_item(classifier_item(tmp_path, BANDS, classes=4, size=16))
    out = predictor.run(raster, tmp_path / "out.tif")
    with rasterio.open(out) as src, rasterio.open(tmp_path / "out-scores.tif") as scores:
        assert (src.height, src.width) == (5, 6)  # ceil(70 / 16) x ceil(90 / 16) patches
        assert src.transform == TRANSFORM * rasterio.Affine.scale(16)
        classes, probabilities = src.read(1), scores.read()
        assert scores.descriptions == ("k0", "k1", "k2", "k3")
    np.testing.assert_allclose(probabilities.sum(axis=0), 1, rtol=1e-5)
    assert np.array_equal(classes, probabilities.argmax(axis=0))
    window = predictor.scale(data[:, 16:32, 32:48], 0, data[0, 16:32, 32:48] == 0)[None, None]
    np.testing.assert_allclose(probabilities[:, 1, 2], predictor.predict_windows(window)[0], rtol=1e-5)


def test_patch_classifier_on_a_sliding_window_gives_per_pixel_classes(tmp_path) -> None:
    raster = write_raster(tmp_path / "in.tif", scene(40, 50, False), BANDS, block=16)
    predictor = Predictor.from_item(classifier_item(tmp_path, BANDS, classes=4, size=16))
    out = predictor.run(raster, tmp_path / "out.tif", overlap=8)
    with rasterio.open(out) as src, rasterio.open(tmp_path / "out-scores.tif") as scores:
        assert (src.height, src.width) == (40, 50)
        assert np.array_equal(src.read(1), scores.read().argmax(axis=0))


def test_output_item_has_the_inputs_footprint_and_datetime_and_lineage_links(tmp_path) -> None:
    write_raster(tmp_path / "in.tif", scene(), BANDS, nodata=0, block=32)
    geometry = {"type": "Polygon", "coordinates": [[[3, 36], [3.1, 36], [3.1, 36.1], [3, 36.1], [3, 36]]]}
    source = {
        "type": "Feature", "stac_version": "1.0.0", "id": "s2-scene", "geometry": geometry,
        "bbox": [3, 36, 3.1, 36.1], "properties": {"datetime": "2023-07-14T10:56:29Z"},
        "assets": {"visual": {"href": "in.tif", "type": "image/tiff; application=geotiff",
                              "eo:bands": [{"name": b} for b in BANDS]}},
        "links": [],
    }  # fmt: skip
    (tmp_path / "scene.json").write_text(json.dumps(source))
    model = segmenter_item(tmp_path, BANDS, size=32)
    (tmp_path / "results").mkdir()
    Predictor.from_item(model).run(tmp_path / "scene.json", tmp_path / "results" / "pred.tif")
    item = json.loads((tmp_path / "results" / "pred.json").read_text())
    assert item["geometry"] == geometry and item["bbox"] == [3, 36, 3.1, 36.1]
    assert item["properties"]["datetime"] == "2023-07-14T10:56:29Z"
    links = {link["title"]: link for link in item["links"] if link["rel"] == "derived_from"}
    assert links["input"]["href"] == "../scene.json"
    assert links["model"]["href"] == "../seg.json" and links["model"]["mlm:name"] == "test-model"
    asset = item["assets"]["prediction"]
    assert asset["href"] == "pred.tif" and asset["type"].endswith("profile=cloud-optimized")
    assert [c["name"] for c in asset["classification:classes"]] == ["c0", "c1", "c2", "nodata"]
    assert asset["classification:classes"][1]["color_hint"] == "00FF00"
    assert asset["raster:bands"][0] == {"name": "class", "data_type": "uint8", "nodata": 255}
    assert item["properties"]["proj:epsg"] == 32631
    report = validate_data(item)
    assert report.ok, [f.line() for f in report.findings]


def test_output_item_of_a_plain_raster_has_its_footprint_in_wgs84(tmp_path) -> None:
    raster = write_raster(tmp_path / "in.tif", scene(), BANDS, block=32)
    Predictor.from_item(regressor_item(tmp_path, BANDS)).run(raster, tmp_path / "out.tif", tile=32)
    item = json.loads((tmp_path / "out.json").read_text())
    west, south, east, north = item["bbox"]
    assert 2.99 < west < east < 3.02 and 36.1 < south < north < 36.2
    tiff = "image/tiff; application=geotiff"
    assert item["links"][1] == {"rel": "derived_from", "href": "in.tif", "type": tiff, "title": "input"}
    assert item["assets"]["prediction"]["raster:bands"][1] == {
        "name": "y_1",
        "data_type": "float32",
        "nodata": "nan",
    }
    assert validate_data(item).ok
