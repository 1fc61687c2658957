"""The ``eohub`` command line: thin Typer commands over the Python API.

Typer 0.29's rich help shows the type of every flag (``--quiet <bool>``, ``--help <bool>``), which its plain
help and Typer 0.28 do not: a flag takes no value. :func:`_flags_show_no_type` restores the standard look
for every command, whichever module a test or the console script imports first.
"""

from __future__ import annotations

from typer.core import TyperOption


def _flags_show_no_type() -> None:
    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "_eohub", False):  # another Typer, or done already
        return

    def display_type_rich(self: TyperOption, ctx: object) -> str | None:
        if self.is_flag and self.metavar is None:
            return None
        return shown(self, ctx)  # type: ignore[arg-type]

    display_type_rich._eohub = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_show_no_type()
