"""Hub transfers over loopback, next to boto3 against the same S3 server.

Two hubs run as their own processes (``eohub serve``, SQLite metadata): one on local blob storage, one on
S3 (SeaweedFS on loopback, started here like the tests do). The client commands run as separate
processes with ``EOHUB_URL`` set (``eohub models ingest`` and ``get``: start-up, hashing, the commit and
the hub's rating included), and the same bytes go to and from SeaweedFS with boto3 directly
(``upload_file`` / ``download_file`` for one large file, ``put_object`` / ``get_object`` on 8 threads for
1,000 small ones) as the anchor. ``ratio`` is boto3's time over eohub's (≥ 1: eohub is as fast).

``python -m benchmarks transfers`` writes ``benchmarks/results/transfers.md``.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from benchmarks.bench_repository import EOHUB, README, _run, _write_random

RESULTS = Path(__file__).parent / "results" / "transfers.md"
LARGE_MB = 1024
SMALL_FILES = 1000
SMALL_BYTES = 16 * 1024
THREADS = 8
ROUNDS = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_hub(home: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    full = (
        {k: v for k, v in os.environ.items() if not k.startswith("EOHUB_")} | env | {"EOHUB_HOME": str(home)}
    )
    log = open(home / "hub.log", "wb")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(
        [EOHUB, "serve", "--no-demo", "--port", str(port)], env=full, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/api", timeout=1).raise_for_status()
            return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the hub did not start: {(home / 'hub.log').read_text()[-2000:]}")


def _token(home: Path, env: dict[str, str]) -> str:
    full = (
        {k: v for k, v in os.environ.items() if not k.startswith("EOHUB_")} | env | {"EOHUB_HOME": str(home)}
    )
    done = subprocess.run([EOHUB, "admin", "create-user", "bench"], env=full, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return done.stdout.strip()


def _small_folder(folder: Path, seed: int) -> None:
    folder.mkdir(parents=True)
    (folder / "README.md").write_text(README)
    data = folder / "data"
    data.mkdir()
    block = os.urandom(SMALL_BYTES)
    for i in range(SMALL_FILES):
        (data / f"f{i:04d}.bin").write_bytes(i.to_bytes(4, "big") + bytes([seed]) + block[5:])


def _best(measure: Callable[[int], float]) -> float:
    return min(measure(r) for r in range(ROUNDS))


def _eohub_rows(root: Path, url: str, token: str, label: str) -> dict[str, float]:
    """Seconds of ingest and get of the large file and of the small files (fresh names each round)."""
    env = {**os.environ, "EOHUB_HOME": str(root / f"client-{label}"), "EOHUB_URL": url, "EOHUB_TOKEN": token}
    large = root / "large"
    times: dict[str, float] = {}

    def ingest_large(r: int) -> float:
        _write_random(large / "weights.bin", LARGE_MB)  # new bytes each round: nothing is deduplicated
        return _run([EOHUB, "models", "ingest", str(large), "--name", f"l-{label}-{r}", "--quiet"], env)[0]

    def get_large(r: int) -> float:
        target = root / f"dl-{label}-{r}"
        return _run([EOHUB, "models", "get", f"l-{label}-0", "--path", str(target), "--quiet"], env)[0]

    def ingest_small(r: int) -> float:
        folder = root / f"small-{label}-{r}"
        _small_folder(folder, seed=r + (10 if label == "s3" else 0))
        return _run([EOHUB, "datasets", "ingest", str(folder), "--name", f"s-{label}-{r}", "--quiet"], env)[0]

    def get_small(r: int) -> float:
        target = root / f"dls-{label}-{r}"
        return _run([EOHUB, "datasets", "get", f"s-{label}-0", "--path", str(target), "--quiet"], env)[0]

    times["large up"] = _best(ingest_large)
    times["large down"] = _best(get_large)
    times["small up"] = _best(ingest_small)
    times["small down"] = _best(get_small)
    return times


def _boto3_rows(root: Path, s3_env: dict[str, str], endpoint: str, bucket: str) -> dict[str, float]:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=s3_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=s3_env["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    large = root / "large" / "weights.bin"
    small = sorted((root / "small-boto3" / "data").iterdir())
    times: dict[str, float] = {}

    def timed(work: Callable[[], object]) -> float:
        start = time.perf_counter()
        work()
        return time.perf_counter() - start

    client.upload_file(str(large), bucket, "warm-up")  # SeaweedFS grows its volumes once, for everyone
    client.delete_object(Bucket=bucket, Key="warm-up")
    times["large up"] = _best(lambda r: timed(lambda: client.upload_file(str(large), bucket, f"boto/l{r}")))

    def put_large(r: int) -> None:
        with open(large, "rb") as body:
            client.put_object(Bucket=bucket, Key=f"boto/p{r}", Body=body)

    times["large up, one PUT"] = _best(lambda r: timed(lambda: put_large(r)))
    times["large down"] = _best(
        lambda r: timed(lambda: client.download_file(bucket, "boto/l0", str(root / f"boto-{r}.bin")))
    )

    def put_all(r: int) -> None:
        with ThreadPoolExecutor(THREADS) as pool:
            list(
                pool.map(
                    lambda p: client.put_object(
                        Bucket=bucket, Key=f"boto/s{r}/{p.name}", Body=p.read_bytes()
                    ),
                    small,
                )
            )

    def get_all() -> None:
        target = root / "boto-small"
        target.mkdir(exist_ok=True)

        def one(p: Path) -> None:
            body = client.get_object(Bucket=bucket, Key=f"boto/s0/{p.name}")["Body"].read()
            (target / p.name).write_bytes(body)

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(one, small))

    times["small up"] = _best(lambda r: timed(lambda: put_all(r)))
    times["small down"] = _best(lambda r: timed(get_all))
    return times


BASELINE = os.environ.get("EOHUB_BENCH_BASELINE", "a7e18b9")
"""A git revision whose hub and client are measured on local storage in the same run ('' for none)."""


def _baseline_rows(root: Path) -> dict[str, float]:
    """The local-storage rows with the code of :data:`BASELINE` (exported with ``git archive``)."""
    old = root / "baseline"
    old.mkdir()
    archive = subprocess.run(["git", "archive", BASELINE, "src"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(old / "src")  # the hub and the CLI import the old package first
    try:
        process, url = _start_hub(root / "hub-baseline", {})
        try:
            return _eohub_rows(root, url, _token(root / "hub-baseline", {}), "baseline")
        finally:
            process.terminate()
            process.wait(30)
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = saved


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent.parent))
    from tests.servers import start_seaweedfs

    load = os.getloadavg()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="eohub-bench-", dir=Path.home()) as tmp:
        root = Path(tmp)
        (root / "large").mkdir()
        (root / "large" / "README.md").write_text(README)
        _write_random(root / "large" / "weights.bin", LARGE_MB)
        _small_folder(root / "small-boto3", seed=99)
        s3 = start_seaweedfs(root / "seaweedfs")
        hubs: list[subprocess.Popen] = []
        try:
            local_process, local_url = _start_hub(root / "hub-local", {})
            hubs.append(local_process)
            s3_env = {**s3.env, "EOHUB_STORAGE": f"s3://{s3.bucket}/eohub"}
            s3_process, s3_url = _start_hub(root / "hub-s3", s3_env)
            hubs.append(s3_process)
            results["boto3"] = _boto3_rows(root, s3.env, s3.endpoint, s3.bucket)
            if BASELINE:
                results["baseline"] = _baseline_rows(root)
            results["local"] = _eohub_rows(root, local_url, _token(root / "hub-local", {}), "local")
            results["s3"] = _eohub_rows(root, s3_url, _token(root / "hub-s3", s3_env), "s3")
        finally:
            for process in hubs:
                process.terminate()
                process.wait(30)
            s3.stop()
    _write(results, load)


def _write(results: dict[str, dict[str, float]], load: tuple[float, float, float]) -> None:
    small_mb = SMALL_FILES * SMALL_BYTES / 1e6
    sizes = {
        "large up": LARGE_MB * 1.048576,
        "large down": LARGE_MB * 1.048576,
        "small up": small_mb,
        "small down": small_mb,
    }
    names = {
        "large up": f"{LARGE_MB} MiB, upload",
        "large down": f"{LARGE_MB} MiB, download",
        "small up": f"{SMALL_FILES:,} × {SMALL_BYTES // 1024} KiB, upload",
        "small down": f"{SMALL_FILES:,} × {SMALL_BYTES // 1024} KiB, download",
    }
    lines = [
        "# Hub transfers over loopback, next to boto3",
        "",
        f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
        f"{time.strftime('%Y-%m-%d')} · load average before the run "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} · `python -m benchmarks transfers`",
        "",
        "Best of 2 rounds, seconds (MB/s). eohub: the CLI (`models`/`datasets ingest`, `get`) as its own",
        "process, start-up, hashing, commit and the hub's rating included; boto3: the transfer alone, in",
        "process, against the same SeaweedFS. ratio = boto3's time / eohub's time (goal ≥ 0.9 on S3).",
        "",
        "| transfer | boto3 → SeaweedFS | eohub, hub on S3 | ratio | eohub, hub on local storage "
        f"| same, code of {BASELINE or '-'} | speed-up |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, name in names.items():
        b, s, loc = results["boto3"][key], results["s3"][key], results["local"][key]
        if key == "large up":  # the faster of upload_file (multipart, 10 threads) and one put_object
            b = min(b, results["boto3"]["large up, one PUT"])
        size = sizes[key]
        base = results.get("baseline", {}).get(key)
        then = f"{base:.2f} s ({size / base:.0f} MB/s) | {base / loc:.2f}×" if base else "– | –"
        lines.append(
            f"| {name} | {b:.2f} s ({size / b:.0f} MB/s) | {s:.2f} s ({size / s:.0f} MB/s) | {b / s:.2f} "
            f"| {loc:.2f} s ({size / loc:.0f} MB/s) | {then} |"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
