"""The CLI against a hub: admin users and tokens, ``eohub auth``, and the same commands as embedded mode."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eohub.cli.main import app
from eohub.config import load_settings
from eohub.demo.hub import DATASET_NAME, MODEL_NAME

from .hub_server import InProcessHub
from .repository_helpers import write_q0_model

runner = CliRunner()


@pytest.fixture
def client_env(inprocess_hub: InProcessHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> InProcessHub:
    """The CLI configured for the hub (EOHUB_URL), with its own client home and no token yet."""
    monkeypatch.setenv("EOHUB_HOME", str(tmp_path / "client-home"))
    monkeypatch.setenv("EOHUB_URL", inprocess_hub.url)
    return inprocess_hub


def test_admin_create_user_prints_a_token_once_and_stores_only_its_hash(tmp_path: Path):
    result = runner.invoke(app, ["admin", "create-user", "carol"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("eoh_") and len(token) > 40
    raw = (load_settings().home / "eohub.sqlite").read_bytes()
    assert token.encode() not in raw
    again = runner.invoke(app, ["admin", "create-user", "carol"])
    assert again.exit_code == 1 and "already exists" in again.output
    bad = runner.invoke(app, ["admin", "create-user", "no"])
    assert bad.exit_code == 1 and "invalid user name" in bad.output


def test_login_checks_the_token_and_stores_it_for_the_user_only(client_env: InProcessHub, tmp_path: Path):
    bad = runner.invoke(app, ["auth", "login", "--token", "eoh_wrong"])
    assert bad.exit_code == 1 and bad.output.startswith("error: the API token is not valid")
    assert not (tmp_path / "client-home" / "credentials.json").exists()

    token = client_env.token("alice")
    good = runner.invoke(app, ["auth", "login", "--token", token])
    assert good.exit_code == 0 and "as alice" in good.output
    stored = tmp_path / "client-home" / "credentials.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert json.loads(stored.read_text())["tokens"][client_env.url] == token
    assert runner.invoke(app, ["auth", "whoami"]).output.strip() == "alice"

    # ingest with the stored token, then EOHUB_TOKEN overrides it
    folder = write_q0_model(tmp_path / "m", name="alices-model")
    assert runner.invoke(app, ["models", "ingest", str(folder)]).exit_code == 0
    bob = runner.invoke(app, ["auth", "whoami"], env={"EOHUB_TOKEN": client_env.token("bob")})
    assert bob.output.strip() == "bob"
    assert runner.invoke(app, ["auth", "logout"]).output.strip() == f"signed out of {client_env.url}"
    assert runner.invoke(app, ["auth", "whoami"]).exit_code == 1


def test_the_same_commands_work_against_the_hub(client_env: InProcessHub, tmp_path: Path):
    env = {"EOHUB_TOKEN": client_env.token("alice")}
    folder = write_q0_model(tmp_path / "m", name="cli-model")
    first = runner.invoke(app, ["models", "ingest", str(folder), "--private"], env=env)
    assert first.output.strip() == "cli-model: version 1 created (Q0)"
    again = runner.invoke(app, ["models", "ingest", str(folder)], env=env)
    assert again.output.strip() == "cli-model: no changes (latest is version 1, Q0)"

    listed = runner.invoke(app, ["models", "list", "--format", "json"], env=env)
    assert [(m["name"], m["private"]) for m in json.loads(listed.stdout)] == [("cli-model", True)]
    assert json.loads(runner.invoke(app, ["models", "list", "--format", "json"]).stdout) == []

    public = runner.invoke(app, ["models", "set-visibility", "cli-model", "public"], env=env)
    assert public.output.strip() == "cli-model is now public"
    got = runner.invoke(app, ["models", "get", "cli-model", "--path", str(tmp_path / "dl"), "--quiet"])
    assert got.exit_code == 0, got.output
    assert (Path(got.stdout.strip()) / "model.onnx").read_bytes() == (folder / "model.onnx").read_bytes()

    versions = runner.invoke(app, ["models", "versions", "cli-model", "--format", "json"])
    assert [v["number"] for v in json.loads(versions.stdout)] == [1]
    deleted = runner.invoke(app, ["models", "delete", "cli-model", "--yes"], env=env)
    assert deleted.exit_code == 0
    gone = runner.invoke(app, ["models", "info", "cli-model"], env=env)
    assert (gone.exit_code, gone.output.strip()) == (1, "error: no model named 'cli-model'")


def test_writes_without_a_token_are_one_line_errors(client_env: InProcessHub, tmp_path: Path):
    result = runner.invoke(app, ["models", "ingest", str(write_q0_model(tmp_path / "m"))])
    assert result.exit_code == 1
    assert result.output.startswith("error: this needs an API token: run eohub auth login")
    assert len(result.output.strip().splitlines()) == 1


def test_an_unreachable_hub_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("EOHUB_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("EOHUB_RETRIES", "1")
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 1
    assert "no hub answers at http://127.0.0.1:9" in result.output and "Traceback" not in result.output
    monkeypatch.setenv("EOHUB_URL", "ftp://example.org")
    assert runner.invoke(app, ["models", "list"]).exit_code == 2


def test_a_new_hub_serves_the_demo_model_at_q3_and_dataset_at_q2(tmp_path: Path):
    from eohub.demo.hub import seed_demo
    from eohub.repository import open_embedded

    with open_embedded(user="demo") as repo:
        assert seed_demo(repo) == [f"model {MODEL_NAME} (Q3)", f"dataset {DATASET_NAME} (Q2)"]
        assert seed_demo(repo) == []  # not on the second start
        model = repo.get("model", MODEL_NAME)
        assert model.latest is not None and model.latest.summary["bands"] == ["B02", "B03", "B04", "B08"]
