"""HTML fragments for notebooks (``_repr_html_``): self-contained, every value escaped.

Jupyter shows an object's ``_repr_html_`` inside the user's page, so a fragment here loads nothing (no
external CSS, fonts or JavaScript: inline styles only) and every value goes through
:func:`markupsafe.escape`: names, descriptions, reasons, band and class names come from other people's
metadata. Fragments are :class:`~markupsafe.Markup`, so a fragment nests in another without being escaped
twice, and ``Markup(template).format(...)`` escapes its arguments. Long text and long lists are cut
(``MAX_TEXT``, ``MAX_ROWS``) with a line saying how much was left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from markupsafe import Markup, escape

MAX_TEXT = 2000
MAX_ROWS = 100

QUALITY_COLOURS = {0: "#8a5a00", 1: "#5a5f00", 2: "#1f6b2e", 3: "#0b5cad"}  # the web page's
FRAME = "font-family:system-ui,sans-serif;font-size:13px;line-height:1.4;max-width:60rem"
CELL = "text-align:left;vertical-align:top;padding:2px 8px;border-bottom:1px solid #ddd"
MUTED = "color:#666"
TABLE = "border-collapse:collapse;margin:0.3em 0;font-size:inherit"


def text(value: Any, limit: int = MAX_TEXT) -> Markup:
    """``value`` escaped; a string longer than ``limit`` is shortened with ``…``. Markup passes as it is."""
    if isinstance(value, Markup):
        return value
    value = "" if value is None else str(value)
    return escape(value if len(value) <= limit else value[: limit - 1] + "…")


def code(value: Any) -> Markup:
    return Markup("<code>{}</code>").format(text(value))


def muted(value: Any) -> Markup:
    return Markup('<span style="{}">{}</span>').format(MUTED, text(value))


def heading(value: Any, level: int = 4) -> Markup:
    return Markup('<h{0} style="margin:0.8em 0 0.3em">{1}</h{0}>').format(level, text(value))


def paragraph(value: Any) -> Markup:
    return Markup('<p style="margin:0.3em 0">{}</p>').format(text(value))


def badge(label: Any, colour: str = "#555", filled: bool = False) -> Markup:
    """A rounded label; ``colour`` must be one of this package's constants, never a user's value."""
    style = f"display:inline-block;padding:0 6px;border-radius:9px;border:1px solid {colour};font-weight:600;"
    style += f"color:#fff;background:{colour}" if filled else f"color:{colour}"
    return Markup('<span style="{}">{}</span>').format(style, text(label))


def quality_badge(level: int) -> Markup:
    return badge(f"Q{level}", QUALITY_COLOURS.get(level, "#555"), filled=level == 3)


def swatch(colour: str) -> Markup:
    """A colour square for a ``#rrggbb`` value the caller has checked (:data:`eohub.mlm.card.COLOR_HINT`)."""
    return Markup(
        '<span style="display:inline-block;width:12px;height:12px;border:1px solid #999;background:{}">'
        "</span> {}"
    ).format(colour, code(colour))


def _more(total: int, shown: int, what: str) -> Markup:
    return paragraph(muted(f"… and {total - shown} more {what}")) if total > shown else Markup("")


def bullets(values: Iterable[Any], limit: int = MAX_ROWS, what: str = "") -> Markup:
    """A list; past ``limit`` entries, a line says how many more there are."""
    values = list(values)
    rows = Markup("").join(Markup("<li>{}</li>").format(text(v)) for v in values[:limit])
    return Markup('<ul style="margin:0.3em 0;padding-left:1.4em">{}</ul>{}').format(
        rows, _more(len(values), limit, what)
    )


def facts(rows: Iterable[tuple[str, Any]]) -> Markup:
    """Label / value rows; rows whose value is empty (``""``, ``None``, ``[]``) are left out."""
    body = Markup("").join(
        Markup('<tr><th style="{0};{1}">{2}</th><td style="{0}">{3}</td></tr>').format(
            CELL, MUTED, label, text(", ".join(map(str, value)) if isinstance(value, list) else value)
        )
        for label, value in rows
        if value not in ("", None, [])
    )
    return Markup('<table style="{}">{}</table>').format(TABLE, body)


def table(
    header: Sequence[str], rows: Iterable[Sequence[Any]], limit: int = MAX_ROWS, what: str = ""
) -> Markup:
    """A table with a header row; past ``limit`` rows, a line says how many more there are."""
    rows = list(rows)
    head = Markup("").join(Markup('<th style="{}">{}</th>').format(CELL, h) for h in header)
    body = Markup("").join(
        Markup("<tr>{}</tr>").format(
            Markup("").join(Markup('<td style="{}">{}</td>').format(CELL, text(c)) for c in row)
        )
        for row in rows[:limit]
    )
    return Markup('<table style="{}"><tr>{}</tr>{}</table>{}').format(
        TABLE, head, body, _more(len(rows), limit, what)
    )


def frame(*parts: Markup) -> str:
    """The outermost ``<div>`` of a ``_repr_html_``, as the string Jupyter expects."""
    return str(Markup('<div class="eohub" style="{}">{}</div>').format(FRAME, Markup("").join(parts)))
