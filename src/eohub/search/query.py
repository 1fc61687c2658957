"""An item search as STAC API defines it, read from GET parameters or a POST body, checked up front.

:class:`SearchRequest` holds ``ids``, ``collections``, ``bbox`` or ``intersects``, ``datetime``,
``limit``, ``sortby``, a CQL2 ``filter`` and the paging ``token``; :meth:`SearchRequest.from_params`
(query string) and :meth:`SearchRequest.from_body` (JSON) raise :class:`QueryError` (a 400) with what is
wrong: a bbox that is not 4 or 6 numbers or has south above north, a datetime that is not RFC 3339 or an
interval that ends before it starts, both bbox and intersects, an invalid GeoJSON geometry, a limit
below 1, an unparsable filter (the CQL2 parser's own message). A limit above :data:`MAX_LIMIT` is served
as :data:`MAX_LIMIT`, as the standard allows.

Everything is bounded before it is parsed (:class:`eohub.config.Limits`): ``ids`` and ``collections``
by ``max_search_ids``, ``sortby`` by :data:`MAX_SORTBY`, GeoJSON text by ``max_json_depth``, the filter
as :func:`eohub.search.cql2_parse.parse_filter` says; ``limit`` and ``token`` are ASCII digits (or JSON
integers) of at most 18 digits.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eohub.config import Limits
from eohub.core.jsonbounds import json_depth
from eohub.errors import UsageError
from eohub.search.cql2_parse import parse_filter
from eohub.search.records import parse_instant

DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
MAX_SORTBY = 16
"""Fields of one ``sortby`` (each is a sort key of the query)."""
MAX_DIGITS = 18
"""``limit`` and ``token`` have at most this many digits (below 2**63)."""


class QueryError(UsageError):
    """A search request that the STAC API standard says is invalid."""


@dataclass
class Interval:
    """A closed time interval in epoch seconds; ``None`` is an open end."""

    start: float | None
    end: float | None


def parse_datetime(text: str) -> Interval:
    """``instant``, ``start/end``, ``../end``, ``start/..``, ``/end``, ``start/`` (RFC 3339 instants)."""
    parts = text.split("/")
    if len(parts) > 2 or not text.strip():
        raise QueryError(f"datetime {text!r} is not an RFC 3339 instant or interval (start/end)")

    def instant(part: str, open_ok: bool) -> float | None:
        if part in ("", "..") and open_ok:
            return None
        moment = parse_instant(part)
        if moment is None:
            raise QueryError(
                f"datetime {text!r}: {part!r} is not an RFC 3339 date-time such as 2024-01-31T12:00:00Z"
            )
        return moment.timestamp()

    if len(parts) == 1:
        value = instant(parts[0], False)
        return Interval(value, value)
    start, end = instant(parts[0], True), instant(parts[1], True)
    if start is None and end is None:
        raise QueryError(f"datetime {text!r}: an interval needs at least one end")
    if start is not None and end is not None and start > end:
        raise QueryError(f"datetime {text!r}: the interval ends before it starts")
    return Interval(start, end)


def parse_bbox(value: Any) -> list[float]:
    """A 2D bbox ``[west, south, east, north]`` from 4 or 6 numbers (list or comma-separated text)."""
    if isinstance(value, str):
        parts = value.split(",", 6)
        try:
            numbers = [float(v) for v in parts]
        except ValueError:
            raise QueryError(f"bbox {value[:100]!r} must be 4 or 6 comma-separated numbers") from None
    elif isinstance(value, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        try:
            numbers = [float(v) for v in value[:7]]
        except OverflowError:  # an integer beyond any float
            raise QueryError("bbox numbers must be longitudes and latitudes") from None
    else:
        raise QueryError("bbox must be an array of 4 or 6 numbers")
    if len(numbers) not in (4, 6):
        raise QueryError(f"bbox must have 4 or 6 numbers, not {len(numbers) if len(numbers) < 7 else 'more'}")
    west, south, east, north = numbers if len(numbers) == 4 else [numbers[i] for i in (0, 1, 3, 4)]
    if not (-90 <= south <= north <= 90):
        raise QueryError("bbox: south must not be above north, and both within -90..90")
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise QueryError("bbox: west and east must be within -180..180")
    return [west, south, east, north]


def parse_geometry(value: Any, limits: Limits | None = None) -> dict[str, Any]:
    """A GeoJSON geometry (object or its JSON text, nested at most ``max_json_depth``), checked with
    shapely."""
    from shapely.geometry import shape

    limits = limits or Limits()
    if isinstance(value, str):
        if json_depth(value) > limits.max_json_depth:
            raise QueryError(
                f"intersects nests too deep (at most {limits.max_json_depth}: max_json_depth, "
                "set by EOHUB_MAX_JSON_DEPTH)"
            )
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise QueryError(f"intersects is not JSON: {exc}") from None
    if not isinstance(value, dict) or "type" not in value:
        raise QueryError("intersects must be a GeoJSON geometry")
    try:
        geometry = shape(value)
    except Exception as exc:  # shapely raises several types for bad GeoJSON
        raise QueryError(f"intersects is not a valid GeoJSON geometry: {exc}") from None
    if geometry.is_empty:
        raise QueryError("intersects is an empty geometry")
    if not all(math.isfinite(v) for v in geometry.bounds):
        raise QueryError("intersects has a coordinate beyond any number")
    return value


def _strings(value: Any, name: str, most: int) -> list[str]:
    count = value.count(",") + 1 if isinstance(value, str) else len(value) if isinstance(value, list) else 0
    if count > most:
        raise QueryError(
            f"{name} has more than {most:,} values (max_search_ids, set by EOHUB_MAX_SEARCH_IDS)"
        )
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise QueryError(f"{name} must be a list of strings")


def _whole(value: Any) -> int | None:
    """A JSON integer, or ASCII digits with an optional sign, of at most :data:`MAX_DIGITS` digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return value if abs(value) < 10**MAX_DIGITS else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    digits = text[1:] if text[:1] in ("-", "+") else text
    if not (digits.isascii() and digits.isdigit()) or len(digits.lstrip("0")) > MAX_DIGITS:
        return None
    return int(text)


def _limit(value: Any) -> int:
    limit = _whole(value)
    if limit is None:
        raise QueryError(f"limit must be a positive integer, not {str(value)[:40]!r}")
    if limit < 1:
        raise QueryError(f"limit must be at least 1, not {limit}")
    return min(limit, MAX_LIMIT)


def _token(value: Any) -> int:
    token = _whole(value) if isinstance(value, int | str) else None
    if token is None or token < 0:
        raise QueryError(f"token {str(value)[:40]!r} is not a paging token from a 'next' link")
    return token


def _sortby(value: Any) -> list[tuple[str, bool]]:
    """``[(field, descending)]`` from ``+a,-b,c`` or ``[{"field": "a", "direction": "desc"}]``."""
    out: list[tuple[str, bool]] = []
    fields = value.count(",") + 1 if isinstance(value, str) else len(value) if isinstance(value, list) else 0
    if fields > MAX_SORTBY:
        raise QueryError(f"sortby has more than {MAX_SORTBY} fields")
    if isinstance(value, str):
        for part in (p.strip() for p in value.split(",")):
            if part:
                descending = part.startswith("-")
                out.append((part.lstrip("+-").strip(), descending))
    elif isinstance(value, list):
        for entry in value:
            if not isinstance(entry, dict) or not isinstance(entry.get("field"), str):
                raise QueryError('sortby entries are {"field": name, "direction": "asc" | "desc"}')
            direction = str(entry.get("direction", "asc")).lower()
            if direction not in ("asc", "desc"):
                raise QueryError(f"sortby direction must be asc or desc, not {direction!r}")
            out.append((entry["field"], direction == "desc"))
    else:
        raise QueryError("sortby must be a string (+a,-b) or a list of {field, direction}")
    if any(not f for f, _ in out):
        raise QueryError("sortby has an empty field name")
    return out


@dataclass
class SearchRequest:
    """A checked item search (see the module docstring)."""

    ids: list[str] | None = None
    collections: list[str] | None = None
    bbox: list[float] | None = None
    intersects: dict[str, Any] | None = None
    datetime: Interval | None = None
    limit: int = DEFAULT_LIMIT
    token: int = 0
    sortby: list[tuple[str, bool]] = field(default_factory=list)
    filter: dict[str, Any] | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str], limits: Limits | None = None) -> SearchRequest:
        """From a query string; ``intersects`` is GeoJSON text, ``filter`` CQL2 text unless
        ``filter-lang=cql2-json``. ``limits`` are the defaults if not given."""
        limits = limits or Limits()
        return cls._build(
            {k: v for k, v in params.items() if v != ""},
            lambda v: parse_filter(v, params.get("filter-lang") or "cql2-text", limits),
            limits,
        )

    @classmethod
    def from_body(cls, body: Any, limits: Limits | None = None) -> SearchRequest:
        """From a POST body; ``filter`` is CQL2 JSON unless it is a string or ``filter-lang`` says
        otherwise."""
        if not isinstance(body, dict):
            raise QueryError("the search body must be a JSON object")
        limits = limits or Limits()
        lang = body.get("filter-lang")
        if lang is not None and not isinstance(lang, str):
            raise QueryError("filter-lang must be cql2-text or cql2-json")
        if isinstance(body.get("bbox"), str):
            raise QueryError("bbox in a POST body must be an array of numbers, not a string")
        return cls._build(
            {k: v for k, v in body.items() if v is not None},
            lambda v: parse_filter(v, lang or ("cql2-text" if isinstance(v, str) else "cql2-json"), limits),
            limits,
        )

    @classmethod
    def _build(cls, raw: Mapping[str, Any], parse: Any, limits: Limits) -> SearchRequest:
        if "bbox" in raw and "intersects" in raw:
            raise QueryError("use either bbox or intersects, not both")
        request = cls()
        if "ids" in raw:
            request.ids = _strings(raw["ids"], "ids", limits.max_search_ids)
        if "collections" in raw:
            request.collections = _strings(raw["collections"], "collections", limits.max_search_ids)
        if "bbox" in raw:
            request.bbox = parse_bbox(raw["bbox"])
        if "intersects" in raw:
            request.intersects = parse_geometry(raw["intersects"], limits)
        if "datetime" in raw:
            if not isinstance(raw["datetime"], str):
                raise QueryError("datetime must be a string (an RFC 3339 instant or interval)")
            request.datetime = parse_datetime(raw["datetime"])
        if "limit" in raw:
            request.limit = _limit(raw["limit"])
        if "token" in raw:
            request.token = _token(raw["token"])
        if "sortby" in raw:
            request.sortby = _sortby(raw["sortby"])
        if "filter" in raw:
            request.filter = parse(raw["filter"])
        return request
