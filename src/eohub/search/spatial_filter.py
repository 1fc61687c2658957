"""The spatial part of a search: its bbox and query geometries as SQL on the indexed bboxes, and the
exact shapely test of an item where a bbox is not enough (a geometry that is not its bbox, a query
geometry that is not a box, a box across the antimeridian)."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import ColumnElement, or_

from eohub.core.geometry import positions
from eohub.search import spatial
from eohub.search.query import QueryError


def parts(bounds: list[float]) -> list[spatial.Bounds]:
    """A query bbox as boxes that do not cross the antimeridian."""
    west, south, east, north = bounds
    if west > east:
        return [(west, south, 180.0, north), (-180.0, south, east, north)]
    return [(west, south, east, north)]


class SpatialFilter:
    """The query geometries of a search: SQL on bboxes, then exact tests where a bbox is not enough."""

    def __init__(self, boxes: list[list[float]], geometries: list[dict[str, Any]], max_points: int) -> None:
        from shapely.geometry import box, shape

        self.shapes = []
        self.exact_by_bbox = True
        self.boxes: list[list[spatial.Bounds]] = []  # per query geometry, its bbox in parts
        for bounds in boxes:
            self.boxes.append(parts(bounds))
            if bounds[0] > bounds[2]:
                self.exact_by_bbox = False
                self.shapes.append(
                    box(bounds[0], bounds[1], 180, bounds[3]).union(
                        box(-180, bounds[1], bounds[2], bounds[3])
                    )
                )
            else:
                self.shapes.append(box(*bounds))
        for geometry in geometries:
            if positions(geometry, max_points) > max_points:
                raise QueryError(
                    f"a query geometry has more than {max_points} positions (max_geometry_points, set by "
                    "EOHUB_MAX_GEOMETRY_POINTS); simplify it"
                )
            try:
                shp = shape(geometry)
            except Exception as exc:  # shapely raises several types for bad GeoJSON
                raise QueryError(f"not a valid GeoJSON geometry: {exc}") from None
            if shp.is_empty or not all(math.isfinite(v) for v in shp.bounds):
                raise QueryError("not a valid geometry: it is empty or has a coordinate beyond any number")
            self.shapes.append(shp)
            self.boxes.append(parts(list(shp.bounds)))
            if not (
                shp.geom_type == "Point" or (shp.geom_type == "Polygon" and shp.equals(box(*shp.bounds)))
            ):
                self.exact_by_bbox = False

    @property
    def conditions(self) -> list[ColumnElement[bool]]:
        """The exact bbox test of each query geometry."""
        return [or_(*(spatial.exact(part) for part in parts)) for parts in self.boxes]

    @property
    def active(self) -> bool:
        return bool(self.shapes)

    def accepts(self, rect: bool, item: dict[str, Any]) -> bool:
        if not self.shapes or (rect and self.exact_by_bbox):
            return True
        from shapely.geometry import shape

        try:
            geometry = shape(item["geometry"])
        except Exception:  # an item geometry shapely cannot read is never a match
            return False
        return all(geometry.intersects(s) for s in self.shapes)
