"""What the command line loads before it runs a command: start-up is paid by every eohub command."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["onnx", "jsonschema", "referencing", "rich", "rasterio", "sqlalchemy", "fastapi", "httpx", "dask"]


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_the_command_line_starts_without_the_heavy_stacks() -> None:
    modules = loaded_after("import eohub.cli.main")
    assert "typer" in modules and "eohub.cli.predict" in modules  # the probe sees the commands
    assert [m for m in HEAVY if m in modules] == []


def test_the_inference_stack_does_not_load_the_validation_or_graph_libraries() -> None:
    modules = loaded_after("import eohub.inference.predictor, eohub.inference.pipeline")
    assert {"onnxruntime", "rasterio"} <= modules
    assert [m for m in ("onnx", "jsonschema", "referencing", "sqlalchemy", "dask") if m in modules] == []
