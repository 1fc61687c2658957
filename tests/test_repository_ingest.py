"""Ingest through the Repository interface, for every backend in conftest's REPOSITORY_BACKENDS.

What is stored (Q0 files, whole STAC catalogs, assets outside the folder), when a version is created,
deduplication, atomicity, names and errors.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from eohub.client import upload_batches
from eohub.errors import EohubError, InvalidNameError, InvalidStacError, NotFoundError, UsageError
from eohub.repository import Repository

from .repository_helpers import write_deep_catalog, write_json, write_q0_model


def uploads(repository: Repository, monkeypatch: pytest.MonkeyPatch, fail_at: int | None = None) -> list[str]:
    """Record the digests the repository uploads, one by one or (to a hub) in batches of small files;
    raise on upload number ``fail_at`` (1-based)."""
    seen: list[str] = []
    lock = threading.Lock()
    original = repository.upload_blob

    def count(digest: str) -> None:
        with lock:
            seen.append(digest)
            if fail_at is not None and len(seen) == fail_at:
                raise OSError("disk on fire")

    def spy(entry: Any, source: Path, progress: Any) -> None:
        count(entry.sha256)
        original(entry, source, progress)

    monkeypatch.setattr(repository, "upload_blob", spy)
    send = upload_batches.send

    def batch_spy(session: Any, files: Any) -> dict[str, str]:
        for planned in files:
            count(planned.entry.sha256)
        return send(session, files)

    monkeypatch.setattr(upload_batches, "send", batch_spy)
    return seen


def test_q0_folder_stores_every_visible_file_under_its_relative_path(repository: Repository, tmp_path: Path):
    folder = write_q0_model(tmp_path / "m")
    (folder / "weights").mkdir()
    (folder / "weights" / "extra.bin").write_bytes(b"\x00\x01")
    (folder / ".hidden").write_text("secret")
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[core]")
    result = repository.ingest("model", folder)
    manifest = repository.manifest("model", "EuroSAT-RGB")
    assert [e.path for e in manifest.files] == ["README.md", "model.onnx", "weights/extra.bin"]
    assert manifest.metadata.authors == ["Jane Doe"] and manifest.documents == {}
    assert (result.version, result.quality.level) == (1, 0)


def test_unchanged_folder_creates_no_version(repository: Repository, tmp_path: Path):
    folder = write_q0_model(tmp_path / "m")
    repository.ingest("model", folder)
    result = repository.ingest("model", folder)
    assert result.version is None and result.latest == 1 and not result.changed
    assert [v.number for v in repository.versions("model", "EuroSAT-RGB")] == [1]


def test_readme_metadata_change_creates_a_version(repository: Repository, tmp_path: Path):
    folder = write_q0_model(tmp_path / "m")
    repository.ingest("model", folder)
    readme = folder / "README.md"
    readme.write_text(readme.read_text().replace("Jane Doe", "John Roe"))
    assert repository.ingest("model", folder).version == 2
    assert repository.get("model", "EuroSAT-RGB").metadata.authors == ["John Roe"]
    assert repository.versions("model", "EuroSAT-RGB")[1].changes == {
        "added": 0,
        "changed": 1,
        "removed": 0,
        "metadata": True,
    }


def test_second_version_with_one_changed_file_uploads_only_that_file(
    repository: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = write_q0_model(tmp_path / "m")
    for n in range(3):
        (folder / f"part-{n}.bin").write_bytes(bytes([n]) * 1000)
    seen = uploads(repository, monkeypatch)
    repository.ingest("model", folder)
    assert len(seen) == 5
    (folder / "part-1.bin").write_bytes(b"changed")
    repository.ingest("model", folder)
    assert len(seen) == 6
    v2 = repository.manifest("model", "EuroSAT-RGB", 2)
    assert seen[-1] == v2.file("part-1.bin").sha256
    assert repository.versions("model", "EuroSAT-RGB")[1].changes["changed"] == 1


def test_identical_files_are_stored_once_across_repositories(
    repository: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    seen = uploads(repository, monkeypatch)
    repository.ingest("model", write_q0_model(tmp_path / "a"), name="model-a")
    repository.ingest("model", write_q0_model(tmp_path / "b"), name="model-b")
    assert len(seen) == 2  # README.md and model.onnx are byte-identical in both folders


def test_failure_mid_upload_leaves_no_version_and_previous_latest_intact(
    repository: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = write_q0_model(tmp_path / "m")
    repository.ingest("model", folder)
    before = repository.manifest("model", "EuroSAT-RGB")
    for n in range(3):
        (folder / f"new-{n}.bin").write_bytes(bytes([n + 1]) * 100)
    uploads(repository, monkeypatch, fail_at=2)
    with pytest.raises(OSError, match="disk on fire"):
        repository.ingest("model", folder)
    assert [v.number for v in repository.versions("model", "EuroSAT-RGB")] == [1]
    assert repository.manifest("model", "EuroSAT-RGB") == before
    monkeypatch.undo()
    assert repository.ingest("model", folder).version == 2


def test_failure_on_first_ingest_leaves_no_repository(
    repository: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = write_q0_model(tmp_path / "m")
    uploads(repository, monkeypatch, fail_at=2)
    with pytest.raises(OSError):
        repository.ingest("model", folder)
    with pytest.raises(NotFoundError):
        repository.get("model", "EuroSAT-RGB")
    assert repository.list("model") == []


def test_external_model_asset_is_stored_inside_the_version_with_its_href_rewritten(
    repository: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)  # as in the tutorial, the asset is under the current directory
    model = write_q0_model(tmp_path / "v1") / "model.onnx"
    stac = tmp_path / "STAC"
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "model",
        "geometry": None,
        "properties": {"datetime": "2024-01-01T00:00:00Z"},
        "links": [{"rel": "root", "href": "../catalog.json"}, {"rel": "parent", "href": "../catalog.json"}],
        "assets": {
            "model": {"href": str(model)},
            "card": {"href": "https://example.org/card.html"},
            "doc": {"href": "../docs/usage.txt"},
        },
    }
    write_json(stac / "model" / "model.json", item)
    (stac / "docs").mkdir()
    (stac / "docs" / "usage.txt").write_text("run it")
    write_json(stac / "catalog.json", catalog_doc("EuroSAT-RGB", ["./model/model.json"], license="MIT"))
    result = repository.ingest("model", stac)
    assert result.outside == [str(model)]
    manifest = repository.manifest("model", "EuroSAT-RGB")
    assert [e.path for e in manifest.files] == ["docs/usage.txt", "model.onnx"]
    assets = manifest.documents["model/model.json"]["assets"]
    assert assets["model"]["href"] == "../model.onnx"
    assert assets["doc"]["href"] == "../docs/usage.txt"
    assert assets["card"]["href"] == "https://example.org/card.html"
    assert all(".." not in e.path.split("/") for e in manifest.files)


def test_external_files_colliding_with_catalog_files_go_under_external(
    repository: Repository, tmp_path: Path
):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "data.txt").write_text("outside")
    stac = tmp_path / "STAC"
    (stac).mkdir()
    (stac / "data.txt").write_text("inside")
    item = plain_item("x", {"a": {"href": "data.txt"}, "b": {"href": str(outside / "data.txt")}})
    write_json(stac / "x.json", item)
    write_json(stac / "catalog.json", catalog_doc("collide", ["./x.json"], license="MIT"))
    result = repository.ingest("dataset", stac, allow_outside=[outside])
    assert result.outside == [str(outside / "data.txt")]
    manifest = repository.manifest("dataset", "collide")
    assert [e.path for e in manifest.files] == ["data.txt", "external/data.txt"]
    assert manifest.documents["x.json"]["assets"]["b"]["href"] == "external/data.txt"


def test_deep_catalog_keeps_every_catalog_and_item(repository: Repository, tmp_path: Path):
    ids = write_deep_catalog(tmp_path / "deep", depth=4, items_per_level=2)
    result = repository.ingest("dataset", tmp_path / "deep")
    assert result.name == "deep"  # README-less STAC: the catalog id
    manifest = repository.manifest("dataset", "deep")
    items = [d["id"] for d in manifest.documents.values() if d["type"] == "Feature"]
    catalogs = [d["id"] for d in manifest.documents.values() if d["type"] == "Catalog"]
    assert sorted(items) == sorted(ids) and len(ids) == 8
    assert sorted(catalogs) == ["deep", "level-0", "level-1", "level-2", "level-3"]
    assert len(manifest.files) == 8
    assert manifest.metadata.license == "CC-BY-4.0"


def test_readme_less_stac_without_license_is_ingested_with_notes(repository: Repository, tmp_path: Path):
    write_json(tmp_path / "s" / "catalog.json", catalog_doc("no-license", []))
    result = repository.ingest("dataset", tmp_path / "s")
    assert (result.version, result.quality.level) == (1, 1)
    assert [n.split(" (")[0] for n in result.notes] == ["no license", "no authors", "no source"]
    meta = repository.manifest("dataset", "no-license").metadata
    assert (meta.name, meta.description, meta.license) == ("no-license", "catalog no-license", "")


def test_readme_fields_win_and_the_catalog_fills_the_rest(repository: Repository, tmp_path: Path):
    stac = tmp_path / "s"
    (stac).mkdir()
    (stac / "README.md").write_text("---\nauthors: [Jane]\nlicense: MIT\n---\nFrom the README.\n")
    providers = [{"name": "Org", "roles": ["licensor"]}]
    write_json(stac / "catalog.json", catalog_doc("filled", [], license="CC0-1.0", providers=providers))
    result = repository.ingest("dataset", stac)
    assert result.name == "filled"  # the README names nothing: the catalog id
    meta = repository.manifest("dataset", "filled").metadata
    assert (meta.name, meta.authors, meta.license) == ("filled", ["Jane"], "MIT")
    assert meta.description == "From the README."
    assert [n.split(" (")[0] for n in result.notes] == ["no source"]


def test_invalid_stac_is_refused_with_the_validator_messages(repository: Repository, tmp_path: Path):
    stac = tmp_path / "s"
    bad = plain_item("bad", {})
    del bad["properties"]["datetime"]
    write_json(stac / "bad.json", bad)
    write_json(stac / "catalog.json", catalog_doc("broken", ["./bad.json"], license="MIT"))
    with pytest.raises(InvalidStacError) as err:
        repository.ingest("dataset", stac)
    assert any("bad.json" in p and "datetime" in p for p in err.value.problems)
    with pytest.raises(NotFoundError):
        repository.get("dataset", "broken")
    result = repository.ingest("dataset", stac, allow_invalid=True)
    assert result.version == 1 and result.quality.level == 0
    assert any("--allow-invalid" in r for r in result.quality.reasons)


def test_missing_local_asset_is_invalid(repository: Repository, tmp_path: Path):
    stac = tmp_path / "s"
    write_json(stac / "x.json", plain_item("x", {"data": {"href": "gone.tif"}}))
    write_json(stac / "catalog.json", catalog_doc("missing-asset", ["./x.json"], license="MIT"))
    with pytest.raises(InvalidStacError) as err:
        repository.ingest("dataset", stac)
    assert any("gone.tif" in p for p in err.value.problems)


def test_readme_is_carried_over_when_the_new_folder_has_none(repository: Repository, tmp_path: Path):
    repository.ingest("dataset", write_q0_model(tmp_path / "m", name="carried"))
    stac = tmp_path / "s"
    (stac).mkdir()
    (stac / "x.txt").write_text("x")
    write_json(stac / "x.json", plain_item("x", {"data": {"href": "x.txt"}}))
    write_json(stac / "catalog.json", catalog_doc("whatever", ["./x.json"]))
    result = repository.ingest("dataset", stac, name="carried")
    assert result.version == 2
    manifest = repository.manifest("dataset", "carried")
    assert manifest.file("README.md") == repository.manifest("dataset", "carried", 1).file("README.md")
    assert manifest.metadata.authors == ["Jane Doe"]


def test_names_are_unique_regardless_of_case(repository: Repository, tmp_path: Path):
    repository.ingest("model", write_q0_model(tmp_path / "a"), name="EuroSAT-RGB")
    result = repository.ingest("model", write_q0_model(tmp_path / "b", seed=1), name="eurosat-rgb")
    assert (result.name, result.version) == ("EuroSAT-RGB", 2)
    assert [i.name for i in repository.list("model")] == ["EuroSAT-RGB"]


def test_models_and_datasets_are_separate(repository: Repository, tmp_path: Path):
    repository.ingest("model", write_q0_model(tmp_path / "a"))
    assert repository.list("dataset") == []
    with pytest.raises(NotFoundError, match="no dataset named 'EuroSAT-RGB'"):
        repository.get("dataset", "EuroSAT-RGB")


@pytest.mark.parametrize("name", ["ab", "x" * 65, "has space", "under_score", "dots.too", "ünï"])
def test_bad_names_are_refused(repository: Repository, tmp_path: Path, name: str):
    with pytest.raises(InvalidNameError, match="3 to 64 characters"):
        repository.ingest("model", write_q0_model(tmp_path / "m"), name=name)


def test_folder_without_readme_needs_a_name(repository: Repository, tmp_path: Path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "weights.bin").write_bytes(b"1")
    with pytest.raises(UsageError, match=r"pass name=\.\.\. or add a README"):
        repository.ingest("model", tmp_path / "m")
    assert repository.ingest("model", tmp_path / "m", name="unnamed").version == 1


def test_missing_folder_is_a_usage_error(repository: Repository, tmp_path: Path):
    with pytest.raises(UsageError, match="no such folder"):
        repository.ingest("model", tmp_path / "nope")


def test_list_filters_by_name_and_limit(repository: Repository, tmp_path: Path):
    folder = write_q0_model(tmp_path / "m")
    for name in ("alpha-net", "beta-net", "gamma"):
        repository.ingest("model", folder, name=name)
    assert [i.name for i in repository.list("model", name="NET")] == ["alpha-net", "beta-net"]
    assert [i.name for i in repository.list("model", limit=2)] == ["alpha-net", "beta-net"]
    assert repository.list("model", name="%") == []


def test_private_repositories_are_invisible_to_other_users(repository_factory: Any, tmp_path: Path):
    alice = repository_factory("alice")
    alice.ingest("model", write_q0_model(tmp_path / "m"), private=True)
    bob = repository_factory("bob")
    assert bob.list("model") == []
    with pytest.raises(NotFoundError):
        bob.get("model", "EuroSAT-RGB")
    assert alice.get("model", "EuroSAT-RGB").private
    with pytest.raises(EohubError) as err:
        bob.ingest("model", write_q0_model(tmp_path / "b", seed=2), name="EuroSAT-RGB")
    assert "alice" not in str(err.value)
    assert len(alice.versions("model", "EuroSAT-RGB")) == 1


def test_only_the_owner_may_add_versions(repository_factory: Any, tmp_path: Path):
    repository_factory("alice").ingest("model", write_q0_model(tmp_path / "m"))
    with pytest.raises(EohubError, match="owner"):
        repository_factory("bob").ingest("model", write_q0_model(tmp_path / "n", seed=3), name="EuroSAT-RGB")


def test_concurrent_ingests_get_consecutive_versions(repository_factory: Any, tmp_path: Path):
    first = repository_factory()
    first.ingest("model", write_q0_model(tmp_path / "m"))
    folders = [write_q0_model(tmp_path / f"m{n}", seed=n + 1) for n in range(2)]
    repos = [repository_factory() for _ in folders]
    results: list[Any] = [None, None]

    def run(n: int) -> None:
        results[n] = repos[n].ingest("model", folders[n])

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.version for r in results) == [2, 3]
    assert [v.number for v in first.versions("model", "EuroSAT-RGB")] == [1, 2, 3]
    for n, result in enumerate(results):
        manifest = first.manifest("model", "EuroSAT-RGB", result.version)
        assert manifest.file("model.onnx").size == (folders[n] / "model.onnx").stat().st_size


def catalog_doc(catalog_id: str, item_hrefs: list[str], **extra: Any) -> dict[str, Any]:
    links = [{"rel": "root", "href": "./catalog.json"}] + [{"rel": "item", "href": h} for h in item_hrefs]
    return {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": catalog_id,
        "description": f"catalog {catalog_id}",
        "links": links,
        **extra,
    }


def plain_item(item_id: str, assets: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "geometry": None,
        "properties": {"datetime": "2024-01-01T00:00:00Z"},
        "links": [{"rel": "root", "href": "./catalog.json"}, {"rel": "parent", "href": "./catalog.json"}],
        "assets": assets,
    }


def test_stac_documents_round_trip_as_json(repository: Repository, tmp_path: Path):
    stac = tmp_path / "s"
    (stac).mkdir()
    (stac / "x.txt").write_text("x")
    item = plain_item("x", {"data": {"href": "x.txt", "title": "Ünïcode"}})
    write_json(stac / "x.json", item)
    write_json(stac / "catalog.json", catalog_doc("round-trip", ["./x.json"], license="MIT"))
    repository.ingest("dataset", stac)
    stored = repository.manifest("dataset", "round-trip").documents["x.json"]
    assert stored == json.loads((stac / "x.json").read_text())


class RecordingProgress:
    def __init__(self) -> None:
        self.phases: list[tuple[str, int, int]] = []
        self.bytes = 0
        self.files = 0

    def begin(self, description: str, total_bytes: int, total_files: int) -> None:
        self.phases.append((description.split()[0], total_bytes, total_files))

    def advance(self, nbytes: int) -> None:
        self.bytes += nbytes

    def file_done(self) -> None:
        self.files += 1

    def end(self) -> None:
        pass


def test_progress_reports_every_byte_uploaded_and_downloaded(repository: Repository, tmp_path: Path):
    folder = write_q0_model(tmp_path / "m")
    size = sum(p.stat().st_size for p in folder.iterdir())
    up = RecordingProgress()
    repository.ingest("model", folder, progress=up)
    assert up.phases == [("uploading", size, 2)] and (up.bytes, up.files) == (size, 2)
    down = RecordingProgress()
    repository.download("model", "EuroSAT-RGB", tmp_path / "out", progress=down)
    assert down.phases == [("downloading", size, 2)] and (down.bytes, down.files) == (size, 2)


def test_folder_asset_outside_the_catalog_is_stored_with_all_its_files_when_allowed(
    repository: Repository, tmp_path: Path
):
    tiles = tmp_path / "tiles"
    (tiles / "row-1").mkdir(parents=True)
    (tiles / "row-1" / "a.tif").write_bytes(b"a")
    (tiles / "b.tif").write_bytes(b"b")
    stac = tmp_path / "s"
    write_json(stac / "x.json", plain_item("x", {"tiles": {"href": str(tiles)}}))
    write_json(stac / "catalog.json", catalog_doc("tiles", ["./x.json"], license="MIT"))
    with pytest.raises(UsageError, match=r"allow_outside=\["):
        repository.ingest("dataset", stac)
    result = repository.ingest("dataset", stac, allow_outside=[tiles])
    assert result.outside == [str(tiles / "b.tif"), str(tiles / "row-1" / "a.tif")]
    manifest = repository.manifest("dataset", "tiles")
    assert [e.path for e in manifest.files] == ["b.tif", "row-1/a.tif"]
    assert manifest.documents["x.json"]["assets"]["tiles"]["href"] == "."
