"""Manifests (serialization, diffs) and the naming rules."""

from __future__ import annotations

import pytest

from eohub.core.readme import ReadmeMetadata
from eohub.errors import InvalidNameError, UsageError
from eohub.repository import FileEntry, Manifest, check_kind, check_name, diff

A = FileEntry("a.txt", 1, "a" * 64)
B = FileEntry("b/b.txt", 2, "b" * 64)


def test_manifest_round_trips_through_a_dict():
    manifest = Manifest(
        [B, A], {"catalog.json": {"type": "Catalog"}}, ReadmeMetadata(name="x", license="MIT")
    )
    assert Manifest.from_dict(manifest.to_dict()) == manifest
    assert [e.path for e in manifest.files] == ["a.txt", "b/b.txt"]
    assert manifest.size == 3


def test_diff_reports_added_changed_removed_documents_and_metadata():
    old = Manifest([A, B], {"catalog.json": {"id": "1"}}, ReadmeMetadata(name="x"))
    new = Manifest(
        [FileEntry("a.txt", 1, "c" * 64), FileEntry("new.txt", 1, "d" * 64)],
        {"catalog.json": {"id": "2"}, "item.json": {}},
        ReadmeMetadata(name="x", license="MIT"),
    )
    change = diff(old, new)
    assert change.added == ["item.json", "new.txt"]
    assert change.changed == ["a.txt", "catalog.json"]
    assert change.removed == ["b/b.txt"]
    assert change.metadata_changed and change.summary() == "+2 ~2 -1 metadata"


def test_identical_manifests_have_an_empty_diff_and_a_first_version_adds_everything():
    manifest = Manifest([A], {"c.json": {"k": [1, 2]}}, ReadmeMetadata(name="x"))
    same = Manifest([A], {"c.json": {"k": [1, 2]}}, ReadmeMetadata(name="x"))
    assert diff(manifest, same).empty
    assert diff(None, manifest).counts() == {"added": 2, "changed": 0, "removed": 0, "metadata": False}


def test_tasks_come_from_mlm_items():
    item = {"type": "Feature", "properties": {"mlm:tasks": ["segmentation", "classification"]}}
    assert Manifest([], {"i.json": item, "c.json": {"type": "Catalog"}}).tasks() == [
        "classification",
        "segmentation",
    ]


@pytest.mark.parametrize("name", ["EuroSAT-RGB", "abc", "a" * 64, "123", "x-y-z"])
def test_valid_names(name: str):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["ab", "a" * 65, "a b", "a_b", "a.b", "a/b", "", "é-model"])
def test_invalid_names(name: str):
    with pytest.raises(InvalidNameError):
        check_name(name)


def test_kind_must_be_model_or_dataset():
    assert check_kind("dataset") == "dataset"
    with pytest.raises(UsageError, match="model, dataset"):
        check_kind("pipeline")
