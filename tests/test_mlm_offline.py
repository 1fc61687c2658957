"""The whole MLM toolkit runs with the network switched off: no schema, model or anything else is fetched."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eohub.cli.main import app
from eohub.demo import make_classifier

from .fixtures_tutorial import EUROSAT_CLASSES, write_tutorial_item

runner = CliRunner()
README = "---\nname: eurosat\nauthors: [Jane Doe]\nlicense: MIT\nsource: https://example.org/eurosat\n---\n"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every way out of the process fails loudly and is recorded."""
    attempts: list[str] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(repr(args[:2]))
        raise AssertionError(f"network access attempted: {args[:2]!r}")

    def local_only(original):  # the Q3 check talks to its child process over a Unix socket
        def connect(sock: socket.socket, *args: object) -> object:
            if sock.family == socket.AF_UNIX:
                return original(sock, *args)
            return refuse(sock, *args)

        return connect

    monkeypatch.setattr(socket.socket, "connect", local_only(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", local_only(socket.socket.connect_ex))
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return attempts


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_init_validate_lint_migrate_and_quality_never_touch_the_network(
    tmp_path: Path, no_network: list[str]
) -> None:
    model = make_classifier(tmp_path / "eurosat" / "model.onnx", bands=3, classes=10, size=None, batch=None)
    item = tmp_path / "eurosat" / "item.json"
    code, _, err = invoke("mlm", "init", str(model), "-o", str(item), "--name", "EuroSAT RGB",
                          "--bands", "red,green,blue", "--classes", ",".join(EUROSAT_CLASSES),
                          "--mean", "0.3,0.3,0.3", "--std", "0.2,0.2,0.2")  # fmt: skip
    assert code == 0, err
    data = json.loads(item.read_text())
    # An extension eohub does not ship, on a host that exists: reported, never fetched.
    data["stac_extensions"].append("https://stac-extensions.github.io/sar/v1.0.0/schema.json")
    item.write_text(json.dumps(data))

    code, out, _ = invoke("mlm", "validate", str(item))
    assert code == 0 and "not validated (schema not available offline)" in out
    assert invoke("mlm", "lint", str(item))[0] == 0

    tutorial = write_tutorial_item(tmp_path / "tutorial")
    assert invoke("mlm", "validate", str(tutorial))[0] == 1
    assert invoke("mlm", "migrate", str(tutorial), "-o", str(tutorial))[0] == 0
    assert invoke("mlm", "validate", str(tutorial))[0] == 0

    (tmp_path / "eurosat" / "README.md").write_text(README)
    catalog = {"type": "Catalog", "stac_version": "1.1.0", "id": "eurosat", "description": "EuroSAT",
               "links": [{"rel": "item", "href": "./item.json"}]}  # fmt: skip
    (tmp_path / "eurosat" / "catalog.json").write_text(json.dumps(catalog))
    code, out, _ = invoke("quality", str(tmp_path / "eurosat"))
    assert (code, out.splitlines()) == (0, [f"{tmp_path / 'eurosat'}: Q3 (model)"])

    assert no_network == []


def test_the_guard_would_catch_a_download(no_network: list[str]) -> None:
    with pytest.raises(AssertionError, match="network access attempted"):
        urllib.request.urlopen("https://stac-extensions.github.io/mlm/v1.5.2/schema.json")
    assert len(no_network) == 1
