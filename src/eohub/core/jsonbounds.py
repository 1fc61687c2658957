"""JSON from elsewhere, bounded: size and nesting measured on the text, before any parser sees it.

``json.loads`` recurses once per ``[`` or ``{`` and raises ``RecursionError`` on deep input, and
everything that walks the parsed value recurses too. :func:`json_depth` counts the brackets outside
strings with a few passes of C code, in time linear in the size:

1. escaped backslashes and quotes go (``\\\\`` and ``\\"``: they neither open nor close a string);
2. everything but quotes and brackets goes;
3. adjacent quotes go (two quotes with nothing between them change no bracket's inside-a-string
   parity), so only strings holding brackets are left, and a regular expression removes them;
4. the brackets left are summed, ``+1`` for an opening and ``-1`` for a closing one.

On malformed JSON the count may be too high, never too low for the part a parser reads before failing.
:func:`loads_bounded` checks both bounds and parses, turning each failure into a one-line error.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from eohub.errors import LimitError, UsageError

_STRING = re.compile(rb'"[^"]*"')
_NOT_MARKS = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


def _not_a_number(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:40]} is out of a JSON number's range")
    return number


def _whole(text: str) -> int:
    if len(text) > 300:  # past a float's range (1.8e308): every float() and math.isfinite() would raise
        raise ValueError(f"{text[:40]}... is out of a JSON number's range")
    return int(text)


FINITE: dict[str, Any] = {"parse_constant": _not_a_number, "parse_float": _finite, "parse_int": _whole}
"""``json.loads`` options that refuse numbers outside a float's range: ``NaN``, ``Infinity``, ``1e400``
and 400-digit integers, which Python's parser accepts and nothing downstream (a database, an API
answer, ``math.isfinite``) can hold."""


_SUSPECT = re.compile(r"NaN|Infinity|\d{301}")


def finite_numbers(text: str) -> bool:
    """Whether JSON text as ``json.dumps`` writes it holds only numbers within a float's range (no
    ``NaN``, ``Infinity`` or 301-digit integer): a scan, and a parse only when the scan finds one of
    those words (it may be inside a string)."""
    if _SUSPECT.search(text) is None:
        return True
    try:
        json.loads(text, **FINITE)
    except ValueError:
        return False
    return True


def json_depth(data: bytes | str) -> int:
    """The deepest nesting of arrays and objects in JSON text ``data`` (0 for a scalar, 1 for ``[]``)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    marks = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_MARKS)
    brackets = _STRING.sub(b"", marks.replace(b'""', b""))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def json_values(data: bytes | str) -> int:
    """An upper bound of the arrays, objects and values in JSON text ``data`` (commas and openings,
    strings included): what parsing it may allocate, counted in C without parsing."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return raw.count(b",") + raw.count(b"[") + raw.count(b"{") + 1


def loads_bounded(
    text: str | bytes, max_bytes: int, max_depth: int, what: str = "JSON", max_values: int | None = None
) -> Any:
    """Parse ``text`` if it is at most ``max_bytes`` long, nests at most ``max_depth`` levels and holds at
    most ``max_values`` values (see :func:`json_values`); :class:`~eohub.errors.LimitError` names the bound
    that is exceeded, :class:`UsageError` says why text is not JSON."""
    if len(text) > max_bytes:
        raise LimitError(f"{what} is larger than {max_bytes} bytes")
    if max_values is not None and json_values(text) > max_values:
        raise LimitError(f"{what} holds more than {max_values} arrays, objects and values")
    if json_depth(text) > max_depth:
        raise LimitError(f"{what} nests deeper than {max_depth} levels (EOHUB_MAX_JSON_DEPTH)")
    try:
        return json.loads(text, **FINITE)
    except RecursionError:
        raise LimitError(f"{what} nests deeper than {max_depth} levels (EOHUB_MAX_JSON_DEPTH)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{what} is not valid JSON: {exc}") from None
