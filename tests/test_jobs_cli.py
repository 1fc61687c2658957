"""``eohub jobs`` and ``run_model`` against a real hub (``eohub serve`` running jobs on its local Dask
cluster): submit and wait, show, list, cancel, local files uploaded once; and against a hostile hub, whose
every malformed answer is a one-line error, never a traceback."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from typer.testing import CliRunner

from eohub.cli.main import app
from eohub.client import RemoteRepository
from eohub.client.jobs import Job
from eohub.errors import AlreadyExistsError, UsageError
from tests.hub_server import HubServer, start_hub
from tests.jobs_content import DATASET, ITEM_ID, MODEL, publish, write_scene
from tests.servers import free_port

runner = CliRunner()
JOB_ID = "0123456789abcdef0123456789abcdef"


def good_job(**changes: Any) -> dict[str, Any]:
    job = {
        "id": JOB_ID,
        "model": MODEL,
        "model_version": 1,
        "owner": "alice",
        "state": "done",
        "progress": {"done": 4, "total": 4},
        "error": None,
        "created": "2026-01-01T00:00:00Z",
        "started": "2026-01-01T00:00:01Z",
        "finished": "2026-01-01T00:00:05Z",
        "timings": {"queued_seconds": 1.0, "run_seconds": 4.0},
        "inputs": [{"dataset": DATASET, "version": 1, "items": None}],
        "options": {"tile": None, "overlap": None, "batch": None},
        "output_dataset": f"{MODEL}-predictions",
        "result": {"dataset": f"{MODEL}-predictions", "version": 1},
    }
    job.update(changes)
    return job


# --- a hostile hub --------------------------------------------------------------------------------------


class HostileHub:
    """Answers the jobs API with ``self.answer`` (bytes, or a JSON-able value) whatever is asked."""

    def __init__(self) -> None:
        self.answer: Any = good_job()
        hub = FastAPI()

        @hub.api_route("/api/{path:path}", methods=["GET", "POST"])
        def anything(path: str, request: Request) -> Response:
            body = self.answer if isinstance(self.answer, bytes) else json.dumps(self.answer).encode()
            return Response(body, media_type="application/json", status_code=202 if "jobs" in path else 200)

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(hub, host="127.0.0.1", port=self.port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> HostileHub:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileHub]:
    with HostileHub() as hub:
        yield hub


@pytest.fixture
def on_hostile(hostile: HostileHub, monkeypatch: pytest.MonkeyPatch) -> HostileHub:
    monkeypatch.setenv("EOHUB_URL", hostile.url)
    monkeypatch.setenv("EOHUB_TOKEN", "eoh_anything")
    monkeypatch.setenv("EOHUB_RETRIES", "0")
    hostile.answer = good_job()
    return hostile


def one_line_error(result: Any, *words: str) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_a_well_formed_answer_is_shown(on_hostile: HostileHub):
    shown = runner.invoke(app, ["jobs", "show", JOB_ID])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[:2] == [f"job {JOB_ID}: done", f"model: {MODEL} v1"]
    assert (
        f"result: {MODEL}-predictions v1 {on_hostile.url}/datasets/{MODEL}-predictions/versions/1"
        in shown.stdout
    )
    as_json = json.loads(runner.invoke(app, ["jobs", "show", JOB_ID, "--format", "json"]).stdout)
    assert as_json["result"] == {"dataset": f"{MODEL}-predictions", "version": 1}
    assert as_json["inputs"] == [{"dataset": DATASET, "version": 1, "items": None}]


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (b"not json", ["malformed answer"]),
        ([], ["malformed job", "not an object"]),
        (good_job(id="another-job"), ["answered with job another-job when asked for job " + JOB_ID]),
        (good_job(id=JOB_ID + "\n"), ["malformed job", "job id"]),
        (good_job(id="../../etc"), ["malformed job", "job id"]),
        (good_job(state="finished"), ["malformed job", "state 'finished'"]),
        (good_job(progress={"done": -1, "total": 4}), ["malformed job", "done -1"]),
        (good_job(progress={"done": 5, "total": 4}), ["more windows done than in total"]),
        (good_job(progress={"done": True, "total": 4}), ["malformed job", "done"]),
        (good_job(progress={"done": 1, "total": 10**30}), ["malformed job", "total"]),
        (good_job(model="bad name"), ["malformed job", "invalid model name"]),
        (good_job(owner="x" * 100), ["malformed job", "invalid owner"]),
        (good_job(model_version=0), ["malformed job", "version"]),
        (good_job(created="yesterday"), ["malformed job", "not an ISO 8601 time"]),
        # JSON has no Infinity: the answer is refused before it is read as a job
        (good_job(timings={"queued_seconds": float("inf")}), ["malformed answer", "Infinity"]),
        (good_job(timings={"queued_seconds": -1.0}), ["malformed job", "queued_seconds"]),
        (good_job(state="failed", error="boom"), ["a result belongs to a done job"]),
        (good_job(result=None), ["a result belongs to a done job"]),
        (good_job(result={"dataset": "../up", "version": 1}), ["malformed job", "result dataset"]),
        (good_job(inputs=[{"file": "/etc/passwd"}]), ["malformed job", "neither a dataset"]),
        (good_job(inputs=[{"upload": {"sha256": "zz", "name": "a.tif"}}]), ["SHA-256 of an upload input"]),
        (good_job(options={"tile": "big"}), ["malformed job", "option tile"]),
        (good_job(error=123), ["malformed job", "error"]),
    ],
)
def test_a_malformed_job_is_a_one_line_error(on_hostile: HostileHub, answer: Any, words: list[str]):
    on_hostile.answer = answer
    one_line_error(runner.invoke(app, ["jobs", "show", JOB_ID]), *words)


def test_control_characters_of_a_reason_are_shown_escaped(on_hostile: HostileHub):
    on_hostile.answer = good_job(state="failed", result=None, error="\x1b]52;c;cGF5bG9hZA==\x07 no\nbands")
    shown = runner.invoke(app, ["jobs", "show", JOB_ID])
    assert shown.exit_code == 0
    assert "\x1b" not in shown.output and "error: \\x1b]52;c;cGF5bG9hZA==\\x07 no bands" in shown.output


def test_a_job_shows_in_a_notebook_with_every_value_escaped(on_hostile: HostileHub):
    from eohub.models import get_job

    on_hostile.answer = good_job(
        state="failed", result=None, error='<script>alert(1)</script><img src=x onerror="x">'
    )
    html = get_job(JOB_ID)._repr_html_()
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f"Job {JOB_ID}" in html and "failed" in html and f"datasets/{DATASET}@v1" in html


def test_a_list_is_bounded_and_in_the_state_asked_for(on_hostile: HostileHub):
    on_hostile.answer = [good_job()] * 10_001
    one_line_error(runner.invoke(app, ["jobs", "list"]), "malformed list of jobs")
    on_hostile.answer = {"jobs": [good_job()]}
    assert json.loads(runner.invoke(app, ["jobs", "list", "--format", "json"]).stdout)[0]["id"] == JOB_ID
    one_line_error(runner.invoke(app, ["jobs", "list", "--state", "running"]), "not running")


def test_a_job_of_another_model_is_refused_at_submit(on_hostile: HostileHub):
    on_hostile.answer = good_job(model="someone-else", state="queued", result=None)
    done = runner.invoke(app, ["jobs", "submit", MODEL, f"datasets/{DATASET}", "--no-wait"])
    one_line_error(done, "a job of model 'someone-else' when asked to run 'job-segmenter'")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["show", "../x"], ["is not a job id"]),
        (["submit", MODEL, "datasets/no"], ["invalid dataset name 'no'"]),  # a bad name exits 1
        (["submit", MODEL, "stac:only-a-collection"], ["stac:COLLECTION/ITEM"]),
        (["submit", MODEL, "no/such/file.tif"], ["is not a file here", "datasets/NAME"]),
        (["submit", MODEL, f"datasets/{DATASET}", "--tile", "0"], ["tile must be a whole number >= 1"]),
        (["submit", MODEL, f"datasets/{DATASET}", "--output", "a b"], ["invalid output dataset name"]),
    ],
)
def test_bad_arguments_are_refused_before_the_hub_is_asked(
    on_hostile: HostileHub, args: list[str], words: list[str]
):
    on_hostile.answer = b"never read"
    done = runner.invoke(app, ["jobs", *args])
    assert done.exit_code == (1 if "invalid" in words[0] else 2), done.output
    assert [line for line in done.output.splitlines() if line] == [done.output.strip()]
    for word in words:
        assert word in done.output


def test_without_a_hub_jobs_say_to_set_eohub_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("EOHUB_URL", raising=False)
    done = runner.invoke(app, ["jobs", "list"])
    assert done.exit_code == 2
    assert done.output.startswith("error: prediction jobs run on a hub: set EOHUB_URL")
    from eohub.models import run_model

    with pytest.raises(UsageError, match="set EOHUB_URL"):
        run_model(MODEL, [f"datasets/{DATASET}"])


def test_inputs_are_merged_per_dataset_version():
    from eohub.client.job_requests import job_request, parse_input

    parsed = [
        parse_input(text)
        for text in (
            f"datasets/{DATASET}@v2:a",
            f"datasets/{DATASET}@v2:b:with:colons",
            f"datasets/{DATASET}@v2:a",
            f"datasets/{DATASET}",
            "stac:datasets.x-y/item-1",
        )
    ]
    request = job_request(parsed, tile=64)  # type: ignore[arg-type]
    assert request["inputs"] == [
        {"dataset": DATASET, "version": 2, "items": ["a", "b:with:colons"]},
        {"dataset": DATASET, "version": None, "items": None},
        {"stac_item": "datasets.x-y/item-1"},
    ]
    assert request["options"] == {"tile": 64, "overlap": None, "batch": None}
    whole = job_request([parse_input(f"datasets/{DATASET}@v1:a"), parse_input(f"datasets/{DATASET}@v1")])  # type: ignore[list-item]
    assert whole["inputs"] == [{"dataset": DATASET, "version": 1, "items": None}]


# --- a real hub ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    root = tmp_path_factory.mktemp("jobs-cli")
    env = {"EOHUB_JOB_WORKERS": "1", "EOHUB_JOB_THREADS": "1", "EOHUB_MAX_USER_JOBS": "4"}
    server = start_hub(root / "hub", env)
    try:
        publish(server.url, server.token("alice"), root / "work")
        yield server
    finally:
        server.stop()


@pytest.fixture
def alice(hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HubServer:
    monkeypatch.setenv("EOHUB_HOME", str(tmp_path / "client-home"))
    monkeypatch.setenv("EOHUB_URL", hub.url)
    monkeypatch.setenv("EOHUB_TOKEN", hub.token("alice"))
    return hub


def test_submit_waits_for_the_job_and_publishes_the_result(alice: HubServer):
    done = runner.invoke(
        app, ["jobs", "submit", MODEL, f"datasets/{DATASET}@v1:{ITEM_ID}", "--output", "cli-run"]
    )
    assert done.exit_code == 0, done.output
    job_line, url = done.stdout.splitlines()
    job_id = job_line.split()[1]
    assert job_line == f"job {job_id} done: dataset cli-run v1"
    assert url == f"{alice.url}/datasets/cli-run/versions/1"

    shown = json.loads(runner.invoke(app, ["jobs", "show", job_id, "--format", "json"]).stdout)
    assert shown["state"] == "done" and shown["owner"] == "alice" and shown["model"] == MODEL
    assert shown["progress"]["done"] == shown["progress"]["total"] > 0
    assert shown["timings"]["run_seconds"] is not None
    assert shown["inputs"] == [{"dataset": DATASET, "version": 1, "items": [ITEM_ID]}]

    listed = json.loads(runner.invoke(app, ["jobs", "list", "--state", "done", "--format", "json"]).stdout)
    assert job_id in [j["id"] for j in listed]
    table = runner.invoke(app, ["jobs", "list"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and job_id in table.stdout and "cli-run v1" in table.stdout

    result = runner.invoke(app, ["datasets", "versions", "cli-run", "--format", "json"])
    assert [v["number"] for v in json.loads(result.stdout)] == [1]
    again = runner.invoke(app, ["jobs", "cancel", job_id])
    one_line_error(again)


def test_a_local_scene_is_uploaded_once_and_run(alice: HubServer, tmp_path: Path):
    from eohub.models import get_job, list_jobs, run_model

    scene = write_scene(tmp_path / "my scene.tif", seed=3)
    sent: list[int] = []

    class Count:
        def begin(self, description: str, total_bytes: int, total_files: int) -> None:
            sent.append(total_bytes)

        def advance(self, nbytes: int) -> None: ...

        def file_done(self) -> None: ...

        def end(self) -> None: ...

    job = run_model(MODEL, scene, output="api-run", progress=Count())
    assert isinstance(job, Job) and job.state == "done", job.error
    assert job.result is not None and (job.result.dataset, job.result.version) == ("api-run", 1)
    assert job.inputs[0]["upload"]["name"] == "my_scene.tif"
    html = job._repr_html_()
    assert f'href="{alice.url}/datasets/api-run/versions/1"' in html and "done" in html
    assert sent == [scene.stat().st_size]

    queued = run_model(MODEL, [str(scene)], output="api-run", wait=False, progress=Count())
    assert sent[1] == 0  # the hub has the bytes: nothing is sent again
    assert queued.state in ("queued", "running", "done")
    assert get_job(queued.id).id == queued.id
    assert queued.id in [j.id for j in list_jobs()]


def test_an_unknown_model_is_said_before_a_file_is_uploaded(alice: HubServer, tmp_path: Path):
    scene = write_scene(tmp_path / "unsent.tif", seed=9)
    done = runner.invoke(app, ["jobs", "submit", "no-such-model", str(scene), "-q"])
    one_line_error(done, "no model named 'no-such-model'")
    with RemoteRepository(alice.url, alice.token("alice")) as repo:
        assert repo.missing_blobs({hashlib.sha256(scene.read_bytes()).hexdigest()})  # never sent


def test_cancel_stops_a_job_and_publishes_nothing(alice: HubServer, tmp_path: Path):
    from eohub.models import cancel_job, get_job

    scene = write_scene(tmp_path / "large.tif", size=2048, seed=5)
    queued = runner.invoke(
        app,
        [
            "jobs",
            "submit",
            MODEL,
            str(scene),
            "--tile",
            "32",
            "--batch",
            "1",
            "--output",
            "never",
            "--no-wait",
            "-q",
        ],
    )
    assert queued.exit_code == 0, queued.output
    job_id = queued.stdout.strip()
    cancelled = runner.invoke(app, ["jobs", "cancel", job_id])
    assert cancelled.stdout.strip() == f"job {job_id} cancelled", cancelled.output
    deadline = time.monotonic() + 60
    while get_job(job_id).state != "cancelled" and time.monotonic() < deadline:
        time.sleep(0.2)
    job = get_job(job_id)
    assert (job.state, job.result) == ("cancelled", None)
    with pytest.raises(AlreadyExistsError):
        cancel_job(job_id)
    gone = runner.invoke(app, ["datasets", "info", "never"])
    one_line_error(gone, "no dataset named 'never'")


def test_a_job_that_fails_exits_1_with_its_reason(alice: HubServer, tmp_path: Path):
    gray = tmp_path / "gray.tif"
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(
        gray, "w", driver="GTiff", width=64, height=64, count=1, dtype="uint8", crs="EPSG:32633",
        transform=from_origin(500000, 5200000, 10, 10),
    ) as out:  # fmt: skip
        out.write(np.zeros((1, 64, 64), dtype="uint8"))
    done = runner.invoke(app, ["jobs", "submit", MODEL, str(gray), "-q"])
    line = one_line_error(done)
    assert "band" in line  # the reason eohub predict gives: the model's bands are not in the scene


def test_someone_elses_job_is_not_found(alice: HubServer, monkeypatch: pytest.MonkeyPatch):
    listed = json.loads(runner.invoke(app, ["jobs", "list", "--format", "json"]).stdout)
    assert listed, "the tests above made jobs"
    monkeypatch.setenv("EOHUB_TOKEN", alice.token("bob"))
    one_line_error(runner.invoke(app, ["jobs", "show", listed[0]["id"]]), "no")
    assert json.loads(runner.invoke(app, ["jobs", "list", "--format", "json"]).stdout) == []
