"""``eohub models`` / ``eohub datasets``: output, JSON formats, and one-line errors with exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eohub.cli.main import app

from .repository_helpers import write_json, write_q0_model

runner = CliRunner()


@pytest.fixture
def ingested(tmp_path: Path) -> Path:
    folder = write_q0_model(tmp_path / "m")
    result = runner.invoke(app, ["models", "ingest", str(folder)])
    assert result.exit_code == 0, result.output
    return folder


def test_ingest_prints_the_new_version_then_no_changes(tmp_path: Path):
    folder = write_q0_model(tmp_path / "m")
    first = runner.invoke(app, ["models", "ingest", str(folder)])
    assert first.output.strip() == "EuroSAT-RGB: version 1 created (Q0)"
    again = runner.invoke(app, ["models", "ingest", str(folder)])
    assert again.exit_code == 0
    assert again.output.strip() == "EuroSAT-RGB: no changes (latest is version 1, Q0)"


def test_ingest_json_reports_version_and_quality(tmp_path: Path):
    folder = write_q0_model(tmp_path / "m")
    result = runner.invoke(app, ["datasets", "ingest", str(folder), "--name", "my-data", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["name"], data["version"], data["created"], data["quality"]) == ("my-data", 1, True, "Q0")


def test_list_versions_and_info_as_json(ingested: Path):
    listed = json.loads(runner.invoke(app, ["models", "list", "--format", "json"]).output)
    assert [(m["name"], m["latest"]["number"], m["latest"]["quality"]) for m in listed] == [
        ("EuroSAT-RGB", 1, "Q0")
    ]
    versions = json.loads(
        runner.invoke(app, ["models", "versions", "EuroSAT-RGB", "--format", "json"]).output
    )
    assert [(v["number"], v["changes"]["added"]) for v in versions] == [(1, 2)]
    info = json.loads(runner.invoke(app, ["models", "info", "eurosat-rgb", "--format", "json"]).output)
    assert info["metadata"]["license"] == "MIT" and info["name"] == "EuroSAT-RGB"


def test_tables_name_the_columns(ingested: Path):
    listed = runner.invoke(app, ["models", "list"]).output
    for column in ("name", "latest", "quality", "tasks", "size"):
        assert column in listed
    assert "EuroSAT-RGB" in listed and "v1" in listed
    versions = runner.invoke(app, ["models", "versions", "EuroSAT-RGB"]).output
    assert "+2 ~0 -0" in versions
    info = runner.invoke(app, ["models", "info", "EuroSAT-RGB"]).output
    assert "license: MIT" in info and "Q0: no catalog.json" in info


def test_get_downloads_into_path_and_prints_it(ingested: Path, tmp_path: Path):
    result = runner.invoke(
        app, ["models", "get", "EuroSAT-RGB", "--path", str(tmp_path / "dl"), "--version", "1"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "dl" / "EuroSAT-RGB" / "v1")
    assert result.stderr == "v1: 2 files, 1.8 kB\n"  # README.md and model.onnx, no STAC documents
    assert (tmp_path / "dl" / "EuroSAT-RGB" / "v1" / "model.onnx").is_file()
    again = runner.invoke(app, ["models", "get", "EuroSAT-RGB", "--path", str(tmp_path / "dl")])
    assert again.exit_code == 1 and "pass --overwrite to replace it" in again.stderr
    replaced = runner.invoke(
        app, ["models", "get", "EuroSAT-RGB", "--path", str(tmp_path / "dl"), "--overwrite"]
    )
    assert replaced.exit_code == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["models", "get", "nope"], 1, "error: no model named 'nope'"),
        (["models", "versions", "nope"], 1, "error: no model named 'nope'"),
        (["datasets", "info", "EuroSAT-RGB"], 1, "error: no dataset named 'EuroSAT-RGB'"),
        (
            ["models", "get", "EuroSAT-RGB", "--version", "9"],
            1,
            "error: model 'EuroSAT-RGB' has no version 9",
        ),
        (["models", "ingest", "/no/such/folder"], 2, "error: /no/such/folder: no such folder"),
    ],
)
def test_user_mistakes_are_one_line_errors(ingested: Path, args: list[str], code: int, message: str):
    result = runner.invoke(app, args)
    assert result.exit_code == code
    assert result.output.strip().splitlines()[-1].startswith(message)
    assert "Traceback" not in result.output


def test_bad_name_is_refused(tmp_path: Path):
    result = runner.invoke(app, ["models", "ingest", str(write_q0_model(tmp_path / "m")), "--name", "a b"])
    assert result.exit_code == 1
    assert "invalid name 'a b'" in result.output


def test_invalid_stac_lists_the_problems_and_allow_invalid_stores_q0(tmp_path: Path):
    stac = tmp_path / "s"
    write_json(stac / "x.json", {"type": "Feature", "stac_version": "1.0.0", "id": "x", "links": []})
    links = [{"rel": "item", "href": "./x.json"}]
    write_json(
        stac / "catalog.json",
        {
            "type": "Catalog",
            "stac_version": "1.0.0",
            "id": "bad-stac",
            "description": "d",
            "license": "MIT",
            "links": links,
        },
    )
    result = runner.invoke(app, ["datasets", "ingest", str(stac)])
    assert result.exit_code == 1
    assert "x.json" in result.output and "--allow-invalid" in result.output
    stored = runner.invoke(app, ["datasets", "ingest", str(stac), "--allow-invalid"])
    assert stored.exit_code == 0 and "version 1 created (Q0)" in stored.output


def test_unreachable_database_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("EOHUB_DATABASE_URL", "postgresql://nobody:secret@127.0.0.1:1/eohub")
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 2
    assert result.output.startswith("error: cannot open the database") and "secret" not in result.output


def test_a_wrong_folder_is_said_before_any_hub_is_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path / "fresh-home"
    monkeypatch.setenv("EOHUB_HOME", str(home))
    result = runner.invoke(app, ["datasets", "ingest", str(tmp_path / "typo")])
    assert result.exit_code == 2 and "no such folder" in result.output
    assert not home.exists()  # no database made (nor migrated) for a typo
