"""Nothing leaves a user's machine that they did not point at (issue 12, part 2), and hostile folders and
catalogs give one-line errors, never tracebacks.

Every attack ingests through a real hub over HTTP (``InProcessHub`` + ``RemoteRepository``) or through the
``eohub`` command, and proves that nothing was stored: the repository has no version and the hub's blob
store does not hold the SHA-256 of the file the attack aimed at. The allowed cases show what is still read:
the tutorial's model beside the catalog folder, and a file the user allowed with ``--allow-outside``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eohub.cli.main import app
from eohub.client import RemoteRepository
from eohub.client.credentials import store_token
from eohub.config import load_settings
from eohub.errors import NotFoundError, UsageError
from eohub.repository import open_embedded
from eohub.repository import scan as scan_module
from eohub.storage import open_store
from tests.hub_server import InProcessHub

SECRET = b"the user's private key, never to be published\n"
EOHUB = Path(sys.executable).with_name("eohub")


# --- helpers -------------------------------------------------------------------------------------------


def write_catalog(folder: Path, assets: dict[str, Any], links: list[dict[str, Any]] | None = None) -> Path:
    """``folder/catalog.json`` (license MIT) with one item ``x.json`` holding ``assets`` and ``links``."""
    folder.mkdir(parents=True, exist_ok=True)
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "x",
        "geometry": None,
        "properties": {"datetime": "2024-01-01T00:00:00Z"},
        "links": [{"rel": "root", "href": "./catalog.json"}, *(links or [])],
        "assets": assets,
    }
    (folder / "x.json").write_text(json.dumps(item))
    catalog = {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": "hostile",
        "description": "a downloaded catalog",
        "license": "MIT",
        "links": [{"rel": "root", "href": "./catalog.json"}, {"rel": "item", "href": "./x.json"}],
    }
    (folder / "catalog.json").write_text(json.dumps(catalog))
    return folder


def write_secret(path: Path, data: bytes = SECRET) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def hub(inprocess_hub: InProcessHub) -> InProcessHub:
    return inprocess_hub


@pytest.fixture
def alice(hub: InProcessHub) -> Iterator[RemoteRepository]:
    with RemoteRepository(hub.url, hub.token("alice")) as repo:
        yield repo


def hub_holds(hub: InProcessHub, data: bytes) -> bool:
    return open_store(hub.settings.storage, hub.settings.s3_endpoint).exists(sha256(data))


def assert_nothing_stored(hub: InProcessHub, alice: RemoteRepository, data: bytes = SECRET) -> None:
    assert alice.list("dataset") == [] and alice.list("model") == []
    assert not hub_holds(hub, data)


def refused(alice: RemoteRepository, folder: Path, *needles: str, **kwargs: Any) -> str:
    """Ingest ``folder``; it must be refused in one line naming each of ``needles``; the message."""
    with pytest.raises(UsageError) as err:
        alice.ingest("dataset", folder, **kwargs)
    message = str(err.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    return message


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory: ``tmp_path/work``; files of the attacks sit in ``tmp_path/elsewhere``."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


# --- attacks -------------------------------------------------------------------------------------------


def test_absolute_path_elsewhere_is_refused(hub, alice, work: Path, tmp_path: Path) -> None:
    secret = write_secret(tmp_path / "elsewhere" / "id_rsa")
    folder = write_catalog(work / "cat", {"key": {"href": str(secret)}})
    refused(alice, folder, "x.json", repr(str(secret)), "allow_outside=[")
    assert_nothing_stored(hub, alice)


@pytest.mark.parametrize(
    "form", ["file:///{path}", "file:/{path}", "file://localhost/{path}", "FILE:///{path}"]
)
def test_file_url_outside_the_roots_is_refused(hub, alice, work: Path, tmp_path: Path, form: str) -> None:
    secret = write_secret(tmp_path / "elsewhere" / "passwd")
    href = form.format(path=str(secret).lstrip("/"))
    refused(alice, write_catalog(work / "cat", {"a": {"href": href}}), repr(href), "allow_outside=[")
    assert_nothing_stored(hub, alice)


@pytest.mark.parametrize(
    ("href", "reason"),
    [
        ("file://fileserver/{path}", "another host"),
        ("file:///{path}?x=1", "query or fragment"),
        ("file:elsewhere/passwd", "absolute path"),
        ("file://[::1/x", "not a valid file: URL"),
    ],
)
def test_file_url_of_another_host_or_odd_form_is_refused(
    hub, alice, work: Path, tmp_path: Path, href: str, reason: str
) -> None:
    secret = write_secret(tmp_path / "elsewhere" / "passwd")
    href = href.format(path=str(secret).lstrip("/"))
    refused(alice, write_catalog(work / "cat", {"a": {"href": href}}), reason)
    assert_nothing_stored(hub, alice)


def test_dotdot_beyond_the_folder_and_outside_the_current_directory_is_refused(
    hub, alice, work: Path, tmp_path: Path
) -> None:
    write_secret(tmp_path / "elsewhere" / "secret.txt")
    folder = write_catalog(work / "cat", {"a": {"href": "../../elsewhere/secret.txt"}})
    refused(alice, folder, "'../../elsewhere/secret.txt'", "allow_outside=[")
    assert_nothing_stored(hub, alice)


def test_symlink_in_the_folder_leaving_it_is_refused(hub, alice, work: Path, tmp_path: Path) -> None:
    secret = write_secret(tmp_path / "elsewhere" / "secret.txt")
    folder = work / "q0"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"weights")
    (folder / "notes.txt").symlink_to(secret)  # met while walking the folder
    refused(alice, folder, "notes.txt", f"a symbolic link to {secret}", "allow_outside=[", name="sym-q0")
    assert_nothing_stored(hub, alice)


def test_asset_through_a_symlink_leaving_the_folder_is_refused(
    hub, alice, work: Path, tmp_path: Path
) -> None:
    secret = write_secret(tmp_path / "elsewhere" / "keys" / "secret.txt")
    folder = write_catalog(work / "cat", {"a": {"href": "data/secret.txt"}})
    (folder / "data").symlink_to(secret.parent, target_is_directory=True)  # not entered by the walk
    refused(alice, folder, "'data/secret.txt'", f"a symbolic link to {secret}")
    assert_nothing_stored(hub, alice)


def test_directory_href_outside_the_folder_is_refused(hub, alice, work: Path) -> None:
    photos = write_secret(work / "photos" / "holiday.jpg").parent  # under the current directory
    folder = write_catalog(work / "cat", {"all": {"href": "../photos"}})
    refused(alice, folder, "'../photos'", "is a folder", f"allow_outside={[str(photos)]!r}")
    assert_nothing_stored(hub, alice)


def _ingest_in_thread(alice: RemoteRepository, folder: Path) -> BaseException | None:
    """Ingest ``folder`` on a thread; the exception it raised (the test fails if it is still reading)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            alice.ingest("dataset", folder, name="fifo-test")
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "ingest blocked reading a FIFO"
    return outcome[0]


@pytest.mark.parametrize("where", ["in the folder", "as an asset under the current directory"])
def test_fifo_is_refused_without_being_opened(hub, alice, work: Path, where: str) -> None:
    in_folder = where == "in the folder"
    folder = write_catalog(work / "cat", {} if in_folder else {"a": {"href": "../pipe"}})
    pipe = folder / "pipe" if in_folder else work / "pipe"
    os.mkfifo(pipe)
    try:
        exc = _ingest_in_thread(alice, folder)
    finally:  # release a reader the old code left blocked in open()
        try:
            os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
    assert isinstance(exc, UsageError) and "is a FIFO" in str(exc), exc
    assert_nothing_stored(hub, alice, b"")


def test_device_is_refused_even_when_allowed(hub, alice, work: Path) -> None:
    folder = write_catalog(work / "cat", {"a": {"href": "/dev/null"}})
    refused(alice, folder, "'/dev/null'", "is a device", allow_outside=["/dev"])
    assert_nothing_stored(hub, alice, b"")


def test_hidden_folder_outside_the_folder_is_refused(hub, alice, tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"  # the user runs eohub from their home folder
    write_secret(home / ".ssh" / "id_ed25519")
    folder = write_catalog(home / "Downloads" / "cat", {"key": {"href": "../../.ssh/id_ed25519"}})
    monkeypatch.chdir(home)
    refused(alice, folder, "'../../.ssh/id_ed25519'", "hidden", "(.ssh)", "allow_outside=[")
    assert_nothing_stored(hub, alice)


def test_thumbnail_pointing_at_the_hub_credentials_is_refused(
    hub, alice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # EOHUB_HOME not hidden and under the current directory: only the EOHUB_HOME rule can stop this.
    monkeypatch.setenv("EOHUB_HOME", str(tmp_path / "eohub-home"))
    monkeypatch.chdir(tmp_path)
    credentials = store_token(load_settings(), hub.url, hub.token("alice"))
    data = credentials.read_bytes()
    folder = write_catalog(
        tmp_path / "Downloads" / "cat",
        {"thumbnail": {"href": "../../eohub-home/credentials.json", "roles": ["thumbnail"]}},
    )
    message = refused(alice, folder, "'thumbnail'", "'../../eohub-home/credentials.json'", "EOHUB_HOME")
    assert hub.token("alice") not in message
    refused(alice, folder, "EOHUB_HOME", allow_outside=[credentials.parent])  # never allowed
    assert_nothing_stored(hub, alice, data)


def test_link_to_a_catalog_outside_the_folder_is_refused(hub, alice, work: Path, tmp_path: Path) -> None:
    write_secret(tmp_path / "elsewhere" / "secret.txt")
    write_catalog(tmp_path / "elsewhere", {"a": {"href": "secret.txt"}})
    folder = write_catalog(work / "cat", {})
    catalog = json.loads((folder / "catalog.json").read_text())
    catalog["links"].append({"rel": "child", "href": "../../elsewhere/catalog.json"})
    (folder / "catalog.json").write_text(json.dumps(catalog))
    refused(alice, folder, "catalog.json", "'../../elsewhere/catalog.json'", "allow_outside=[")
    assert_nothing_stored(hub, alice)


def test_file_swapped_for_a_symlink_after_its_check_is_not_read(
    hub, alice, work: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = write_secret(tmp_path / "elsewhere" / "secret.txt")
    folder = work / "q0"
    write_secret(folder / "weights.bin", b"weights")
    check = scan_module.Confinement.check

    def check_then_swap(self: Any, path: Path, *args: Any, **kwargs: Any) -> Any:
        checked = check(self, path, *args, **kwargs)
        if path.name == "weights.bin":
            path.unlink()
            path.symlink_to(secret)
        return checked

    monkeypatch.setattr(scan_module.Confinement, "check", check_then_swap)
    refused(alice, folder, "weights.bin", name="swapped")
    assert_nothing_stored(hub, alice)


# --- what is still read ---------------------------------------------------------------------------------


def test_tutorial_model_beside_the_catalog_folder_is_read_and_listed(hub, alice, work: Path) -> None:
    model = write_secret(work / "data" / "EuroSAT-RGB" / "v1" / "model.onnx", b"onnx bytes")
    folder = write_catalog(work / "data" / "EuroSAT-RGB" / "STAC", {"model": {"href": str(model)}})
    result = alice.ingest("dataset", folder, name="EuroSAT-RGB")
    assert result.version == 1 and result.outside == [str(model)]
    assert hub_holds(hub, b"onnx bytes")
    assert (
        alice.manifest("dataset", "EuroSAT-RGB").documents["x.json"]["assets"]["model"]["href"]
        == "model.onnx"
    )


def test_allow_outside_reads_the_file_and_the_command_lists_it(work: Path, tmp_path: Path) -> None:
    secret = write_secret(tmp_path / "elsewhere" / "shared" / "labels.csv", b"a,b\n")
    folder = write_catalog(work / "cat", {"labels": {"href": str(secret)}})
    refused_run = run_eohub("datasets", "ingest", str(folder))
    assert refused_run.returncode == 2 and str(secret) in refused_run.stderr
    done = run_eohub("datasets", "ingest", str(folder), "--allow-outside", str(secret.parent))
    assert done.returncode == 0, done.stderr
    assert f"read from outside the folder: {secret}\n" in done.stderr
    with open_embedded(user="alice") as repo:
        assert repo.manifest("dataset", "hostile").file("labels.csv").sha256 == sha256(b"a,b\n")


# --- the command line: one line, a non-zero exit, no traceback ------------------------------------------


def run_eohub(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``eohub ARGS`` in a process of its own (a command blocked on a FIFO fails the test at ``timeout``)."""
    return subprocess.run(
        [str(EOHUB), *args], capture_output=True, text=True, errors="backslashreplace", timeout=timeout
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def assert_nothing_stored_locally(data: bytes | None = None) -> None:
    with open_embedded(user="alice") as repo:
        assert repo.list("dataset") == []
        with pytest.raises(NotFoundError):
            repo.get("dataset", "hostile")
    assert data is None or not open_store(load_settings().storage).exists(sha256(data))


def test_cli_absolute_path_elsewhere_is_one_line(work: Path, tmp_path: Path) -> None:
    secret = write_secret(tmp_path / "elsewhere" / "id_rsa")
    folder = write_catalog(work / "cat", {"key": {"href": str(secret)}})
    assert_one_line_error(run_eohub("datasets", "ingest", str(folder)), str(secret), "--allow-outside")
    assert_nothing_stored_locally(SECRET)


def test_cli_href_longer_than_the_file_name_limit_is_one_line(work: Path) -> None:
    folder = write_catalog(work / "cat", {"a": {"href": "x" * 5000}})
    assert_one_line_error(run_eohub("datasets", "ingest", str(folder)), "(5000 characters)", "too long")


def test_cli_json_nested_900_deep_is_one_line(work: Path) -> None:
    folder = write_catalog(work / "cat", {})
    deep = '{"a": ' * 900 + "1" + "}" * 900
    item = json.loads((folder / "x.json").read_text())
    (folder / "x.json").write_text(json.dumps(item)[:-1] + f', "deep": {deep}}}')
    assert_one_line_error(run_eohub("datasets", "ingest", str(folder)), "x.json", "nested deeper than 64")
    assert_nothing_stored_locally()


def test_cli_non_utf8_file_name_is_one_line(work: Path) -> None:
    folder = work / "q0"
    write_secret(folder / "weights.bin", b"weights")
    write_secret(Path(os.fsdecode(os.fsencode(folder) + b"/caf\xe9.txt")), b"latin-1 name")
    result = run_eohub("datasets", "ingest", str(folder), "--name", "latin")
    assert_one_line_error(result, "caf\\xe9.txt", "not valid UTF-8")
    assert not open_store(load_settings().storage).exists(sha256(b"weights"))


@pytest.mark.parametrize(
    ("assets", "needle"),
    [
        ({"a": {"href": 5}}, "is not of type 'string'"),  # invalid STAC: listed, then the one-line error
        ({"a": [1, 2]}, "is not of type 'object'"),
        ({"a": {"href": "file://[::1/x"}}, "not a valid file: URL"),
        ({"a": {"href": "file:model.onnx"}}, "absolute path"),
        ({"a": {"href": "a\u0000b"}}, "NUL"),
        ({"a": {"href": "loop"}}, "cannot be resolved"),
    ],
)
def test_cli_malformed_hrefs_are_errors_not_tracebacks(work: Path, assets: dict, needle: str) -> None:
    folder = write_catalog(work / "cat", assets)
    if needle == "cannot be resolved":
        os.symlink("loop", folder / "loop")
    result = CliRunner().invoke(app, ["datasets", "ingest", str(folder)])
    assert result.exit_code in (1, 2) and isinstance(result.exception, SystemExit), result.exception
    assert result.stderr.splitlines()[-1].startswith("error: ") and needle in result.stderr


@pytest.mark.parametrize("kind", ["fifo", "folder", "symlink outside"])
def test_cli_catalog_json_that_is_not_a_file_is_refused(work: Path, tmp_path: Path, kind: str) -> None:
    folder = work / "cat"
    folder.mkdir()
    if kind == "fifo":
        os.mkfifo(folder / "catalog.json")
    elif kind == "folder":
        write_secret(folder / "catalog.json" / "inner.txt", b"inner")  # a plain folder: stored as Q0
    else:
        (folder / "catalog.json").symlink_to(write_secret(tmp_path / "elsewhere" / "c.json", b"{}"))
    result = run_eohub("datasets", "ingest", str(folder), "--name", "odd-catalog", timeout=60)
    if kind == "folder":
        assert result.returncode == 0, result.stderr
    else:
        assert_one_line_error(result, "catalog.json")
