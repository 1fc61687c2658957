"""The EOTDL tutorial's flow end to end through the Python API, embedded and against a hub over HTTP.

Q0 folder -> ingest (v1) -> download v1 -> STAC catalog built with pystac as the tutorial does (correct
MLM v1.5.2, model asset outside the catalog folder) -> ingest (v2, Q2 or better) -> re-ingest unchanged
(still v2) -> download v2 and open it with pystac: the model asset resolves to the downloaded file.

Without a README: the notebook's catalog as written (pystac calls and the item's properties verbatim) is
rated on its content: its MLM v1.2.0 item is invalid as written (the object layout of
``mlm:input``/``mlm:output``), which ``eohub quality`` says; ingest upgrades it to the current MLM (as
``eohub mlm migrate`` does, saying so in a note), so the notebook's own ``ingest_model`` gives Q2 or
better with the catalog's id, description and license; the catalog built the same way with a correct item
ingests at Q2 or better straight away.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pystac
import pytest

from eohub import download_model, ingest_model, retrieve_model, retrieve_models
from eohub.demo import make_classifier
from eohub.errors import AlreadyExistsError
from eohub.quality import assess_quality
from eohub.storage import sha256_file

from .fixtures_tutorial import EUROSAT_CLASSES, TUTORIAL_SCHEMA, tutorial_item_dict
from .hub_server import start_hub
from .repository_helpers import tutorial_catalog, write_q0_model, write_tutorial_catalog


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


def write_notebook_catalog() -> Path:
    """Cells 7 to 11 of the notebook as written, in the current directory; the saved item's path.

    The one change: the item's dummy ``datetime.utcnow()`` is a fixed date."""
    root_href = os.path.join(os.getcwd(), "data/EuroSAT-RGB/STAC")
    catalog, collection = tutorial_catalog(license=None)
    properties = dict(tutorial_item_dict("")["properties"])
    del properties["datetime"]  # pystac sets it from the datetime argument
    item = pystac.Item(
        id="model",
        geometry={"type": "Point", "coordinates": [125.6, 10.1]},
        bbox=[125.6, 10.1, 125.6, 10.1],
        datetime=datetime(2024, 6, 13),
        properties=properties,
        stac_extensions=[TUTORIAL_SCHEMA],
    )
    collection.add_item(item)
    item.add_asset("model", pystac.Asset(href=os.path.abspath("data/EuroSAT-RGB/v1/model.onnx")))
    catalog.normalize_and_save(root_href=root_href, catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return Path(root_href) / "model" / "model" / "model.json"


def write_downloaded_model() -> Path:
    """``data/EuroSAT-RGB/v1/model.onnx``, as the notebook's download leaves it (the README is not used)."""
    path = Path("data/EuroSAT-RGB/v1/model.onnx")
    make_classifier(path, bands=3, classes=len(EUROSAT_CLASSES), size=None, batch=None)
    return path


def noted(notes: list[str]) -> list[str]:
    return [n.split()[1] for n in notes]


def test_notebook_catalog_as_written_is_rated_on_its_content_not_on_a_readme(workdir: Path) -> None:
    write_downloaded_model()
    item_path = write_notebook_catalog()
    stac = item_path.parents[2]
    assert sorted(p.name for p in stac.iterdir()) == ["catalog.json", "model"]  # no README

    item_text = item_path.read_text()
    report = assess_quality(stac)
    assert report.level == 0
    assert all(
        "'model'" in r and ("mlm:input" in r or "mlm:output" in r or "v1.2.0" in r) for r in report.reasons
    )
    assert noted(report.notes) == ["authors", "source"]

    result = ingest_model(stac)  # exactly as the notebook does: ingest upgrades the v1.2.0 layout
    assert (result.name, result.version, result.created) == ("EuroSAT-RGB-Q2", 1, True)
    assert result.quality.level == 3, result.quality.reasons  # Q2 or better: its model runs
    upgrade, *missing = result.notes
    assert upgrade.startswith("model/model/model.json: MLM v1.2.0 upgraded to v1.5.2 at ingest")
    assert noted(missing) == ["authors", "source"]
    stored = json.loads(
        (Path(download_model("EuroSAT-RGB-Q2", path="got")) / "model/model/model.json").read_text()
    )
    assert "https://stac-extensions.github.io/mlm/v1.5.2/schema.json" in stored["stac_extensions"]
    assert item_path.read_text() == item_text  # the user's own files are not changed
    meta = retrieve_model("EuroSAT-RGB-Q2")["metadata"]
    assert (meta["description"], meta["license"]) == ("Catalog for the EuroSAT RGB Q2 ML Model", "other")


def test_tutorial_catalog_without_readme_is_q2_or_better(workdir: Path) -> None:
    model = write_downloaded_model()
    root_href = Path(os.getcwd()) / "data/EuroSAT-RGB/STAC"
    write_tutorial_catalog(model, root_href)
    assert not (root_href / "README.md").exists()

    result = ingest_model(root_href)

    assert (result.name, result.version) == ("EuroSAT-RGB-Q2", 1)
    assert result.quality.level == 3, result.quality.reasons  # Q2 or better: its model runs
    assert not any("README" in r for r in result.quality.reasons)
    assert retrieve_model("EuroSAT-RGB-Q2")["metadata"]["license"] == "MIT"
