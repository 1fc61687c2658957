"""Dataset metrics where people see them: stored at commit on every backend (embedded, PostgreSQL + S3,
over HTTP), served by a real hub to the CLI (``eohub datasets info``, ``--format json``), the API and
the STAC collection's summaries, and by ``eohub quality FOLDER``; hostile datasets through a hub get
findings and bounded reads, never a 5xx."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from eohub.cli.main import app
from eohub.client import RemoteRepository
from eohub.mlm.validate import validate_data
from eohub.repository import Repository
from eohub.repository.base import VersionInfo

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
from .hub_server import HubServer
from .repository_helpers import write_q0_model

runner = CliRunner()
LEAK = "test split: 12% of items (2 of 17) touch an item of another split"


@pytest.fixture
def hub_env() -> dict[str, str]:
    """The hub of this module reads label rasters of at most 100 pixels."""
    return {"EOHUB_MAX_LABEL_PIXELS": "100"}


def test_ingest_stores_the_metrics_with_the_version_and_does_not_block(
    repository: Repository, tmp_path: Path
):
    result = repository.ingest("dataset", write_dataset(tmp_path / "leaky", leaky_items(), name="leaky"))
    assert (result.version, result.quality.level) == (1, 1)  # stored, at Q1 because of the leak
    assert result.quality.reasons == [f"Q1: dataset metrics: leakage: {LEAK}"]
    [version] = repository.versions("dataset", "leaky")
    metrics = version.metrics
    assert metrics is not None and metrics.items == 47
    assert (metrics.leakage.count, metrics.leakage.items) == (5, {"train": 3, "test": 2})
    assert [(c.value, c.count) for c in metrics.class_balance.classes] == [("water", 24), ("forest", 23)]
    assert repository.get("dataset", "leaky").latest.metrics == metrics
    assert repository.list("dataset")[0].latest.metrics is None  # listings leave the metrics out

    again = repository.ingest("dataset", write_dataset(tmp_path / "clean", clean_items(), name="leaky"))
    assert (again.version, again.quality.level, again.quality.reasons) == (2, 2, [])
    first, second = repository.versions("dataset", "leaky")
    assert second.metrics is not None and second.metrics.findings == []
    assert first.metrics == metrics

    folder = tmp_path / "dups"  # exact duplicates found from the digests of the manifest, on every backend
    for i in range(6):
        values = (
            np.full((4, 4), 7, np.uint8) if i in (1, 4) else np.arange(16, dtype=np.uint8).reshape(4, 4) + i
        )
        write_label_tif(folder / "labels" / f"l{i}.tif", values)
    items = [raster_item(f"i{i}", sparse_bbox(i), f"../labels/l{i}.tif", list(range(40))) for i in range(6)]
    dups = repository.ingest("dataset", write_dataset(folder, items, name="dups"))
    assert dups.quality.level == 1 and "repeat another item's assets exactly" in dups.quality.reasons[0]
    found = repository.versions("dataset", "dups")[0].metrics
    assert found is not None and (found.duplicates.identical, found.duplicates.groups) == (1, [["i1", "i4"]])

    model = repository.ingest("model", write_q0_model(tmp_path / "m", name="a-model"))
    assert repository.versions("model", model.name)[0].metrics is None


def test_a_hub_serves_the_metrics_to_the_cli_the_api_and_stac(
    sqlite_hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("EOHUB_URL", sqlite_hub.url)
    monkeypatch.setenv("EOHUB_TOKEN", sqlite_hub.token("alice"))
    folder = write_dataset(tmp_path / "leaky", leaky_items(), name="leaky")
    ingest = runner.invoke(app, ["datasets", "ingest", str(folder), "--quiet"])
    assert ingest.exit_code == 0 and "(Q1)" in ingest.output, ingest.output

    info = runner.invoke(app, ["datasets", "info", "leaky"])
    assert info.exit_code == 0
    assert f"severe: leakage: {LEAK}" in info.output
    assert (
        "leakage (touching): 5 pair(s) across splits; train 10% (3 of 30), test 12% (2 of 17)" in info.output
    )
    as_json = runner.invoke(app, ["datasets", "info", "leaky", "--format", "json"])
    latest = json.loads(as_json.stdout)["latest"]
    assert latest["metrics"]["leakage"]["share"] == {"train": 0.1, "test": 0.1176}
    assert latest["metrics"]["findings"] == [{"metric": "leakage", "severity": "severe", "message": LEAK}]

    versions = httpx.get(f"{sqlite_hub.url}/api/datasets/leaky/versions").json()
    assert versions[0]["metrics"] == latest["metrics"]
    assert VersionInfo.from_dict(versions[0]).metrics.leakage.count == 5

    collection = httpx.get(f"{sqlite_hub.url}/stac/collections/datasets.leaky").json()
    summaries = collection["summaries"]
    assert summaries["eohub:splits"] == [
        {"split": "train", "items": 30, "leaking_items": 3, "leaking_share": 0.1},
        {"split": "test", "items": 17, "leaking_items": 2, "leaking_share": 0.1176},
    ]
    assert summaries["eohub:leakage"] == [{"pairs": 5, "distance_m": 0.0}]
    assert {"name": "forest", "value": "forest", "count": 23} in summaries["eohub:class_counts"]
    assert summaries["eohub:findings"][0]["message"] == LEAK
    assert validate_data(collection).ok


def test_quality_folder_prints_the_metrics_and_takes_the_thresholds(tmp_path: Path):
    folder = write_dataset(tmp_path / "leaky", leaky_items(), name="leaky")
    text = runner.invoke(app, ["quality", str(folder), "--kind", "dataset"])
    assert text.exit_code == 0
    assert text.output.splitlines()[:2] == [
        f"{folder}: Q1 (dataset)",
        f"  Q1: dataset metrics: leakage: {LEAK}",
    ]
    assert "dataset metrics (47 items):" in text.output
    as_json = json.loads(
        runner.invoke(app, ["quality", str(folder), "--kind", "dataset", "--format", "json"]).stdout
    )
    assert as_json["details"]["metrics"]["leakage"]["count"] == 5

    a = chip_bbox(0, 0)
    b = [a[2] + 0.005, a[1], a[2] + 0.015, a[3]]  # about 394 m east of a
    gap = write_dataset(tmp_path / "gap", [label_item("a", a, "train"), label_item("b", b, "test")])
    near = runner.invoke(
        app, ["quality", str(gap), "--kind", "dataset", "--format", "json", "--leakage-distance", "400"]
    )
    assert json.loads(near.stdout)["details"]["metrics"]["leakage"]["count"] == 1
    far = runner.invoke(
        app, ["quality", str(gap), "--kind", "dataset", "--format", "json", "--leakage-distance", "300"]
    )
    assert json.loads(far.stdout)["details"]["metrics"]["leakage"]["count"] == 0
    bad = runner.invoke(app, ["quality", str(gap), "--kind", "dataset", "--near-iou", "2"])
    assert bad.exit_code != 0 and bad.output.startswith("error: the near-duplicate IoU must be in (0, 1]")
    assert len(bad.output.strip().splitlines()) == 1


def test_hostile_datasets_through_a_hub_get_findings_never_a_5xx(sqlite_hub: HubServer, tmp_path: Path):
    folder = tmp_path / "hostile"
    items = hostile_labels(folder)
    write_dataset(folder, items, name="hostile")
    repo = RemoteRepository(sqlite_hub.url, sqlite_hub.token("mallory"))
    result = repo.ingest("dataset", folder, allow_invalid=True)  # the geometry is invalid STAC: stored at Q0
    assert result.version == 1 and result.quality.level == 0
    metrics = repo.versions("dataset", "hostile")[0].metrics
    assert metrics is not None and metrics.items == 5
    assert metrics.labels.not_read == 2 and metrics.labels.rasters == 0
    assert metrics.class_balance.declared == 1000 and metrics.class_balance.truncated
    messages = " | ".join(f.message for f in metrics.findings)
    assert "larger than 100 pixels (EOHUB_MAX_LABEL_PIXELS)" in messages
    assert "2 item(s) have no footprint the metrics can compare" in messages
    collection = httpx.get(f"{sqlite_hub.url}/stac/collections/datasets.hostile")
    assert collection.status_code == 200 and "eohub:findings" in collection.json()["summaries"]


def test_a_hub_answer_with_malformed_metrics_reads_as_bounded_metrics():
    garbage = {
        "items": "many",
        "class_balance": {
            "classes": [{"name": ["x"], "value": {"a": 1}, "count": -5}] * 5000,
            "by_split": [],
        },
        "duplicates": {"identical": {"groups": [["a" * 10_000] * 500] * 500}, "near": "no"},
        "leakage": {"share": {"test": float("inf")}, "pairs": [None, 3, {"a": 1}]},
        "labels": {"crs": [{"value": {"deep": [1]}, "items": 1e400}]},
        "findings": [{"metric": "x", "severity": "fatal", "message": "m" * 5000}],
    }
    data = {"number": 1, "created": datetime.now(UTC).isoformat(), "quality_level": 2, "metrics": garbage}
    metrics = VersionInfo.from_dict(data).metrics
    assert metrics is not None and metrics.items == 0
    assert len(metrics.class_balance.classes) == 200 and metrics.class_balance.classes[0].count == 0
    assert len(metrics.duplicates.groups) == 100 and all(
        len(i) <= 200 for g in metrics.duplicates.groups for i in g
    )
    assert metrics.leakage.share == {"test": 0.0} and len(metrics.leakage.pairs) == 3
    assert metrics.findings[0].severity == "info" and len(metrics.findings[0].message) == 1000
    json.dumps(metrics.to_dict(), allow_nan=False)
