"""The hub's own rating reads only what the version holds (red-team findings 01 and 02): documents whose
local hrefs name a path of the hub's machine (absolute, ``file:``, climbing out with ``..``) are refused
before rating, and the staged version never reaches the blob store through a symbolic link (ONNX
external data is read from the model's own folder)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from eohub.repository.assess import _link
from tests.hub_server import HubServer

from .attacks import commit, entry, upload

CATALOG = {
    "type": "Catalog",
    "stac_version": "1.0.0",
    "id": "c",
    "description": "d",
    "links": [{"rel": "item", "href": "./item/item.json"}],
}


def _item(href: str) -> dict:
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "i",
        "geometry": None,
        "properties": {"datetime": "2020-01-01T00:00:00Z"},
        "links": [],
        "assets": {"model": {"href": href, "roles": ["mlm:model"]}},
    }


@pytest.mark.parametrize(
    "href",
    [
        "/",
        "/usr",
        "/etc/passwd",
        "file:///etc/passwd",
        "file:/etc/passwd",
        "../../../../etc/passwd",
        "../..",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "..\\..\\etc",
        "FILE:///usr",
        "File:/etc/passwd",
        "FILE://localhost/" + "x" * 300,
        "./" + "x" * 300,
    ],
)
def test_a_committed_document_cannot_point_the_rating_at_the_hubs_disk(sqlite_hub: HubServer, href: str):
    data = b"bob's own bytes"
    assert upload(sqlite_hub, "bob", data).status_code == 200
    answer = commit(
        sqlite_hub,
        "bob",
        "Bob-Probe",
        [entry(data, "item/data.bin")],
        {"catalog.json": CATALOG, "item/item.json": _item(href)},
    )
    assert answer.status_code == 422, answer.text
    assert "item/item.json: href" in answer.json()["detail"]


def test_hrefs_inside_the_version_are_rated(sqlite_hub: HubServer):
    data = b"bob's own bytes"
    assert upload(sqlite_hub, "bob", data).status_code == 200
    documents = {"catalog.json": CATALOG, "item/item.json": _item("./data.bin")}
    answer = commit(sqlite_hub, "bob", "Bob-Inside", [entry(data, "item/data.bin")], documents)
    assert answer.status_code == 201, answer.text


def test_the_hub_stages_without_symbolic_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    blob = tmp_path / "blobs" / "ab" / "cd" / hashlib.sha256(b"x").hexdigest()
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"model bytes")

    def cross_device(*args: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    _link(blob, tmp_path / "staged.onnx", symlinks=False)
    staged = tmp_path / "staged.onnx"
    assert not staged.is_symlink() and staged.read_bytes() == b"model bytes"
