"""What the command line loads before it runs a command: start-up is paid by every eohub command."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "onnx", "jsonschema", "referencing", "pystac", "rich",
    "rasterio", "sqlalchemy", "fastapi", "httpx", "dask",
]  # fmt: skip


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
    unneeded = ("onnx", "jsonschema", "referencing", "pystac", "eohub.mlm.lint", "sqlalchemy", "dask")
    assert [m for m in unneeded if m in modules] == []


def test_the_toolkit_functions_survive_their_submodules_being_imported() -> None:
    modules = loaded_after(
        "from eohub import mlm\n"
        "import eohub.mlm.validate, eohub.mlm.lint, eohub.mlm.migrate, eohub.mlm.build\n"
        "assert all(callable(f) for f in (mlm.validate, mlm.lint, mlm.migrate, mlm.build))\n"
        "import sys\n"
        'assert mlm.build is sys.modules["eohub.mlm.build"].build_item'
    )
    assert "eohub.mlm.validate" in modules
