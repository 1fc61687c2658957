"""The EOTDL tutorial's EuroSAT-RGB model item as a fixture (shared/reference/eotdl-ml-models-tutorial.md).

``tutorial_item_dict`` returns what the tutorial's ``catalog.normalize_and_save`` wrote for the item: its
``properties`` and ``stac_extensions`` exactly as the tutorial types them (the old object layout of
``mlm:input``/``mlm:output``, the v1.2.0 schema URL on crim-ca.github.io, ``mlm:name`` set to the file name,
an output ``dim_order`` of three names for a shape of two), STAC 1.0.0 as pystac wrote it in June 2024, and
the ``model`` asset with no roles. Only the dummy ``datetime`` is fixed, so the fixture is reproducible.
``write_tutorial_item`` also writes the model: a 3-band, 10-class classifier with symbolic batch and size,
matching the tutorial's declared shapes ``[-1, 3, -1, -1] -> [-1, 10]``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eohub.demo import make_classifier

TUTORIAL_SCHEMA = "https://crim-ca.github.io/mlm-extension/v1.2.0/schema.json"
EUROSAT_CLASSES = [
    "AnnualCrop",
    "Forest",
    "HerbaceousVegetation",
    "Highway",
    "Industrial",
    "Pasture",
    "PermanentCrop",
    "Residential",
    "River",
    "SeaLake",
]


def tutorial_item_dict(model_href: str) -> dict[str, Any]:
    """The tutorial's item as JSON, its model asset pointing at ``model_href``."""
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "model",
        "properties": {
            "mlm:name": "model.onnx",
            "mlm:framework": "ONNX",
            "mlm:architecture": "resnet",
            "mlm:tasks": ["classification"],
            "mlm:input": {
                "name": "RGB statellite image",
                "bands": ["red", "green", "blue"],
                "input": {
                    "shape": [-1, 3, -1, -1],
                    "dim_order": ["batch", "channel", "height", "width"],
                    "data_type": "float32",
                },
            },
            "mlm:output": {
                "name": "logits",
                "tasks": ["classification"],
                "classification:classes": list(EUROSAT_CLASSES),
                "result": {
                    "shape": [-1, 10],
                    "dim_order": ["batch", "height", "width"],
                    "data_type": "float32",
                },
            },
            "datetime": "2024-06-13T00:00:00Z",
        },
        "geometry": {"type": "Point", "coordinates": [125.6, 10.1]},
        "links": [
            {"rel": "root", "href": "../../catalog.json", "type": "application/json"},
            {"rel": "collection", "href": "../collection.json", "type": "application/json"},
            {"rel": "parent", "href": "../collection.json", "type": "application/json"},
        ],
        "assets": {"model": {"href": model_href}},
        "bbox": [125.6, 10.1, 125.6, 10.1],
        "stac_extensions": [TUTORIAL_SCHEMA],
        "collection": "model",
    }


def write_tutorial_item(folder: Path) -> Path:
    """Write ``model.onnx`` and ``model/model.json`` (href ``../model.onnx``) in ``folder``; the item path."""
    folder.mkdir(parents=True, exist_ok=True)
    make_classifier(folder / "model.onnx", bands=3, classes=len(EUROSAT_CLASSES), size=None, batch=None)
    item_path = folder / "model" / "model.json"
    item_path.parent.mkdir(exist_ok=True)
    item_path.write_text(json.dumps(tutorial_item_dict("../model.onnx"), indent=2))
    return item_path
