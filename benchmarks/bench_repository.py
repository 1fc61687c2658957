"""Embedded repository transfers: ``eohub models ingest`` and ``get`` of one large file, next to ``cp``.

A model folder holds a README and one file of random bytes (256 MB and 1 GB). Each command runs as its
own process; the table reports wall time, MB/s and the peak RSS of that process. Ingest reads the file
twice (hash, then store with a verifying hash) and fsyncs the blob; get streams the blob, hashes it, and
renames the finished folder into place. ``cp`` of the same file on the same disk is the floor.
Peak memory should not grow with the file size: files are streamed in 1 MiB chunks.

``python -m benchmarks repository`` writes ``benchmarks/results/repository.md``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "repository.md"
EOHUB = str(Path(sys.executable).parent / "eohub")
SIZES_MB = (256, 1024)
README = "---\nname: bench-model\nauthors: [bench]\nlicense: MIT\nsource: https://example.org\n---\nBench.\n"


def _write_random(path: Path, size_mb: int) -> None:
    chunk = os.urandom(1024 * 1024)
    with open(path, "wb") as f:
        for n in range(size_mb):
            f.write(chunk[n % 7 :] + chunk[: n % 7])  # distinct chunks, cheap to make


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command run as a child process."""
    code = (
        "import resource, subprocess, sys, json;"
        "r = subprocess.run(sys.argv[1:], capture_output=True);"
        "print(json.dumps([r.returncode, r.stderr.decode()[-500:],"
        " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))"
    )
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True
    )
    elapsed = time.perf_counter() - start
    returncode, stderr, maxrss_kb = json.loads(out.stdout)
    if returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {stderr}")
    return elapsed, maxrss_kb / 1024


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="eohub-bench-", dir=Path.home()) as tmp:
        root = Path(tmp)
        env = {**os.environ, "EOHUB_HOME": str(root / "home")}
        env.pop("EOHUB_URL", None)
        for size in SIZES_MB:
            folder = root / f"model-{size}"
            folder.mkdir()
            (folder / "README.md").write_text(README)
            _write_random(folder / "weights.bin", size)
            cp = _run(["cp", str(folder / "weights.bin"), str(root / f"copy-{size}.bin")], env)
            name = f"bench-{size}"
            ingest = _run([EOHUB, "models", "ingest", str(folder), "--name", name, "--quiet"], env)
            get = _run([EOHUB, "models", "get", name, "--path", str(root / "dl"), "--quiet"], env)
            again = _run([EOHUB, "models", "ingest", str(folder), "--name", name, "--quiet"], env)
            rows.append((size, cp, ingest, get, again))
            for p in (folder / "weights.bin", root / f"copy-{size}.bin"):
                p.unlink()
    lines = [
        "# Embedded repository transfers",
        "",
        f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
        f"{time.strftime('%Y-%m-%d')}",
        "",
        "| file | cp | ingest | get | re-ingest (no changes) | peak RSS ingest | peak RSS get |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for size, cp, ingest, get, again in rows:
        lines.append(
            f"| {size} MB | {size / cp[0]:.0f} MB/s | {size / ingest[0]:.0f} MB/s ({ingest[0]:.1f} s) "
            f"| {size / get[0]:.0f} MB/s ({get[0]:.1f} s) | {again[0]:.1f} s "
            f"| {ingest[1]:.0f} MB | {get[1]:.0f} MB |"
        )
    lines += [
        "",
        "Times include process start-up (Python, imports). Re-ingest hashes the file once, stores nothing.",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
