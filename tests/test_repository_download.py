"""Download: layout, verification, replacement with --force, and refusal to write outside the target."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pystac
import pytest

from eohub.errors import AlreadyExistsError, IntegrityError, NotFoundError, UsageError
from eohub.repository import FileEntry, Manifest, Repository
from eohub.repository.download import write_version
from eohub.storage import sha256_file

from .repository_helpers import folder_files, write_deep_catalog, write_q0_model


def test_download_writes_every_file_and_document_of_the_version(repository: Repository, tmp_path: Path):
    ids = write_deep_catalog(tmp_path / "deep", depth=3)
    repository.ingest("dataset", tmp_path / "deep")
    target = repository.download("dataset", "deep", tmp_path / "out")
    assert target == tmp_path / "out" / "deep" / "v1"
    catalog = pystac.Catalog.from_file(str(target / "catalog.json"))
    items = list(catalog.get_items(recursive=True))
    assert sorted(i.id for i in items) == sorted(ids)
    for item in items:
        asset = Path(item.assets["data"].get_absolute_href())
        assert asset.read_text() == f"data of {item.id}\n"


def test_older_versions_stay_downloadable(repository: Repository, tmp_path: Path):
    folder = write_q0_model(tmp_path / "m")
    repository.ingest("model", folder)
    v1 = folder_files(folder)
    (folder / "notes.txt").write_text("v2 only")
    repository.ingest("model", folder)
    assert folder_files(repository.download("model", "EuroSAT-RGB", tmp_path / "o", version=1)) == v1
    assert "notes.txt" in folder_files(repository.download("model", "EuroSAT-RGB", tmp_path / "o"))


def test_force_replaces_the_folder_completely(repository: Repository, tmp_path: Path):
    repository.ingest("model", write_q0_model(tmp_path / "m"))
    target = repository.download("model", "EuroSAT-RGB", tmp_path)
    (target / "stale.txt").write_text("old")
    (target / "model.onnx").write_bytes(b"edited")
    with pytest.raises(AlreadyExistsError):
        repository.download("model", "EuroSAT-RGB", tmp_path)
    repository.download("model", "EuroSAT-RGB", tmp_path, force=True)
    assert sorted(folder_files(target)) == ["README.md", "model.onnx"]
    assert sha256_file(target / "model.onnx") == sha256_file(tmp_path / "m" / "model.onnx")
    assert [p.name for p in tmp_path.joinpath("EuroSAT-RGB").iterdir()] == ["v1"]  # no temporary leftovers


def test_unknown_names_and_versions_are_not_found(repository: Repository, tmp_path: Path):
    with pytest.raises(NotFoundError, match="no model named 'nope'"):
        repository.download("model", "nope", tmp_path)
    repository.ingest("model", write_q0_model(tmp_path / "m"))
    with pytest.raises(NotFoundError, match="no version 3 .latest is 1."):
        repository.download("model", "EuroSAT-RGB", tmp_path, version=3)
    with pytest.raises(UsageError, match="positive integer"):
        repository.download("model", "EuroSAT-RGB", tmp_path, version=0)
    assert not (tmp_path / "EuroSAT-RGB").exists()


def _serve(content: dict[str, bytes]) -> tuple[Manifest, object]:
    entries = [FileEntry(path, len(data), hashlib.sha256(data).hexdigest()) for path, data in content.items()]

    def fetch(entry: FileEntry) -> Iterator[bytes]:
        yield content[entry.path]

    return Manifest(entries), fetch


@pytest.mark.parametrize("bad", ["../escape.txt", "/etc/escape.txt", "a/../../escape.txt", "a\\..\\x"])
def test_stored_paths_that_would_escape_the_target_are_refused(tmp_path: Path, bad: str):
    manifest, fetch = _serve({"ok.txt": b"fine", bad: b"evil"})
    with pytest.raises(IntegrityError, match="unsafe stored path"):
        write_version(manifest, tmp_path / "out" / "x" / "v1", fetch)
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "out" / "escape.txt").exists()
    assert not (tmp_path / "out" / "x" / "v1").exists()


def test_manifest_from_untrusted_json_refuses_unsafe_paths():
    with pytest.raises(IntegrityError):
        Manifest.from_dict({"files": [{"path": "../x", "size": 1, "sha256": "0" * 64}]})
    with pytest.raises(IntegrityError):
        Manifest.from_dict({"documents": {"/abs/catalog.json": {}}})


def test_content_not_matching_its_digest_is_detected_and_nothing_is_written(tmp_path: Path):
    manifest, _ = _serve({"a.txt": b"expected"})

    def tampered(entry: FileEntry) -> Iterator[bytes]:
        yield b"tampered"

    with pytest.raises(IntegrityError, match="a.txt.*SHA-256"):
        write_version(manifest, tmp_path / "n" / "v1", tampered)
    assert not (tmp_path / "n" / "v1").exists()
    assert list((tmp_path / "n").iterdir()) == []


def test_documents_are_written_as_json(tmp_path: Path):
    manifest, fetch = _serve({"x.txt": b"x"})
    manifest.documents["sub/catalog.json"] = {"type": "Catalog", "id": "c"}
    target = write_version(manifest, tmp_path / "d" / "v1", fetch)
    assert json.loads((target / "sub" / "catalog.json").read_text()) == {"type": "Catalog", "id": "c"}


def test_download_under_a_file_is_a_usage_error(repository: Repository, tmp_path: Path):
    repository.ingest("model", write_q0_model(tmp_path / "m"))
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(UsageError, match="cannot write"):
        repository.download("model", "EuroSAT-RGB", tmp_path / "taken")
