"""First use of a fresh EOHUB_HOME (or a fresh PostgreSQL database) by 16 processes at once (issue 12,
part 6): every one succeeds; before, 42 of 144 runs failed with Alembic tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.repository_helpers import write_q0_model

PROCESSES = 16


def _at_once(commands: list[list[str]], env: dict[str, str], cwd: Path) -> list[subprocess.CompletedProcess]:
    started = [
        subprocess.Popen(c, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    done = []
    for process in started:
        out, err = process.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def _commands(tmp_path: Path) -> list[list[str]]:
    eohub = [sys.executable, "-m", "eohub"]
    commands = []
    for i in range(PROCESSES):
        if i % 2:
            commands.append([*eohub, "models", "list", "--format", "json"])
        else:
            folder = write_q0_model(tmp_path / f"m{i}", name=f"First-Use-{i}", seed=i)
            commands.append([*eohub, "models", "ingest", str(folder), "--quiet"])
    return commands


@pytest.mark.parametrize("round_", range(3))
def test_sixteen_processes_on_a_fresh_home(tmp_path: Path, round_: int):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EOHUB_")}
    env["EOHUB_HOME"] = str(tmp_path / "home")
    results = _at_once(_commands(tmp_path), env, tmp_path)
    failed = [(r.args[3], r.returncode, r.stderr[-500:]) for r in results if r.returncode != 0]
    assert failed == []
    assert not any("Traceback" in r.stderr for r in results)


def test_sixteen_processes_on_a_fresh_postgresql_database(tmp_path: Path, postgres_url: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EOHUB_")}
    env.update(EOHUB_HOME=str(tmp_path / "home"), EOHUB_DATABASE_URL=postgres_url)
    results = _at_once(_commands(tmp_path), env, tmp_path)
    failed = [(r.args[3], r.returncode, r.stderr[-500:]) for r in results if r.returncode != 0]
    assert failed == []
