"""What the jobs client and web tests run: a small segmenter model and a dataset of one scene, ingested
into a real hub through its API, and scenes written as local files (seeded, so every run is the same)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from eohub.client import RemoteRepository
from eohub.demo import make_segmenter
from eohub.mlm.package import package_model

MODEL = "job-segmenter"
DATASET = "job-scenes"
ITEM_ID = "scene-1"
BANDS = ["red", "green", "blue"]


def write_scene(path: Path, size: int = 128, seed: int = 0) -> Path:
    """A tiled RGB GeoTIFF of random bytes with band descriptions (what the model's bands name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.random.default_rng(seed).integers(0, 255, (3, size, size), dtype="uint8")
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": 3, "dtype": "uint8", "crs": "EPSG:32633",
        "transform": from_origin(500000, 5200000, 10, 10), "tiled": True, "blockxsize": 64, "blockysize": 64,
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as out:
        out.write(data)
        out.descriptions = tuple(BANDS)
    return path


def write_model(folder: Path) -> Path:
    """A packaged segmenter (water / land from RGB) ready to ingest."""
    folder.mkdir(parents=True, exist_ok=True)
    onnx = make_segmenter(folder / "model.onnx", bands=3, classes=2, size=None)
    package_model(
        folder,
        onnx,
        name=MODEL,
        license="MIT",
        authors=["eohub tests"],
        description="Water and land from RGB, for the jobs tests.",
        tasks=["semantic-segmentation"],
        bands=BANDS,
        classes=["water", "land"],
    )
    return folder


def write_dataset(folder: Path, size: int = 128) -> Path:
    """A dataset folder: one scene and a STAC catalog whose item names it as its raster asset."""
    write_scene(folder / "scene-1.tif", size)
    (folder / "README.md").write_text(
        f"---\nname: {DATASET}\nauthors: [eohub tests]\nlicense: CC-BY-4.0\nsource: https://example.org\n"
        "tags: [test]\n---\nOne RGB scene for the jobs tests.\n"
    )
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": ITEM_ID,
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[15, 46], [15.1, 46], [15.1, 46.1], [15, 46.1], [15, 46]]],
        },
        "bbox": [15, 46, 15.1, 46.1],
        "properties": {"datetime": "2026-01-01T00:00:00Z"},
        "links": [{"rel": "root", "href": "./catalog.json"}, {"rel": "parent", "href": "./catalog.json"}],
        "assets": {
            "image": {"href": "./scene-1.tif", "type": "image/tiff; application=geotiff", "roles": ["data"]}
        },
    }
    catalog = {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": DATASET,
        "description": "One RGB scene",
        "links": [{"rel": "root", "href": "./catalog.json"}, {"rel": "item", "href": "./scene-1.json"}],
    }
    (folder / "scene-1.json").write_text(json.dumps(item, indent=2))
    (folder / "catalog.json").write_text(json.dumps(catalog, indent=2))
    return folder


def publish(url: str, token: str, work: Path, size: int = 128) -> None:
    """Ingest the model and the dataset into the hub at ``url`` as the owner of ``token``."""
    with RemoteRepository(url, token) as repo:
        repo.ingest("model", write_model(work / "model"))
        repo.ingest("dataset", write_dataset(work / "dataset", size))
