"""Dataset metrics at 10,000, 100,000 and 1,000,000 items: time and memory, in memory, from a folder, with
label rasters.

Data (seeded): square chips of 0.001° on a grid at 45° N, every chip touching its neighbours; splits drawn
70 % train, 20 % validate, 10 % test (so most test chips touch a train chip: the leakage metric has real
work); a class per chip from 10 declared classes with a skewed distribution; 1 % of the chips repeated with
a small shift (near duplicates) and, on disk, 1 % of the label files repeated byte for byte (exact
duplicates).

- **stream**: :func:`eohub.quality.metrics.compute_metrics` over items made one at a time in the same
  process (no items on disk; the metrics' own spill store is): what the metrics themselves cost, also at
  1,000,000 items, where memory flat with the item count shows.
- **folder**: ``folder_metrics`` on a catalog written to disk (one JSON file per item and a small GeoJSON
  label file per item, which duplicates hashes): what ``eohub quality FOLDER --kind dataset`` costs
  beyond validation.
- **rasters**: the folder case where each item's label is a 64×64 uint8 GeoTIFF (values, nodata, CRS and
  resolution read with rasterio), at the largest size.
- **all pairs** (the reference the index avoids): every pair of boxes tested with numpy, in chunks, at
  10,000 items; at 100,000 it would be 100 times as many pairs.

Each case runs in its own process: wall time, and the peak RSS of that process over a process that only
makes (or reads) the same items without metrics, so memory is the metrics' own. ``python -m benchmarks
dataset_metrics`` writes ``benchmarks/results/dataset_metrics.md``; ``EOHUB_BENCH_METRICS_SIZES=2000,5000``
(folder cases) and ``EOHUB_BENCH_METRICS_STREAM_SIZES=2000`` (stream cases) measure smaller sizes; the
results file is rewritten after each case.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "dataset_metrics.md"
SIZES = tuple(int(n) for n in os.environ.get("EOHUB_BENCH_METRICS_SIZES", "10000,100000").split(","))
STREAM_SIZES = tuple(
    int(n) for n in os.environ.get("EOHUB_BENCH_METRICS_STREAM_SIZES", "10000,100000,1000000").split(",")
)
RASTER_ITEMS = SIZES[-1]
CHIP = 0.001
CLASSES = [f"class-{i}" for i in range(10)]
LABEL = "https://stac-extensions.github.io/label/v1.0.1/schema.json"
ML_AOI = "https://stac-extensions.github.io/ml-aoi/v0.2.0/schema.json"


def _chips(n: int, seed: int = 17) -> Iterator[tuple[int, list[float], str, str, bool]]:
    """``(index, bbox, split, class, repeated)`` of ``n`` chips (see the module docstring)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    side = int(n**0.5) + 1
    weights = np.array([2.0**-i for i in range(len(CLASSES))])
    classes = rng.choice(len(CLASSES), size=n, p=weights / weights.sum())
    splits = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])
    repeat = rng.random(n) < 0.01
    for i in range(n):
        j = i - 1 if repeat[i] and i else i  # a repeated chip: its predecessor, shifted a little
        col, row = j % side, j // side
        shift = CHIP * 0.02 if j != i else 0.0
        west, south = 10.0 + col * CHIP + shift, 45.0 + row * CHIP
        bbox = [round(west, 9), round(south, 9), round(west + CHIP, 9), round(south + CHIP, 9)]
        yield i, bbox, ("train", "validate", "test")[splits[i]], CLASSES[classes[i]], bool(repeat[i])


def _item(i: int, bbox: list[float], split: str, cls: str, assets: dict[str, Any], raster: bool) -> dict:
    w, s, e, n = bbox
    props: dict[str, Any] = {
        "datetime": "2024-01-01T00:00:00Z",
        "label:type": "raster" if raster else "vector",
        "label:description": "land cover",
        "label:properties": None if raster else ["class"],
        "label:classes": [
            {"name": None if raster else "class", "classes": list(range(10)) if raster else CLASSES}
        ],
        "ml-aoi:split": split,
    }
    if not raster:
        props["class"] = cls
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [LABEL, ML_AOI],
        "id": f"chip-{i}",
        "bbox": bbox,
        "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
        "properties": props,
        "links": [],
        "assets": assets,
    }


def _stream(n: int) -> Iterator[Any]:
    from eohub.quality.metrics.items import ItemDoc

    where = Path("/nonexistent/items/item.json")
    for i, bbox, split, cls, _ in _chips(n):
        yield ItemDoc(where, _item(i, bbox, split, cls, {}, False))


def write_folder(folder: Path, n: int, raster: bool) -> None:
    """A catalog of ``n`` items with their label files (GeoJSON, or GeoTIFF when ``raster``)."""
    import numpy as np

    (folder / "items").mkdir(parents=True)
    (folder / "labels").mkdir()
    rng = np.random.default_rng(5)
    links = [{"rel": "root", "href": "./catalog.json"}]
    previous = b""
    for i, bbox, split, cls, repeated in _chips(n):
        if raster:
            name = f"labels/{i}.tif"
            _write_tif(folder / name, rng.integers(0, 10, (64, 64), dtype=np.uint8))
            asset = {
                "labels": {
                    "href": f"../{name}",
                    "type": "image/tiff; application=geotiff",
                    "roles": ["labels"],
                }
            }
        else:
            name = f"labels/{i}.geojson"
            data = (
                previous
                if repeated
                else json.dumps(
                    {
                        "type": "FeatureCollection",
                        "features": [
                            {"type": "Feature", "geometry": None, "properties": {"class": cls, "chip": i}}
                        ],
                    }
                ).encode()
            )
            (folder / name).write_bytes(data)
            previous = data
            asset = {"labels": {"href": f"../{name}", "type": "application/geo+json", "roles": ["labels"]}}
        (folder / "items" / f"{i}.json").write_text(json.dumps(_item(i, bbox, split, cls, asset, raster)))
        links.append({"rel": "item", "href": f"./items/{i}.json"})
    catalog = {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": "bench",
        "description": "bench",
        "links": links,
    }
    (folder / "catalog.json").write_text(json.dumps(catalog))


def _write_tif(path: Path, values: Any) -> None:
    import rasterio
    from rasterio.transform import from_origin

    profile = {
        "driver": "GTiff",
        "width": 64,
        "height": 64,
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:32632",
        "transform": from_origin(500000, 5000000, 10, 10),
        "nodata": 255,
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(values, 1)


def _all_pairs(n: int) -> int:
    """Every pair of boxes tested with numpy, a chunk of rows at a time: the pairs that intersect."""
    import numpy as np

    boxes = np.array([bbox for _, bbox, *_ in _chips(n)])
    found = 0
    for start in range(0, n, 256):
        a = boxes[start : start + 256, None, :]
        hit = (a[..., 0] <= boxes[None, :, 2]) & (boxes[None, :, 0] <= a[..., 2])
        hit &= (a[..., 1] <= boxes[None, :, 3]) & (boxes[None, :, 1] <= a[..., 3])
        found += int(hit.sum())
    return (found - n) // 2


def child(case: str, n: int, folder: str) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    from eohub.quality.metrics import compute_metrics, folder_metrics
    from eohub.quality.metrics.items import folder_items

    start = time.perf_counter()
    summary: dict[str, Any] = {}
    if case == "stream":
        metrics = compute_metrics(_stream(n))
    elif case == "stream-baseline":
        metrics = None
        for _ in _stream(n):
            pass
    elif case in ("folder", "rasters"):
        metrics = folder_metrics(folder)
    elif case == "folder-baseline":
        metrics = None
        for doc in folder_items(Path(folder)):
            for asset in doc.data["assets"].values():
                hashlib.sha256((Path(doc.path).parent / asset["href"]).read_bytes())
    elif case == "all-pairs":
        metrics = None
        summary["pairs"] = _all_pairs(n)
    else:
        raise ValueError(case)
    seconds = time.perf_counter() - start
    if metrics is not None:
        summary = {
            "items": metrics.items,
            "leaking pairs": metrics.leakage.count,
            "test share": metrics.leakage.share.get("test"),
            "near": metrics.duplicates.near,
            "identical": metrics.duplicates.identical,
            "rasters": metrics.labels.rasters,
            "findings": len(metrics.findings),
        }
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "rss_mb": rss, "summary": summary}


def _run(case: str, n: int, folder: Path | str = "") -> dict[str, Any]:
    code = (
        "import json, sys; from benchmarks.bench_dataset_metrics import child; "
        "print(json.dumps(child(*json.loads(sys.argv[1]))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps([case, n, str(folder)])],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    rows: list[tuple[str, int, dict, dict | None]] = []
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="eohub-bench-metrics-", dir=Path.home()) as tmp:
        for n in STREAM_SIZES:
            rows.append(("stream", n, _run("stream", n), _run("stream-baseline", n)))
            print(f"stream {n}: {rows[-1][2]}", flush=True)
            _write(rows, load)
        for n in SIZES:
            folder = Path(tmp) / f"folder-{n}"
            written = time.perf_counter()
            write_folder(folder, n, raster=False)
            print(f"wrote {n} items in {time.perf_counter() - written:.0f} s", flush=True)
            rows.append(("folder", n, _run("folder", n, folder), _run("folder-baseline", n, folder)))
            print(f"folder {n}: {rows[-1][2]}", flush=True)
            _write(rows, load)
        folder = Path(tmp) / "rasters"
        write_folder(folder, RASTER_ITEMS, raster=True)
        rows.append(("rasters", RASTER_ITEMS, _run("rasters", RASTER_ITEMS, folder), None))
        print(f"rasters: {rows[-1][2]}", flush=True)
        _write(rows, load)
        rows.append(("all pairs", SIZES[0], _run("all-pairs", SIZES[0]), None))
    _write(rows, load)


def _write(rows: list[tuple[str, int, dict, dict | None]], load: list[float]) -> None:
    """The results file, with the rows measured so far (the load average now as "after")."""
    load = [load[0], os.getloadavg()[0]]
    lines = [
        "# Dataset metrics",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `python -m benchmarks dataset_metrics` on "
        f"{platform.machine()} ({os.cpu_count()} cores), Python {platform.python_version()}. The data and "
        "the cases: the module docstring of `benchmarks/bench_dataset_metrics.py`. Each case is one process; "
        '"without the metrics" is a process making (stream) or reading and hashing (folder) the same items '
        "and nothing else; the metrics' memory is the peak RSS over that process's. \"all pairs\" is the "
        "reference the spatial index avoids: every pair of boxes tested in numpy (at 100,000 items, 100 "
        "times the pairs).",
        "",
        "| case | items | time (s) | items/s | without the metrics (s) | peak RSS (MB) "
        "| of it the metrics (MB) | found |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for case, n, result, baseline in rows:
        extra = f"{result['rss_mb'] - baseline['rss_mb']:.0f}" if baseline else "-"
        before = f"{baseline['seconds']:.1f}" if baseline else "-"
        found = ", ".join(f"{k} {v}" for k, v in result["summary"].items())
        lines.append(
            f"| {case} | {n:,} | {result['seconds']:.1f} | {n / result['seconds']:,.0f} | {before} | "
            f"{result['rss_mb']:.0f} | {extra} | {found} |"
        )
    lines += ["", f"Load average (1 min): {load[0]:.2f} before, {load[1]:.2f} after.", ""]
    RESULTS.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
