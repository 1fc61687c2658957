"""JSON from elsewhere, bounded: size checked before parsing, nesting checked without recursion.

``json.loads`` recurses once per level of nesting: a few thousand ``[`` raise ``RecursionError`` (and
code that later walks the value recursively fails the same way). :func:`loads_bounded` turns both an
oversized text and too deep a nesting into :class:`~eohub.errors.LimitError` naming the bound, and
malformed JSON into :class:`~eohub.errors.UsageError`.
"""

from __future__ import annotations

import json
from typing import Any

from eohub.errors import LimitError, UsageError


def depth(value: Any, limit: int) -> int:
    """The nesting depth of a parsed JSON value (a scalar is 0), counted without recursion; stops
    and returns ``limit + 1`` as soon as the value is deeper than ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        level += 1
        if level > limit:
            return level
        deepest = max(deepest, level)
        stack.extend((child, level) for child in children if isinstance(child, dict | list))
    return deepest


def check_depth(value: Any, limit: int, what: str = "JSON") -> Any:
    """Return ``value`` if it nests at most ``limit`` levels, else raise :class:`LimitError`."""
    if depth(value, limit) > limit:
        raise LimitError(f"{what} nests deeper than {limit} levels (EOHUB_MAX_JSON_DEPTH)")
    return value


def loads_bounded(text: str | bytes, max_bytes: int, max_depth: int, what: str = "JSON") -> Any:
    """Parse ``text`` if it is at most ``max_bytes`` long and nests at most ``max_depth`` levels."""
    if len(text) > max_bytes:
        raise LimitError(f"{what} is larger than {max_bytes} bytes")
    try:
        value = json.loads(text)
    except RecursionError:
        raise LimitError(f"{what} nests deeper than {max_depth} levels (EOHUB_MAX_JSON_DEPTH)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{what} is not valid JSON: {exc}") from None
    return check_depth(value, max_depth, what)
