"""Shared fixtures: paths to the shipped examples and small ONNX models built by the tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eohub.mlm.schemas import SCHEMA_ROOT

EXAMPLES = SCHEMA_ROOT / "mlm" / "examples"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own EOHUB_HOME and no remote hub configured."""
    home = tmp_path_factory.mktemp("eohub-home")
    monkeypatch.setenv("EOHUB_HOME", str(home))
    for var in ("EOHUB_URL", "EOHUB_TOKEN", "EOHUB_DATABASE_URL", "EOHUB_STORAGE"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def example_item() -> dict:
    """A fresh copy of the official MLM basic example item."""
    return json.loads((EXAMPLES / "item_basic.json").read_text())
