"""A/B of transfers with a hub on S3: the code of a git revision (exported, first on ``PYTHONPATH``) against
the working tree, two hub processes on one SeaweedFS, the CLI of each, rounds alternating which goes first.

``python benchmarks/ab_s3_uploads.py REVISION [ROUNDS]`` prints the seconds of each round (ingest of a
1 GiB model and of 1,000 small files, new bytes every round; get of those small files) and the best of
each. Quoted in ``benchmarks/results/transfers.md``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import start_seaweedfs  # noqa: E402

from benchmarks.bench_repository import README, _run, _write_random  # noqa: E402
from benchmarks.bench_transfers import EOHUB, _small_folder, _start_hub, _token  # noqa: E402


def main(revision: str, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="eohub-ab-", dir=Path.home()) as tmp:
        root = Path(tmp)
        old = root / "old"
        old.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", revision, "src"], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        s3 = start_seaweedfs(root / "seaweedfs")
        hubs: dict[str, tuple[subprocess.Popen, dict[str, str]]] = {}
        try:
            for label in ("old", "new"):
                env = {**s3.env, "EOHUB_STORAGE": f"s3://{s3.bucket}/{label}"}
                if label == "old":
                    os.environ["PYTHONPATH"] = str(old / "src")
                else:
                    os.environ.pop("PYTHONPATH", None)
                process, url = _start_hub(root / f"hub-{label}", env)
                token = _token(root / f"hub-{label}", env)
                client = {"EOHUB_HOME": str(root / f"client-{label}"), "EOHUB_URL": url, "EOHUB_TOKEN": token}
                hubs[label] = (process, {**os.environ, **client})
            large = root / "large"
            large.mkdir()
            (large / "README.md").write_text(README)
            kinds = ("large", "small", "small get")
            times: dict[tuple[str, str], list[float]] = {(h, k): [] for h in hubs for k in kinds}
            for r in range(rounds):
                for label in ("old", "new") if r % 2 == 0 else ("new", "old"):
                    env = hubs[label][1]
                    _write_random(large / "weights.bin", 1024)
                    ingest = [EOHUB, "models", "ingest", str(large), "--name", f"l-{label}-{r}", "--quiet"]
                    times[(label, "large")].append(_run(ingest, env)[0])
                    folder = root / f"small-{label}-{r}"
                    _small_folder(folder, seed=r * 2 + (label == "new"))
                    ingest = [EOHUB, "datasets", "ingest", str(folder), "--name", f"s-{label}-{r}", "--quiet"]
                    times[(label, "small")].append(_run(ingest, env)[0])
                    target = str(root / f"got-{label}-{r}")
                    get = [EOHUB, "datasets", "get", f"s-{label}-{r}", "--path", target, "--quiet"]
                    times[(label, "small get")].append(_run(get, env)[0])
            for (label, kind), values in times.items():
                print(label, kind, " / ".join(f"{v:.2f}" for v in values), f"best {min(values):.2f}")
        finally:
            for process, _ in hubs.values():
                process.terminate()
                process.wait(30)
            s3.stop()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3)
