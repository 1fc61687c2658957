"""Exact duplicates: items whose local assets are the same files (the same multiset of SHA-256s).

Each item keeps a 16-byte key of its sorted asset digests: the first item with a key is remembered, later
ones join its group. Items without local assets have nothing to compare and are left out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from eohub.quality.metrics.shape import MAX_LISTED


def assets_key(digests: list[str]) -> bytes | None:
    """The key of an item's asset digests (``None`` without any)."""
    if not digests:
        return None
    return hashlib.blake2b("\n".join(sorted(digests)).encode(), digest_size=16).digest()


@dataclass
class Identical:
    """Accumulates groups of items sharing a key, per sample rank (see :mod:`.items`)."""

    first: dict[bytes, tuple[str, int]] = field(default_factory=dict)
    groups: dict[bytes, list[tuple[str, int]]] = field(default_factory=dict)

    def add(self, key: bytes | None, item: str, rank: int) -> None:
        if key is None:
            return
        found = self.first.get(key)
        if found is None:
            self.first[key] = (item, rank)
        else:
            self.groups.setdefault(key, [found]).append((item, rank))

    def result(self, rank: int | None) -> tuple[int, int, list[list[str]]]:
        """``(items repeating an earlier one, groups, the first groups' ids)`` among items of ``rank``
        (all items for ``None``)."""
        copies = count = 0
        listed: list[list[str]] = []
        for members in self.groups.values():
            ids = [i for i, r in members if rank is None or r == rank]
            if len(ids) < 2:
                continue
            count += 1
            copies += len(ids) - 1
            if len(listed) < MAX_LISTED:
                listed.append(ids[:MAX_LISTED])
        return copies, count, listed
