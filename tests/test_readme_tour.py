"""The README's five-minute tour, run as written: every command a newcomer pastes works, from an ONNX file
to a Q3 model found through the STAC API and run on a scene."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.servers import free_port

README = Path(__file__).parents[1] / "README.md"


def tour() -> str:
    """The bash block between ``<!-- tour:start -->`` and ``<!-- tour:end -->``."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- tour:start -->\s*```bash\n(.*?)```\s*<!-- tour:end -->", text, re.S)
    assert block, "the README has no tour block"
    return block.group(1)


def test_the_readme_tour_runs_as_written(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EOHUB_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # the activated venv
    env["PORT"] = str(free_port())
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", tour()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{(tmp_path / 'serve.log').read_text()}"
    out = done.stdout
    assert "my-segmenter: Q3 (model)" in out
    assert "my-segmenter: version 1 created (Q3)" in out
    assert "['model']" in out  # the STAC search found the model's item
    assert "1 (512, 512)" in out  # the class map has the scene's grid
    assert (tmp_path / "water.tif").is_file() and (tmp_path / "water.json").is_file()
    assert "Traceback" not in done.stderr
