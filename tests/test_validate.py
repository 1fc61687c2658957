"""Offline validation against the shipped STAC core and extension schemas."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eohub.cli.main import app
from eohub.mlm.validate import SCHEMA_ERROR, SCHEMA_UNAVAILABLE, validate, validate_data

from .conftest import EXAMPLES

runner = CliRunner()


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_every_official_mlm_example_validates(example: Path) -> None:
    report = validate([example])
    assert report.ok, [f.line() for f in report.findings]


@pytest.mark.parametrize("version", ["v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0", "v1.4.0", "v1.5.0", "v1.5.1"])
def test_older_mlm_schemas_resolve_and_reject_bad_shapes(example_item: dict, version: str) -> None:
    host = "crim-ca.github.io/mlm-extension" if version < "v1.4.0" else "stac-extensions.github.io/mlm"
    example_item["stac_extensions"] = [f"https://{host}/{version}/schema.json"]
    example_item["properties"]["mlm:input"][0]["input"]["shape"] = "not-a-list"
    report = validate_data(example_item)
    assert any(f.pointer == "/properties/mlm:input/0/input/shape" for f in report.errors)
    assert not any(f.code == SCHEMA_UNAVAILABLE for f in report.findings)


def test_validation_never_opens_a_socket(example_item: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("validation tried to use the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    example_item["stac_version"] = "1.1.0"
    assert validate_data(example_item).ok


def test_unknown_extension_is_reported_not_passed_or_crashing(example_item: dict) -> None:
    example_item["stac_extensions"].append("https://example.com/ext/v1.0.0/schema.json")
    report = validate_data(example_item)
    notes = [f for f in report.findings if f.code == SCHEMA_UNAVAILABLE]
    assert len(notes) == 1
    assert "not validated (schema not available offline)" in notes[0].message
    assert notes[0].pointer == "/stac_extensions/1"


def test_projection_projjson_is_reported_unavailable(example_item: dict) -> None:
    example_item["stac_extensions"].append("https://stac-extensions.github.io/projection/v2.0.0/schema.json")
    example_item["properties"]["proj:projjson"] = {"type": "GeographicCRS"}
    notes = [f for f in validate_data(example_item).findings if f.code == SCHEMA_UNAVAILABLE]
    assert notes and "proj.org" in notes[0].message


def test_accelerator_cpu_error_explains_the_schema_readme_disagreement(example_item: dict) -> None:
    example_item["properties"]["mlm:accelerator"] = "cpu"
    errors = validate_data(example_item).errors
    assert [e.pointer for e in errors] == ["/properties/mlm:accelerator"]
    assert "README" in errors[0].hint


def test_catalog_folder_is_walked_through_every_child(tmp_path: Path, example_item: dict) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    catalog = {"type": "Catalog", "stac_version": "1.0.0", "id": "root", "description": "d",
               "links": [{"rel": "child", "href": "./a/catalog.json"}]}
    child = {"type": "Catalog", "stac_version": "1.0.0", "id": "a", "description": "d",
             "links": [{"rel": "item", "href": "./b/item.json"}]}
    example_item["properties"]["mlm:input"][0]["input"]["dim_order"] = 5
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    (tmp_path / "a" / "catalog.json").write_text(json.dumps(child))
    (tmp_path / "a" / "b" / "item.json").write_text(json.dumps(example_item))
    report = validate([tmp_path])
    assert len(report.files) == 3
    assert {Path(e.file).name for e in report.errors} == {"item.json"}
    assert all(e.code == SCHEMA_ERROR for e in report.errors)


def test_cli_exit_codes_and_json_report(tmp_path: Path, example_item: dict) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(example_item))
    assert runner.invoke(app, ["mlm", "validate", str(good)]).exit_code == 0

    example_item["properties"]["mlm:tasks"] = "classification"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(example_item))
    result = runner.invoke(app, ["mlm", "validate", str(bad), "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["findings"][0]["pointer"] == "/properties/mlm:tasks"

    assert runner.invoke(app, ["mlm", "validate", str(tmp_path / "missing.json")]).exit_code == 2
    (tmp_path / "broken.json").write_text("{not json")
    result = runner.invoke(app, ["mlm", "validate", str(tmp_path / "broken.json")])
    assert result.exit_code == 2
    assert "not a JSON document" in result.stderr
