"""Datasets for the dataset-metrics tests: STAC catalogs of label / ml-aoi items and tiny label GeoTIFFs,
written to a folder with known class counts, duplicates, leaking splits and label values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

LABEL = "https://stac-extensions.github.io/label/v1.0.1/schema.json"
ML_AOI = "https://stac-extensions.github.io/ml-aoi/v0.2.0/schema.json"
README = """---
name: {name}
authors: [Jane Doe]
license: CC-BY-4.0
source: https://example.org/{name}
---
A dataset for the metrics tests.
"""
CHIP = 0.01  # degrees


def chip_bbox(col: int, row: int, lon: float = 10.0, lat: float = 45.0, size: float = CHIP) -> list[float]:
    """The bbox of chip (col, row) of a grid of ``size``-degree chips starting at (lon, lat); chips of
    neighbouring cells share an edge exactly."""
    return [lon + col * size, lat + row * size, lon + (col + 1) * size, lat + (row + 1) * size]


def polygon(bbox: list[float]) -> dict[str, Any]:
    w, s, e, n = bbox
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def label_item(
    item_id: str,
    bbox: list[float],
    split: str | None = None,
    classes: list[Any] | None = None,
    raster: bool = False,
    assets: dict[str, Any] | None = None,
    **properties: Any,
) -> dict[str, Any]:
    """A label item (``label:type`` raster or vector) with ``ml-aoi:split`` when ``split`` is given."""
    props: dict[str, Any] = {
        "datetime": "2024-01-01T00:00:00Z",
        "label:type": "raster" if raster else "vector",
        "label:description": "land cover",
        "label:properties": None if raster else ["class"],
        "label:classes": [{"name": None if raster else "class", "classes": classes or ["water", "forest"]}],
        **properties,
    }
    extensions = [LABEL] + ([ML_AOI] if split else [])
    if split:
        props["ml-aoi:split"] = split
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": extensions,
        "id": item_id,
        "bbox": bbox,
        "geometry": polygon(bbox),
        "properties": props,
        "links": [],
        "assets": assets or {},
    }


def write_label_tif(
    path: Path,
    values: np.ndarray,
    nodata: float | None = None,
    crs: str = "EPSG:32633",
    resolution: float = 10.0,
) -> Path:
    """A single-band GeoTIFF of ``values``."""
    import rasterio
    from rasterio.transform import from_origin

    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = values.shape
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=1,
        dtype=values.dtype,
        crs=crs,
        transform=from_origin(500000, 5000000, resolution, resolution),
        nodata=nodata,
    ) as ds:
        ds.write(values, 1)
    return path


def raster_asset(href: str) -> dict[str, Any]:
    return {"href": href, "type": "image/tiff; application=geotiff", "roles": ["labels"]}


def write_dataset(folder: Path, items: list[dict[str, Any]], name: str = "metrics-data") -> Path:
    """``folder`` with a README, ``catalog.json`` and one ``items/<id>.json`` per item (links set)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(README.format(name=name))
    links = [{"rel": "root", "href": "./catalog.json", "type": "application/json"}]
    for item in items:
        href = f"./items/{item['id']}.json"
        links.append({"rel": "item", "href": href, "type": "application/geo+json"})
        item = dict(item)
        item["links"] = [
            {"rel": "root", "href": "../catalog.json", "type": "application/json"},
            {"rel": "parent", "href": "../catalog.json", "type": "application/json"},
        ]
        path = folder / href
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(item))
    catalog = {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": name,
        "description": "A dataset for the metrics tests",
        "links": links,
    }
    (folder / "catalog.json").write_text(json.dumps(catalog))
    return folder


def sparse_bbox(i: int, lon: float = 10.0, lat: float = 45.0) -> list[float]:
    """Chip ``i`` of a grid with one empty chip between neighbours: no two such chips touch."""
    return chip_bbox((i % 20) * 2, (i // 20) * 2, lon, lat)


def leaky_items() -> list[dict[str, Any]]:
    """47 chips of one grid: train at columns 0-5 (30), test at columns 7-9 (15) and two test chips at
    column 6 rows 0-1, beside train's column 5. Those two touch 5 train chips (two edges, three corners):
    5 pairs; 2 of 17 test items (0.1176) and 3 of 30 train items (0.1) touch another split."""
    items = []
    for col in range(10):
        for row in range(5):
            if col == 6 and row >= 2:
                continue
            split = "train" if col <= 5 else "test"
            cls = "water" if (col + row) % 2 else "forest"
            items.append(label_item(f"c{col}r{row}", chip_bbox(col, row), split, **{"class": cls}))
    return items


def clean_items(count: int = 24) -> list[dict[str, Any]]:
    """Balanced classes, two splits a degree apart, chips that never touch: nothing to find."""
    items = []
    for i in range(count):
        split = "train" if i < count * 2 // 3 else "test"
        lon = 10.0 if split == "train" else 11.0
        cls = ["water", "forest"][i % 2]
        items.append(label_item(f"clean-{i}", sparse_bbox(i, lon), split, **{"class": cls}))
    return items


def raster_item(
    item_id: str, bbox: list[float], href: str, classes: list[Any] | None = None
) -> dict[str, Any]:
    """A raster label item whose label is the GeoTIFF at ``href`` (relative to the item)."""
    return label_item(
        item_id, bbox, raster=True, classes=classes or [0], assets={"labels": raster_asset(href)}
    )


def hostile_labels(folder: Path) -> list[dict[str, Any]]:
    """Items whose footprints or labels no dataset should have: a bbox at 1e308, a geometry that is not
    one, 3,000 declared classes, a 256-pixel label raster (over a bound of 100) and a TIFF GDAL cannot
    read."""
    write_label_tif(folder / "l" / "big.tif", np.zeros((16, 16), np.uint8))
    (folder / "l" / "garbage.tif").write_bytes(b"II*\x00" + bytes(range(256)) * 8)
    return [
        label_item("huge", [1e308, -1e308, 1e308, 1e308]),
        dict(
            label_item("bad-geometry", [0, 0, 1, 1]),
            bbox=None,
            geometry={"type": "Polygon", "coordinates": "x"},
        ),
        label_item("absurd", sparse_bbox(1), classes=[f"c{i}" for i in range(3000)]),
        raster_item("big", sparse_bbox(2), "../l/big.tif"),
        raster_item("garbage", sparse_bbox(3), "../l/garbage.tif"),
    ]
