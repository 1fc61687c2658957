"""Near duplicates and split leakage: pairs of items whose footprints overlap, touch or lie close.

Footprints are the items' lon/lat bboxes (chips are rectangles; a bbox is what every item has). The pairs
come from a spatial index (shapely's STRtree over the boxes' envelopes, queried with each box grown by
the leakage distance), never from comparing every item with every other: the cost is the pairs that are
close, not the square of the items. The index is queried a few boxes at a time, so that even boxes that
all overlap (one footprint for every item) cost bounded memory; past ``Limits.max_metric_pairs``
candidate pairs (``EOHUB_MAX_METRIC_PAIRS``) the counting stops and is marked truncated.

- **near duplicates**: pairs whose boxes' intersection over union is at least the threshold (two
  identical points count as 1.0);
- **leakage**: pairs in different ``ml-aoi:split`` whose boxes intersect (touching counts) or lie within
  ``distance_m`` metres, measured on the sphere's local scale (111,320 m per degree, longitudes scaled by
  the cosine of the latitude).
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Any

from eohub.quality.metrics.items import Sample
from eohub.quality.metrics.shape import (
    MAX_LEAKING_PAIRS,
    MAX_LISTED,
    Duplicates,
    Leakage,
    LeakingPair,
    NearPair,
)

METERS_PER_DEGREE = 111_320.0
PAIRS_PER_QUERY = 2_000_000
"""Pairs one index query may return at most (a chunk of boxes against every box): its memory."""


@dataclass
class Footprints:
    """Accumulates each item's box, split and sample rank (a few dozen bytes per item)."""

    boxes: array = field(default_factory=lambda: array("d"))
    splits: array = field(default_factory=lambda: array("h"))
    ranks: array = field(default_factory=lambda: array("b"))
    ids: list[str] = field(default_factory=list)
    split_names: dict[str, int] = field(default_factory=dict)
    problems: dict[str, int] = field(default_factory=dict)

    def add(self, sample: Sample) -> None:
        if sample.bbox is None:
            self.problems[sample.problem] = self.problems.get(sample.problem, 0) + 1
            return
        split = -1
        if sample.split is not None:
            split = self.split_names.setdefault(sample.split, len(self.split_names))
        self.boxes.extend(sample.bbox)
        self.splits.append(split)
        self.ranks.append(sample.rank)
        self.ids.append(sample.id)


@dataclass
class PairResult:
    duplicates: Duplicates
    leakage: Leakage
    examined: int


def pairs(prints: Footprints, rank: int | None, iou: float, distance_m: float, max_pairs: int) -> PairResult:
    """Near duplicates and leakage among the items of ``rank`` (every item for ``None``)."""
    import numpy as np
    import shapely

    boxes = np.frombuffer(prints.boxes, dtype=np.float64).reshape(-1, 4)
    splits = np.frombuffer(prints.splits, dtype=np.int16)
    keep = np.ones(len(splits), bool) if rank is None else np.frombuffer(prints.ranks, np.int8) == rank
    index = np.flatnonzero(keep)
    boxes, splits = boxes[index], splits[index]
    names = {i: s for s, i in prints.split_names.items()}
    near = Duplicates(threshold=iou)
    leak = Leakage(distance_m=distance_m)
    split_counts = np.bincount(splits[splits >= 0], minlength=len(names))
    leak.splits = {names[i]: int(n) for i, n in enumerate(split_counts) if n}
    count = len(index)
    if count < 2:
        return PairResult(near, leak, 0)
    lat = np.maximum(np.abs(boxes[:, 1]), np.abs(boxes[:, 3]))
    grow_y = distance_m / METERS_PER_DEGREE
    grow_x = grow_y / np.maximum(np.cos(np.radians(lat)), 1e-6)
    tree = shapely.STRtree(_diagonals(boxes))
    leaking = np.zeros(count, bool)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    step = max(1, PAIRS_PER_QUERY // count)
    examined = 0
    for start in range(0, count, step):
        chunk, gx = boxes[start : start + step], grow_x[start : start + step]
        grown = np.column_stack(
            [chunk[:, 0] - gx, chunk[:, 1] - grow_y, chunk[:, 2] + gx, chunk[:, 3] + grow_y]
        )
        a, b = tree.query(_diagonals(grown))
        a = a + start
        mine = b > a
        a, b = a[mine], b[mine]
        examined += len(a)
        if examined > max_pairs:
            near.truncated = leak.truncated = True
            break
        lo_x = np.maximum(boxes[a, 0], boxes[b, 0])
        hi_x = np.minimum(boxes[a, 2], boxes[b, 2])
        lo_y = np.maximum(boxes[a, 1], boxes[b, 1])
        hi_y = np.minimum(boxes[a, 3], boxes[b, 3])
        inter = np.clip(hi_x - lo_x, 0, None) * np.clip(hi_y - lo_y, 0, None)
        union = area[a] + area[b] - inter
        same = (boxes[a] == boxes[b]).all(axis=1)
        ratio = np.where(union > 0, inter / np.where(union > 0, union, 1), same.astype(float))
        close = ratio >= iou
        near.near += int(close.sum())
        for i, j, r in zip(a[close][: MAX_LISTED - len(near.pairs)], b[close], ratio[close], strict=False):
            near.pairs.append(
                NearPair(index_id(prints, index, i), index_id(prints, index, j), round(float(r), 4))
            )
        differ = (splits[a] >= 0) & (splits[b] >= 0) & (splits[a] != splits[b])
        if not differ.any():
            continue
        a, b, lo_x, hi_x, lo_y, hi_y = (
            a[differ],
            b[differ],
            lo_x[differ],
            hi_x[differ],
            lo_y[differ],
            hi_y[differ],
        )
        mid = np.radians((boxes[a, 1] + boxes[a, 3] + boxes[b, 1] + boxes[b, 3]) / 4)
        gap_x = np.clip(lo_x - hi_x, 0, None) * METERS_PER_DEGREE * np.cos(mid)
        gap_y = np.clip(lo_y - hi_y, 0, None) * METERS_PER_DEGREE
        metres = np.hypot(gap_x, gap_y)
        touch = metres <= distance_m + 1e-6
        a, b, metres = a[touch], b[touch], metres[touch]
        leak.count += len(a)
        leaking[a] = True
        leaking[b] = True
        room = MAX_LEAKING_PAIRS - len(leak.pairs)
        for i, j, m in zip(a[:room], b[:room], metres[:room], strict=False):
            leak.pairs.append(
                LeakingPair(
                    index_id(prints, index, i),
                    names[int(splits[i])],
                    index_id(prints, index, j),
                    names[int(splits[j])],
                    round(float(m), 3),
                )
            )
    touching = np.bincount(splits[leaking & (splits >= 0)], minlength=len(names))
    if len([n for n in split_counts if n]) >= 2:
        leak.items = {names[i]: int(n) for i, n in enumerate(touching) if split_counts[i]}
        leak.share = {
            names[i]: round(int(n) / int(split_counts[i]), 4)
            for i, n in enumerate(touching)
            if split_counts[i]
        }
    return PairResult(near, leak, min(examined, max_pairs))


def _diagonals(boxes: Any) -> Any:
    """Each box as the line from its lower-left to its upper-right corner: the same envelope, which is all
    the index compares (queries take no predicate), in less memory than a polygon."""
    import numpy as np
    import shapely

    return shapely.linestrings(np.stack([boxes[:, [0, 1]], boxes[:, [2, 3]]], axis=1))


def index_id(prints: Footprints, index: object, position: int) -> str:
    """The id of the item at ``position`` among the selected ones."""
    return prints.ids[int(index[position])]  # type: ignore[index]


def metres_between(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """The gap between two lon/lat boxes in metres (0 when they intersect), as :func:`pairs` measures it."""
    gap_x = max(0.0, max(a[0], b[0]) - min(a[2], b[2]))
    gap_y = max(0.0, max(a[1], b[1]) - min(a[3], b[3]))
    mid = math.radians((a[1] + a[3] + b[1] + b[3]) / 4)
    return math.hypot(gap_x * METERS_PER_DEGREE * math.cos(mid), gap_y * METERS_PER_DEGREE)
