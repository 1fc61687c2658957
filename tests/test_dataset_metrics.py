"""Dataset metrics on datasets built here with known imbalance, duplicates, leaking splits and label values:
each metric finds exactly the number it must, a clean dataset finds nothing, and severe findings keep a
dataset at Q1."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from eohub.config import Limits
from eohub.quality import assess_quality
from eohub.quality.metrics import DatasetMetrics, MetricSettings, folder_metrics
from eohub.quality.metrics.footprints import metres_between

from .dataset_metrics_helpers import (
    chip_bbox,
    clean_items,
    hostile_labels,
    label_item,
    leaky_items,
    raster_item,
    sparse_bbox,
    write_dataset,
    write_label_tif,
)


def severities(metrics: DatasetMetrics) -> list[tuple[str, str]]:
    return [(f.metric, f.severity) for f in metrics.findings]


def test_a_clean_dataset_finds_nothing_and_stays_q2(tmp_path: Path):
    folder = write_dataset(tmp_path / "clean", clean_items())
    metrics = folder_metrics(folder)
    assert metrics.items == metrics.examined == 24
    assert metrics.findings == []
    assert [(c.name, c.count) for c in metrics.class_balance.classes] == [("water", 12), ("forest", 12)]
    assert metrics.class_balance.imbalance == 1.0
    assert metrics.duplicates.identical == metrics.duplicates.near == 0
    assert metrics.leakage.count == 0 and metrics.leakage.share == {"train": 0.0, "test": 0.0}
    report = assess_quality(folder, "dataset")
    assert (report.level, report.reasons) == (2, [])
    assert DatasetMetrics.from_dict(report.details["metrics"]) == metrics


def test_class_balance_counts_item_classes_per_split_and_judges_the_imbalance(tmp_path: Path):
    items = [label_item(f"w{i}", sparse_bbox(i), "train", **{"class": "water"}) for i in range(40)]
    items += [label_item(f"f{i}", sparse_bbox(40 + i), "train", **{"class": "forest"}) for i in range(4)]
    items += [label_item(f"t{i}", sparse_bbox(i, lon=12.0), "test", **{"class": "water"}) for i in range(10)]
    metrics = folder_metrics(write_dataset(tmp_path / "d", items))
    balance = metrics.class_balance
    assert (balance.source, balance.unit, balance.declared) == ("properties", "items", 2)
    assert [(c.value, c.count) for c in balance.classes] == [("water", 50), ("forest", 4)]
    assert {s: [(c.value, c.count) for c in v] for s, v in balance.by_split.items()} == {
        "test": [("water", 10), ("forest", 0)],
        "train": [("water", 40), ("forest", 4)],
    }
    assert balance.imbalance == 12.5
    messages = [f.message for f in metrics.findings]
    assert "class 'forest' has 4 items, 1/12 of 'water' (50)" in messages[0]  # a warning: 10 <= 12.5 < 100
    assert "test split: no samples of 1 class(es): forest" in messages
    assert severities(metrics) == [("class_balance", "warning"), ("class_balance", "warning")]
    severe = folder_metrics(tmp_path / "d", MetricSettings(imbalance_severe=12))
    assert severe.findings[0].severity == "severe"


def test_class_balance_from_overviews_and_from_vector_labels(tmp_path: Path):
    overview = {
        "property_key": "class",
        "counts": [{"name": "water", "count": 7}, {"name": "forest", "count": 3}],
    }
    items = [label_item(f"o{i}", sparse_bbox(i), **{"label:overviews": [overview]}) for i in range(3)]
    metrics = folder_metrics(write_dataset(tmp_path / "ov", items))
    assert metrics.class_balance.source == "label:overviews"
    assert [(c.value, c.count) for c in metrics.class_balance.classes] == [("water", 21), ("forest", 9)]

    folder = tmp_path / "vec"
    features = [{"type": "Feature", "geometry": None, "properties": {"class": c}} for c in "wwwf"]
    features = [
        dict(f, properties={"class": {"w": "water", "f": "forest"}[f["properties"]["class"]]})
        for f in features
    ]
    (folder / "labels").mkdir(parents=True)
    (folder / "labels" / "v.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features})
    )
    asset = {"labels": {"href": "../labels/v.geojson", "type": "application/geo+json", "roles": ["labels"]}}
    metrics = folder_metrics(write_dataset(folder, [label_item("v", sparse_bbox(0), assets=asset)]))
    assert (metrics.class_balance.source, metrics.class_balance.unit) == ("vector labels", "features")
    assert [(c.value, c.count) for c in metrics.class_balance.classes] == [("water", 3), ("forest", 1)]


def test_exact_duplicates_are_items_with_the_same_asset_bytes(tmp_path: Path):
    folder = tmp_path / "dup"
    rng = np.random.default_rng(7)
    items = []
    for i in range(20):
        group = {3: "a", 7: "a", 11: "a", 5: "b", 13: "b"}.get(i)
        values = rng.integers(0, 2, (8, 8), dtype=np.uint8)
        if group:  # the same bytes again, in a file of its own
            values = np.full((8, 8), 1 if group == "a" else 0, dtype=np.uint8)
        write_label_tif(folder / "labels" / f"l{i}.tif", values)
        items.append(raster_item(f"i{i}", sparse_bbox(i), f"../labels/l{i}.tif", [0, 1]))
    metrics = folder_metrics(write_dataset(folder, items))
    d = metrics.duplicates
    assert (d.identical, d.group_count) == (3, 2)  # a group of three repeats twice, a pair once
    assert sorted(sorted(g) for g in d.groups) == [["i11", "i3", "i7"], ["i13", "i5"]]
    assert ("duplicates", "severe") in severities(metrics)  # 3 of 20 items (15%) >= 5%
    assert (
        "3 item(s) (15%) repeat another item's assets exactly, in 2 group(s)" in metrics.findings[0].message
    )
    # a manifest's digests give the same answer without hashing; what they say is what counts
    digests = {
        f"labels/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest() for p in (folder / "labels").iterdir()
    }
    by_manifest = folder_metrics(folder, digests=digests)
    assert (by_manifest.duplicates.identical, by_manifest.duplicates.group_count) == (3, 2)
    one_blob = folder_metrics(folder, digests=dict.fromkeys(digests, "0" * 64))
    assert (one_blob.duplicates.identical, one_blob.duplicates.group_count) == (19, 1)


def test_near_duplicates_follow_the_iou_threshold(tmp_path: Path):
    base = chip_bbox(0, 0)
    shifted = lambda dx: [base[0] + dx, base[1], base[2] + dx, base[3]]  # noqa: E731
    items = [
        label_item("a", base, **{"class": "water"}),
        label_item("b", shifted(0.0002), **{"class": "water"}),  # IoU with a: 0.98/1.02
        label_item("c", shifted(0.001), **{"class": "water"}),  # with a: 0.9/1.1, with b: 0.92/1.08
        label_item("far", sparse_bbox(30), **{"class": "water"}),
    ]
    folder = write_dataset(tmp_path / "near", items)
    metrics = folder_metrics(folder)
    assert metrics.duplicates.near == 1
    pair = metrics.duplicates.pairs[0]
    assert (pair.a, pair.b, pair.iou) == ("a", "b", pytest.approx(0.98 / 1.02, abs=1e-4))
    loose = folder_metrics(folder, MetricSettings(near_iou=0.8))
    assert loose.duplicates.near == 3 and loose.duplicates.threshold == 0.8
    assert ("duplicates", "warning") in severities(metrics)


def test_split_leakage_counts_touching_pairs_and_shares_per_split(tmp_path: Path):
    metrics = folder_metrics(write_dataset(tmp_path / "leaky", leaky_items()))
    leak = metrics.leakage
    assert (leak.count, leak.splits) == (5, {"train": 30, "test": 17})
    assert leak.items == {"train": 3, "test": 2}
    assert leak.share == {"train": 0.1, "test": round(2 / 17, 4)}
    pairs = {(p.a, p.b) for p in leak.pairs}
    assert pairs == {("c5r0", "c6r0"), ("c5r1", "c6r0"), ("c5r0", "c6r1"), ("c5r1", "c6r1"), ("c5r2", "c6r1")}
    assert all(p.distance_m == 0 for p in leak.pairs)
    severe = metrics.severe
    assert [f.message for f in severe] == [
        "test split: 12% of items (2 of 17) touch an item of another split"
    ]
    report = assess_quality(tmp_path / "leaky", "dataset")
    assert report.level == 1
    assert report.reasons == [f"Q1: dataset metrics: leakage: {severe[0].message}"]


def test_leakage_distance_counts_items_that_lie_close(tmp_path: Path):
    a = chip_bbox(0, 0)
    gap = 0.005  # degrees of longitude at 45 N: about 393.6 m
    b = [a[2] + gap, a[1], a[2] + gap + 0.01, a[3]]
    items = [
        label_item("a", a, "train", **{"class": "water"}),
        label_item("b", b, "test", **{"class": "water"}),
    ]
    folder = write_dataset(tmp_path / "gap", items)
    expected = metres_between(tuple(a), tuple(b))
    assert 390 < expected < 397
    assert folder_metrics(folder).leakage.count == 0
    assert folder_metrics(folder, MetricSettings(leakage_distance_m=380)).leakage.count == 0
    close = folder_metrics(folder, MetricSettings(leakage_distance_m=400)).leakage
    assert close.count == 1 and close.pairs[0].distance_m == pytest.approx(expected, abs=0.01)
    assert close.share == {"train": 1.0, "test": 1.0}


def test_label_validity_finds_values_outside_the_classes_nodata_crs_and_resolution(tmp_path: Path):
    folder = tmp_path / "rasters"
    rng = np.random.default_rng(3)
    clean = rng.integers(0, 3, (8, 8), dtype=np.uint8)
    bad = rng.integers(0, 2, (8, 8), dtype=np.uint8)
    bad.flat[:12] = 9
    other = rng.integers(1, 3, (8, 8), dtype=np.uint8)
    write_label_tif(folder / "l" / "clean.tif", clean)
    write_label_tif(folder / "l" / "bad.tif", bad)
    write_label_tif(folder / "l" / "empty.tif", np.full((8, 8), 255, np.uint8), nodata=255)
    write_label_tif(folder / "l" / "other.tif", other, crs="EPSG:4326", resolution=20.0)
    items = [
        raster_item(name, sparse_bbox(i), f"../l/{name}.tif", [0, 1, 2])
        for i, name in enumerate(["clean", "bad", "empty", "other"])
    ]
    metrics = folder_metrics(write_dataset(folder, items))
    lab = metrics.labels
    assert (lab.rasters, lab.pixels, lab.not_read) == (4, 256, 0)
    assert (lab.outside_items, lab.outside_pixels, lab.outside_ids) == (1, 12, ["bad"])
    assert [(t.value, t.count) for t in lab.outside_values] == [(9, 12)]
    assert (lab.nodata_pixels, lab.empty_items) == (64, 1)
    assert [(t.value, t.count) for t in lab.crs] == [("EPSG:32633", 3), ("EPSG:4326", 1)]
    assert [(t.value, t.count) for t in lab.resolutions] == [([10.0, 10.0], 3), ([20.0, 20.0], 1)]
    expected = (
        Counter(clean.ravel().tolist()) + Counter(bad.ravel().tolist()) + Counter(other.ravel().tolist())
    )
    del expected[9]
    balance = metrics.class_balance
    assert (balance.source, balance.unit) == ("raster labels", "pixels")
    assert {c.value: c.count for c in balance.classes if c.value != 9} == dict(expected)
    assert ("labels", "severe") == severities(metrics)[0]
    messages = " | ".join(f.message for f in metrics.findings)
    assert (
        "1 label raster(s) hold values outside the declared classes (values 9; 12 pixels) (e.g. 'bad')"
        in messages
    )
    assert "1 label raster(s) hold only nodata" in messages
    assert "label rasters use 2 CRS: EPSG:32633 (3), EPSG:4326 (1)" in messages
    assert "label rasters use 2 resolutions" in messages


def test_the_json_shape_round_trips_and_cuts_lists_keeping_counts(tmp_path: Path):
    items = [
        label_item(f"same-{i}", chip_bbox(0, 0), "train" if i % 2 else "test", **{"class": "water"})
        for i in range(30)
    ]
    metrics = folder_metrics(write_dataset(tmp_path / "same", items))
    assert metrics.duplicates.near == 30 * 29 // 2 and len(metrics.duplicates.pairs) == 100
    assert metrics.leakage.count == 15 * 15 and len(metrics.leakage.pairs) == 200
    data = json.loads(json.dumps(metrics.to_dict()))
    assert DatasetMetrics.from_dict(data).to_dict() == data
    assert data["leakage"]["share"] == {"test": 1.0, "train": 1.0} or data["leakage"]["share"] == {
        "train": 1.0,
        "test": 1.0,
    }
    summaries = metrics.summaries()
    assert summaries["eohub:class_counts"] == [
        {"name": "water", "value": "water", "count": 30},
        {"name": "forest", "value": "forest", "count": 0},
    ]
    assert {s["split"]: s["leaking_share"] for s in summaries["eohub:splits"]} == {"test": 1.0, "train": 1.0}


def test_hostile_items_give_findings_not_crashes(tmp_path: Path):
    folder = tmp_path / "hostile"
    weird = hostile_labels(folder)
    (folder / "l" / "huge.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": []}) + " " * 5000
    )
    junk_overviews = [{"counts": [{"name": "x", "count": -3}, "junk", {"name": ["a"], "count": 1e99}]}]
    weird += [
        label_item("nan", [float("nan"), 0, 1, 1]),
        dict(label_item("no-geometry", [0, 0, 1, 1]), bbox=None, geometry=None),
        label_item("antimeridian", [170, 0, -170, 10]),
        label_item("many-classes", sparse_bbox(7), classes=[f"d{i}" for i in range(5000)]),
        raster_item("escape", sparse_bbox(4), "../../../etc/passwd"),
        label_item(
            "vector", sparse_bbox(5), assets={"labels": {"href": "../l/huge.geojson", "roles": ["labels"]}}
        ),
        dict(
            label_item("overviews", sparse_bbox(6)),
            properties={"label:overviews": junk_overviews, "label:classes": "no"},
        ),
    ]
    write_dataset(folder, weird)
    limits = Limits(max_label_pixels=100, max_metric_classes=1000, max_label_vector_bytes=1000)
    metrics = folder_metrics(folder, limits=limits)
    assert metrics.items == metrics.examined == len(weird) - 1  # NaN is not JSON: that item is not read
    assert metrics.class_balance.declared == 1000 and metrics.class_balance.truncated
    assert metrics.labels.not_read == 2 and metrics.labels.rasters == 0
    messages = " | ".join(f.message for f in metrics.findings)
    assert "4 item(s) have no footprint the metrics can compare" in messages
    assert "a bbox crossing the antimeridian (1)" in messages and "no geometry (1)" in messages
    assert "larger than 100 pixels (EOHUB_MAX_LABEL_PIXELS) (1)" in messages
    assert "unreadable (not a GeoTIFF or PNG rasterio can read) (1)" in messages
    assert "larger than 1000 bytes (EOHUB_MAX_LABEL_VECTOR_BYTES) (1)" in messages
    assert "EOHUB_MAX_METRIC_CLASSES" in messages
    json.dumps(metrics.to_dict(), allow_nan=False)  # storable as JSON: no NaN or infinity anywhere
    report = assess_quality(folder, "dataset", limits=limits)
    assert "metrics" in report.details
    assert report.level == 0 and any("NaN is not a JSON number" in r for r in report.reasons), report.reasons


def test_bounds_stop_the_counting_and_say_so(tmp_path: Path):
    items = [label_item(f"s{i}", chip_bbox(0, 0), "train" if i % 2 else "test") for i in range(50)]
    folder = write_dataset(tmp_path / "stack", items)
    metrics = folder_metrics(folder, limits=Limits(max_metric_pairs=100, max_metric_items=40))
    assert metrics.examined == 40
    assert metrics.duplicates.truncated and metrics.leakage.truncated
    assert metrics.duplicates.near <= 100
    messages = " | ".join(f.message for f in metrics.findings)
    assert "EOHUB_MAX_METRIC_PAIRS" in messages
    assert "only the first 40 items are examined (EOHUB_MAX_METRIC_ITEMS)" in messages


def test_the_item_reader_streams_the_catalog_tree(tmp_path: Path):
    """Items below child catalogs are read; links leaving the folder or looping are not followed twice."""
    from eohub.quality.metrics.items import folder_items

    folder = write_dataset(tmp_path / "tree" / "sub", clean_items(6), name="sub")
    root = tmp_path / "tree"
    catalog = {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": "root",
        "description": "d",
        "links": [
            {"rel": "child", "href": "./sub/catalog.json"},
            {"rel": "child", "href": "./catalog.json"},
            {"rel": "child", "href": "../outside/catalog.json"},
        ],
    }
    (root / "catalog.json").write_text(json.dumps(catalog))
    write_dataset(tmp_path / "outside", clean_items(3), name="outside")
    ids = [doc.data["id"] for doc in folder_items(root)]
    assert sorted(ids) == sorted(f"clean-{i}" for i in range(6))
    assert folder.is_dir()


def test_label_rasters_are_read_a_window_at_a_time_with_the_same_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from eohub.quality.metrics import labels

    rng = np.random.default_rng(11)
    wide = rng.integers(0, 4, (6, 25), dtype=np.uint8)
    noisy = rng.random((8, 8)).astype(np.float32)  # 64 distinct values: more than the 10 classes kept
    folder = tmp_path / "windows"
    write_label_tif(folder / "l" / "wide.tif", wide, nodata=3)
    write_label_tif(folder / "l" / "noisy.tif", noisy)
    items = [
        raster_item("wide", sparse_bbox(0), "../l/wide.tif", [0, 1, 2]),
        raster_item("noisy", sparse_bbox(1), "../l/noisy.tif"),
    ]
    write_dataset(folder, items)
    monkeypatch.setattr(labels, "WINDOW_PIXELS", 10)  # windows of 10 x 1 pixels
    metrics = folder_metrics(folder, limits=Limits(max_metric_classes=10))
    values, counts = np.unique(wide[wide != 3], return_counts=True)
    assert {c.value: c.count for c in metrics.class_balance.classes if c.value in (0, 1, 2)} == dict(
        zip(values.tolist(), counts.tolist(), strict=True)
    )
    assert metrics.labels.nodata_pixels == int((wide == 3).sum())
    assert metrics.class_balance.truncated
