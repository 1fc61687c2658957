"""How sizes are shown to people, the same on the command line and in the web pages."""

from __future__ import annotations


def human_size(size: int | None) -> str:
    """``1.5 MB`` (powers of 1000, like the progress bars); ``""`` for an unknown size."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")
