"""Hostile values in a dataset's labels: class values and counts JSON cannot hold (NaN, Infinity, a
400-digit count), a DEFLATE GeoTIFF of 1 MB that declares gigabytes, and item ids, class and split names
with line breaks. Each gives findings or a bounded refusal, stored and served as strict JSON, never an
OverflowError, a 5xx or a forged line in the CLI."""

from __future__ import annotations

import json
import struct
import time
import zlib
from pathlib import Path

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from eohub.cli.main import app
from eohub.client import RemoteRepository
from eohub.config import load_settings
from eohub.quality.metrics import DatasetMetrics, folder_metrics
from eohub.quality.metrics.labels import RasterReader

from ..dataset_metrics_helpers import label_item, raster_item, sparse_bbox, write_dataset, write_label_tif
from ..hub_server import HubServer

runner = CliRunner()


def huge_items() -> list[dict]:
    """A count of 2**60 and a class value of 10**30: JSON, but no count or class a float holds exactly."""
    overviews = [
        {"property_key": "class", "counts": [{"name": "x", "count": 2**60}, {"name": "y", "count": 1}]}
    ]
    return [
        label_item("huge", sparse_bbox(2), "test", **{"label:overviews": overviews}),
        label_item("big-int", sparse_bbox(3), "test", **{"class": 10**30}),
        label_item("fine", sparse_bbox(4), "test", **{"class": "water"}),
    ]


def non_finite_items() -> list[dict]:
    """Class values NaN and -Infinity, a bbox at 1e400 and a count of 10**400 (Python's parser reads
    them all; JSON has no such numbers), then :func:`huge_items`."""
    bbox = sparse_bbox(1)
    overviews = [{"property_key": "class", "counts": [{"name": "x", "count": 10**400}]}]
    return [
        label_item("nan", sparse_bbox(0), "train", **{"class": float("nan")}),
        dict(label_item("inf", bbox, "train", **{"class": float("-inf")}), bbox=[*bbox[:3], 1e400]),
        label_item("ten-to-400", sparse_bbox(6), "train", **{"label:overviews": overviews}),
        *huge_items(),
    ]


def test_non_finite_and_huge_class_values_are_left_out_not_an_overflow(tmp_path: Path):
    folder = write_dataset(tmp_path / "d", non_finite_items())
    metrics = folder_metrics(folder)  # the documents with NaN, Infinity, 10**400 are not read as items
    assert metrics.items == 3
    stored = json.dumps(metrics.to_dict(), allow_nan=False)  # what a database and an API can hold
    assert DatasetMetrics.from_dict(json.loads(stored)) == metrics
    assert [(c.value, c.count) for c in metrics.class_balance.classes] == [
        ("water", 1),
        ("forest", 0),
        ("y", 1),
    ]


def test_huge_counts_stored_by_an_older_hub_read_back_without_an_overflow():
    data = {"items": 10**400, "class_balance": {"imbalance": 10**400, "classes": [{"value": 10**400}]}}
    metrics = DatasetMetrics.from_dict(data)
    assert metrics.items == 10**400 and metrics.class_balance.imbalance is None
    json.dumps(metrics.to_dict(), allow_nan=False)


def deflate_bomb(path: Path, width: int, height: int, bands: int, dtype: str) -> Path:
    """A TIFF of one DEFLATE strip of zeros, pixel-interleaved: a few hundred KiB on disk that GDAL
    decompresses to ``width * height * bands * itemsize`` bytes at once (``bands`` 1 or more than 2)."""
    size = np.dtype(dtype).itemsize
    packer, chunk, left = zlib.compressobj(1), bytes(16 << 20), width * height * bands * size
    strip = bytearray()
    while left:
        strip += packer.compress(chunk[: min(left, len(chunk))])
        left -= min(left, len(chunk))
    strip += packer.flush()
    fmt = 3 if np.dtype(dtype).kind == "f" else 1
    per_band = struct.pack(f"<{bands}H", *[size * 8] * bands) + struct.pack(f"<{bands}H", *[fmt] * bands)
    arrays = 8 + len(strip)
    ifd = arrays + len(per_band) + (len(per_band) + len(strip)) % 2
    tags = [
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, bands, size * 8 if bands == 1 else arrays),
        (259, 3, 1, 8), (262, 3, 1, 1), (273, 4, 1, 8), (277, 3, 1, bands), (278, 4, 1, height),
        (279, 4, 1, len(strip)), (284, 3, 1, 1),
        (339, 3, bands, fmt if bands == 1 else arrays + 2 * bands),
    ]  # fmt: skip
    entries = b"".join(
        struct.pack("<HHIHH", c, t, n, v, 0) if t == 3 and n == 1 else struct.pack("<HHII", c, t, n, v)
        for c, t, n, v in tags
    )
    body = b"II*\x00" + struct.pack("<I", ifd) + strip + per_band
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body.ljust(ifd, b"\x00") + struct.pack("<H", len(tags)) + entries + b"\x00" * 4)
    return path


def test_metrics_deflate_bomb_label_rasters_are_not_read(tmp_path: Path):
    strip = deflate_bomb(tmp_path / "strip.tif", 8192, 8192, 1, "uint16")  # 128 MiB in one strip
    bands = deflate_bomb(tmp_path / "bands.tif", 4096, 4096, 5, "uint8")  # 80 M samples to read band 1
    assert strip.stat().st_size < 1 << 20 and bands.stat().st_size < 1 << 20
    reader = RasterReader(load_settings().limits)
    start = time.monotonic()
    assert reader.read(str(strip), 100) is None and reader.read(str(bands), 100) is None
    assert time.monotonic() - start < 5
    assert dict(reader.not_read) == {
        "blocks larger than 67108864 bytes (EOHUB_MAX_LABEL_BLOCK_BYTES)": 1,
        "larger than 67108864 pixels (EOHUB_MAX_LABEL_PIXELS)": 1,
    }
    fine = write_label_tif(tmp_path / "fine.tif", np.arange(12, dtype=np.uint16).reshape(3, 4))
    counts = reader.read(str(fine), 100)
    assert counts is not None and sum(counts.values.values()) == 12


def hostile_words(folder: Path) -> list[dict]:
    """A count of 10**400; a class and a split named with a line that would read as a finding; a
    DEFLATE bomb as a label raster."""
    deflate_bomb(folder / "l" / "bomb.tif", 8192, 8192, 1, "uint16")
    forged = "a\n  severe: forged"
    return [
        *huge_items(),
        label_item("forged", sparse_bbox(5), "test\r\n  severe: forged", **{"class": forged}),
        label_item("twin", sparse_bbox(5), "train", **{"class": forged}),
        raster_item("bomb", sparse_bbox(7), "../l/bomb.tif"),
    ]


def test_metrics_hostile_values_through_a_hub_are_stored_served_and_printed_safely(
    any_hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = write_dataset(tmp_path / "nan", hostile_words(tmp_path / "nan"), name="nan-data")
    local = runner.invoke(app, ["quality", str(folder), "--kind", "dataset"])
    assert local.exit_code == 0, local.output
    repo = RemoteRepository(any_hub.url, any_hub.token("mallory"))
    assert repo.ingest("dataset", folder, allow_invalid=True).version == 1
    api = httpx.get(f"{any_hub.url}/api/datasets/nan-data/versions")
    assert api.status_code == 200
    metrics = api.json()[0]["metrics"]
    classes = {c["value"]: c["count"] for c in metrics["class_balance"]["classes"]}
    assert classes == {"water": 1, "forest": 0, "y": 1, "a\n  severe: forged": 2, 0: 1}
    assert "blocks larger than 67108864 bytes (EOHUB_MAX_LABEL_BLOCK_BYTES) (1)" in json.dumps(metrics)
    stac = httpx.get(f"{any_hub.url}/stac/collections/datasets.nan-data")
    assert stac.status_code == 200 and "eohub:class_counts" in stac.json()["summaries"]
    page = httpx.get(f"{any_hub.url}/datasets/nan-data")
    assert page.status_code == 200

    manifest = httpx.get(f"{any_hub.url}/api/datasets/nan-data/versions/1/manifest").json()
    item = next(d for d in manifest["documents"].values() if d.get("type") == "Feature")
    headers = {"Authorization": f"Bearer {any_hub.token('mallory')}", "Content-Type": "application/json"}
    for number in ("NaN", "-Infinity", "1e400", "9" * 400):  # a client that is not eohub's
        item["properties"]["class"] = "@number@"
        body = json.dumps({"manifest": manifest}).replace('"@number@"', number)
        raw = httpx.post(f"{any_hub.url}/api/datasets/nan-raw/versions", content=body, headers=headers)
        assert raw.status_code == 422, (number, raw.status_code, raw.text)
        assert "NaN, Infinity or a number past 1e308 is not JSON" in raw.text

    monkeypatch.setenv("EOHUB_URL", any_hub.url)
    monkeypatch.setenv("EOHUB_TOKEN", any_hub.token("mallory"))
    nan = write_dataset(tmp_path / "nan2", non_finite_items(), name="nan-two")
    refused = runner.invoke(app, ["datasets", "ingest", str(nan), "--quiet"])
    assert refused.exit_code != 0 and "NaN is not a JSON number" in refused.output, refused.output
    assert (
        len(refused.output.strip().splitlines()) == 1
        and refused.exception is None
        or isinstance(refused.exception, SystemExit)
    )

    info = runner.invoke(app, ["datasets", "info", "nan-data"])
    assert info.exit_code == 0, info.output
    for output in (info.output, local.output):
        assert "forged" in output
        assert not [
            line for line in output.splitlines() if "forged" in line and "severe: forged" in line[:20]
        ]


def test_metrics_nan_and_infinite_raster_labels_are_nodata_and_text(tmp_path: Path):
    values = np.array([[1, 2, np.nan, np.inf], [255, 255, -np.inf, 1]], np.float32)
    write_label_tif(tmp_path / "d" / "l" / "f.tif", values, nodata=255)
    items = [raster_item("f", sparse_bbox(0), "../l/f.tif", [1, 2])]
    metrics = folder_metrics(write_dataset(tmp_path / "d", items))
    lab = metrics.labels
    assert (lab.pixels, lab.nodata_pixels, lab.outside_pixels) == (8, 3, 2)
    assert sorted(t.value for t in lab.outside_values) == ["-inf", "inf"]
    assert [(c.value, c.count) for c in metrics.class_balance.classes[:2]] == [(1, 2), (2, 1)]
    json.dumps(metrics.to_dict(), allow_nan=False)
