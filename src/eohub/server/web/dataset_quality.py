"""A dataset page's quality section: the class histogram, the split map and the findings, as inline SVG.

The numbers are the version's :class:`~eohub.quality.metrics.shape.DatasetMetrics`, computed by the hub
at commit. Nothing here runs script or loads anything: bars and footprints are SVG with presentation
attributes (allowed by the pages' Content-Security-Policy), every text escaped (class names and item
ids are other users' words), and everything bounded: at most :data:`MAX_BARS` classes get a bar and the
split map draws what :func:`~.footprints.collect` allows (its caption says how many are left out).

The split map colours each item's footprint by its ``ml-aoi:split`` (from the stored item, the one the
metrics read) and outlines in red the items of the leaking pairs the metrics list, each pair joined by a
red line between the footprints' centres.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from markupsafe import Markup, escape

from eohub.quality.metrics.shape import DatasetMetrics, Finding, LeakingPair
from eohub.server.web import mapsvg
from eohub.server.web.footprints import (
    LEFT,
    POINT_RADIUS,
    RIGHT,
    Footprint,
    _bounds,
    _locator,
    _unwrap,
    collect,
    framed,
)
from eohub.server.web.mapview import View, fit

MAX_BARS = 40
BAR_WIDTH = 420
ROW = 22
LABEL_WIDTH = 180
SPLIT = "ml-aoi:split"
SPLIT_COLOURS = {"train": "#1f78b4", "training": "#1f78b4", "validate": "#33a02c", "validation": "#33a02c"}
SPLIT_COLOURS |= {"val": "#33a02c", "test": "#ff7f00", "testing": "#ff7f00"}
OTHER_COLOUR = "#6a3d9a"
NO_SPLIT_COLOUR = "#8c8c8c"
LEAK_COLOUR = "#e31a1c"
SEVERITY_ORDER = {"severe": 0, "warning": 1, "info": 2}
TEXT = 'font-size="13" fill="#333"'


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Histogram:
    """The class bars (SVG), how many classes are not drawn, and the per-split counts as table rows."""

    svg: Markup
    shown: int
    omitted: int
    unit: str
    source: str
    splits: list[str]
    rows: list[tuple[str, int, list[int]]]
    imbalance: float | None


def histogram(metrics: DatasetMetrics) -> Histogram | None:
    """Horizontal bars of the class counts, the largest first; ``None`` when no class was counted."""
    balance = metrics.class_balance
    classes = sorted((c for c in balance.classes if c.count > 0), key=lambda c: (-c.count, c.name))
    if not classes:
        return None
    drawn = classes[:MAX_BARS]
    most = max(c.count for c in drawn)
    height = ROW * len(drawn) + 8
    width = LABEL_WIDTH + BAR_WIDTH + 90
    bars = []
    for i, c in enumerate(drawn):
        y = 4 + i * ROW
        length = max(1.0, BAR_WIDTH * c.count / most)
        name = escape(_short(c.name or str(c.value)))
        bars.append(
            f'<g class="class-bar" data-class="{escape(c.name)}" data-count="{c.count}">'
            f"<title>{escape(c.name)}: {c.count:,}</title>"
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end" {TEXT}>{name}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{ROW - 6}" fill="#0b5cad"/>'
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 15}" {TEXT}>{c.count:,}</text>'
            "</g>"
        )
    svg = (
        f'<svg class="histogram" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="Items per class, {len(drawn)} classes">'
        + "".join(bars)
        + "</svg>"
    )
    splits = sorted(balance.by_split)[:10]
    per_split = {s: {c.name: c.count for c in balance.by_split[s]} for s in splits}
    rows = [(c.name, c.count, [per_split[s].get(c.name, 0) for s in splits]) for c in drawn]
    return Histogram(
        Markup(svg),  # noqa: S704 - every text above is escaped
        len(drawn),
        len(classes) - len(drawn),
        balance.unit or "items",
        balance.source,
        splits,
        rows,
        balance.imbalance,
    )


@dataclass
class SplitMap:
    """The split map: SVG, its legend (split, colour, items drawn), and how many items are not drawn."""

    svg: Markup
    legend: list[tuple[str, str, int]]
    shown: int
    omitted: int
    leaking_drawn: int
    caption: str = ""
    view: View | None = field(default=None, repr=False)


def split_colour(split: str | None) -> str:
    if not split:
        return NO_SPLIT_COLOUR
    return SPLIT_COLOURS.get(split.lower(), OTHER_COLOUR)


def _split_of(item: dict[str, Any]) -> str:
    properties = item.get("properties")
    value = properties.get(SPLIT) if isinstance(properties, dict) else None
    return value[:64] if isinstance(value, str) else ""


def _draw(view: View, footprint: Footprint, colour: str, leaking: bool) -> str:
    stroke = LEAK_COLOUR if leaking else colour
    width = 3 if leaking else 1.5
    title = f"<title>{escape(footprint.item_id)}</title>"
    parts = []
    for kind, shape in footprint.shapes:
        if kind == "point":
            parts += [
                f'<circle cx="{view.x(x):.1f}" cy="{view.y(y):.1f}" r="{POINT_RADIUS}" fill="{colour}" '
                f'stroke="{stroke}" stroke-width="{width}">{title}</circle>'
                for part in shape
                for x, y in part
            ]
            continue
        d = mapsvg.path_data(view, (np.asarray(p, dtype=np.float64) for p in shape), kind == "area")
        fill = colour if kind == "area" else "none"
        parts.append(
            f'<path d="{d}" fill="{fill}" fill-opacity="0.45" fill-rule="evenodd" stroke="{stroke}" '
            f'stroke-width="{width}" vector-effect="non-scaling-stroke">{title}</path>'
        )
    body = "".join(parts)
    marks = f' data-item="{escape(footprint.item_id)}" data-leaking="{str(leaking).lower()}"'
    if footprint.href:
        label = f"Item {escape(footprint.item_id)}"
        return f'<a href="{escape(footprint.href)}" aria-label="{label}"{marks}>{body}</a>'
    return f"<g{marks}>{body}</g>"


def _pair_line(view: View, pair: LeakingPair, by_id: dict[str, Footprint]) -> str:
    """A dashed red line between the centres of a leaking pair's footprints (both must be drawn)."""
    a, b = by_id.get(pair.a), by_id.get(pair.b)
    ends = (_centre(a), _centre(b)) if a and b else (None, None)
    if not (ends[0] and ends[1]):
        return ""
    (x0, y0), (x1, y1) = ends
    return (
        f'<line class="leak" x1="{view.x(x0):.1f}" y1="{view.y(y0):.1f}" x2="{view.x(x1):.1f}" '
        f'y2="{view.y(y1):.1f}" stroke="{LEAK_COLOUR}" stroke-width="2" stroke-dasharray="4 3">'
        f"<title>{escape(pair.a)} ({escape(pair.a_split)}) – "
        f"{escape(pair.b)} ({escape(pair.b_split)})</title></line>"
    )


def _centre(footprint: Footprint) -> tuple[float, float] | None:
    box = _bounds(footprint.parts)
    return None if box is None else ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def split_map(
    items: Iterable[dict[str, Any]],
    metrics: DatasetMetrics | None,
    link: Callable[[str], str] | None = None,
    width: int = 720,
) -> SplitMap | None:
    """The footprints of ``items`` coloured by split, the leaking pairs of ``metrics`` in red; ``None``
    when no item uses ``ml-aoi:split`` or none has a place to draw."""
    items = list(items)
    splits = {str(item.get("id", "")): _split_of(item) for item in items}
    if not any(splits.values()):
        return None
    footprints, omitted = collect(items, link)
    _unwrap(footprints)
    around = _bounds(part for f in footprints for part in f.parts)
    if around is None:
        return None
    pairs = metrics.leakage.pairs if metrics is not None else []
    leaking = {p.a for p in pairs} | {p.b for p in pairs}
    view = fit(*around, width=width - LEFT - RIGHT)
    by_id = {f.item_id: f for f in footprints}
    lines = [_pair_line(view, pair, by_id) for pair in pairs]
    counts: dict[str, int] = {}
    for f in footprints:
        counts[splits.get(f.item_id, "")] = counts.get(splits.get(f.item_id, ""), 0) + 1
    ordered = sorted(footprints, key=lambda f: f.item_id in leaking)  # leaking ones on top
    layers = [
        *(_draw(view, f, split_colour(splits.get(f.item_id)), f.item_id in leaking) for f in ordered),
        *lines,
        _locator(view, footprints),
    ]
    label = f"Map of {len(footprints)} item footprints by split"
    svg = framed(view, layers, width, label, "footprints split-map")
    legend = [(split or "no split", split_colour(split), n) for split, n in sorted(counts.items())]
    drawn_leaking = sum(1 for f in footprints if f.item_id in leaking)
    return SplitMap(svg, legend, len(footprints), omitted, drawn_leaking, view=view)


def findings(metrics: DatasetMetrics) -> list[Finding]:
    """The findings, the most severe first."""
    return sorted(metrics.findings, key=lambda f: SEVERITY_ORDER.get(f.severity, 3))


def quality_context(
    metrics: DatasetMetrics | None, items: list[dict[str, Any]], link: Callable[[str], str]
) -> dict[str, Any]:
    """What ``repository.html`` shows of a dataset version's metrics (empty without them)."""
    if metrics is None:
        return {"metrics": None}
    return {
        "metrics": metrics,
        "histogram": histogram(metrics),
        "split_map": split_map(items, metrics, link),
        "findings": findings(metrics),
        "leak_share": sorted(metrics.leakage.share.items()),
    }
