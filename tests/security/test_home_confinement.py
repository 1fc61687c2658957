"""A catalog cannot reach the user's home through the current directory (red-team finding 06): from a
shell in ``~`` (or ``/``), ingest reads assets outside the folder only with ``--allow-outside``; from a
project folder (the tutorial's layout) it reads them, and says so before uploading."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from eohub.errors import UsageError
from eohub.repository import open_embedded
from tests.repository_helpers import write_q0_model


def _downloaded_catalog(folder: Path, href: str) -> Path:
    write_q0_model(folder, name="Cool-Model")
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "item",
        "geometry": None,
        "properties": {"datetime": "2020-01-01T00:00:00Z"},
        "links": [{"rel": "root", "href": "./catalog.json"}],
        "assets": {"model": {"href": "./model.onnx"}, "thumbnail": {"href": href}},
    }
    catalog = {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": "cool",
        "description": "d",
        "links": [{"rel": "item", "href": "./item.json"}],
    }
    (folder / "item.json").write_text(json.dumps(item))
    (folder / "catalog.json").write_text(json.dumps(catalog))
    return folder


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    (home / "Documents" / "tax-return.pdf").write_bytes(b"private")
    monkeypatch.setenv("HOME", str(home))
    return home


def test_a_shell_in_home_does_not_open_home_to_a_catalog(home: Path, monkeypatch: pytest.MonkeyPatch):
    folder = _downloaded_catalog(home / "Downloads" / "cool", "../../Documents/tax-return.pdf")
    monkeypatch.chdir(home)
    with open_embedded() as repo, pytest.raises(UsageError, match=r"allow_outside=\["):
        repo.ingest("model", folder)
    with open_embedded() as repo:
        assert repo.list("model") == []


def test_a_project_folder_still_serves_the_tutorial_layout(
    home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    project = home / "project"
    write_q0_model(project / "data" / "v1", name="Cool-Model")
    folder = _downloaded_catalog(project / "data" / "STAC", "../v1/model.onnx")
    monkeypatch.chdir(project)
    with caplog.at_level(logging.WARNING), open_embedded() as repo:
        result = repo.ingest("model", folder)
    assert result.version == 1 and result.outside
    assert any("reading 1 file(s) from outside" in r.message for r in caplog.records)
