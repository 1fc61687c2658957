"""Band resolution: by name, then common name; ambiguity, duplicates, missing bands; the input kinds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio

from eohub.errors import InferenceError
from eohub.inference.bands import normalize, resolve
from eohub.inference.metadata import BandInfo, BandRef, Expression
from eohub.inference.predictor import Predictor
from eohub.inference.raster_input import open_input
from tests.inference_helpers import make_identity, mlm_item, write_item, write_raster

DIMS = ["batch", "bands", "height", "width"]
S2_DEFS = [BandInfo("B04", "red"), BandInfo("B08", "nir"), BandInfo("B8A", "nir08")]


def refs(*names: str) -> list[BandRef]:
    return [BandRef(n) for n in names]


def test_bands_are_found_by_name_or_description_ignoring_case_and_leading_zeros() -> None:
    available = [BandInfo("b8"), BandInfo(None, None, "B04"), BandInfo("B02")]
    plan = resolve(refs("B04", "B08", "B02"), available)
    assert plan.sources == (1, 0, 2)
    assert normalize("B08") == normalize("b8") and normalize("B8A") != normalize("B08")


def test_model_band_names_meet_input_common_names_both_ways() -> None:
    by_common = [BandInfo("red"), BandInfo("nir")]  # e.g. Earth Search asset keys
    assert resolve(refs("B08", "B04"), by_common, S2_DEFS).sources == (1, 0)
    by_name = [BandInfo("B4", "red"), BandInfo("B8", "nir")]
    assert resolve(refs("nir", "red"), by_name).sources == (1, 0)
    described = [BandInfo(None, "nir", None), BandInfo("x", "red")]
    assert resolve(refs("B04", "B08"), described, S2_DEFS).sources == (1, 0)


def test_a_name_matching_two_input_bands_is_ambiguous() -> None:
    available = [BandInfo("B08", "nir"), BandInfo("N2", "nir")]
    with pytest.raises(
        InferenceError, match="band 'nir' is ambiguous in the input: B08 \\(nir\\), N2 \\(nir\\)"
    ):
        resolve(refs("nir"), available)
    assert resolve(refs("B08"), available).sources == (0,)  # the exact name wins over common names


def test_a_band_the_model_lists_twice_is_read_once_and_used_twice() -> None:
    plan = resolve(refs("B4", "B3", "B4"), [BandInfo("B3"), BandInfo("B4")])
    assert plan.sources == (1, 0)
    assert [c.source for c in plan.channels] == [0, 1, 0]
    stack = np.array([[[4.0]], [[3.0]]])
    assert plan.build(stack).ravel().tolist() == [4.0, 3.0, 4.0]


def test_missing_bands_are_listed_with_what_the_input_has() -> None:
    with pytest.raises(InferenceError) as info:
        resolve(refs("B02", "B11", "B12"), [BandInfo("B02", "blue"), BandInfo("B03", "green")])
    assert str(info.value) == (
        "input lacks bands the model needs: B11, B12 (input has: B02 (blue), B03 (green))"
    )


def test_unnamed_input_bands_are_used_in_order_only_when_the_count_matches() -> None:
    unnamed = [BandInfo(None)] * 3
    assert resolve(refs("B04", "B03", "B02"), unnamed).sources == (0, 1, 2)
    with pytest.raises(InferenceError, match="wrong band count: the model takes 3 bands, the input has 2"):
        resolve(refs("B04", "B03", "B02"), unnamed[:2])
    with pytest.raises(InferenceError, match="wrong band count: the model takes 4 bands, the input has 3"):
        resolve([], [BandInfo("a"), BandInfo("b"), BandInfo("c")], channels=4)


def test_a_derived_band_is_read_when_the_input_has_it_and_computed_otherwise() -> None:
    ndvi = BandRef("NDVI", Expression("rio-calc", "(B08 - B04) / (B08 + B04)", "bands[1]"))
    have = resolve([BandRef("B04"), ndvi], [BandInfo("B04"), BandInfo("NDVI")])
    assert have.sources == (0, 1) and have.channels[1].expression is None
    with pytest.raises(InferenceError, match="pass --allow-code"):
        resolve([BandRef("B04"), ndvi], [BandInfo("B04"), BandInfo("B08")])
    plan = resolve([BandRef("B04"), ndvi], [BandInfo("B08"), BandInfo("B04")], allow_code=True)
    assert plan.sources == (1, 0)  # read in order of first use: B04, then B08
    stack = np.array([[[1.0, 0.0]], [[3.0, 0.0]]])  # (0 - 0) / (0 + 0) becomes 0
    np.testing.assert_allclose(plan.build(stack)[1], [[0.5, 0.0]])
    with pytest.raises(InferenceError, match=r"lacks bands the model needs: B08 \(for NDVI\)"):
        resolve([BandRef("B04"), ndvi], [BandInfo("B04")], allow_code=True)


def _identity_item(tmp_path, bands, defs=None):
    make_identity(tmp_path / "id.onnx", len(bands))
    shape = [-1, len(bands), -1, -1]
    item = mlm_item(tmp_path / "id.onnx", bands, shape, DIMS, shape, DIMS, ["regression"],
                    asset={"eo:bands": defs or []})  # fmt: skip
    return write_item(tmp_path / "id.json", item)


def test_single_band_files_are_named_by_their_file_names(tmp_path) -> None:
    files = []
    for name, value in (("B08", 8), ("B04", 4), ("B03", 3)):
        files.append(str(write_raster(tmp_path / f"{name}.tif", np.full((1, 8, 8), value, np.uint16))))
    predictor = Predictor.from_item(_identity_item(tmp_path, ["B04", "B08"]))
    out = predictor.run(files, tmp_path / "out.tif", tile=8, overlap=0)
    with rasterio.open(out) as src:
        assert src.read()[:, 0, 0].tolist() == [4, 8]


def test_a_stac_item_input_resolves_common_names_from_its_assets(tmp_path) -> None:
    write_raster(tmp_path / "red.tif", np.full((1, 8, 8), 4, np.uint16))
    write_raster(tmp_path / "nir.tif", np.full((1, 8, 8), 8, np.uint16))
    write_raster(tmp_path / "multi.tif", np.stack([np.full((8, 8), v, np.uint16) for v in (11, 12)]))
    scene = {
        "type": "Feature", "stac_version": "1.0.0", "id": "scene", "bbox": [0, 0, 1, 1],
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]},
        "properties": {"datetime": "2024-05-01T10:00:00Z"},
        "assets": {
            "red": {"href": "red.tif", "type": "image/tiff; application=geotiff"},
            "nir": {"href": "nir.tif", "type": "image/tiff; application=geotiff"},
            "swir": {"href": "multi.tif", "type": "image/tiff; application=geotiff",
                     "eo:bands": [{"name": "B11", "common_name": "swir16"},
                                  {"name": "B12", "common_name": "swir22"}]},
            "thumbnail": {"href": "thumb.png", "type": "image/png", "roles": ["thumbnail"]},
        },
        "links": [],
    }  # fmt: skip
    (tmp_path / "scene.json").write_text(json.dumps(scene))
    raster = open_input([str(tmp_path / "scene.json")])
    assert [b.info.name for b in raster.bands] == ["red", "nir", "B11", "B12"]
    assert raster.datetime == "2024-05-01T10:00:00Z"
    raster.close()
    defs = [{"name": "B04", "common_name": "red"}, {"name": "B08", "common_name": "nir"}]
    predictor = Predictor.from_item(_identity_item(tmp_path, ["B08", "B04", "swir22"], defs))
    out = predictor.run(str(tmp_path / "scene.json"), tmp_path / "out.tif", tile=8, overlap=0)
    with rasterio.open(out) as src:
        assert src.read()[:, 0, 0].tolist() == [8, 4, 12]
