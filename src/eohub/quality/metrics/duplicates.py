"""Exact duplicates: items whose local assets are the same files (the same multiset of SHA-256s).

Each item's 16-byte key of its sorted asset digests goes to the metrics' spill store (:mod:`.spill`); the
groups are the keys shared by several items (SQL over an index built at the end, never a dict of every
key). Items without local assets have nothing to compare and are left out.
"""

from __future__ import annotations

import hashlib

from eohub.quality.metrics.shape import MAX_LISTED
from eohub.quality.metrics.spill import Spill

_LISTED = """
SELECT key FROM (
    SELECT key, n, row_number() OVER (PARTITION BY key ORDER BY n) AS k,
        sum({member}) OVER (PARTITION BY key) AS members
    FROM items WHERE key IS NOT NULL
) WHERE k = 2 AND members >= 2 ORDER BY n LIMIT {limit}
"""


def assets_key(digests: list[str]) -> bytes | None:
    """The key of an item's asset digests (``None`` without any)."""
    if not digests:
        return None
    return hashlib.blake2b("\n".join(sorted(digests)).encode(), digest_size=16).digest()


def identical(spill: Spill, rank: int | None) -> tuple[int, int, list[list[str]]]:
    """``(items repeating an earlier one, groups, the first groups' ids)`` among items of ``rank`` (all
    items for ``None``); groups are listed in the order their second item came."""
    where = "" if rank is None else f"AND rank = {int(rank)}"
    spill.write("CREATE INDEX items_key ON items (key, n) WHERE key IS NOT NULL")
    count, copies = next(
        spill.rows(
            "SELECT count(*), coalesce(sum(c - 1), 0) FROM "
            f"(SELECT count(*) AS c FROM items WHERE key IS NOT NULL {where} GROUP BY key HAVING c >= 2)"
        )
    )
    member = "1" if rank is None else f"rank = {int(rank)}"
    keys = [k for (k,) in spill.rows(_LISTED.format(member=member, limit=MAX_LISTED))]
    listed = [
        [
            i
            for (i,) in spill.rows(
                f"SELECT id FROM items WHERE key = ? {where} ORDER BY n LIMIT ?", (k, MAX_LISTED)
            )
        ]
        for k in keys
    ]
    return copies, count, listed
