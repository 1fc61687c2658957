"""Near duplicates and split leakage: pairs of items whose footprints overlap, touch or lie close.

Footprints are the items' lon/lat bboxes (chips are rectangles; a bbox is what every item has). Each
item's box goes to the metrics' spill store on disk (:mod:`.spill`) as it passes; at the end an R*Tree over
the boxes is joined with the items, each box grown by the leakage distance, and the candidate pairs are
streamed from SQLite: never every item against every other, and never the pairs or the boxes in memory.
Candidates are counted in chunks of :data:`PAIRS_PER_QUERY` // items boxes; past
``Limits.max_metric_pairs`` candidate pairs (``EOHUB_MAX_METRIC_PAIRS``) the chunk that crossed it is
dropped, the counting stops and is marked truncated.

- **near duplicates**: pairs whose boxes' intersection over union is at least the threshold (two
  identical points count as 1.0);
- **leakage**: pairs in different ``ml-aoi:split`` whose boxes intersect (touching counts) or lie within
  ``distance_m`` metres, measured on the sphere's local scale (111,320 m per degree, longitudes scaled by
  the cosine of the latitude).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from eohub.quality.metrics.items import Sample
from eohub.quality.metrics.shape import (
    MAX_LEAKING_PAIRS,
    MAX_LISTED,
    Duplicates,
    Leakage,
    LeakingPair,
    NearPair,
)
from eohub.quality.metrics.spill import Spill

METERS_PER_DEGREE = 111_320.0
PAIRS_PER_QUERY = 2_000_000
"""Candidate pairs of one chunk of boxes at most (a chunk of boxes against every box): the truncation's
step, as when the chunks were queried in memory."""
LEAKING_BATCH = 20_000
"""Leaking items noted before they are written to the store."""

_CANDIDATES = """
SELECT a.{pos}, a.n, b.n, a.split, b.split, a.x0, a.y0, a.x1, a.y1, b.x0, b.y0, b.x1, b.y1
FROM items AS a CROSS JOIN boxes CROSS JOIN items AS b
WHERE a.x0 IS NOT NULL {rank}
    AND boxes.x0 <= a.x1 + a.gx AND boxes.x1 >= a.x0 - a.gx
    AND boxes.y0 <= a.y1 + :gy AND boxes.y1 >= a.y0 - :gy AND boxes.id > a.n AND b.n = boxes.id
    AND b.x0 <= a.x1 + a.gx AND b.x1 >= a.x0 - a.gx AND b.y0 <= a.y1 + :gy AND b.y1 >= a.y0 - :gy
ORDER BY a.n
"""


@dataclass
class Footprints:
    """Sends each item's box, split, sample rank, id and asset key to the spill store."""

    spill: Spill
    distance_m: float
    split_names: dict[str, int] = field(default_factory=dict)
    problems: dict[str, int] = field(default_factory=dict)
    placed: int = 0
    per_rank: dict[int, int] = field(default_factory=dict)

    def add(self, sample: Sample, key: bytes | None) -> None:
        split = -1
        if sample.split is not None and sample.bbox is not None:
            split = self.split_names.setdefault(sample.split, len(self.split_names))
        if sample.bbox is None:
            self.problems[sample.problem] = self.problems.get(sample.problem, 0) + 1
            self.spill.add((sample.id, sample.rank, split, None, None, None, None, None, None, None, key))
            return
        seq = self.per_rank.get(sample.rank, 0)
        self.per_rank[sample.rank] = seq + 1
        west, south, east, north = sample.bbox
        lat = max(abs(south), abs(north))
        grow_x = (self.distance_m / METERS_PER_DEGREE) / max(math.cos(math.radians(lat)), 1e-6)
        self.spill.add(
            (sample.id, sample.rank, split, self.placed, seq, west, south, east, north, grow_x, key)
        )
        self.placed += 1


@dataclass
class PairResult:
    duplicates: Duplicates
    leakage: Leakage
    examined: int


@dataclass
class _Tally:
    """The counts of the chunks taken so far, and where the current chunk began (to drop it)."""

    near: Duplicates
    leak: Leakage
    near_pairs: list[tuple[int, int, float]] = field(default_factory=list)
    leak_pairs: list[tuple[int, int, int, int, float]] = field(default_factory=list)
    leaking: list[tuple[int, int]] = field(default_factory=list)
    kept: tuple[int, int, int, int] = (0, 0, 0, 0)

    def begin(self) -> None:
        self.kept = (self.near.near, self.leak.count, len(self.near_pairs), len(self.leak_pairs))

    def drop(self, spill: Spill, chunk: int) -> None:
        self.leaking = [entry for entry in self.leaking if entry[1] != chunk]
        self.flush(spill)
        spill.write("DELETE FROM leak WHERE chunk = ?", [(chunk,)])
        self.near.near, self.leak.count, near, leak = self.kept
        del self.near_pairs[near:], self.leak_pairs[leak:]

    def flush(self, spill: Spill) -> None:
        if self.leaking:
            spill.write("INSERT OR IGNORE INTO leak VALUES (?, ?)", self.leaking)
            self.leaking.clear()


def pairs(prints: Footprints, rank: int | None, iou: float, max_pairs: int) -> PairResult:
    """Near duplicates and leakage among the items of ``rank`` (every item for ``None``)."""
    spill, distance_m = prints.spill, prints.distance_m
    names = {i: s for s, i in prints.split_names.items()}
    near = Duplicates(threshold=iou)
    leak = Leakage(distance_m=distance_m)
    where = "" if rank is None else f"AND rank = {int(rank)}"
    split_counts = dict(
        spill.rows(
            f"SELECT split, count(*) FROM items WHERE x0 IS NOT NULL AND split >= 0 {where} "
            "GROUP BY split ORDER BY split"
        )
    )
    leak.splits = {names[i]: n for i, n in split_counts.items()}
    count = prints.placed if rank is None else prints.per_rank.get(rank, 0)
    if count < 2:
        return PairResult(near, leak, 0)
    spill.write("CREATE VIRTUAL TABLE boxes USING rtree(id, x0, x1, y0, y1)")
    spill.write(f"INSERT INTO boxes SELECT n, x0, x1, y0, y1 FROM items WHERE x0 IS NOT NULL {where}")
    step = max(1, PAIRS_PER_QUERY // count)
    tally = _Tally(near, leak)
    sql = _CANDIDATES.format(pos="pos" if rank is None else "seq", rank=where.replace("rank", "a.rank"))
    examined, chunk = 0, -1
    for row in spill.rows(sql, {"gy": distance_m / METERS_PER_DEGREE}):
        position, a, b, split_a, split_b = row[:5]
        if position // step != chunk:
            tally.begin()
            chunk = position // step
        examined += 1
        if examined > max_pairs:
            tally.drop(spill, chunk)
            near.truncated = leak.truncated = True
            break
        _pair(tally, chunk, a, b, split_a, split_b, row[5:9], row[9:13], iou, distance_m)
        if len(tally.leaking) >= LEAKING_BATCH:
            tally.flush(spill)
    tally.flush(spill)
    _listed(spill, tally, names)
    touching = dict(
        spill.rows("SELECT split, count(*) FROM leak JOIN items USING (n) WHERE split >= 0 GROUP BY split")
    )
    if len(split_counts) >= 2:
        leak.items = {names[i]: touching.get(i, 0) for i in split_counts}
        leak.share = {names[i]: round(touching.get(i, 0) / n, 4) for i, n in split_counts.items()}
    return PairResult(near, leak, min(examined, max_pairs))


def _pair(
    tally: _Tally,
    chunk: int,
    a: int,
    b: int,
    split_a: int,
    split_b: int,
    box_a: tuple[float, ...],
    box_b: tuple[float, ...],
    iou: float,
    distance_m: float,
) -> None:
    """One candidate pair: a near duplicate, a leaking pair, both or neither."""
    lo_x, hi_x = max(box_a[0], box_b[0]), min(box_a[2], box_b[2])
    lo_y, hi_y = max(box_a[1], box_b[1]), min(box_a[3], box_b[3])
    inter = max(hi_x - lo_x, 0.0) * max(hi_y - lo_y, 0.0)
    union = (box_a[2] - box_a[0]) * (box_a[3] - box_a[1]) + (box_b[2] - box_b[0]) * (box_b[3] - box_b[1])
    union -= inter
    ratio = inter / union if union > 0 else float(box_a == box_b)
    if ratio >= iou:
        tally.near.near += 1
        if len(tally.near_pairs) < MAX_LISTED:
            tally.near_pairs.append((a, b, ratio))
    if split_a < 0 or split_b < 0 or split_a == split_b:
        return
    metres = metres_between(box_a, box_b)  # type: ignore[arg-type]
    if metres > distance_m + 1e-6:
        return
    tally.leak.count += 1
    tally.leaking += [(a, chunk), (b, chunk)]
    if len(tally.leak_pairs) < MAX_LEAKING_PAIRS:
        tally.leak_pairs.append((a, split_a, b, split_b, metres))


def _listed(spill: Spill, tally: _Tally, names: dict[int, str]) -> None:
    """The listed pairs, with their items' ids."""
    ids = spill.ids(
        [n for a, b, _ in tally.near_pairs for n in (a, b)] + [p[k] for p in tally.leak_pairs for k in (0, 2)]
    )
    tally.near.pairs = [NearPair(ids[a], ids[b], round(r, 4)) for a, b, r in tally.near_pairs]
    tally.leak.pairs = [
        LeakingPair(ids[a], names[sa], ids[b], names[sb], round(m, 3)) for a, sa, b, sb, m in tally.leak_pairs
    ]


def metres_between(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """The gap between two lon/lat boxes in metres (0 when they intersect), as :func:`pairs` measures it."""
    gap_x = max(0.0, max(a[0], b[0]) - min(a[2], b[2]))
    gap_y = max(0.0, max(a[1], b[1]) - min(a[3], b[3]))
    mid = math.radians((a[1] + a[3] + b[1] + b[3]) / 4)
    return math.hypot(gap_x * METERS_PER_DEGREE * math.cos(mid), gap_y * METERS_PER_DEGREE)
