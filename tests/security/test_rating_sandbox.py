"""Attacks on Q3 rating: models whose item or graph would make the rating process allocate without bound,
crash ONNX Runtime or run for ever. Each stays at Q2 with the cause, and the hub keeps serving."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from eohub.client import RemoteRepository
from eohub.config import GiB
from eohub.demo import make_classifier
from eohub.mlm.build import build_item
from eohub.quality import assess_quality
from tests.hub_server import HubServer
from tests.repository_helpers import README, write_json

RATING_SECONDS = 4
HUB_LIMITS = {"EOHUB_RATING_MEMORY_BYTES": str(GiB), "EOHUB_RATING_SECONDS": str(RATING_SECONDS)}


@pytest.fixture
def hub_env() -> dict[str, str]:
    """The ``sqlite_hub`` of these tests rates with 1 GiB and 4 seconds."""
    return dict(HUB_LIMITS)


def _tensor(name: str, elem_type: int, shape: list[Any]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem_type, shape)


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def model_folder(root: Path, graph: onnx.GraphProto | None, name: str, **input_changes: Any) -> Path:
    """A folder that is Q2 by its metadata (README, catalog, an MLM item built from the graph); ``graph``
    ``None`` is the demo classifier. ``input_changes`` replace fields of the item's first input."""
    root.mkdir(parents=True, exist_ok=True)
    model = root / "model.onnx"
    if graph is None:
        make_classifier(model, bands=3, classes=10, size=None)
    else:
        _save(graph, model)
    (root / "README.md").write_text(README.format(name=name))
    item = build_item(model, name=name, tasks=["regression"], item_id="model").to_dict(
        include_self_link=False
    )
    item["properties"]["mlm:input"][0]["input"].update(input_changes)
    write_json(root / "item.json", item)
    links = [{"rel": "root", "href": "./catalog.json"}, {"rel": "item", "href": "./item.json"}]
    catalog = {"type": "Catalog", "stac_version": "1.0.0", "id": name, "description": "t", "links": links}
    write_json(root / "catalog.json", catalog)
    return root


def string_flood() -> onnx.GraphProto:
    """Copies a 1000-character string 8192 x 1024 times (8 GB) at run time; ONNX Runtime cannot handle
    the ``std::bad_alloc`` this raises under a memory limit and aborts the process (SIGABRT)."""
    text = numpy_helper.from_array(np.array(["a" * 1000], dtype=object), "text")
    factor = numpy_helper.from_array(np.array([8192, 256], np.int64), "factor")
    nodes = [
        helper.make_node("Shape", ["x"], ["x_shape"]),  # from the input, so nothing is folded at load
        helper.make_node("Mul", ["x_shape", "factor"], ["shape"]),
        helper.make_node("Expand", ["text", "shape"], ["y"]),
    ]
    inputs = [_tensor("x", TensorProto.FLOAT, ["batch", 4])]
    return helper.make_graph(
        nodes, "flood", inputs, [_tensor("y", TensorProto.STRING, ["r", "c"])], [text, factor]
    )


def float_flood() -> onnx.GraphProto:
    """Broadcasts a [1, 4] input to 32768 x 131072 x 4 float32 (64 GiB)."""
    shape = numpy_helper.from_array(np.array([1 << 15, 1 << 17, 4], np.int64), "shape")
    nodes = [helper.make_node("Expand", ["x", "shape"], ["y"])]
    inputs = [_tensor("x", TensorProto.FLOAT, [1, 4])]
    return helper.make_graph(
        nodes, "flood", inputs, [_tensor("y", TensorProto.FLOAT, [1 << 15, 1 << 17, 4])], [shape]
    )


def endless_loop() -> onnx.GraphProto:
    """A ``Loop`` of 10^15 iterations adding one to its state."""
    state = [1, 4]
    steps = [
        helper.make_node("Identity", ["cond"], ["cond_out"]),
        helper.make_node("Add", ["v", "one"], ["v_out"]),
    ]
    body = helper.make_graph(
        steps,
        "body",
        [_tensor("i", TensorProto.INT64, []), _tensor("cond", TensorProto.BOOL, []),
         _tensor("v", TensorProto.FLOAT, state)],
        [_tensor("cond_out", TensorProto.BOOL, []), _tensor("v_out", TensorProto.FLOAT, state)],
        [numpy_helper.from_array(np.ones(state, np.float32), "one")],
    )  # fmt: skip
    trips = numpy_helper.from_array(np.array(10**15, np.int64), "trips")
    cond = numpy_helper.from_array(np.array(True), "cond")
    nodes = [helper.make_node("Loop", ["trips", "cond", "x"], ["y"], body=body)]
    inputs = [_tensor("x", TensorProto.FLOAT, state)]
    return helper.make_graph(nodes, "loop", inputs, [_tensor("y", TensorProto.FLOAT, state)], [trips, cond])


def _ingest(hub: HubServer, folder: Path) -> Any:
    with RemoteRepository(hub.url, hub.token("alice")) as alice:
        return alice.ingest("model", folder)


def _assert_serving(hub: HubServer, tmp_path: Path) -> None:
    """The hub process is alive, answers, and still rates a well-behaved model Q3."""
    assert hub.process is not None and hub.process.poll() is None
    assert httpx.get(f"{hub.url}/api", timeout=10).status_code == 200
    result = _ingest(hub, model_folder(tmp_path / "good", None, "Good-Model"))
    assert (result.quality.level, result.quality.reasons) == (3, [])


RATE_IN_A_PROCESS = """
import json, resource, sys
# A bound on this process only, should the old code try to build the input here (children may raise it).
resource.setrlimit(resource.RLIMIT_AS, (8 * 1024**3, resource.RLIM_INFINITY))
from eohub.quality import assess_quality
print(json.dumps(assess_quality(sys.argv[1]).to_dict()))
"""


# Linux carries the peak RSS of the memory a process had before exec into its ru_maxrss, so a process
# started from the test runner (hundreds of MB after a long session) reports at least the runner's peak.
# A small parent starts the rating process and reports that process's own peak.
MEASURE_A_CHILD = """
import json, os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], stdout=subprocess.PIPE)
output = child.stdout.read()
_, status, usage = os.wait4(child.pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "maxrss_kib": usage.ru_maxrss,
                  "output": output.decode()}))
"""


def test_an_input_declared_30000_by_30000_is_not_built(tmp_path: Path) -> None:
    folder = model_folder(tmp_path / "m", None, "Huge-Input", shape=[1, 3, 30000, 30000])
    env = {k: v for k, v in os.environ.items() if not k.startswith("EOHUB_RATING_")}

    ran = subprocess.run(
        [sys.executable, "-c", MEASURE_A_CHILD, RATE_IN_A_PROCESS, str(folder)],
        env=env,
        capture_output=True,
        check=True,
        timeout=300,
    )
    measured = json.loads(ran.stdout)
    assert measured["code"] == 0
    report = json.loads(measured["output"])
    assert (report["label"], report["reasons"]) == (
        "Q2",
        [
            "Q2: not verified: input too large: item 'model': input 'input' [1, 3, 30000, 30000] float32 "
            "takes 10,300 MiB, more than the 256 MiB bound (EOHUB_RATING_INPUT_BYTES)"
        ],
    )
    assert measured["maxrss_kib"] * 1024 < GiB  # the rating process did not allocate the 20 GiB asked for


@pytest.mark.parametrize("size", [10**6, 10**20, 2**63])
def test_absurd_declared_sizes_are_not_built(tmp_path: Path, size: int) -> None:
    folder = model_folder(tmp_path, None, "Absurd-Input", shape=[1, 3, size, size])

    report = assess_quality(folder)

    [reason] = report.reasons
    assert reason.startswith("Q2: not verified: input too large: item 'model': input 'input' [1, 3, ")
    assert reason.endswith("more than the 256 MiB bound (EOHUB_RATING_INPUT_BYTES)")


MEMORY_REASON = (
    "Q2: not verified: exceeded the 1024 MiB memory limit: item 'model': "
    "EOHUB_RATING_MEMORY_BYTES sets the limit"
)


def test_a_model_that_allocates_beyond_the_memory_limit_is_q2_and_the_hub_keeps_serving(
    sqlite_hub: HubServer, tmp_path: Path
) -> None:
    result = _ingest(sqlite_hub, model_folder(tmp_path / "flood", float_flood(), "Float-Flood"))

    assert (result.quality.level, result.quality.reasons) == (2, [MEMORY_REASON])
    _assert_serving(sqlite_hub, tmp_path)


def test_a_model_that_makes_onnx_runtime_abort_is_q2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = model_folder(tmp_path, string_flood(), "String-Flood")
    monkeypatch.setenv("EOHUB_RATING_MEMORY_BYTES", str(GiB))

    report = assess_quality(folder)

    # Where the allocation fails decides whether ONNX Runtime reports the std::bad_alloc or aborts on it.
    abort = "Q2: not verified: the model crashed ONNX Runtime (signal 6): item 'model': SIGABRT"
    assert report.reasons in ([abort], [MEMORY_REASON])


def _check_processes() -> list[int]:
    """The processes the forkserver started for this test process: the running checks."""
    parents, commands = {}, {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return [
        pid
        for pid, parent in parents.items()
        if parents.get(parent) == os.getpid() and b"multiprocessing.forkserver" in commands.get(parent, b"")
    ]


def test_a_check_that_dies_of_a_segfault_is_q2_with_the_signal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ONNX Runtime 1.32 turned every crash found (known issues, fuzzed attributes) into an error, so the
    # segfault is delivered from outside, to the real child running a model.
    folder = model_folder(tmp_path / "loop", endless_loop(), "Segfault")
    monkeypatch.setenv("EOHUB_RATING_SECONDS", "60")
    assess_quality(model_folder(tmp_path / "warm", None, "Warm-Up"))  # the forkserver is running
    reports: list[Any] = []
    rating = threading.Thread(target=lambda: reports.append(assess_quality(folder)), daemon=True)
    rating.start()
    deadline = time.monotonic() + 30
    while not (checks := _check_processes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    [check] = checks
    os.kill(check, signal.SIGSEGV)
    rating.join(30)

    [report] = reports
    assert report.reasons == [
        "Q2: not verified: the model crashed ONNX Runtime (signal 11): item 'model': SIGSEGV"
    ]


def test_a_model_that_loops_for_ever_is_stopped_and_the_hub_answers_meanwhile(
    sqlite_hub: HubServer, tmp_path: Path
) -> None:
    folder = model_folder(tmp_path / "loop", endless_loop(), "Endless-Loop")
    results: list[Any] = []
    ingest = threading.Thread(target=lambda: results.append(_ingest(sqlite_hub, folder)), daemon=True)
    start = time.monotonic()
    ingest.start()
    answers = []
    while ingest.is_alive() and time.monotonic() - start < 60:
        answers.append(httpx.get(f"{sqlite_hub.url}/api", timeout=10).status_code)
        time.sleep(0.2)
    ingest.join(60)

    assert answers and set(answers) == {200}
    [result] = results
    assert (result.quality.level, result.quality.reasons) == (
        2,
        [
            f"Q2: not verified: exceeded the {RATING_SECONDS} s limit: item 'model': the run was stopped; "
            "EOHUB_RATING_SECONDS sets the limit"
        ],
    )
    _assert_serving(sqlite_hub, tmp_path)
