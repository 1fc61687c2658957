"""A finished job's result as a dataset version: COGs, STAC items with lineage, catalog, collection,
README, committed through the hub's own commit path.

Layout of the version::

    README.md
    catalog.json
    predictions/collection.json
    predictions/<scene>/<scene>.tif         (and <scene>-scores.tif for a classifier with scores)
    predictions/<scene>/<scene>.json        the item ``eohub predict`` writes, with lineage for the hub

Each item keeps what ``eohub predict`` writes (``processing:software`` with eohub's version,
``processing:lineage``, raster and classification fields) and gains: ``derived_from`` links to the
input item's URL on this hub's STAC API (``.../items/ID?version=N``; an upload is
``urn:eohub:upload:sha256:HEX``) and to the model's MLM item there; the same hrefs as the property
``eohub:derived_from``, so a STAC search finds a result by its input
(``filter=eohub:derived_from = 'URL'``, or ``LIKE '%/items/ID?version=%'``); and the label extension
(``label:type`` raster), so the dataset rates Q2. The commit is
:meth:`~eohub.repository.embedded.EmbeddedRepository.commit_version` as a hub makes it (blobs checked,
STAC validated, quality rated from the stored blobs, indexed for search) with the job id as its key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eohub import __version__
from eohub.jobs.inputs import Scene, stac_item_url
from eohub.repository.embedded import EmbeddedRepository
from eohub.repository.progress import Silent
from eohub.repository.scan import scan_folder

LABEL = "https://stac-extensions.github.io/label/v1.0.1/schema.json"
COLLECTION = "predictions"


def _write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _link(rel: str, href: str, media: str = "application/json") -> dict[str, Any]:
    return {"rel": rel, "href": href, "type": media}


def lineage_item(
    item: dict[str, Any], scene: Scene, model_link: dict[str, Any], tasks: list[str], classes: list[str]
) -> dict[str, Any]:
    """``item`` (as ``eohub predict`` wrote it) with the hub's lineage links and the label fields."""
    links = [link for link in item.get("links") or [] if link.get("rel") not in ("derived_from", "self")]
    links += [
        _link("root", "../../catalog.json"),
        _link("parent", "../collection.json"),
        _link("collection", "../collection.json"),
        scene.link,
        model_link,
    ]
    props = item["properties"]
    props["eohub:derived_from"] = [scene.link["href"], model_link["href"]]
    props["processing:lineage"] = (
        f"Predicted by the model {model_link['mlm:name']!r} ({model_link['title']}) with an eohub job; "
        "inputs are linked as derived_from"
    )
    props.update({"label:type": "raster", "label:properties": None, "label:methods": ["automated"],
                  "label:description": f"Predictions of {model_link['title']}"})  # fmt: skip
    if tasks:
        props["label:tasks"] = tasks
    if classes:
        props["label:classes"] = [{"name": None, "classes": classes}]
    item["stac_extensions"] = [*item.get("stac_extensions", []), LABEL]
    item["links"] = links
    item["collection"] = COLLECTION
    return item


def _extent(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The collection's extent: the bbox around the items' and the span of their times."""
    boxes = [i["bbox"] for i in items if isinstance(i.get("bbox"), list) and len(i["bbox"]) == 4]
    edges = list(zip(*boxes, strict=True))
    bbox = (
        [min(edges[0]), min(edges[1]), max(edges[2]), max(edges[3])]
        if edges
        else [-180.0, -90.0, 180.0, 90.0]
    )
    times = sorted(
        t for i in items for k in ("datetime", "start_datetime", "end_datetime")
        if isinstance(t := i["properties"].get(k), str)
    )  # fmt: skip
    span = [times[0], times[-1]] if times else [None, None]
    return {"spatial": {"bbox": [bbox]}, "temporal": {"interval": [span]}}


def write_result(
    folder: Path, name: str, job: dict[str, Any], scenes: Sequence[Scene], model_link: dict[str, Any],
    tasks: list[str], classes: list[str],
) -> None:  # fmt: skip
    """Turn the predicted scenes under ``folder/predictions`` into the version's folder."""
    items = []
    for scene in scenes:
        path = folder / COLLECTION / scene.stem / f"{scene.stem}.json"
        item = lineage_item(json.loads(path.read_text(encoding="utf-8")), scene, model_link, tasks, classes)
        _write(path, item)
        items.append(item)
    collection = {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": COLLECTION,
        "description": f"Predictions of {model_link['title']} by the eohub job {job['id']}.",
        "license": "other",
        "extent": _extent(items),
        "links": [_link("root", "../catalog.json"), _link("parent", "../catalog.json")]
        + [_link("item", f"./{s.stem}/{s.stem}.json", "application/geo+json") for s in scenes],
    }
    _write(folder / COLLECTION / "collection.json", collection)
    catalog = {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": name,
        "description": f"Predictions of {model_link['title']} made on the hub by eohub {__version__}.",
        "links": [_link("root", "./catalog.json"), _link("child", f"./{COLLECTION}/collection.json")],
    }
    _write(folder / "catalog.json", catalog)
    readme = (
        f"---\nname: {name}\ntags: [predictions, {job['model']}]\n---\n"
        f"Predictions of the model `{job['model']}` version {job['model_version']} over "
        f"{len(scenes)} scene(s), made on the hub by the eohub job `{job['id']}`. Each item links to its "
        "input and to the model (`derived_from`).\n"
    )
    (folder / "README.md").write_text(readme, encoding="utf-8")


def model_link(base: str, name: str, version: int, item_id: str, mlm_name: str) -> dict[str, Any]:
    """The ``derived_from`` link to the model version's MLM item on this hub's STAC API."""
    return {
        "rel": "derived_from",
        "href": stac_item_url(base, "model", name, item_id, version),
        "type": "application/geo+json",
        "title": f"model {name} version {version}",
        "mlm:name": mlm_name,
    }


def commit(repo: EmbeddedRepository, folder: Path, name: str, private: bool, key: str) -> int:
    """Store the folder's files as the caller's blobs and commit it as the next version of ``name``."""
    plan = scan_folder(folder)
    manifest = plan.manifest().check(repo.limits)
    missing = repo.missing_blobs(manifest.digests())
    progress = Silent()
    for planned in plan.files:
        if planned.entry.sha256 in missing and planned.source is not None:
            repo.upload_blob(planned.entry, planned.source, progress)
            missing.discard(planned.entry.sha256)
    result = repo.commit_version("dataset", name, manifest, None, private, False, key=key)
    return result.version.number
