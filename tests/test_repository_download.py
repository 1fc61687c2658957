"""Download: layout, verification, replacement with --force, and refusal to write outside the target."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pystac
import pytest

from eohub.errors import AlreadyExistsError, IntegrityError, NotFoundError, TransferError, UsageError
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
    with pytest.raises(UsageError, match="a version is a whole number from 1"):
        repository.download("model", "EuroSAT-RGB", tmp_path, version=0)
    assert not (tmp_path / "EuroSAT-RGB").exists()


def _serve(content: dict[str, bytes]) -> tuple[Manifest, object]:
    entries = [FileEntry(path, len(data), hashlib.sha256(data).hexdigest()) for path, data in content.items()]

    def fetch(entry: FileEntry, start: int) -> Iterator[bytes]:
        yield content[entry.path][start:]

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

    def tampered(entry: FileEntry, start: int) -> Iterator[bytes]:
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


def test_an_interrupted_download_resumes_from_the_bytes_already_written(tmp_path: Path):
    data = bytes(range(256)) * 4096  # 1 MiB
    manifest, fetch = _serve({"big.bin": data, "small.txt": b"small"})
    asked: list[tuple[str, int]] = []

    def breaking(entry: FileEntry, start: int) -> Iterator[bytes]:
        asked.append((entry.path, start))
        if entry.path == "big.bin" and start == 0:
            yield data[:300_000]
            raise TransferError("connection dropped")
        yield from fetch(entry, start)

    target = tmp_path / "m" / "v1"
    with pytest.raises(TransferError):
        write_version(manifest, target, breaking, workers=1)
    assert not target.exists()
    assert (tmp_path / "m" / ".v1.partial" / "big.bin").stat().st_size == 300_000
    asked.clear()
    write_version(manifest, target, breaking, workers=1)
    assert ("big.bin", 300_000) in asked and ("big.bin", 0) not in asked
    assert (target / "big.bin").read_bytes() == data
    assert [p.name for p in (tmp_path / "m").iterdir()] == ["v1"]


def test_a_resumed_file_whose_old_bytes_are_wrong_is_downloaded_again(tmp_path: Path):
    manifest, fetch = _serve({"a.bin": b"0123456789"})
    partial = tmp_path / "m" / ".v1.partial"
    partial.mkdir(parents=True)
    (partial / "a.bin").write_bytes(b"XXXX")  # a prefix of something else
    (partial / "stale.txt").write_text("from another download")
    target = write_version(manifest, tmp_path / "m" / "v1", fetch)
    assert (target / "a.bin").read_bytes() == b"0123456789"
    assert sorted(p.name for p in target.iterdir()) == ["a.bin"]


def test_files_already_present_and_valid_are_not_fetched_again(tmp_path: Path):
    content = {f"f{i}.bin": bytes([i]) * 1000 for i in range(6)}
    manifest, fetch = _serve(content)
    target = write_version(manifest, tmp_path / "m" / "v1", fetch)
    (target / "f3.bin").write_bytes(b"corrupted")
    fetched: list[str] = []

    def counting(entry: FileEntry, start: int) -> Iterator[bytes]:
        fetched.append(entry.path)
        return fetch(entry, start)

    write_version(manifest, target, counting, force=True)
    assert fetched == ["f3.bin"]
    assert {p.name: p.read_bytes() for p in target.iterdir()} == content


def test_files_download_in_parallel(tmp_path: Path):
    import threading

    content = {f"f{i}.bin": bytes([i]) * 10 for i in range(4)}
    manifest, fetch = _serve(content)
    barrier = threading.Barrier(4, timeout=10)

    def together(entry: FileEntry, start: int) -> Iterator[bytes]:
        barrier.wait()  # only passes when four files are being fetched at the same time
        return fetch(entry, start)

    target = write_version(manifest, tmp_path / "m" / "v1", together, workers=4)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == content


def test_a_failing_file_stops_the_others_and_reports_the_cause(tmp_path: Path):
    content = {f"f{i}.bin": bytes([i]) * 10 for i in range(8)}
    manifest, fetch = _serve(content)

    def one_bad(entry: FileEntry, start: int) -> Iterator[bytes]:
        if entry.path == "f2.bin":
            yield b"wrong bytes"
            return
        yield from fetch(entry, start)

    with pytest.raises(IntegrityError, match="f2.bin"):
        write_version(manifest, tmp_path / "m" / "v1", one_bad, workers=4)
    assert list((tmp_path / "m").iterdir()) == []


def _ranged(content: dict[str, bytes], asked: list[tuple[int, int | None]], fail_at: int | None = None):
    def fetch(entry: FileEntry, start: int, end: int | None = None) -> Iterator[bytes]:
        asked.append((start, end))
        if start == fail_at:
            raise TransferError("connection dropped")
        yield content[entry.path][start:end]

    return fetch


def test_a_large_file_is_fetched_in_spans_on_several_threads_and_written_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from eohub.repository import download

    monkeypatch.setattr(download, "PART_BYTES", 1000)
    monkeypatch.setattr(download, "PARTS_FROM", 5000)
    data = bytes(range(256)) * 41  # 10,496 bytes: ten whole spans and a short one
    content = {"big.bin": data, "small.bin": b"under PARTS_FROM"}
    manifest, _ = _serve(content)
    asked: list[tuple[int, int | None]] = []
    target = write_version(manifest, tmp_path / "m" / "v1", _ranged(content, asked), part_threads=3)
    assert (target / "big.bin").read_bytes() == data and (target / "small.bin").read_bytes() == content[
        "small.bin"
    ]
    spans = sorted(a for a in asked if a[1] is not None)
    assert spans == [(a, min(a + 1000, len(data))) for a in range(0, len(data), 1000)]
    assert (0, None) in asked  # the small file: one request from its start


def test_a_download_in_spans_that_breaks_leaves_a_prefix_and_resumes_from_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from eohub.repository import download

    monkeypatch.setattr(download, "PART_BYTES", 1000)
    monkeypatch.setattr(download, "PARTS_FROM", 1)
    data = os.urandom(9_000)
    content = {"big.bin": data}
    manifest, _ = _serve(content)
    target = tmp_path / "m" / "v1"
    with pytest.raises(TransferError):
        write_version(manifest, target, _ranged(content, [], fail_at=5000), part_threads=2)
    assert (tmp_path / "m" / ".v1.partial" / "big.bin").read_bytes() == data[:5000]  # spans before 5000 only
    asked: list[tuple[int, int | None]] = []
    write_version(manifest, target, _ranged(content, asked), part_threads=2)
    assert min(asked)[0] == 5000
    assert (target / "big.bin").read_bytes() == data


def test_a_span_cut_short_is_a_transfer_error_not_a_wrong_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from eohub.repository import download

    monkeypatch.setattr(download, "PART_BYTES", 1000)
    monkeypatch.setattr(download, "PARTS_FROM", 1)
    data = os.urandom(3_000)
    manifest, _ = _serve({"big.bin": data})

    def short(entry: FileEntry, start: int, end: int | None = None) -> Iterator[bytes]:
        yield data[start : (end or len(data)) - (1 if start == 1000 else 0)]

    with pytest.raises(TransferError, match="999 of 1000 bytes"):
        write_version(manifest, tmp_path / "m" / "v1", short, part_threads=2)
    assert (tmp_path / "m" / ".v1.partial" / "big.bin").read_bytes() == data[:1000]


def test_a_link_planted_in_a_partial_folder_is_never_written_through(tmp_path: Path):
    """Folders already checked are not resolved again (one ``realpath`` per folder, not per file), but a
    folder met for the first time still is, and a link in a file's place is refused."""
    outside = tmp_path / "outside"
    outside.mkdir()
    partial = tmp_path / "m" / ".v1.partial"
    (partial / "data").mkdir(parents=True)
    (partial / "data" / "sub").symlink_to(outside, target_is_directory=True)  # left behind, or planted
    content = {f"data/f{i}.bin": bytes([i]) * 100 for i in range(5)} | {"data/sub/g.bin": b"evil"}
    manifest, fetch = _serve(content)
    with pytest.raises(IntegrityError, match="leave the download folder"):
        write_version(manifest, tmp_path / "m" / "v1", fetch, workers=1)
    assert list(outside.iterdir()) == [] and not partial.exists()  # a refusal leaves no partial folder
    (partial / "data").mkdir(parents=True)
    (partial / "data" / "f2.bin").symlink_to(outside / "stolen.bin")
    with pytest.raises(IntegrityError, match="a link or folder is in the way"):
        write_version(manifest, tmp_path / "m" / "v1", fetch, workers=1)
    assert list(outside.iterdir()) == []


def test_many_files_in_few_folders_all_arrive(tmp_path: Path):
    folders = ("a", "a/b", "c")
    content = {f"{folder}/f{i:03d}.bin": f"{folder}{i}".encode() for folder in folders for i in range(50)}
    manifest, fetch = _serve(content)
    target = write_version(manifest, tmp_path / "m" / "v1", fetch, workers=4)
    assert {p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*.bin")} == content


def test_a_folder_swapped_for_a_link_while_the_download_runs_is_not_written_through(tmp_path: Path):
    """A local user who can write in the partial folder swaps a folder already checked for a link: the
    files after the swap are refused, none lands outside (one ``stat`` per file notices the swap)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    partial = tmp_path / "m" / ".v1.partial"
    content = {f"data/f{i}.bin": bytes([65 + i]) * 100 for i in range(3)}
    manifest, fetch = _serve(content)

    def racing(entry: FileEntry, start: int) -> Iterator[bytes]:
        if entry.path == "data/f0.bin":
            os.rename(partial / "data", partial / "data.moved")
            (partial / "data").symlink_to(outside, target_is_directory=True)
        yield from fetch(entry, start)

    with pytest.raises(IntegrityError, match="leave the download folder"):
        write_version(manifest, tmp_path / "m" / "v1", racing, workers=1)
    assert list(outside.iterdir()) == []
