"""Real-world metadata patterns (tests/data/realworld/ingest, each folder's expectation in expected.json)
through ``eohub quality``, ``eohub models ingest`` and a hub over HTTP.

Links (http(s), s3, gs, az URLs and container image references) are kept as written, never missing files
and never files to cover; without a README the catalog gives name, description, license and authors; what
nothing gives is a note, never a lower level.
"""

from __future__ import annotations

import json
import posixpath
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from eohub.cli.main import app
from eohub.client import RemoteRepository
from eohub.core.hrefs import href_kind
from eohub.demo import make_classifier
from eohub.repository import open_embedded
from eohub.repository.manifest import Manifest

from .hub_server import InProcessHub

DATA = Path(__file__).parent / "data" / "realworld" / "ingest"
EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text())
runner = CliRunner()


@pytest.fixture(params=sorted(EXPECTED))
def pattern(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, dict]:
    """A copy of one pattern folder (with its ONNX model, if it has one); the current directory holds it."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / request.param
    shutil.copytree(DATA / request.param, folder)
    expected = EXPECTED[request.param]
    if model := expected.get("model"):
        make_classifier(
            folder / model["path"], bands=model["bands"], classes=model["classes"], size=model["size"]
        )
    return folder, expected


def assert_reasons(reasons: list[str], expected: dict[str, Any]) -> None:
    assert len(reasons) == len(expected["reasons"]), reasons
    for reason, start in zip(reasons, expected["reasons"], strict=True):
        assert reason.startswith(start), reason


def noted_fields(notes: list[str]) -> list[str]:
    """``["no source (set ...)"]`` -> ``["source"]``."""
    assert all(n.startswith("no ") for n in notes), notes
    return [n.split()[1] for n in notes]


def link_hrefs(folder: Path, expected: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The hrefs of the expected link assets as the pattern's documents write them."""
    out = {}
    for path, kinds in expected["links"].items():
        assets = json.loads((folder / path).read_text())["assets"]
        out[path] = {key: assets[key]["href"] for key, kind in kinds.items() if kind != "local"}
    return out


def card_entry(page: str, key: str) -> str:
    """The model card's list entry of the asset ``key``."""
    start = page.index(f'<li data-testid="model-asset" data-key="{key}"')
    return page[start : page.index("</li>", start)]


def assert_stored_as_written(manifest: Manifest, folder: Path, expected: dict[str, Any]) -> None:
    assert [e.path for e in manifest.files] == expected["files"]
    for path, hrefs in link_hrefs(folder, expected).items():
        stored = manifest.documents[path]["assets"]
        assert {key: stored[key]["href"] for key in hrefs} == hrefs
        kinds = {key: href_kind(stored[key]["href"]).value for key in expected["links"][path]}
        assert kinds == expected["links"][path]
    meta = manifest.metadata
    assert (meta.name, meta.license, meta.authors) == (
        expected["name"],
        expected["license"],
        expected["authors"],
    )
    assert meta.description


def test_eohub_quality_rates_the_content_and_notes_the_missing_metadata(pattern: tuple[Path, dict]) -> None:
    folder, expected = pattern

    result = runner.invoke(app, ["quality", str(folder), "--format", "json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["level"] == expected["quality"], report["reasons"]
    assert_reasons(report["reasons"], expected)
    assert noted_fields(report["notes"]) == expected["notes"]
    assert "missing file" not in result.stdout and "README" not in " ".join(report["reasons"])
    assert report["details"]["metadata"]["license"] == expected["license"]


def test_eohub_models_ingest_stores_links_as_written(pattern: tuple[Path, dict]) -> None:
    folder, expected = pattern

    result = runner.invoke(app, ["models", "ingest", str(folder)])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"{expected['name']}: version 1 created (Q{expected['quality']})"
    assert noted_fields([line.removeprefix("  note: ") for line in lines[1:]]) == expected["notes"]
    with open_embedded() as repo:
        version = repo.versions("model", expected["name"])[-1]
        assert version.quality_level == expected["quality"]
        assert_reasons(version.quality_reasons, expected)
        assert_stored_as_written(repo.manifest("model", expected["name"]), folder, expected)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Any:
    hub = InProcessHub(tmp_path_factory.mktemp("hub-home")).start()
    yield hub
    hub.stop()


def test_a_hub_rates_serves_and_shows_each_pattern(pattern: tuple[Path, dict], hub: InProcessHub) -> None:
    folder, expected = pattern
    name = expected["name"]
    token = hub.token("alice")
    with RemoteRepository(hub.url, token) as repo:
        if repo.find("model", name):
            repo.delete("model", name)  # the hub is shared by the module's patterns
        result = repo.ingest("model", folder)
        assert (result.version, result.quality.level) == (1, expected["quality"]), result.quality.reasons
        assert_reasons(result.quality.reasons, expected)  # the hub's own rating
        assert noted_fields(result.notes) == expected["notes"]
        assert_stored_as_written(repo.manifest("model", name), folder, expected)

    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}) as http:
        page = http.get(f"/models/{name}")
        assert page.status_code == 200
        for path, kinds in expected["links"].items():
            assets = json.loads((folder / path).read_text())["assets"]
            for key, kind in kinds.items():
                shown = card_entry(page.text, key)
                href, roles = assets[key]["href"], ", ".join(assets[key]["roles"])
                assert f'data-link="{kind}"' in shown and f'data-testid="asset-roles">{roles}</span>' in shown
                if kind == "image":  # to copy, not a URL to click
                    assert (
                        f'data-testid="asset-image"><code>{href}</code></pre>' in shown
                        and "href=" not in shown
                    )
                elif href.startswith("https://"):
                    assert f'<a href="{href}" rel="nofollow noopener" data-testid="asset-link">' in shown
                elif kind == "local":
                    stored = posixpath.join(posixpath.dirname(path), href)
                    url = f"/api/models/{name}/versions/1/files/{stored}"
                    assert f'<a href="{url}" download data-testid="asset-file">' in shown
                else:  # s3://, gs://, az://: shown as written
                    assert f'<code data-testid="asset-href">{href}</code>' in shown
        assert ("Notes on the metadata" in page.text) is bool(expected["notes"])

        providers = http.get(f"/stac/collections/models.{name}").json().get("providers", [])
        documents = [json.loads(p.read_text()) for p in sorted(folder.rglob("*.json"))]
        own = next((d.get("providers", []) for d in documents if d.get("type") == "Collection"), [])
        assert providers[: len(own)] == own  # the collection's providers, roles and URLs kept
        assert set(expected["authors"]) <= {p["name"] for p in providers}

        items = http.get(f"/stac/collections/models.{name}/items").json()["features"]
        served = {f["id"]: f["assets"] for f in items}
        for path, hrefs in link_hrefs(folder, expected).items():
            item_id = json.loads((folder / path).read_text())["id"]
            assert {key: served[item_id][key]["href"] for key in hrefs} == hrefs
            for key, kind in expected["links"][path].items():
                if kind == "local":
                    assert served[item_id][key]["href"].startswith(
                        f"{hub.url}/api/models/{name}/versions/1/files/"
                    )
