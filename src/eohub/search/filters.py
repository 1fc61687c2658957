"""Parsed CQL2 JSON (from :func:`eohub.search.cql2_parse.parse_filter`, which bounds and checks it) as
SQLAlchemy conditions on ``stac_items`` and ``stac_item_values`` (see :mod:`eohub.search.records` for how
properties are flattened):

- ``id`` and ``collection`` are columns; every other property is a key of the flattened values, with
  or without the ``properties.`` prefix, tested with correlated ``EXISTS`` probes of the values' indexes.
  A comparison is true when any value of the key satisfies it,
  so ``"mlm:tasks" = 'segmentation'`` and ``a_contains("mlm:input.bands", ('nir', 'swir16'))`` work on
  arrays, and ``mlm:input.bands`` reaches the band names inside every input.
- Three-valued logic as CQL2 defines it: a comparison on a property an item lacks is unknown, so both
  ``p = 1`` and ``NOT p = 1`` leave that item out (negations are pushed down to the comparisons).
- Implemented: basic CQL2 (comparisons, ``AND``/``OR``/``NOT``, ``IS NULL``), advanced comparisons
  (``LIKE``, case-sensitive, ``BETWEEN``, ``IN``), array functions (``A_EQUALS``, ``A_CONTAINS``,
  ``A_CONTAINEDBY``, ``A_OVERLAPS``), timestamps and dates as instants. ``S_INTERSECTS(geometry, ...)``
  is accepted as a top-level ``AND`` term (it joins the search's spatial filter). Anything else
  (property-property comparisons, arithmetic, ``CASEI``, temporal functions) is a 400 that says so.
- A property no visible item has is a 400 (``unknown property``): the queryables list every key.
  ``eohub:trained_on`` is always known, and matches only values of datasets the caller may see.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, literal, not_, or_, select, true

from eohub.db.tables import RepositoryRow, StacItemRow, StacValueRow
from eohub.search.cql2_parse import ARRAY_OPS, COMPARISONS, FilterError
from eohub.search.plan import Driver
from eohub.search.records import box_geometry, epoch, parse_instant
from eohub.search.trained_on import TRAINED_ON, restrict

FLIPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
BUILTINS = {"id", "collection", "geometry"}


@dataclass
class Translation:
    """The SQL condition of a filter, the geometries of its top-level ``S_INTERSECTS`` terms, and the
    drivers: for top-level ``AND`` terms that an index answers (a comparison other than ``<>``,
    ``BETWEEN``, ``IN``, the members of ``A_CONTAINS``/``A_EQUALS``, ``A_OVERLAPS``), the ids of the
    ``stac_items`` rows that satisfy the term, a superset of the filter's matches that the search may
    start from when it is small (:mod:`eohub.search.catalog`)."""

    condition: ColumnElement[bool] | None
    geometries: list[dict[str, Any]] = field(default_factory=list)
    drivers: list[Driver] = field(default_factory=list)
    terms: list[tuple[ColumnElement[bool], list[Driver]]] = field(default_factory=list)
    """Each top-level ``AND`` term's condition and drivers (``condition`` is all of them)."""

    def condition_along(self, walked: Driver) -> ColumnElement[bool] | None:
        """The condition left to test on a walk along ``walked``: without the term it stands for
        exactly (a walk along ``platform = 'x'`` meets only items whose platform is 'x')."""
        exact = walked.exact
        rest = [c for c, drivers in self.terms if not (exact and len(drivers) == 1 and drivers[0] is walked)]
        return _balanced(and_, rest) if rest else None


def _property(node: Any) -> str | None:
    if isinstance(node, dict) and set(node) == {"property"} and isinstance(node["property"], str):
        name = node["property"]
        return name[len("properties.") :] if name.startswith("properties.") else name
    return None


def _literal(node: Any) -> tuple[str, Any]:
    """``("text" | "num" | "bool", value)`` of a literal; instants become epoch seconds."""
    if isinstance(node, bool):
        return "bool", "true" if node else "false"
    if isinstance(node, int | float):
        return "num", float(node)
    if isinstance(node, str):
        return "text", node
    if isinstance(node, dict) and set(node) == {"timestamp"}:
        moment = parse_instant(str(node["timestamp"]))
        if moment is None:
            raise FilterError(f"bad CQL2 filter: {node['timestamp']!r} is not an RFC 3339 timestamp")
        return "num", moment.timestamp()
    if isinstance(node, dict) and set(node) == {"date"}:
        seconds = epoch(f"{node['date']}T00:00:00Z")
        if seconds is None:
            raise FilterError(f"bad CQL2 filter: {node['date']!r} is not a date")
        return "num", seconds
    if isinstance(node, dict) and "op" in node:
        raise FilterError(f"CQL2 function or expression {node['op']!r} is not supported as a value")
    if isinstance(node, dict) and "property" in node:
        raise FilterError("comparing a property with another property is not supported")
    raise FilterError(f"bad CQL2 filter: unsupported literal {json.dumps(node)[:100]}")


def _sqlite_glob(pattern: str) -> str:
    """A CQL2 LIKE pattern (``%``, ``_``, ``\\`` escapes) as a case-sensitive SQLite GLOB pattern."""
    out, escaped = [], False
    for char in pattern:
        if escaped:
            out.append(f"[{char}]" if char in "*?[" else char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        else:
            out.append(f"[{char}]" if char in "*?[" else char)
    return "".join(out)


class _Translator:
    def __init__(
        self,
        dialect: str,
        known: Callable[[str], bool],
        collection_id: ColumnElement[str],
        visible: Select[Any] | None = None,
    ) -> None:
        self.dialect = dialect
        self.known = known
        self.collection_id = collection_id
        self.visible = visible  # the datasets whose eohub:trained_on values the caller may match

    # --- properties ---------------------------------------------------------------------------

    def _key(self, name: str) -> str:
        if name not in BUILTINS and name != TRAINED_ON and not self.known(name):
            raise FilterError(
                f"unknown property {name!r}: no item has it (GET /stac/queryables lists the properties)"
            )
        return name

    def _values(self, key: str, condition: ColumnElement[bool] | None = None) -> Select[Any]:
        """The item rows holding a value of ``key`` (that meets ``condition``): an index range."""
        query = select(StacValueRow.item_row_id).where(StacValueRow.key == key)
        if (hidden := restrict(key, self.visible)) is not None:
            query = query.where(hidden)
        return query.where(condition) if condition is not None else query

    def _match(self, key: str, condition: ColumnElement[bool] | None = None) -> ColumnElement[bool]:
        """The item has a value of ``key`` (meeting ``condition``): a correlated ``EXISTS``, one probe
        of the item's own values per item the search examines, instead of an ``IN`` list built over
        every match. On SQLite the key is compared as ``key || ''`` so that the probe can only read
        the item's rows (``(item_row_id, key)`` index): given the key, SQLite would otherwise scan
        the ``(key, num)`` index's range for each item, whatever its statistics say. PostgreSQL would
        turn the ``EXISTS`` into a join over every value of the key (it cannot know that a walk
        newest first stops early): ``OFFSET 0`` keeps it a probe."""
        probe = select(StacValueRow.item_row_id).where(StacValueRow.item_row_id == StacItemRow.id)
        if self.dialect == "postgresql":  # OFFSET 0: kept a per-row probe, not made into a (hash) join
            probe = probe.where(StacValueRow.key == key).offset(0)
        else:
            probe = probe.where(StacValueRow.key.concat("") == key)
        if (hidden := restrict(key, self.visible)) is not None:
            probe = probe.where(hidden)
        return (probe.where(condition) if condition is not None else probe).exists()

    @staticmethod
    def _text_only(key: str, kinds: set[str]) -> str:
        """``eohub:trained_on`` is compared with text only (its numbers are not values: they say whose)."""
        if key == TRAINED_ON and kinds - {"text"}:
            raise FilterError(f"{TRAINED_ON} is text: compare it with 'datasets/NAME' or 'datasets/NAME@vN'")
        return key

    def _column(self, kind: str) -> Any:
        return StacValueRow.num if kind == "num" else StacValueRow.text

    def _like(self, column: Any, pattern: str) -> ColumnElement[bool]:
        if self.dialect == "sqlite":
            return column.op("GLOB")(_sqlite_glob(pattern))
        return column.like(pattern, escape="\\")

    @staticmethod
    def _compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
        return {
            "=": column == value,
            "<>": column != value,
            "<": column < value,
            "<=": column <= value,
            ">": column > value,
            ">=": column >= value,
        }[op]

    # --- expressions ----------------------------------------------------------------------------

    def node(self, node: Any, negated: bool) -> ColumnElement[bool]:
        if isinstance(node, bool):
            return true() if node != negated else false()
        if not isinstance(node, dict) or "op" not in node:
            raise FilterError(f"bad CQL2 filter: {json.dumps(node)[:100]} is not a condition")
        op = str(node["op"]).lower()
        args = list(node.get("args") or [])
        if op == "literal":
            return self.node(args[0], negated)
        if op in ("and", "or"):
            parts = [self.node(a, negated) for a in args]
            return _balanced(and_ if (op == "and") != negated else or_, parts)
        if op == "not":
            return self.node(args[0], not negated)
        if op in COMPARISONS:
            return self._comparison(op, args, negated)
        if op == "like":
            return self._predicate(
                args[0], negated, lambda col, _k: self._like(col, self._text(args[1])), "text"
            )
        if op == "between":
            low, high = _literal(args[1]), _literal(args[2])
            kind = low[0]
            return self._predicate(args[0], negated, lambda col, _k: col.between(low[1], high[1]), kind)
        if op == "in":
            values = [_literal(v) for v in args[1]] if isinstance(args[1], list) else []
            if not values:
                raise FilterError("bad CQL2 filter: IN needs a list of values")
            kind = values[0][0]
            return self._predicate(args[0], negated, lambda col, _k: col.in_([v for _, v in values]), kind)
        if op == "isnull":
            name = _property(args[0])
            if name is None:
                raise FilterError("IS NULL applies to a property")
            if name in ("id", "collection"):
                return true() if negated else false()
            if name == "geometry":
                null = StacItemRow.minx.is_(None)
                return not_(null) if negated else null
            present = self._match(self._key(name))
            return present if negated else not_(present)
        if op in ARRAY_OPS:
            return self._array(op, args, negated)
        if op.startswith("s_"):
            raise FilterError(f"{op.upper()} is supported only as a top-level AND term on geometry")
        raise FilterError(f"CQL2 {op!r} is not supported here (see the conformance classes)")

    def drivers(self, node: Any) -> list[Driver]:
        """The drivers of a top-level term already translated by :meth:`node` (see :class:`Translation`)."""
        if not isinstance(node, dict):
            return []
        op, args = str(node.get("op")).lower(), list(node.get("args") or [])
        if op == "and":
            return [d for a in args for d in self.drivers(a)]
        if op not in (COMPARISONS - {"<>"}) | {"between", "in", "a_contains", "a_equals", "a_overlaps"}:
            return []
        if op in COMPARISONS and _property(args[0]) is None:
            args, op = [args[1], args[0]], FLIPPED[op]
        name = _property(args[0])
        if name is None or name in BUILTINS:
            return []
        key = self._key(name)
        if op in COMPARISONS:
            kind, value = _literal(args[1])
            return [self._driver(key, self._compare(self._column(kind), op, value), kind, value, op == "=")]
        if op == "between":
            (kind, low), (_, high) = _literal(args[1]), _literal(args[2])
            return [Driver([self._values(key, self._column(kind).between(low, high))])]
        values = [_literal(v) for v in args[1]] if isinstance(args[1], list) else []
        if not values:
            return []
        if op == "in":
            (kind, value), single = values[0], len(values) == 1
            condition = self._column(kind).in_([v for _, v in values])
            return [self._driver(key, condition, kind, value, single)]
        if op == "a_overlaps":
            kinds = {k for k, _ in values}
            members = [self._column(k).in_([v for kk, v in values if kk == k]) for k in kinds]
            return [Driver([self._values(key, or_(*members))])]
        exact = op == "a_contains" and len(values) == 1
        return [self._driver(key, self._column(k) == v, k, v, True, exact) for k, v in values]

    def _driver(
        self, key: str, condition: ColumnElement[bool], kind: str, value: Any, equal: bool, exact: bool = True
    ) -> Driver:
        """The driver of one term on ``key``; one text value (``equal``) can also be walked along, and
        needs no other test of its term when the term is that value alone (``exact``)."""
        text_value = (key, value) if equal and kind in ("text", "bool") and isinstance(value, str) else None
        # a walk along the values reads them all: a restricted key's term is still tested on each
        exact = exact and text_value is not None and restrict(key, self.visible) is None
        return Driver([self._values(key, condition)], text_value, exact)

    def _text(self, node: Any) -> str:
        kind, value = _literal(node)
        if kind != "text":
            raise FilterError("LIKE needs a string pattern")
        return value

    def _comparison(self, op: str, args: list[Any], negated: bool) -> ColumnElement[bool]:
        if _property(args[0]) is None and _property(args[1]) is not None:
            args, op = [args[1], args[0]], FLIPPED[op]
        kind, value = _literal(args[1])
        return self._predicate(args[0], negated, lambda col, _k: self._compare(col, op, value), kind)

    def _predicate(
        self, target: Any, negated: bool, make: Callable[[Any, str], ColumnElement[bool]], kind: str
    ) -> ColumnElement[bool]:
        name = _property(target)
        if isinstance(target, dict) and "op" in target:
            raise FilterError(f"CQL2 function or expression {target['op']!r} is not supported here")
        if name is None:
            raise FilterError("the left side of a comparison must be a property")
        if name in ("id", "collection"):
            column = StacItemRow.item_id if name == "id" else self.collection_id
            if kind != "text":
                return true() if negated else false()
            condition = make(column, kind)
            return not_(condition) if negated else condition
        if name == "geometry":
            raise FilterError("geometry is compared with S_INTERSECTS only")
        key = self._text_only(self._key(name), {kind})
        match = self._match(key, make(self._column(kind), kind))
        return and_(self._match(key), not_(match)) if negated else match

    def _array(self, op: str, args: list[Any], negated: bool) -> ColumnElement[bool]:
        name = _property(args[0])
        if name is None or not isinstance(args[1], list):
            raise FilterError(f"{op.upper()} compares an array property with an array of values")
        key = self._key(name)
        values = [_literal(v) for v in args[1]]
        present = self._match(key)
        kinds = {k for k, _ in values}
        self._text_only(key, kinds)

        def member(kind: str) -> list[Any]:
            return [v for k, v in values if k == kind]

        def any_of() -> ColumnElement[bool]:
            return self._match(
                key, or_(*(self._column(k).in_(member(k)) for k in kinds)) if kinds else false()
            )

        def outside() -> ColumnElement[bool]:
            inside = [self._column(k).in_(member(k)) for k in kinds]
            return self._match(key, not_(or_(*inside)) if inside else None)

        if op == "a_overlaps":
            truth = any_of()
        elif op == "a_contains":  # each value's probe implies that the array is there
            members = [self._match(key, self._column(k) == v) for k, v in values]
            truth = and_(*members) if members else present
        elif op == "a_containedby":
            truth = and_(present, not_(outside()))
        else:  # a_equals
            truth = and_(
                present, not_(outside()), *(self._match(key, self._column(k) == v) for k, v in values)
            )
        return and_(present, not_(truth)) if negated else truth


GROUP = 32


def _balanced(
    combine: Callable[..., ColumnElement[bool]], parts: list[ColumnElement[bool]]
) -> ColumnElement[bool]:
    """``combine(*parts)`` as a tree of parenthesized groups of at most :data:`GROUP`: SQLite parses
    ``a AND b AND …`` as a chain, one level per term, and refuses more than 1,000 levels. (The parts
    are never NULL, so ``(…) IS true`` is the group itself.)"""
    if len(parts) <= GROUP:
        return combine(*parts)
    size = -(-len(parts) // GROUP)
    # SQLAlchemy flattens nested AND/OR lists; "(…) IS true" keeps each group one level of the tree
    return combine(*(_balanced(combine, parts[i : i + size]).is_(true()) for i in range(0, len(parts), size)))


def _split_spatial(expr: dict[str, Any]) -> tuple[list[Any], list[dict[str, Any]]]:
    """The top-level AND terms that are not ``S_INTERSECTS(geometry, literal)``, and the literals."""
    terms: Iterable[Any] = expr.get("args") or [] if str(expr.get("op")).lower() == "and" else [expr]
    rest, geometries = [], []
    for term in terms:
        if (
            isinstance(term, dict)
            and str(term.get("op")).lower() == "s_intersects"
            and len(term.get("args") or []) == 2
        ):
            a, b = term["args"]
            if _property(b) == "geometry":
                a, b = b, a
            if _property(a) == "geometry" and isinstance(b, dict) and _property(b) is None:
                geometries.append(box_geometry(b["bbox"]) if "bbox" in b else b)
                continue
        rest.append(term)
    return rest, geometries


def translate(
    expr: dict[str, Any], dialect: str, known: Callable[[str], bool], visible: Select[Any] | None = None
) -> Translation:
    """The condition of a parsed filter (see the module docstring) for ``dialect`` (sqlite, postgresql);
    ``visible``: the ids of the datasets the caller may see (:mod:`eohub.search.trained_on`)."""
    collection_id = RepositoryRow.kind + literal("s.") + RepositoryRow.name
    translator = _Translator(dialect, known, collection_id, visible)
    rest, geometries = _split_spatial(expr)
    terms = [(translator.node(term, False), translator.drivers(term)) for term in rest]
    condition = _balanced(and_, [c for c, _ in terms]) if terms else None
    return Translation(condition, geometries, [d for _, drivers in terms for d in drivers], terms)
