"""Metrics JSON read back (stored with a version, or sent by a hub): each value coerced to its type.

Nothing here raises: a value of the wrong type reads as empty (``0``, ``None``, ``""``, ``[]``, ``{}``),
text and lists are cut at their bounds (:data:`MAX_TEXT`, :data:`MAX_ID_CHARS`, :data:`MAX_LISTED`), and
numbers that are not finite are dropped, so hostile or malformed metrics cost bounded memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

MAX_LISTED = 100
MAX_ID_CHARS = 200
MAX_TEXT = 1000
ClassValue = str | int | float | None

LINE_BREAKS = str.maketrans({c: c.encode("unicode_escape").decode() for c in "\n\r\x0b\x0c\x85\u2028\u2029"})


def one_line(text: str) -> str:
    """``text`` with its line breaks written as escapes: a class name or an item id (other users' words)
    never starts a line of its own where the metrics are printed."""
    return text.translate(LINE_BREAKS)


def item_id(value: Any) -> str:
    """An item id as stored: text, cut at :data:`MAX_ID_CHARS` characters."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_ID_CHARS else text[: MAX_ID_CHARS - 1] + "…"


def as_count(value: Any) -> int:
    """A count: a non-negative integer (a finite float is truncated); anything else ``0``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return max(0, value)
    if not isinstance(value, float) or not math.isfinite(value):
        return 0
    return max(0, int(value))


def as_float(value: Any) -> float | None:
    """A finite float, or ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value) if not isinstance(value, int) or abs(value) < 2**1000 else math.inf
    return number if math.isfinite(number) else None


def as_text(value: Any, limit: int = MAX_TEXT) -> str:
    """Text (``None`` reads as ``""``), cut at ``limit`` characters."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text[:limit]


def as_list(value: Any, limit: int) -> list[Any]:
    """A list cut at ``limit`` entries; anything else ``[]``."""
    return value[:limit] if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    """A dict, or ``{}``."""
    return value if isinstance(value, dict) else {}


def as_class_value(value: Any) -> ClassValue:
    """A class or label value as the labels hold it: text, an exact integer, a finite float or ``None``."""
    if value is None or isinstance(value, str):
        return as_text(value, MAX_ID_CHARS) if value is not None else None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int) and abs(value) < 2**53:
        return value
    number = as_float(value)
    return number if number is not None else as_text(value, MAX_ID_CHARS)


def as_splits(value: Any, convert: Callable[[Any], Any]) -> dict[str, Any]:
    """A mapping of split name to ``convert``-ed value, at most :data:`MAX_LISTED` splits."""
    return {as_text(k, 64): convert(v) for k, v in list(as_dict(value).items())[:MAX_LISTED]}
