"""The EOTDL tutorial's flow end to end through the Python API, embedded and against a hub over HTTP.

Q0 folder -> ingest (v1) -> download v1 -> STAC catalog built with pystac as the tutorial does (correct
MLM v1.5.2, model asset outside the catalog folder) -> ingest (v2, Q2 or better) -> re-ingest unchanged
(still v2) -> download v2 and open it with pystac: the model asset resolves to the downloaded file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pystac
import pytest

from eohub import download_model, ingest_model, retrieve_model, retrieve_models
from eohub.errors import AlreadyExistsError
from eohub.storage import sha256_file

from .hub_server import start_hub
from .repository_helpers import write_q0_model, write_tutorial_catalog


@pytest.fixture(params=["embedded", "hub"])
def workdir(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The working folder, with the API on the embedded repository or on a hub (``eohub serve``) over HTTP."""
    monkeypatch.chdir(tmp_path)
    if request.param == "embedded":
        yield tmp_path
        return
    hub = start_hub(tmp_path / "hub-home")
    monkeypatch.setenv("EOHUB_URL", hub.url)
    monkeypatch.setenv("EOHUB_TOKEN", hub.token("alice"))
    try:
        yield tmp_path
    finally:
        hub.stop()


def test_tutorial_flow_from_q0_to_q2_and_back(workdir: Path) -> None:
    q0 = write_q0_model(workdir / "upload")
    first = ingest_model(q0)
    assert (first.name, first.version, first.created, first.quality.level) == ("EuroSAT-RGB", 1, True, 0)

    path = download_model("EuroSAT-RGB", path="data", version=1, force=True)
    assert path == "data/EuroSAT-RGB/v1"
    assert sorted(os.listdir(path)) == ["README.md", "model.onnx"]
    assert sha256_file(Path(path) / "model.onnx") == sha256_file(q0 / "model.onnx")

    root_href = Path(os.getcwd()) / "data/EuroSAT-RGB/STAC"
    write_tutorial_catalog(Path("data/EuroSAT-RGB/v1/model.onnx"), root_href)
    second = ingest_model(root_href, name="EuroSAT-RGB")
    assert second.version == 2 and not second.created
    assert second.quality.level >= 2, second.quality.reasons

    again = ingest_model(root_href, name="EuroSAT-RGB")
    assert again.version is None and again.latest == 2
    assert retrieve_model("EuroSAT-RGB")["latest"]["number"] == 2
    assert retrieve_models() == ["EuroSAT-RGB"]

    v2 = Path(download_model("EuroSAT-RGB", path="data", version=2))
    assert v2 == Path("data/EuroSAT-RGB/v2")
    catalog = pystac.Catalog.from_file(str(v2 / "catalog.json"))
    items = list(catalog.get_items(recursive=True))
    assert [i.id for i in items] == ["model"]
    model_href = Path(items[0].assets["model"].get_absolute_href())
    assert model_href.is_file() and model_href.resolve().is_relative_to(v2.resolve())
    assert sha256_file(model_href) == sha256_file(q0 / "model.onnx")
    assert (v2 / "README.md").read_text() == (q0 / "README.md").read_text()


def test_download_defaults_to_latest_version_under_current_folder(workdir: Path) -> None:
    ingest_model(write_q0_model(workdir / "m"))
    assert download_model("eurosat-rgb") == "EuroSAT-RGB/v1"
    assert (workdir / "EuroSAT-RGB/v1/model.onnx").is_file()


def test_download_into_existing_folder_needs_force(workdir: Path) -> None:
    ingest_model(write_q0_model(workdir / "m"))
    path = Path(download_model("EuroSAT-RGB", path="data"))
    (path / "stale.txt").write_text("left over")
    with pytest.raises(AlreadyExistsError, match="force"):
        download_model("EuroSAT-RGB", path="data")
    assert (path / "stale.txt").is_file()
    download_model("EuroSAT-RGB", path="data", force=True)
    assert sorted(os.listdir(path)) == ["README.md", "model.onnx"]
