"""How big a GeoJSON geometry is, counted without recursion: the bound on what an exact spatial test, an
index entry or a map of it costs."""

from __future__ import annotations

from typing import Any


def positions(geometry: Any, limit: int) -> int:
    """The coordinate positions of a GeoJSON geometry (collections included), counting stops once past
    ``limit`` (returns ``limit + 1``). Anything that is not a geometry counts as 0."""
    count = 0
    stack: list[Any] = [geometry]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "GeometryCollection":
                stack.extend(g for g in node.get("geometries") or [] if isinstance(g, dict))
            else:
                stack.append(node.get("coordinates"))
        elif isinstance(node, list):
            if node and all(isinstance(v, int | float) for v in node):
                count += 1
                if count > limit:
                    return count
            else:
                stack.extend(node)
    return count
