"""What every CLI command shares: eohub errors as one-line messages in CLI terms, and exit codes;
the ``--overwrite`` option every command that writes an output has."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Any

import typer

from eohub.errors import FLAGS, EohubError, UsageError, cli_message, flag  # noqa: F401 - the CLI's names

EXIT_INVALID = 1
EXIT_USAGE = 2


class OutputFormat(str, Enum):  # noqa: UP042 - Typer choices
    """How a command prints its result."""

    text = "text"
    json = "json"


_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: object) -> str:
    """``text`` safe for a terminal: control characters (ESC, carriage return, C1 codes) and bidi
    overrides, which another user's metadata or a hostile hub could use to rewrite what is shown or set
    the clipboard, are written as visible escapes (``\\x1b``); newlines and tabs stay."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def echo(text: object = "", err: bool = False) -> None:
    """``typer.echo`` of :func:`printable` text: every CLI line goes through here."""
    typer.echo(printable(text), err=err)


def fail(message: str, code: int = EXIT_INVALID) -> typer.Exit:
    """Print ``error: message`` (one line: newlines become spaces) to stderr; return the exit to raise."""
    echo(f"error: {' '.join(str(message).splitlines())}", err=True)
    return typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn :class:`EohubError` into a one-line message in CLI terms: exit 2 for usage errors, 1 otherwise."""
    try:
        yield
    except UsageError as exc:
        raise fail(cli_message(exc), EXIT_USAGE) from None
    except EohubError as exc:
        raise fail(cli_message(exc), EXIT_INVALID) from None
    except KeyboardInterrupt:
        raise fail("interrupted", 130) from None


ForceOption = Annotated[bool, typer.Option("--force", hidden=True, help="Deprecated: --overwrite.")]
"""``--force``, the old name of ``--overwrite`` (commands that write outputs keep them unless told, as
``rio`` does): still accepted so scripts keep working, hidden from help."""


def overwriting(overwrite: bool, force: bool) -> bool:
    """``--overwrite`` or its deprecated alias ``--force`` (which says so on stderr)."""
    if force:
        echo("warning: --force is deprecated; use --overwrite", err=True)
    return overwrite or force


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
