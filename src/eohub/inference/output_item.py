"""The STAC item written beside a prediction: footprint and datetime of the input, lineage to model and input.

The output asset carries ``raster:bands`` (data type, nodata) and, for class maps, ``classification:classes``
with the colours written into the raster. ``derived_from`` links point to the input (its STAC item, or the
raster files) and to the MLM model item with its ``mlm:name``, as the MLM README recommends.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rasterio.warp import transform_geom

from eohub import __version__

if TYPE_CHECKING:
    from eohub.inference.planning import ScenePlan
    from eohub.inference.raster_input import RasterInput
    from eohub.inference.scene_model import SceneModel
    from eohub.inference.scenes import SceneJob

EXTENSIONS = [
    "https://stac-extensions.github.io/processing/v1.2.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "https://stac-extensions.github.io/classification/v1.1.0/schema.json",
    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
]
COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"


def _relative(target: Path, start: Path) -> str:
    try:
        return os.path.relpath(target, start)
    except ValueError:
        return str(target)


def _footprint(raster: Any) -> tuple[dict[str, Any] | None, list[float] | None]:
    if raster.item is not None and raster.item.get("geometry"):
        return raster.item["geometry"], raster.item.get("bbox")
    if raster.crs is None:
        return None, None
    t, w, h = raster.transform, raster.width, raster.height
    corners = [t @ (0, 0), t @ (w, 0), t @ (w, h), t @ (0, h)]
    ring = [list(c) for c in corners] + [list(corners[0])]
    geometry = transform_geom(raster.crs, "EPSG:4326", {"type": "Polygon", "coordinates": [ring]})
    xs = [p[0] for p in geometry["coordinates"][0]]
    ys = [p[1] for p in geometry["coordinates"][0]]
    return geometry, [min(xs), min(ys), max(xs), max(ys)]


def _classes(plan: Any) -> list[dict[str, Any]]:
    out = []
    for c in plan.output.classes:
        entry: dict[str, Any] = {
            "value": c.value,
            "name": c.name,
            "description": c.description or c.title or c.name,
        }
        if c.title:
            entry["title"] = c.title
        if c.color:
            entry["color_hint"] = "".join(f"{v:02X}" for v in c.color[:3])
        out.append(entry)
    if not any(c.nodata for c in plan.output.classes):
        nodata = plan.layout.nodata
        out.append({"value": nodata, "name": "nodata", "description": "no data in the input", "nodata": True})
    return out


def _asset(href: str, layout: Any, title: str, classes: list[dict[str, Any]] | None) -> dict[str, Any]:
    nodata = layout.nodata
    bands = []
    for name in layout.descriptions:
        band: dict[str, Any] = {"name": name, "data_type": layout.dtype}
        if nodata is not None:
            band["nodata"] = "nan" if nodata != nodata else nodata
        bands.append(band)
    asset: dict[str, Any] = {
        "href": href,
        "type": COG_TYPE,
        "title": title,
        "roles": ["data"],
        "raster:bands": bands,
    }
    if classes:
        asset["classification:classes"] = classes
    return asset


def build_output_item(
    predictor: SceneModel, raster: RasterInput, plan: ScenePlan, job: SceneJob
) -> dict[str, Any]:
    """The output STAC item (a dict) for a finished run of ``predictor`` on ``raster``."""
    folder = job.output.parent
    geometry, bbox = _footprint(raster)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta = predictor.metadata
    properties: dict[str, Any] = {
        "datetime": raster.datetime or now,
        "created": now,
        "processing:software": {"eohub": __version__},
        "processing:lineage": f"Predicted by {meta.name!r} ({plan.output.spec.name}) with eohub predict",
        "processing:datetime": now,
        "proj:shape": [plan.out_height, plan.out_width],
        "proj:transform": list(plan.out_transform)[:6],
    }
    if raster.crs is not None and raster.crs.to_epsg():
        properties["proj:epsg"] = raster.crs.to_epsg()
    elif raster.crs is not None:
        properties["proj:wkt2"] = raster.crs.to_wkt()
    if raster.item is not None:
        for key in ("start_datetime", "end_datetime"):
            if key in (raster.item.get("properties") or {}):
                properties[key] = raster.item["properties"][key]
    classes = _classes(plan) if plan.output.is_classes else None
    title = "class map" if classes else "prediction"
    assets = {"prediction": _asset(job.output.name, plan.layout, title, classes)}
    if plan.scores is not None:
        assets["scores"] = _asset(job.scores_path.name, plan.scores, "class probabilities", None)
    links: list[dict[str, Any]] = [
        {"rel": "self", "href": job.item_path.name, "type": "application/geo+json"}
    ]
    if raster.item_path is not None:
        href = _relative(raster.item_path, folder)
        links.append({"rel": "derived_from", "href": href, "type": "application/geo+json", "title": "input"})
    else:
        for path in raster.paths:
            href = path if "://" in path else _relative(Path(path).absolute(), folder)
            links.append({"rel": "derived_from", "href": href, "type": "image/tiff; application=geotiff",
                          "title": "input"})  # fmt: skip
    model_link: dict[str, Any] = {"rel": "derived_from", "type": "application/geo+json", "title": "model",
                                  "mlm:name": meta.name}  # fmt: skip
    model_link["href"] = _relative(Path(meta.href), folder) if meta.href else f"urn:eohub:model:{meta.name}"
    links.append(model_link)
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": EXTENSIONS,
        "id": job.item_path.stem,
        "geometry": geometry,
        **({"bbox": bbox} if bbox else {}),
        "properties": properties,
        "assets": assets,
        "links": links,
    }


def write_item(item: dict[str, Any], path: Path) -> None:
    """Write ``item`` as indented JSON."""
    path.write_text(json.dumps(item, indent=2) + "\n", encoding="utf-8")
