"""The pixel bound at submit cannot be dodged by a small first file: a scene counts as its largest raster
(the model runs on the finest grid), so an item whose first asset is a thumbnail-sized band and whose
second is a large one is counted by the large one."""

from __future__ import annotations

import json

import pytest

from eohub.errors import LimitError
from eohub.jobs.inputs import count_pixels, resolve
from eohub.jobs.requests import parse_request
from eohub.repository import open_embedded
from tests.jobs_hub import write_dataset, write_scene


def test_a_scene_counts_its_largest_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EOHUB_HOME", str(tmp_path / "home"))
    folder = write_dataset(tmp_path / "scenes", "two-sizes", [(8, 8)])
    write_scene(folder / "large.tif", 512, 512, seed=3)
    item = json.loads((folder / "scene-0.json").read_text())
    item["assets"]["large"] = {
        "href": "./large.tif",
        "type": "image/tiff; application=geotiff",
        "roles": ["data"],
    }
    (folder / "scene-0.json").write_text(json.dumps(item))
    repo = open_embedded(user="alice")
    repo.ingest("dataset", folder)
    resolved = resolve(repo, parse_request({"inputs": [{"dataset": "two-sizes"}]}, repo.limits), "http://hub")
    assert [f.name for f in resolved.scenes[0].files][0].endswith("scene-0.tif")  # the small one comes first
    assert count_pixels(repo, resolved.scenes, 10**9) == 512 * 512
    with pytest.raises(LimitError, match="EOHUB_MAX_JOB_PIXELS"):
        count_pixels(repo, resolved.scenes, 100_000)
