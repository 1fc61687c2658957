"""The command line's conventions, one test per promise: outputs kept unless ``--overwrite``; each face
speaks its language (Python names ``force=True``, the CLI ``--overwrite``); a hub that does not answer
fails at once; help screens show no ``<bool>``; and one count of a version's files everywhere."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import click
import httpx
import numpy as np
import pytest
from typer.main import get_command
from typer.testing import CliRunner

from eohub import errors
from eohub.cli.common import cli_message
from eohub.cli.main import app
from eohub.client import http
from eohub.client.http import HubSession, hub_error
from eohub.demo.hub import DATASET_NAME, MODEL_NAME, seed_demo, write_demo_model
from eohub.demo.models import make_classifier
from eohub.repository import open_embedded
from tests.hub_server import InProcessHub
from tests.inference_helpers import segmenter_item, write_raster
from tests.repository_helpers import write_q0_model, write_tutorial_catalog
from tests.test_inference_tiling import smooth_scene

runner = CliRunner()


def run(*args: str, **env: str) -> Any:
    return runner.invoke(app, list(args), env=env or None)


def refused(result: Any, *needles: str, code: int = 1) -> str:
    """The one-line error of a refused command (after any notes), which names each of ``needles``."""
    assert result.exit_code == code, result.output
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("note: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def contents(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def ingested(tmp_path: Path) -> str:
    """EuroSAT-RGB v1 in the embedded repository: README.md and model.onnx, no STAC documents."""
    done = run("models", "ingest", str(write_q0_model(tmp_path / "src")), "--quiet")
    assert done.exit_code == 0, done.output
    return "EuroSAT-RGB"


# --- existing outputs are kept unless --overwrite (--force: a hidden, deprecated alias) ----------------


def test_models_get_keeps_an_existing_download_unless_overwrite(ingested: str, tmp_path: Path) -> None:
    target = tmp_path / "dl" / ingested / "v1"
    assert run("models", "get", ingested, "--path", str(tmp_path / "dl")).exit_code == 0
    (target / "README.md").write_text("edited")
    again = run("models", "get", ingested, "--path", str(tmp_path / "dl"))
    refused(again, f"{target} already exists; pass --overwrite to replace it")
    assert (target / "README.md").read_text() == "edited"
    replaced = run("models", "get", ingested, "--path", str(tmp_path / "dl"), "--overwrite")
    assert replaced.exit_code == 0 and replaced.stdout.strip() == str(target)
    assert (target / "README.md").read_text() != "edited"


def test_force_still_overwrites_and_says_it_is_deprecated(ingested: str, tmp_path: Path) -> None:
    assert run("models", "get", ingested, "--path", str(tmp_path)).exit_code == 0
    forced = run("models", "get", ingested, "--path", str(tmp_path), "--force", "--quiet")
    assert forced.exit_code == 0
    assert forced.stderr == "warning: --force is deprecated; use --overwrite\n"
    model = make_classifier(tmp_path / "m.onnx")
    (tmp_path / "item.json").write_text("previous")
    item = run("mlm", "init", str(model), "-o", str(tmp_path / "item.json"), "--force")
    assert item.exit_code == 0 and "deprecated" in item.stderr
    assert json.loads((tmp_path / "item.json").read_text())["type"] == "Feature"


def test_models_init_keeps_the_folder_unless_overwrite(tmp_path: Path) -> None:
    model = make_classifier(tmp_path / "m.onnx", bands=3, classes=3)
    folder = tmp_path / "pkg"
    args = ["models", "init", str(folder), "--from", str(model), "--license", "MIT"]
    args += ["--tasks", "classification"]
    assert run(*args).exit_code == 0
    (folder / "catalog.json").write_text("{}")
    refused(run(*args), f"{folder / 'README.md'} exists", "pass --overwrite to overwrite")
    assert (folder / "catalog.json").read_text() == "{}"
    assert run(*args, "--overwrite").exit_code == 0
    assert json.loads((folder / "catalog.json").read_text())["type"] == "Catalog"


def test_mlm_init_keeps_the_item_unless_overwrite(tmp_path: Path) -> None:
    model = make_classifier(tmp_path / "m.onnx")
    out = tmp_path / "item.json"
    out.write_text("previous")
    refused(run("mlm", "init", str(model), "-o", str(out)), f"{out} exists; pass --overwrite to replace it")
    assert out.read_text() == "previous"
    assert run("mlm", "init", str(model), "-o", str(out), "--overwrite").exit_code == 0
    assert json.loads(out.read_text())["type"] == "Feature"


def test_predict_keeps_an_existing_output_unless_overwrite(tmp_path: Path) -> None:
    model = segmenter_item(tmp_path, ["B02", "B03", "B04"], size=32)
    raster = write_raster(tmp_path / "in.tif", smooth_scene(40, 40).astype(np.uint16), ["B02", "B03", "B04"])
    out = tmp_path / "out.tif"
    assert run("predict", str(model), str(raster), "-o", str(out)).exit_code == 0
    before = contents(tmp_path)
    refused(run("predict", str(model), str(raster), "-o", str(out)), f"{out} exists; pass --overwrite")
    assert contents(tmp_path) == before
    (tmp_path / "out.tif").unlink()  # the item alone is an output too
    refused(run("predict", str(model), str(raster), "-o", str(out)), f"{tmp_path / 'out.json'} exists")
    again = run("predict", str(model), str(raster), "-o", str(out), "--overwrite")
    assert again.exit_code == 0 and again.stdout.strip() == str(out)
    assert out.is_file()


def test_predict_into_a_folder_keeps_each_scene_unless_overwrite(tmp_path: Path) -> None:
    model = segmenter_item(tmp_path, ["B02", "B03", "B04"], size=32)
    raster = write_raster(tmp_path / "a.tif", smooth_scene(40, 40).astype(np.uint16), ["B02", "B03", "B04"])
    maps = tmp_path / "maps"
    assert run("predict", str(model), str(raster), "-o", str(maps)).exit_code == 0
    refused(run("predict", str(model), str(raster), "-o", str(maps)), f"{maps / 'a.tif'} exists")
    assert run("predict", str(model), str(raster), "-o", str(maps), "--overwrite").exit_code == 0


def test_predict_refuses_before_it_loads_the_model(tmp_path: Path) -> None:
    (tmp_path / "out.tif").write_bytes(b"mine")
    result = run("predict", str(tmp_path / "no-model.json"), "in.tif", "-o", str(tmp_path / "out.tif"))
    refused(result, "out.tif exists; pass --overwrite")
    assert (tmp_path / "out.tif").read_bytes() == b"mine"


# --- each face names its own argument ----------------------------------------------------------------


def test_download_names_force_in_python_and_overwrite_on_the_command_line(ingested: str, tmp_path: Path):
    from eohub.models import download_model

    download_model(ingested, path=str(tmp_path))
    with pytest.raises(errors.AlreadyExistsError) as err:
        download_model(ingested, path=str(tmp_path))
    assert str(err.value).endswith("already exists; pass force=True to replace it")
    assert "--" not in str(err.value)
    line = refused(run("models", "get", ingested, "--path", str(tmp_path)), "pass --overwrite")
    assert "force=True" not in line


def test_ingest_names_allow_outside_in_python_and_its_flag_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eohub.models import ingest_model

    model = make_classifier(tmp_path / "elsewhere" / "model.onnx")
    catalog = write_tutorial_catalog(model, tmp_path / "work" / "catalog")
    monkeypatch.chdir(tmp_path / "work")  # the model is outside the folder and the current directory
    with pytest.raises(errors.UsageError) as err:
        ingest_model(str(catalog))
    assert f"pass allow_outside={[str(model)]!r}" in str(err.value)
    assert "--allow-outside" not in str(err.value)
    line = refused(run("models", "ingest", str(catalog)), f"pass --allow-outside {model}", code=2)
    assert "allow_outside=" not in line
    assert run("models", "ingest", str(catalog), "--allow-outside", str(model.parent)).exit_code == 0


def test_invalid_stac_and_a_missing_name_name_their_argument_per_face(tmp_path: Path) -> None:
    from eohub.datasets import ingest_dataset

    stac = tmp_path / "stac"
    stac.mkdir()
    (stac / "catalog.json").write_text(json.dumps({"type": "Catalog", "id": "broken", "links": []}))
    with pytest.raises(errors.InvalidStacError) as err:
        ingest_dataset(str(stac))
    assert "pass allow_invalid=True to store the folder as Q0" in str(err.value)
    result = run("datasets", "ingest", str(stac))  # each problem on a line, then the error
    line = result.stderr.strip().splitlines()[-1]
    assert result.exit_code == 1 and line.startswith("error: ") and "pass --allow-invalid to store" in line
    assert "allow_invalid=" not in result.stderr
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "weights.bin").write_bytes(b"1")
    with pytest.raises(errors.UsageError, match=r"no name: pass name=\.\.\. or add a README.md"):
        ingest_dataset(str(tmp_path / "bare"))
    result = run("datasets", "ingest", str(tmp_path / "bare"))
    assert result.exit_code == 2 and "no name: pass --name or add a README.md" in result.stderr


def test_models_init_names_force_in_python(tmp_path: Path) -> None:
    from eohub.mlm.package import package_model

    model = make_classifier(tmp_path / "m.onnx", bands=3, classes=3)
    package_model(tmp_path / "pkg", model, license="MIT", tasks=["classification"])
    with pytest.raises(errors.AlreadyExistsError, match=r"pass force=True to overwrite$"):
        package_model(tmp_path / "pkg", model, license="MIT", tasks=["classification"])


def test_a_hubs_message_names_the_argument_each_face_spells() -> None:
    detail = "invalid STAC (1 problem(s)); fix them, or pass allow_invalid=True to store it as Q0"
    body = {
        "detail": detail,
        "problems": ["x.json: bad"],
        "arguments": [
            {"name": "allow_invalid", "value": True},
            {"name": "overwrite", "value": True},  # not in the message: dropped
            {"name": "rm -rf", "value": True},  # not an argument name: dropped
        ],
    }
    exc = hub_error(httpx.Response(422, json=body))
    assert isinstance(exc, errors.InvalidStacError) and str(exc) == detail
    assert exc.arguments == (errors.Argument("allow_invalid"),)
    assert cli_message(exc) == detail.replace("allow_invalid=True", "--allow-invalid")


def test_a_hub_sends_the_arguments_its_refusal_names(inprocess_hub: InProcessHub) -> None:
    from eohub.client import RemoteRepository
    from eohub.repository.manifest import Manifest

    bad = Manifest([], {"catalog.json": {"type": "Catalog", "id": "x", "links": []}})
    with RemoteRepository(inprocess_hub.url, inprocess_hub.token("alice")) as alice:
        with pytest.raises(errors.InvalidStacError) as err:
            alice.commit_version("dataset", "bad-stac", bad, None)
    assert "pass allow_invalid=True" in str(err.value)
    assert "pass --allow-invalid" in cli_message(err.value)


# --- no hub: one attempt, no backoff ------------------------------------------------------------------


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every backoff the client sleeps, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(http.time, "sleep", slept.append)
    return slept


@pytest.fixture
def refusing_url() -> Iterator[str]:
    """A loopback URL whose port is bound but not listening: every connection is refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{held.getsockname()[1]}"


def test_list_against_no_hub_fails_at_once_without_retrying(refusing_url: str, sleeps: list[float]) -> None:
    result = run("models", "list", EOHUB_URL=refusing_url, EOHUB_RETRIES="5")
    line = refused(result, f"no hub answers at {refusing_url}", "is it running")
    assert "run the command again" not in line
    assert sleeps == []


class Counting(httpx.BaseTransport):
    """A transport that answers from a script: an ``httpx`` exception to raise, or a status to answer."""

    def __init__(self, *script: type[Exception] | int) -> None:
        self.script = list(script)
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        step = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        if isinstance(step, int):
            return httpx.Response(step, json={"detail": "busy"} if step >= 500 else {}, request=request)
        raise step("[Errno -2] Name or service not known", request=request)


@pytest.mark.parametrize("failure", [httpx.ConnectError, httpx.ConnectTimeout])
def test_a_first_request_that_cannot_connect_is_one_attempt(failure: type[Exception], sleeps: list[float]):
    transport = Counting(failure)
    session = HubSession("http://hub.invalid", attempts=6, transport=transport)
    with pytest.raises(errors.TransferError, match="no hub answers at http://hub.invalid"):
        session.json("GET", "/api/models")
    assert (transport.calls, sleeps) == (1, [])


def test_a_hub_that_answered_and_then_refuses_is_retried_with_backoff(sleeps: list[float]) -> None:
    transport = Counting(200, httpx.ConnectError, httpx.ConnectError, 200)  # a restart
    session = HubSession("http://hub", attempts=6, backoff=0.5, transport=transport)
    session.json("GET", "/api")
    assert session.json("GET", "/api") == {}
    assert (transport.calls, sleeps) == (4, [0.5, 1.0])


def test_an_overloaded_hub_is_retried_even_at_the_first_request(sleeps: list[float]) -> None:
    transport = Counting(503, 502, 200)
    assert HubSession("http://hub", attempts=6, backoff=0.5, transport=transport).json("GET", "/api") == {}
    assert (transport.calls, sleeps) == (3, [0.5, 1.0])
    broken = Counting(200, httpx.ReadError)
    session = HubSession("http://hub", attempts=3, backoff=0.5, transport=broken)
    session.json("GET", "/api")
    with pytest.raises(errors.TransferError, match="run the command again to resume"):
        session.json("GET", "/api")
    assert broken.calls == 4


# --- help screens ------------------------------------------------------------------------------------


def _commands(command: click.Command, path: list[str]) -> Iterator[list[str]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, [*path, name])


def test_no_help_screen_shows_a_type_for_a_flag() -> None:
    for path in _commands(get_command(app), []):
        result = run(*path, "--help")
        assert result.exit_code == 0, path
        assert "<bool>" not in result.output, " ".join(path)
    get = run("models", "get", "--help").output
    assert re.search(r"--overwrite\s+Replace an existing download", get)
    assert re.search(r"--help\s+Show this message and exit", get)
    assert "--force" not in get  # the deprecated alias is hidden
    assert re.search(r"--path\s+<path>", get)  # options that take a value still show its type


# --- one count of a version's files: CLI, API, web page and download agree ----------------------------


def _hub_with_demo_and_plain_model(hub: InProcessHub, tmp_path: Path) -> None:
    with open_embedded(settings=hub.settings, user="demo") as repo:
        seed_demo(repo)
        repo.ingest("model", write_q0_model(tmp_path / "plain", name="plain-model"))
        v2 = write_demo_model(tmp_path / "demo-v2")
        (v2 / "LICENSE").write_text("CC-BY-4.0\n")
        repo.ingest("model", v2)


def _web_files(hub: InProcessHub, kind: str, name: str) -> tuple[str, list[str]]:
    page = httpx.get(f"{hub.url}/{kind}s/{name}", timeout=30)
    assert page.status_code == 200
    html = unescape(page.text)
    shown = re.search(r'data-testid="file-count">([^<]*)<', html)
    assert shown
    table = html.split('data-testid="versions"')[1].split("</table>")[0]
    return shown.group(1), re.findall(r'<td class="num">([^<]*)</td>', table)


@pytest.mark.parametrize(
    ("kind", "name", "files", "documents"),
    [
        ("model", MODEL_NAME, 6, 3),  # v2: README, model.onnx, LICENSE + catalog, collection, item
        ("dataset", DATASET_NAME, 9, 5),
        ("model", "plain-model", 2, 0),  # README.md and model.onnx, no STAC documents
    ],
)
def test_a_versions_files_are_counted_alike_everywhere(
    inprocess_hub: InProcessHub, tmp_path: Path, kind: str, name: str, files: int, documents: int
) -> None:
    _hub_with_demo_and_plain_model(inprocess_hub, tmp_path)
    env = {"EOHUB_URL": inprocess_hub.url, "EOHUB_HOME": str(tmp_path / "client")}
    plural = f"{kind}s"
    data = files - documents
    text = f"{files} files" + (f" ({data} data files, {documents} STAC documents)" if documents else "")

    info = run(plural, "info", name, **env)
    assert f"), {text}, " in info.stdout, info.output
    versions = json.loads(run(plural, "versions", name, "--format", "json", **env).stdout)
    latest = versions[-1]
    assert (latest["files"], latest["documents"], latest["data_files"]) == (files, documents, data)
    first = versions[0]
    assert first["changes"]["added"] == first["files"]  # a first version adds every file it holds
    table = run(plural, "versions", name, **env).stdout
    assert (f"{files} ({documents} STAC)" if documents else f" {files} ") in table
    listed = json.loads(run(plural, "list", "--name", name, "--format", "json", **env).stdout)
    assert listed[0]["latest"]["files"] == files
    api = httpx.get(f"{inprocess_hub.url}/api/{plural}/{name}", timeout=30).json()
    assert (api["latest"]["files"], api["latest"]["documents"]) == (files, documents)

    shown, column = _web_files(inprocess_hub, kind, name)
    assert shown.startswith(f"{text}, ")
    assert column[0] == (f"{files} ({documents} STAC)" if documents else str(files))

    got = run(plural, "get", name, "--path", str(tmp_path / "dl"), **env)
    assert got.exit_code == 0, got.output
    folder = Path(got.stdout.strip())
    assert len([p for p in folder.rglob("*") if p.is_file()]) == files
    assert got.stderr.startswith(f"v{latest['number']}: {text}, ")


def test_a_second_version_counts_what_changed_in_the_same_files(
    inprocess_hub: InProcessHub, tmp_path: Path
) -> None:
    _hub_with_demo_and_plain_model(inprocess_hub, tmp_path)
    env = {"EOHUB_URL": inprocess_hub.url, "EOHUB_HOME": str(tmp_path / "client")}
    v1, v2 = json.loads(run("models", "versions", MODEL_NAME, "--format", "json", **env).stdout)
    assert v2["files"] == v1["files"] + v2["changes"]["added"] - v2["changes"]["removed"]
    assert (v1["files"], v2["changes"]["added"]) == (5, 1)
