"""The embedded repository's own guarantees: blobs on disk, one transaction per version, configuration."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from eohub.db.engine import normalize_url
from eohub.errors import IntegrityError
from eohub.quality import QualityReport
from eohub.repository import EmbeddedRepository, embedded_commit, open_embedded, open_repository
from eohub.storage import LocalBlobStore

from .repository_helpers import folder_files, write_q0_model


@pytest.fixture
def repo() -> EmbeddedRepository:
    with open_embedded(user="alice") as repository:
        yield repository


def test_corrupted_blob_is_detected_on_download_and_the_old_download_survives(
    repo: EmbeddedRepository, tmp_path
):
    folder = write_q0_model(tmp_path / "m")
    repo.ingest("model", folder)
    target = repo.download("model", "EuroSAT-RGB", tmp_path / "out")
    (target / "model.onnx").write_bytes(b"edited here, so the download cannot reuse it")
    before = folder_files(target)
    store = repo.store
    assert isinstance(store, LocalBlobStore)
    digest = repo.manifest("model", "EuroSAT-RGB").file("model.onnx").sha256
    blob = store.path(digest)
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes()[:-1] + b"\x00")
    with pytest.raises(IntegrityError, match="model.onnx.*does not match its SHA-256"):
        repo.download("model", "EuroSAT-RGB", tmp_path / "out", force=True)
    assert folder_files(target) == before
    assert sorted(p.name for p in (tmp_path / "out" / "EuroSAT-RGB").iterdir()) == ["v1"]


def test_failure_inside_the_commit_leaves_no_version_rows(
    repo: EmbeddedRepository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    folder = write_q0_model(tmp_path / "m")
    repo.ingest("model", folder)
    before = repo.stats()
    (folder / "more.txt").write_text("more")

    def explode(*args: object) -> None:
        raise KeyboardInterrupt  # an interrupted process, after the version row and files were inserted

    monkeypatch.setattr(embedded_commit, "_insert_documents", explode)
    with pytest.raises(KeyboardInterrupt):
        repo.ingest("model", folder)
    assert repo.stats() == before
    assert [v.number for v in repo.versions("model", "EuroSAT-RGB")] == [1]


def test_commit_refuses_a_manifest_whose_blobs_are_missing(repo: EmbeddedRepository, tmp_path: Path):
    repo.ingest("model", write_q0_model(tmp_path / "m"))
    manifest = repo.manifest("model", "EuroSAT-RGB")
    quality = QualityReport(str(tmp_path), "model", 0, [])
    ghost = replace(manifest, files=[*manifest.files, type(manifest.files[0])("ghost.bin", 1, "f" * 64)])
    with pytest.raises(IntegrityError, match="ghost.bin: blob f+ was not uploaded by you"):
        repo.commit_version("model", "EuroSAT-RGB", ghost, quality)  # never stored, never proved
    lost = manifest.files[0]
    repo.store.delete(lost.sha256)  # referenceable (in a version the caller reads), but gone from the store
    renamed = replace(manifest, files=[replace(lost, path="lost.bin"), *manifest.files[1:]])
    with pytest.raises(IntegrityError, match="1 blob.s. are not stored"):
        repo.commit_version("model", "EuroSAT-RGB", renamed, quality)
    assert len(repo.versions("model", "EuroSAT-RGB")) == 1


def test_embedded_repository_lives_under_eohub_home(_isolated_home: Path, tmp_path: Path):
    with open_repository() as repo:
        repo.ingest("model", write_q0_model(tmp_path / "m"))
    assert (_isolated_home / "eohub.sqlite").is_file()
    assert any((_isolated_home / "blobs").rglob("*"))


def test_postgres_urls_use_psycopg3():
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"
