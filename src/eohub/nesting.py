"""How deeply JSON text nests, measured without parsing it.

``json.loads`` recurses once per ``[`` or ``{`` and raises ``RecursionError`` on deep input, and
everything that walks the parsed value recurses too. :func:`json_depth` counts the brackets outside
strings with a few passes of C code, in time linear in the size, before any parser sees the text:

1. escaped backslashes and quotes go (``\\\\`` and ``\\"``: they neither open nor close a string);
2. everything but quotes and brackets goes;
3. adjacent quotes go (two quotes with nothing between them change no bracket's inside-a-string
   parity), so only strings holding brackets are left, and a regular expression removes them;
4. the brackets left are summed, ``+1`` for an opening and ``-1`` for a closing one.

On malformed JSON the count may be too high, never too low for the part a parser reads before failing.
"""

from __future__ import annotations

import re
from itertools import accumulate

_STRING = re.compile(rb'"[^"]*"')
_NOT_MARKS = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


def json_depth(data: bytes | str) -> int:
    """The deepest nesting of arrays and objects in ``data`` (0 for a scalar)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    marks = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_MARKS)
    brackets = _STRING.sub(b"", marks.replace(b'""', b""))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)
