"""Behaviour that differs between SQLite and PostgreSQL unless the schema is careful: same result on both."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from eohub.repository import Repository

from .repository_helpers import write_q0_model


def test_long_file_paths_are_stored_on_every_backend(repository: Repository, tmp_path: Path) -> None:
    folder = write_q0_model(tmp_path / "m")
    deep = folder.joinpath(*(f"{level}" * 200 for level in range(6)))  # 1,200+ characters
    deep.mkdir(parents=True)
    (deep / "weights.bin").write_bytes(b"\x01\x02")
    repository.ingest("model", folder)

    got = repository.download("model", "EuroSAT-RGB", tmp_path / "out")
    stored = deep.relative_to(folder) / "weights.bin"
    assert len(str(stored)) > 1200
    assert (Path(got) / stored).read_bytes() == b"\x01\x02"


def test_version_dates_are_timezone_aware_on_every_backend(repository: Repository, tmp_path: Path) -> None:
    repository.ingest("model", write_q0_model(tmp_path / "m"))
    (version,) = repository.versions("model", "EuroSAT-RGB")
    assert version.created.utcoffset() == timedelta(0)


def test_name_filter_is_case_insensitive_and_literal_on_every_backend(
    repository: Repository, tmp_path: Path
) -> None:
    for name in ("EuroSAT-RGB", "eurosat-nir", "Other-Model"):
        repository.ingest("model", write_q0_model(tmp_path / name, name=name), name=name)
    assert [r.name for r in repository.list("model", name="EUROSAT")] == ["eurosat-nir", "EuroSAT-RGB"]
    assert repository.list("model", name="%") == []
