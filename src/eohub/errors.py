"""Named exceptions raised by eohub's Python API.

Every error a user can cause is an :class:`EohubError`; the CLI turns them into a one-line
message and a non-zero exit code, the server into an HTTP 4xx with a ``detail``.

A message that says which argument would change the outcome names the Python argument
(``pass overwrite=True``) and lists it in ``arguments``; the command line shows its flag instead
(``pass --overwrite``), so each face speaks its own language.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Argument:
    """A Python argument an error message names: ``str()`` is how Python spells it (``overwrite=True``,
    ``allow_outside=['/data']``, ``name=...`` for "some value"); the CLI maps ``name`` to its flag."""

    name: str
    value: object = True

    def __str__(self) -> str:
        return f"{self.name}=..." if self.value is ... else f"{self.name}={self.value!r}"


class EohubError(Exception):
    """Base class of every error eohub raises on purpose; ``arguments`` are the :class:`Argument` objects
    its message names (spelled as ``str(argument)``)."""

    arguments: tuple[Argument, ...] = ()

    def __init__(self, *args: object, arguments: Sequence[Argument] = ()) -> None:
        super().__init__(*args)
        if arguments:
            self.arguments = tuple(arguments)


FLAGS = {
    "force": "--overwrite",  # the Python API keeps the tutorial's force=True
    "overwrite": "--overwrite",
    "allow_outside": "--allow-outside",
    "allow_invalid": "--allow-invalid",
    "allow_code": "--allow-code",
    "name": "--name",
}
"""The command-line flag of each Python argument that an error message may name."""


def flag(argument: Argument) -> str:
    """How the command line spells ``argument``: ``--overwrite``, ``--allow-outside /data``, ``--name``."""
    option = FLAGS.get(argument.name, "--" + argument.name.replace("_", "-"))
    value = argument.value
    if value is True or value is ...:
        return option
    if isinstance(value, list | tuple):
        return " ".join(f"{option} {shlex.quote(str(v))}" for v in value)
    return f"{option} {shlex.quote(str(value))}"


def cli_message(exc: EohubError) -> str:
    """The message of ``exc`` as the command line says it: each Python argument it names spelled as its
    flag (what ``eohub`` prints after ``error:``, and a hub job's failure reason)."""
    message = str(exc)
    for argument in exc.arguments:
        message = message.replace(str(argument), flag(argument))
    return message


class UsageError(EohubError):
    """The caller asked for something impossible: a missing file, a document that is not JSON."""


class SchemaNotAvailableError(EohubError):
    """A JSON schema is referenced that is not shipped with eohub (validation never uses the network)."""


class ModelGraphError(EohubError):
    """A model file cannot be read as an ONNX graph."""


class MigrationError(EohubError):
    """An MLM document cannot be migrated automatically; the message says which fields need a human."""


class InvalidNameError(EohubError):
    """A model or dataset name breaks the naming rules (letters, digits, '-', 3 to 64 characters)."""


class NotFoundError(EohubError):
    """A model, dataset, version or file does not exist (or is not visible to the caller)."""


class AlreadyExistsError(EohubError):
    """The target exists and the operation would overwrite it without being asked to."""


class InvalidStacError(EohubError):
    """STAC metadata failed validation; ``problems`` holds the validator's messages."""

    def __init__(
        self, message: str, problems: list[str] | None = None, arguments: Sequence[Argument] = ()
    ) -> None:
        super().__init__(message, arguments=arguments)
        self.problems = problems or []


class IntegrityError(EohubError):
    """Stored or transferred bytes do not match their recorded SHA-256."""


class PermissionDeniedError(EohubError):
    """The caller is authenticated but may not change this repository."""


class AuthenticationError(EohubError):
    """A token is missing or invalid."""


class InferenceError(EohubError):
    """A model cannot be run on the given input (bands missing, bad data type, contradictory metadata)."""


class BusyError(EohubError):
    """The resource is held by another request for longer than a request may wait; try again."""


class LimitError(EohubError):
    """The input is larger than a bound allows; the message names the bound and its setting."""


class TransferError(EohubError):
    """No hub answers at the URL, or a transfer broke off even after retries; run it again to resume."""
