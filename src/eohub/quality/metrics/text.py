"""A dataset's metrics as lines of text, as ``eohub quality`` and ``eohub datasets info`` print them."""

from __future__ import annotations

from eohub.quality.metrics.shape import ClassCount, DatasetMetrics, one_line

MAX_CLASSES_SHOWN = 20


def _classes(classes: list[ClassCount]) -> str:
    shown = ", ".join(f"{c.name} {c.count:,}" for c in classes[:MAX_CLASSES_SHOWN])
    more = len(classes) - MAX_CLASSES_SHOWN
    return shown + (f", ... ({more} more)" if more > 0 else "")


def metrics_lines(m: DatasetMetrics, indent: str = "  ") -> list[str]:
    """The metrics in a few lines, then one line per finding (``severe: leakage: ...``); the dataset's
    words (class names, splits, item ids) never break a line."""
    lines = [
        f"dataset metrics ({m.items:,} items"
        + (f" of {m.examined:,} examined)" if m.examined != m.items else ")")
        + ":"
    ]
    b = m.class_balance
    if b.classes:
        ratio = f"; largest/smallest {b.imbalance:g}" if b.imbalance is not None else ""
        detail = ", ".join(part for part in (b.source, b.unit) if part)
        lines.append(f"{indent}classes{f' ({detail})' if detail else ''}: {_classes(b.classes)}{ratio}")
        lines += [f"{indent * 2}{split}: {_classes(c)}" for split, c in b.by_split.items()]
    else:
        lines.append(f"{indent}classes: none counted")
    d = m.duplicates
    lines.append(
        f"{indent}duplicates: {d.identical:,} identical item(s) in {d.group_count:,} group(s), "
        f"{d.near:,} near pair(s) (IoU ≥ {d.threshold:g})"
    )
    leak = m.leakage
    if leak.splits:
        where = "touching" if leak.distance_m == 0 else f"within {leak.distance_m:g} m"
        shares = ", ".join(
            f"{s} {leak.share.get(s, 0.0):.0%} ({leak.items.get(s, 0):,} of {n:,})"
            for s, n in leak.splits.items()
        )
        lines.append(f"{indent}leakage ({where}): {leak.count:,} pair(s) across splits; {shares}")
    lab = m.labels
    if lab.rasters or lab.not_read:
        crs = ", ".join(f"{t.value} ({t.count:,})" for t in lab.crs[:3]) or "-"
        lines.append(
            f"{indent}label rasters: {lab.rasters:,} read ({lab.pixels:,} pixels), "
            f"{lab.not_read:,} not read; "
            f"{lab.outside_pixels:,} pixels outside the classes in {lab.outside_items:,} item(s); "
            f"nodata {lab.nodata_share:.1%}; CRS {crs}"
        )
    lines += [f"{indent}{f.severity}: {f.metric}: {f.message}" for f in m.findings]
    return [one_line(line) for line in lines]
