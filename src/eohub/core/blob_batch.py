"""Many small blobs in one body: ``POST /api/uploads/batch`` sends them, ``POST .../files`` answers them.

A thousand small files sent one ``PATCH`` (or fetched one ``GET``) each cost a thousand round trips, and on
the hub a thousand requests, checks and transactions. A batch carries them together::

    {"blobs": [["<sha256>", <length>], ...]}\\n<the bytes of each blob, in that order>

One line of JSON names the blobs and their lengths; the bytes follow, back to back, and must add up to
exactly the lengths named. :func:`encode_head` writes the line, :func:`decode` reads a whole body with every
bound checked before anything is sliced. Whoever receives a batch hashes each blob itself: on upload the
hub (a batch proves possession of exactly the blobs whose bytes match), on download the client.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from eohub.core.jsonbounds import loads_bounded
from eohub.errors import LimitError, UsageError

MAX_BLOBS = 1_000
"""Blobs of one batch."""
MAX_HEAD_BYTES = 96 * 1024
"""The JSON line naming them (a thousand digests and lengths take about 80 KB)."""
HEAD_DEPTH = 3
"""``{"blobs": [["<sha256>", <length>], ...]}`` nests three levels."""
MEDIA_TYPE = "application/vnd.eohub.blob-batch"


def encode_head(blobs: Sequence[tuple[str, int]]) -> bytes:
    """The first line of a batch naming ``blobs`` (digest, length), newline included."""
    return json.dumps({"blobs": [[d, n] for d, n in blobs]}, separators=(",", ":")).encode() + b"\n"


def head_bytes(count: int) -> int:
    """An upper bound of :func:`encode_head`'s size for ``count`` blobs."""
    return 16 + count * 80


def decode(body: bytes) -> list[tuple[str, memoryview]]:
    """The blobs of a batch body as (digest as sent, its bytes); :class:`UsageError` for anything else.

    Digests are returned as sent: the caller checks each (and its bytes) itself."""
    end = body.find(b"\n", 0, MAX_HEAD_BYTES + 1)
    if end < 0:
        raise UsageError(f"a batch starts with one line of JSON of at most {MAX_HEAD_BYTES} bytes")
    try:
        head = loads_bounded(body[:end], MAX_HEAD_BYTES, HEAD_DEPTH, "the first line of a batch")
    except LimitError:
        raise UsageError(f"the first line of a batch nests deeper than {HEAD_DEPTH} levels") from None
    listed = head.get("blobs") if isinstance(head, dict) else None
    if not isinstance(listed, list) or len(listed) > MAX_BLOBS:
        raise UsageError(f'a batch names at most {MAX_BLOBS} blobs in "blobs"')
    lengths: list[tuple[str, int]] = []
    for item in listed:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
            raise UsageError('each blob of a batch is ["<sha256>", <length>]')
        length = item[1]
        if not isinstance(length, int) or isinstance(length, bool) or length < 0:
            raise UsageError("the length of a blob in a batch is a whole number of bytes")
        lengths.append((item[0], length))
    if len({d for d, _ in lengths}) != len(lengths):
        raise UsageError("a batch names a blob twice")
    data = memoryview(body)[end + 1 :]
    if sum(n for _, n in lengths) != len(data):
        raise UsageError(
            f"a batch carries {len(data)} bytes after its first line, not the "
            f"{sum(n for _, n in lengths)} its blobs add up to"
        )
    blobs, at = [], 0
    for digest, length in lengths:
        blobs.append((digest, data[at : at + length]))
        at += length
    return blobs
