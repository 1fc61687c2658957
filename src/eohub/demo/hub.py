"""The demo content a new hub starts with: a Q3 model and a Q2 dataset, made here, nothing downloaded.

- ``demo-landcover-classifier``: a small 4-band (B02, B03, B04, B08) ONNX scene classifier from
  :mod:`eohub.demo`, described by an MLM v1.5.2 item (:func:`eohub.mlm.build.build_item`) in a STAC
  catalog, with a README.
- ``demo-landcover-labels``: a STAC catalog of a few label items (label extension, vector labels as
  GeoJSON) over Europe, with a README.
"""

from __future__ import annotations

import json
import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pystac

from eohub.demo.models import make_classifier
from eohub.mlm.build import build_item
from eohub.repository.base import Repository

log = logging.getLogger(__name__)

DEMO_USER = "demo"
MODEL_NAME = "demo-landcover-classifier"
DATASET_NAME = "demo-landcover-labels"
CLASSES = ["water", "forest", "cropland", "urban"]
BANDS = ["B02", "B03", "B04", "B08"]
LABEL_SCHEMA = "https://stac-extensions.github.io/label/v1.0.1/schema.json"
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
TILES = [(5.0, 45.0), (10.0, 47.0), (15.0, 50.0)]

README = """---
name: {name}
authors: [eohub demo]
license: CC-BY-4.0
source: https://example.org/eohub-demo
tags: [{tags}]
---
{body}
"""


def write_demo_model(folder: Path) -> Path:
    """The demo model folder: README, ``model.onnx`` and a STAC catalog with its MLM item."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(
        README.format(
            name=MODEL_NAME,
            tags="demo, land-cover, sentinel-2",
            body="A tiny land-cover scene classifier on Sentinel-2 B02, B03, B04 and B08, made by eohub "
            "for its demo hub. Its weights are random: it shows the metadata, not the accuracy.",
        )
    )
    model = make_classifier(folder / "model.onnx", bands=len(BANDS), classes=len(CLASSES), size=64, seed=7)
    item = build_item(
        model,
        name="Demo land-cover classifier",
        tasks=["classification"],
        architecture="CNN",
        bands=BANDS,
        classes=CLASSES,
        mean=[1200.0, 1100.0, 1000.0, 2500.0],
        std=[400.0, 400.0, 450.0, 700.0],
        href="../../model.onnx",
        created=CREATED,
    )
    item.id = "model"
    catalog = pystac.Catalog(id=MODEL_NAME, description="The eohub demo model", title=MODEL_NAME)
    collection = pystac.Collection(
        id="model-collection",
        description="The demo classifier",
        extent=pystac.Extent(
            pystac.SpatialExtent([[-180.0, -90.0, 180.0, 90.0]]), pystac.TemporalExtent([[CREATED, None]])
        ),
        license="CC-BY-4.0",
    )
    catalog.add_child(collection)
    collection.add_item(item)
    catalog.normalize_hrefs(str(folder))
    catalog.make_all_asset_hrefs_relative()
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    return folder


def _label_item(index: int, west: float, south: float, labels: str) -> pystac.Item:
    bbox = [west, south, west + 1.0, south + 1.0]
    ring = [[west, south], [west + 1, south], [west + 1, south + 1], [west, south + 1], [west, south]]
    item = pystac.Item(
        id=f"tile-{index}",
        geometry={"type": "Polygon", "coordinates": [ring]},
        bbox=bbox,
        datetime=datetime(2025, 6, 1 + index, tzinfo=UTC),
        properties={
            "label:properties": ["class"],
            "label:description": "Land-cover polygons",
            "label:type": "vector",
            "label:classes": [{"name": "class", "classes": CLASSES}],
        },
        stac_extensions=[LABEL_SCHEMA],
    )
    item.add_asset("labels", pystac.Asset(labels, media_type="application/geo+json", roles=["labels"]))
    return item


def write_demo_dataset(folder: Path) -> Path:
    """The demo dataset folder: README, GeoJSON labels and a STAC catalog of label items."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(
        README.format(
            name=DATASET_NAME,
            tags="demo, land-cover, labels",
            body="Land-cover label polygons over three 1-degree tiles in Europe, made by eohub for its "
            "demo hub.",
        )
    )
    catalog = pystac.Catalog(id=DATASET_NAME, description="The eohub demo dataset", title=DATASET_NAME)
    collection = pystac.Collection(
        id="labels",
        description="Land-cover labels",
        extent=pystac.Extent(
            pystac.SpatialExtent([[5.0, 45.0, 16.0, 51.0]]),
            pystac.TemporalExtent([[datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 30, tzinfo=UTC)]]),
        ),
        license="CC-BY-4.0",
    )
    catalog.add_child(collection)
    labels = folder / "labels"
    labels.mkdir(exist_ok=True)
    for i, (west, south) in enumerate(TILES):
        polygon = [[west + 0.2, south + 0.2], [west + 0.8, south + 0.2], [west + 0.5, south + 0.8]]
        feature = {
            "type": "Feature",
            "properties": {"class": CLASSES[i % len(CLASSES)]},
            "geometry": {"type": "Polygon", "coordinates": [polygon + [polygon[0]]]},
        }
        path = labels / f"tile-{i}.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
        collection.add_item(_label_item(i, west, south, str(path)))
    catalog.normalize_hrefs(str(folder))
    catalog.make_all_asset_hrefs_relative()
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    return folder


def seed_demo(repository: Repository) -> list[str]:
    """Ingest the demo model and dataset into an empty hub; return what was ingested (none if not empty)."""
    if repository.list("model", limit=1) or repository.list("dataset", limit=1):
        return []
    with tempfile.TemporaryDirectory(prefix="eohub-demo-") as tmp:
        model = repository.ingest("model", write_demo_model(Path(tmp) / "model"))
        dataset = repository.ingest("dataset", write_demo_dataset(Path(tmp) / "dataset"))
    done = [
        f"model {model.name} ({model.quality.label})",
        f"dataset {dataset.name} ({dataset.quality.label})",
    ]
    log.info("demo content ingested: %s", ", ".join(done))
    return done
