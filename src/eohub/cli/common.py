"""What every CLI command shares: turning eohub errors into one-line messages and exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

import typer

from eohub.errors import EohubError, UsageError

EXIT_INVALID = 1
EXIT_USAGE = 2


class OutputFormat(str, Enum):  # noqa: UP042 - Typer choices
    """How a command prints its result."""

    text = "text"
    json = "json"


def fail(message: str, code: int = EXIT_INVALID) -> typer.Exit:
    """Print ``error: message`` to stderr and return the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn :class:`EohubError` into a one-line message: exit 2 for usage errors, 1 otherwise."""
    try:
        yield
    except UsageError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    except EohubError as exc:
        raise fail(str(exc), EXIT_INVALID) from None
    except KeyboardInterrupt:
        raise fail("interrupted", 130) from None


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
