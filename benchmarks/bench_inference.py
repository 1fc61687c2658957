"""Inference throughput and memory: ``eohub predict`` against ONNX Runtime alone, in the same run.

- Throughput: 13-band tiled uint16 GeoTIFFs, DEFLATE-compressed and uncompressed, of 6144 x 6144 and
  8192 x 8192 pixels (``EOHUB_BENCH_SIZES``), and a ResNet-18-sized ONNX classifier on 64 x 64 patches
  (z-score scaling per band from the MLM item). ``eohub predict`` runs as a command (start-up, reading,
  scaling, inference, writing the COG and the STAC item all included) and is compared with ``session.run``
  on pre-loaded batches of the same size, as many patches as the scene has. ONNX Runtime alone is measured
  with every way of running the session that ``eohub predict`` can use (its own thread pool on one call at
  a time, or several calls at once with one thread each), and the best of them is the figure
  ``eohub predict`` is compared with. Both wall time and CPU time (user + system, all threads) are kept:
  on a machine shared with other work, the CPU-time ratio is the steadier of the two.
- Where the time goes: the command on a one-patch scene (start-up, model load, output files, exit), and
  the CPU time of reading and decoding every region and of scaling it and cutting windows, each alone on
  one thread.
- Memory: peak RSS of ``eohub predict`` processes on 2048 x 2048, 8192 x 8192 and 10,000 x 10,000 scenes,
  for the classifier and for a per-pixel segmenter with overlapping, blended windows.

The machine may be shared: every measure is repeated in rounds, each round running every measure once,
in the opposite order to the round before, and the best round is kept (other processes only ever slow a
run down). ``python -m benchmarks inference`` writes ``benchmarks/results/inference.md``;
``EOHUB_BENCH_ROUNDS`` sets the rounds (default 5), ``EOHUB_BENCH_SIZES`` the scene sizes (comma-separated,
default ``6144,8192``), ``EOHUB_BENCH_MEMORY=0`` skips the memory runs.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from benchmarks.resnet_onnx import make_resnet18, parameter_count
from eohub.demo import make_segmenter

RESULTS = Path(__file__).parent / "results" / "inference.md"
BANDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]
MEANS = [1354.4, 1118.2, 1042.9, 947.6, 1199.5, 1999.8, 2369.2, 2296.8, 732.1, 12.1, 1819.0, 1118.9, 2594.1]
STDS = [245.7, 333.0, 395.1, 593.8, 566.4, 861.2, 1086.6, 1118.0, 404.9, 4.8, 1002.6, 761.3, 1231.6]
PATCH = 64
DIMS = ["batch", "bands", "height", "width"]
SCALING = [{"type": "z-score", "mean": m, "stddev": s} for m, s in zip(MEANS, STDS, strict=True)]
BATCH = 64
EOHUB = [str(Path(sys.executable).parent / "eohub")]
ROUNDS = int(os.environ.get("EOHUB_BENCH_ROUNDS", "5"))
CORES = os.cpu_count() or 1
# How the session runs: ONNX Runtime's own thread pool on one call at a time (its defaults), or one call
# per core at once, one thread each. Both are open to ``eohub predict`` (--threads / --streams).
MODES = {
    "one call at a time, ONNX Runtime's default threads": {"threads": None, "streams": 1},
    f"{CORES} calls at once, 1 thread each": {"threads": 1, "streams": CORES},
}


def write_scene(path: Path, size: int, seed: int = 0, compress: str | None = "deflate") -> Path:
    """A 13-band uint16 GeoTIFF tiled 512 x 512 (DEFLATE by default), smooth fields plus noise, by strips."""
    rng = np.random.default_rng(seed)
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": len(BANDS), "dtype": "uint16",
        "crs": "EPSG:32631", "transform": from_origin(500000, 4600000, 10, 10), "tiled": True,
        "blockxsize": 512, "blockysize": 512, "nodata": 0, "BIGTIFF": "IF_SAFER", "NUM_THREADS": "ALL_CPUS",
    }  # fmt: skip
    if compress:
        profile.update(compress=compress, predictor=2, zlevel=1)
    x = np.arange(size, dtype=np.float32)
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, size, 512):
            y = np.arange(row, min(row + 512, size), dtype=np.float32)[:, None]
            strip = np.empty((len(BANDS), y.shape[0], size), np.uint16)
            for b, (mean, std) in enumerate(zip(MEANS, STDS, strict=True)):
                field = mean + std * np.sin(x / (90 + 7 * b)) * np.cos(y / (70 + 5 * b))
                strip[b] = np.clip(field + rng.normal(0, std / 4, field.shape), 1, 65535)
            dst.write(strip, window=Window(0, row, size, y.shape[0]))
        for i, name in enumerate(BANDS):
            dst.set_band_description(i + 1, name)
    return path


def mlm_item(model: Path, path: Path, task: str) -> Path:
    """An MLM item for the classifier (``task='classification'``) or the segmenter (``'segmentation'``)."""
    if task == "classification":
        shape, out = [-1, 13, PATCH, PATCH], {"shape": [-1, 10], "dim_order": ["batch", "class"]}
        classes = 10
    else:
        shape, out = (
            [-1, 13, -1, -1],
            {"shape": [-1, 5, -1, -1], "dim_order": ["batch", "class", "height", "width"]},
        )
        classes = 5
    item = {
        "type": "Feature", "stac_version": "1.1.0", "id": path.stem, "geometry": None,
        "stac_extensions": ["https://stac-extensions.github.io/mlm/v1.5.2/schema.json"],
        "properties": {
            "datetime": "2024-01-01T00:00:00Z", "mlm:name": path.stem, "mlm:architecture": "ResNet",
            "mlm:tasks": [task],
            "mlm:input": [{
                "name": "input", "bands": BANDS,
                "input": {"shape": shape, "dim_order": DIMS, "data_type": "float32"},
                "value_scaling": SCALING,
            }],
            "mlm:output": [{
                "name": "logits" if task == "classification" else "scores", "tasks": [task],
                "result": {**out, "data_type": "float32"},
                "classification:classes": [{"value": i, "name": f"class-{i}"} for i in range(classes)],
            }],
        },
        "assets": {"model": {"href": model.name, "roles": ["mlm:model"], "mlm:artifact_type": "onnx"}},
        "links": [],
    }  # fmt: skip
    path.write_text(json.dumps(item))
    return path


def onnxruntime_alone(model: Path, patches: int, threads: int | None, streams: int) -> tuple[float, float]:
    """Patches per second of ``session.run`` on pre-loaded float32 batches of ``BATCH`` patches, and the CPU
    seconds (all threads) it took.

    ``threads`` sets the session's intra-op threads (None: ONNX Runtime's default, one per core);
    ``streams`` calls run at once from that many threads, as ``eohub predict --streams`` does.
    """
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    batches = [rng.standard_normal((BATCH, 13, PATCH, PATCH)).astype(np.float32) for _ in range(4)]
    session.run(None, {"input": batches[0]})
    count = patches // BATCH
    start, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(streams) as pool:
        list(pool.map(lambda n: session.run(None, {"input": batches[n % len(batches)]}), range(count)))
    return count * BATCH / (time.perf_counter() - start), time.process_time() - cpu


def _high_water(pid: int) -> int:
    """``VmHWM`` of a live process in bytes (peak RSS of its current program), 0 once it has gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(args: list[str]) -> tuple[float, int, float]:
    """Run a command; its wall time in seconds, its peak resident memory in bytes and its CPU seconds.

    The peak is the child's ``VmHWM`` polled until it exits: ``ru_maxrss`` would also count the memory the
    child shared with this (large) process between fork and exec.
    """
    cpu = _children_cpu()
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _high_water(process.pid))
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        stderr = process.stderr.read().decode() if process.stderr else ""
        raise RuntimeError(f"{' '.join(args)} failed: {stderr}")
    return elapsed, peak, _children_cpu() - cpu


def mode_flags(threads: int | None, streams: int) -> list[str]:
    """The ``eohub predict`` options for a way of running the session."""
    return [*(["--threads", str(threads)] if threads else []), "--streams", str(streams)]


def default_mode() -> dict[str, int | None]:
    """How ``eohub predict`` runs the session when not told."""
    from eohub.inference.options import default_streams, session_threads

    streams = default_streams()
    return {"threads": session_threads(streams), "streams": streams}


def predict(item: Path, scene: Path, out: Path, *extra: str) -> tuple[float, int, float]:
    args = [*EOHUB, "predict", str(item), str(scene), "-o", str(out), "--batch", str(BATCH), "--overwrite"]
    return run_measured([*args, *extra])


def costs(item: Path, scene: Path) -> dict[str, float]:
    """What the pipeline does beside ONNX Runtime, measured alone on one thread: seconds to load the model
    (session creation), CPU seconds to read and decode every region, and to scale and cut it into windows.

    The scenes decode to more than GDAL's block cache holds, so every pass decodes every block.
    """
    from eohub.inference import planning, stages
    from eohub.inference.options import RunOptions
    from eohub.inference.predictor import Predictor
    from eohub.inference.raster_input import gdal_env, open_input

    load = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        predictor = Predictor.from_item(item)
        load = min(load, time.perf_counter() - start)
    read = prepare = float("inf")
    with gdal_env():
        raster = open_input([str(scene)])
    try:
        with gdal_env(raster):
            plan = planning.plan_scene(predictor, raster, RunOptions(batch=BATCH))
            regions = [r for i in range(plan.grid.region_row_count) for r in plan.grid.region_row(i)]
            for _ in range(2):
                start = time.thread_time()
                for r in regions:
                    raster.read(plan.bands.sources, r.y0, r.x0, r.extent_h, r.extent_w)
                read = min(read, time.thread_time() - start)
                start = time.thread_time()
                for r in regions:
                    stages.prepare(predictor, raster, plan, r)
                prepare = min(prepare, time.thread_time() - start)
    finally:
        raster.close()
    return {"load": load, "read": read, "prepare": max(0.0, prepare - read)}


def throughput(model: Path, item: Path, scene: Path, tiny: Path, work: Path, patches: int) -> dict[str, Any]:
    """Best of ``ROUNDS`` rounds; every round runs every measure once, in the opposite order to the round
    before, so all share the machine's moods.

    Per way of running the session: ONNX Runtime alone and the command with those flags (the command with
    its defaults stands for the way it picks). Then the same command on a one-patch scene: what it pays
    whatever the scene (start-up, imports, model load, output files, exit).
    """
    default = default_mode()
    best: dict[str, Any] = {
        m: {"ort": 0.0, "ort_cpu": float("inf"), "command": 0.0, "cpu": float("inf"), "rss": 0.0}
        for m in MODES
    }
    best["startup"] = float("inf")
    measures = []
    for mode, how in MODES.items():
        flags = [] if how == default else mode_flags(how["threads"], how["streams"])
        best[mode]["default"] = how == default
        measures += [("ort", mode, how, flags), ("command", mode, how, flags)]
    for n in range(ROUNDS):
        for kind, mode, how, flags in measures if n % 2 == 0 else measures[::-1]:
            b = best[mode]
            if kind == "ort":
                rate, cpu = onnxruntime_alone(model, patches, how["threads"], how["streams"])
                b["ort"], b["ort_cpu"] = max(b["ort"], rate), min(b["ort_cpu"], cpu)
            else:
                elapsed, rss, cpu = predict(item, scene, work / "out.tif", *flags)
                b["command"], b["cpu"] = max(b["command"], patches / elapsed), min(b["cpu"], cpu)
                b["rss"] = max(b["rss"], rss)
        startup, _rss, _cpu = predict(item, tiny, work / "tiny-out.tif")
        best["startup"] = min(best["startup"], startup)
        print(f"  round {n + 1}/{ROUNDS}: " + "; ".join(
            f"{m}: ort {b['ort']:.0f}, command {b['command']:.0f}" for m, b in best.items() if m in MODES
        ) + f"; load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    return best


MEMORY_SIZES = (2048, 8192, 10_000)
SIZES = tuple(int(v) for v in os.environ.get("EOHUB_BENCH_SIZES", "6144,8192").split(",") if v.strip())
INPUTS = {"DEFLATE": "deflate", "uncompressed": None}


def main() -> None:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="eohub-bench-") as tmp:
        work = Path(tmp)
        model = make_resnet18(work / "resnet18.onnx", bands=13, classes=10, size=PATCH)
        parameters = parameter_count(model)
        classifier = mlm_item(model, work / "classifier.json", "classification")
        make_segmenter(work / "segmenter.onnx", bands=13, classes=5, size=None, hidden=16)
        segmenter = mlm_item(work / "segmenter.onnx", work / "segmenter.json", "segmentation")
        tiny = write_scene(work / "one-patch.tif", PATCH)
        rates: dict[tuple[int, str], dict[str, Any]] = {}
        for size in SIZES:
            for label, compress in INPUTS.items():
                print(f"throughput, {size} x {size}, {label}: writing the scene", flush=True)
                path = write_scene(work / f"scene{size}.tif", size, compress=compress)
                rates[size, label] = throughput(model, classifier, path, tiny, work, (size // PATCH) ** 2)
                rates[size, label]["costs"] = costs(classifier, path)
                path.unlink()
                write_results(rates, [], parameters, (load_before[1], os.getloadavg()[1]))  # so far
        memory = []
        if os.environ.get("EOHUB_BENCH_MEMORY", "1") != "0":
            print("memory", flush=True)
            for size in MEMORY_SIZES:
                path = write_scene(work / f"scene{size}.tif", size, seed=size)
                t_cls, rss_cls, _ = predict(classifier, path, work / f"cls{size}.tif")
                t_seg, rss_seg, _ = predict(
                    segmenter, path, work / f"seg{size}.tif", "--tile", "256", "--overlap", "32"
                )
                memory.append((size, rss_cls, t_cls, rss_seg, t_seg))
                path.unlink()
    load_after = os.getloadavg()
    write_results(rates, memory, parameters, (load_before[1], load_after[1]))


def _case(size: int, label: str, by_mode: dict[str, Any]) -> tuple[list[str], dict[str, float]]:
    """The lines of one scene's table and its figures against the goal."""
    patches = (size // PATCH) ** 2
    modes = {m: r for m, r in by_mode.items() if m in MODES}
    ort_best = max(r["ort"] for r in modes.values())
    ort_cpu = min(r["ort_cpu"] for r in modes.values())
    default = next(r for r in modes.values() if r["default"])
    lines = [
        f"### {size} x {size}, {label} ({patches} patches)",
        "",
        "| how the session runs | ONNX Runtime alone: patches/s (CPU-s) | `eohub predict`: patches/s (CPU-s) "
        "| ratio, wall | ratio, CPU |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for mode, r in modes.items():
        flags = " ".join(mode_flags(**MODES[mode]))
        name = f"{mode} ({flags}{', the default' if r['default'] else ''})"
        lines.append(
            f"| {name} | {r['ort']:.0f} ({r['ort_cpu']:.1f}) | {r['command']:.0f} ({r['cpu']:.1f}) "
            f"| {r['command'] / ort_best:.3f} | {ort_cpu / r['cpu']:.3f} |"
        )
    c, startup = by_mode["costs"], by_mode["startup"]
    wall_ort, wall_cmd = patches / ort_best, patches / default["command"]
    side = (c["read"] + c["prepare"]) / CORES
    rest = wall_cmd - wall_ort - startup - side
    lines += [
        "",
        f"Where the time goes: ONNX Runtime alone needs {wall_ort:.1f} s for the scene on all {CORES} cores "
        f"({ort_cpu:.1f} CPU-s); the command with its defaults took {wall_cmd:.1f} s ({default['cpu']:.1f} "
        f"CPU-s), {wall_cmd - wall_ort:.1f} s more: {startup:.2f} s it pays whatever the scene (start-up, "
        f"model load, which is {c['load']:.2f} s of it on its own, output files and exit: the command on a "
        f"one-patch scene); {c['read']:.2f} CPU-s to read and decode the regions and {c['prepare']:.2f} "
        f"CPU-s to scale them and cut windows (measured alone, on one thread), {side:.2f} s of the cores' "
        f"time; {rest:.2f} s besides (the model's calls slowed by sharing the cores and caches, the first "
        "region's wait, the last batches, the writer thread).",
        "",
    ]
    figures = {"wall": default["command"] / ort_best, "cpu": ort_cpu / default["cpu"], "rss": default["rss"]}
    return lines, figures


def _load_text(load: tuple[float, float]) -> str:
    shared = ": the machine was shared with other work" if max(load) >= 0.5 else ""
    return f"Load average (5 min) {load[0]:.1f} at the start of these runs, {load[1]:.1f} at the end{shared}."


def write_results(
    rates: dict[tuple[int, str], dict[str, Any]],
    memory: list[tuple[int, int, float, int, float]],
    parameters: int,
    load: tuple[float, float],
) -> None:
    """Write the sections this run measured; those it did not (``EOHUB_BENCH_SIZES=``,
    ``EOHUB_BENCH_MEMORY=0``) and the hand-written analysis are kept from the file as it was."""
    sections = {
        "": [
            "# Inference benchmark",
            "",
            f"Machine: {CORES} cores, {platform.processor() or platform.machine()}, Python "
            f"{platform.python_version()}, ONNX Runtime {ort.__version__} (CPU), "
            f"rasterio {rasterio.__version__} (GDAL {rasterio.__gdal_version__}).",
            "",
        ]
    }
    if rates:
        lines = [
            THROUGHPUT,
            "",
            _load_text(load),
            "",
            f"Model: {parameters / 1e6:.1f} M parameters. Input: uint16 GeoTIFF tiled 512 x 512, "
            "pixel-interleaved (GDAL's default), DEFLATE (predictor 2, level 1) or uncompressed; "
            f"batch {BATCH}, z-score scaling of 13 bands.",
            "",
            f"Best of {ROUNDS} rounds of each measure; every round runs every measure once, in the opposite "
            "order to the round before (other processes on the machine only slow runs down). Ratios are "
            "against the best ONNX Runtime alone figure of the same input, whichever way of running the "
            "session gave it: wall, patches per second; CPU, CPU seconds (user + system, every thread) of "
            "ONNX Runtime alone over those of the command. `eohub predict` command: the whole process "
            "(start-up, model load, reading, scaling, inference, COG and STAC item).",
            "",
        ]
        goals = {}
        for (size, label), by_mode in rates.items():
            case, goals[size, label] = _case(size, label, by_mode)
            lines += case
        lines += ["### Goal: `eohub predict` with its defaults, end to end, against ONNX Runtime alone", ""]
        lines += [
            "| scene | goal | ratio, wall | ratio, CPU | peak RSS |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for (size, label), g in goals.items():
            target = 0.95 if label == "uncompressed" else 0.85
            lines.append(
                f"| {size} x {size}, {label} | >= {target} | **{g['wall']:.3f}** "
                f"({'met' if g['wall'] >= target else 'missed'}) | {g['cpu']:.3f} "
                f"| {g['rss'] / 2**20:.0f} MiB |"
            )
        sections[THROUGHPUT] = [*lines, ""]
    if memory:
        lines = [
            MEMORY,
            "",
            _load_text(load),
            "",
            "| scene | classifier, 64 x 64 patches "
            "| segmenter, 256 x 256 windows, overlap 32 (per-pixel, blended) |",
            "| --- | ---: | ---: |",
        ]
        for size, rss_cls, t_cls, rss_seg, t_seg in memory:
            lines.append(
                f"| {size} x {size} x 13 bands ({size * size * 26 / 2**20:.0f} MiB raw) | "
                f"{rss_cls / 2**20:.0f} MiB ({t_cls:.0f} s) | {rss_seg / 2**20:.0f} MiB ({t_seg:.0f} s) |"
            )
        sections[MEMORY] = [*lines, ""]
    old = _sections(RESULTS.read_text()) if RESULTS.exists() else {}
    order = ["", THROUGHPUT, MEMORY, ANALYSIS]
    text = "\n".join(
        "\n".join(sections.get(key) or old.get(key) or []).rstrip("\n") + "\n"
        for key in order
        if key in sections or key in old
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text.replace("\n\n\n", "\n\n"))
    print(text)


def _sections(text: str) -> dict[str, list[str]]:
    """The results file's parts by their ``## `` heading (``""``: what comes before the first)."""
    parts: dict[str, list[str]] = {"": []}
    key = ""
    for line in text.splitlines():
        if line.startswith("## "):
            key = next((k for k in (THROUGHPUT, MEMORY, ANALYSIS) if line.startswith(k)), line)
            parts[key] = []
        parts[key].append(line)
    return parts


THROUGHPUT = "## Throughput: 13-band scenes, ResNet-18-sized classifier on 64 x 64 patches"
MEMORY = "## Peak memory (RSS of the `eohub predict` process)"
# The hand-written part of the results file (profiles, what was tried), kept when the tables are rewritten.
ANALYSIS = "## Where the rest of the time goes"


if __name__ == "__main__":
    main()
