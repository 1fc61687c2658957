"""The rating of a version whose bytes are in a store it must fetch (a hub on S3, a re-rating through a
client) fetches only the files it opens, and rates the version exactly as with every byte at hand."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from eohub.repository.assess import assess, rated_files
from eohub.repository.manifest import FileEntry
from eohub.repository.scan import IngestPlan, PlannedFile, scan_folder
from tests.dataset_metrics_helpers import raster_item, sparse_bbox, write_dataset, write_label_tif
from tests.repository_helpers import write_q0_model


def _rate_from_store(folder: Path, kind: str) -> tuple[object, object, list[str]]:
    """The rating with local files (linked), the rating with each file fetched through a reader, and the
    paths that reader was asked for."""
    plan = scan_folder(folder)
    local = assess(plan, kind, lambda e: iter(()), [])  # type: ignore[arg-type]
    sources = {f.entry.path: f.source for f in plan.files}
    fetched: list[str] = []

    def read(entry: FileEntry):
        fetched.append(entry.path)
        source = sources[entry.path]
        assert source is not None
        yield source.read_bytes()

    stored = IngestPlan(
        folder=plan.folder,
        stac=plan.stac,
        files=[PlannedFile(f.entry, None) for f in plan.files],
        documents=plan.documents,
        metadata=plan.metadata,
    )
    return local, assess(stored, kind, read, []), sorted(fetched)  # type: ignore[arg-type]


def _same(a: object, b: object) -> None:
    assert (a.level, a.reasons, a.details) == (b.level, b.reasons, b.details)  # type: ignore[attr-defined]


def test_a_files_only_model_fetches_its_readme_only(tmp_path: Path):
    folder = write_q0_model(tmp_path / "m")
    (folder / "weights.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    (folder / "notes.json").write_text('{"not": "stac"}')
    local, stored, fetched = _rate_from_store(folder, "model")
    _same(local, stored)
    assert fetched == ["README.md", "notes.json"]


def test_a_dataset_fetches_what_its_documents_name_and_finds_the_same_metrics(tmp_path: Path):
    folder = tmp_path / "d"
    rng = np.random.default_rng(5)
    bad = rng.integers(0, 2, (8, 8), dtype=np.uint8)
    bad.flat[:5] = 7
    write_label_tif(folder / "labels" / "good.tif", rng.integers(0, 2, (8, 8), dtype=np.uint8))
    write_label_tif(folder / "labels" / "bad.tif", bad)
    items = [
        raster_item(n, sparse_bbox(i), f"../labels/{n}.tif", [0, 1]) for i, n in enumerate(["good", "bad"])
    ]
    write_dataset(folder, items)
    (folder / "extra").mkdir()
    (folder / "extra" / "scene.bin").write_bytes(os.urandom(2 * 1024 * 1024))  # no asset names it
    local, stored, fetched = _rate_from_store(folder, "dataset")
    _same(local, stored)
    assert stored.details["metrics"]["labels"]["outside_classes"]["pixels"] == 5  # type: ignore[attr-defined]
    assert "extra/scene.bin" not in fetched
    assert {"labels/good.tif", "labels/bad.tif", "README.md"} <= set(fetched)


def test_an_mlm_model_fetches_every_file_its_run_may_open():
    item = {
        "type": "Feature",
        "stac_extensions": ["https://stac-extensions.github.io/mlm/v1.4.0/schema.json"],
        "properties": {"mlm:name": "m"},
        "assets": {"model": {"href": "./model.onnx", "roles": ["mlm:model"]}},
        "links": [],
    }
    files = [PlannedFile(FileEntry(p, 1, "0" * 64), None) for p in ("model.onnx", "weights.data", "x/y.bin")]
    plan = IngestPlan(folder=Path("m"), stac=True, files=files, documents={"item.json": item})
    needed = rated_files(plan)
    assert all(needed(f.entry.path) for f in plan.files)  # ONNX external data is read from the folder
    del item["stac_extensions"], item["properties"]["mlm:name"]
    assert [f.entry.path for f in plan.files if rated_files(plan)(f.entry.path)] == ["model.onnx"]
