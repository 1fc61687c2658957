"""Folders the repository tests ingest: a Q0 model folder, the tutorial's STAC catalog, deep catalogs.

``write_tutorial_catalog`` follows the EOTDL tutorial (shared/reference/eotdl-ml-models-tutorial.md)
step by step with pystac: a catalog, a ``model`` collection, a ``model`` item whose model asset is the
absolute path of the downloaded ``v1/model.onnx`` (outside the catalog folder), saved SELF_CONTAINED.
The one difference: the item's MLM fields are correct MLM v1.5.2, built by ``eohub.mlm.build.build_item``.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pystac

from eohub.demo import make_classifier
from eohub.mlm.build import build_item

from .fixtures_tutorial import EUROSAT_CLASSES

README = """---
name: {name}
authors: [Jane Doe]
license: MIT
source: https://example.org/{name}
tags: [classification]
---
A tiny classifier made by the tests.
"""


def write_q0_model(folder: Path, name: str = "EuroSAT-RGB", seed: int = 0) -> Path:
    """A Q0 model folder: README.md with full front matter and a 3-band, 10-class ONNX classifier."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text(README.format(name=name))
    make_classifier(folder / "model.onnx", bands=3, classes=10, size=None, seed=seed)
    return folder


def tutorial_catalog(license: str | None = "MIT") -> tuple[pystac.Catalog, pystac.Collection]:
    """The tutorial's catalog and its ``model`` collection; ``license=None`` leaves pystac's default, as
    the notebook does."""
    catalog = pystac.Catalog(id="EuroSAT-RGB-Q2", description="Catalog for the EuroSAT RGB Q2 ML Model")
    collection = pystac.Collection(
        id="model",
        description="Collection for the EuroSAT RGB Q2 ML Model",
        extent=pystac.Extent(
            spatial=pystac.SpatialExtent([[-180, -90, 180, 90]]),
            temporal=pystac.TemporalExtent([[datetime(2020, 1, 1), None]]),
        ),
        **({"license": license} if license else {}),
    )
    catalog.add_child(collection)
    return catalog, collection


def write_tutorial_catalog(model_path: Path, root_href: Path) -> Path:
    """The tutorial's catalog -> collection -> item, the model asset pointing at ``model_path``."""
    catalog, collection = tutorial_catalog()
    item = build_item(
        model_path,
        name="EuroSAT-RGB",
        tasks=["classification"],
        architecture="resnet",
        bands=["red", "green", "blue"],
        classes=EUROSAT_CLASSES,
        item_id="model",
        href=os.path.abspath(model_path),
        created=datetime(2024, 6, 13),
    )
    collection.add_item(item)
    catalog.normalize_and_save(root_href=str(root_href), catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return root_href


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


def write_deep_catalog(folder: Path, depth: int = 3, items_per_level: int = 2) -> list[str]:
    """A catalog with sub-catalogs nested ``depth`` deep, items at every level, each with a local asset.

    Returns the ids of every item. Written with pystac, license in the root catalog (no README).
    """
    root = pystac.Catalog(id="deep", description="A deep catalog", extra_fields={"license": "CC-BY-4.0"})
    ids: list[str] = []
    parent = root
    for level in range(depth):
        child = pystac.Catalog(id=f"level-{level}", description=f"level {level}")
        parent.add_child(child)
        for n in range(items_per_level):
            item_id = f"item-{level}-{n}"
            item = pystac.Item(item_id, None, None, datetime(2024, 1, 1), {})
            item.add_asset("data", pystac.Asset(href=f"{item_id}.txt", roles=["data"]))
            child.add_item(item)
            ids.append(item_id)
        parent = child
    root.normalize_and_save(str(folder), catalog_type=pystac.CatalogType.SELF_CONTAINED)
    for item in root.get_items(recursive=True):
        (Path(item.get_self_href()).parent / f"{item.id}.txt").write_text(f"data of {item.id}\n")
    return ids


def folder_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative POSIX path, with its bytes."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}
