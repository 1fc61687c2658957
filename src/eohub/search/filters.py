"""CQL2 filters (text or JSON) as SQL over the search index.

A filter is measured before the ``cql2`` library parses it, because that parser recurses without a
limit (about 1,500 nested parentheses, a few thousand chained ``NOT``s or signs crash the process) and
its JSON-schema validation costs about 14 MB per chained ``NOT``. The bounds (:class:`eohub.config.Limits`):
``max_filter_chars`` (the text, or the JSON's text), ``max_filter_depth`` (estimated on the text before
parsing: parentheses, plus the operators chained at each level between ``AND``s and ``OR``s, then
measured exactly on the parsed JSON: operators, arrays and objects in a chain) and ``max_filter_terms``
(operators, properties and values). Over a bound is a 400 that names it. The schema validation is not
run: :func:`check_structure` checks the argument counts of what the translator implements, and the
translator refuses everything else by name. The ``cql2`` parse errors are what a bad filter's 400 says.

The parsed expression, as CQL2 JSON, is translated here into SQLAlchemy conditions on
``stac_items`` and ``stac_item_values`` (see :mod:`eohub.search.records` for how properties are
flattened):

- ``id`` and ``collection`` are columns; every other property is a key of the flattened values, with
  or without the ``properties.`` prefix. A comparison is true when any value of the key satisfies it,
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
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import cql2
from sqlalchemy import ColumnElement, and_, false, literal, not_, or_, select, true

from eohub.config import Limits
from eohub.core.jsonbounds import json_depth
from eohub.db.tables import RepositoryRow, StacItemRow, StacValueRow
from eohub.errors import UsageError
from eohub.search.records import box_geometry, epoch, parse_instant

COMPARISONS = {"=", "<>", "<", "<=", ">", ">="}
FLIPPED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
ARRAY_OPS = {"a_equals", "a_contains", "a_containedby", "a_overlaps"}
BUILTINS = {"id", "collection", "geometry"}
ARITY = {
    **{op: (2, 2) for op in COMPARISONS | ARRAY_OPS | {"like", "in"}},
    "between": (3, 3),
    "not": (1, 1),
    "isnull": (1, 1),
    "and": (2, None),
    "or": (2, None),
}
"""How many arguments each operator the translator implements takes (at least, at most)."""
DEPTH_CEILING = 256
OPERATORS_CEILING = 2_000
"""``max_filter_depth`` and ``max_filter_terms`` above these are read as these: the ``cql2`` parser
recurses once per parenthesis, ``NOT`` or sign and once per operator of a chain (``AND``s included;
3,000 ``OR``s overflow a 1 MiB thread stack), and must stay far from the end of a thread's stack
whatever the settings."""


class FilterError(UsageError):
    """A filter that does not parse, uses what eohub does not implement, names an unknown property, or
    is over one of the bounds."""


def _over(name: str, value: int, what: str) -> FilterError:
    return FilterError(f"{what} (at most {value:,}: {name}, set by EOHUB_{name.upper()})")


def parse_filter(
    value: str | dict[str, Any], lang: str | None = None, limits: Limits | None = None
) -> dict[str, Any]:
    """The CQL2 JSON of a filter given as CQL2 text (a string) or CQL2 JSON (an object or its text),
    within ``limits`` (the defaults if not given)."""
    limits = limits or Limits()
    if lang not in (None, "cql2-text", "cql2-json"):
        raise FilterError(f"filter-lang must be cql2-text or cql2-json, not {lang!r}")
    if not isinstance(value, str | dict):
        raise FilterError("bad CQL2 filter: a filter is CQL2 text (a string) or CQL2 JSON (an object)")
    if isinstance(value, str):
        _check_length(len(value), limits)
    json_given = (
        isinstance(value, dict) or lang == "cql2-json" or (lang is None and value.lstrip().startswith("{"))
    )
    try:
        expr = _parse_json(value, limits) if json_given else _parse_text(str(value), limits)
    except (cql2.ParseError, cql2.ValidationError, ValueError) as exc:
        raise FilterError(f"bad CQL2 filter: {str(exc).strip()}") from None
    result = expr.to_json()
    if not isinstance(result, dict | bool):
        raise FilterError(f"bad CQL2 filter: {json.dumps(result)[:100]} is not valid: not an expression")
    measure(result, limits)
    check_structure(result)
    return result if isinstance(result, dict) else {"op": "literal", "args": [result]}


def _check_length(chars: int, limits: Limits) -> None:
    if chars > limits.max_filter_chars:
        raise _over("max_filter_chars", limits.max_filter_chars, f"the filter has {chars:,} characters")


def _parse_json(value: str | dict[str, Any], limits: Limits) -> cql2.Expr:
    if isinstance(value, str):
        if json_depth(value) > limits.max_json_depth:
            raise _over("max_json_depth", limits.max_json_depth, "the filter's JSON nests too deep")
        value = json.loads(value)
    measure(value, limits)
    data = json.dumps(_legacy_between(value))
    _check_length(len(data), limits)
    return cql2.parse_json(data)


def _parse_text(text: str, limits: Limits) -> cql2.Expr:
    depth, operators = text_shape(text)
    most_deep = min(limits.max_filter_depth, DEPTH_CEILING)
    most_operators = min(limits.max_filter_terms, OPERATORS_CEILING)
    if depth > most_deep:
        raise _over("max_filter_depth", most_deep, "the filter nests too deep")
    if operators > most_operators:
        raise _over("max_filter_terms", most_operators, "the filter has too many operators")
    return cql2.parse_text(text)


_TEXT_TOKEN = re.compile(
    r"""'[^']*'?|"[^"]*"?                       # strings, quoted identifiers (unterminated: to the end)
      |([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)   # numbers, with a sign if one is glued on
      |(\w+)                                   # keywords, identifiers
      |([(\[])|([)\]])|(,)                     # brackets, commas
      |(<>|<=|>=|[-+*/%^=<>])                  # operators
      |\S""",
    re.VERBOSE,
)
_RESETS = {"AND", "OR"}
_WORD_OPERATORS = {"NOT", "LIKE", "BETWEEN", "IN", "IS", "DIV"}


def text_shape(text: str) -> tuple[int, int]:
    """How deeply CQL2 text may nest once parsed, and how many operators it has, without parsing it.

    The depth is estimated: at each level of parentheses, the operators chained since the last
    ``AND``, ``OR`` or comma (``NOT``s, signs, comparisons, arithmetic), summed over the open levels,
    plus the open levels; never less than the parsed JSON's depth. A sign glued to a number after an
    operator is the number's own (``a = -1``); after an operand it is an operator too (``1 -1 -1``
    nests like ``1 - 1 - 1``). The operators are all of them, ``AND`` and ``OR`` included."""
    chains = [0]
    deepest = operators = 0
    after_operand = False
    for match in _TEXT_TOKEN.finditer(text):
        number, word, opening, closing, comma, operator = match.groups()
        keyword = word.upper() if word else ""
        if opening:
            chains.append(0)
        elif closing:
            if len(chains) > 1:
                chains.pop()
        elif comma or keyword in _RESETS:
            chains[-1] = 0
            operators += not comma
        elif operator or keyword in _WORD_OPERATORS or (number and number[0] in "+-" and after_operand):
            chains[-1] += 1
            operators += 1
        after_operand = bool(closing or number or (word and keyword not in _WORD_OPERATORS | _RESETS))
        after_operand = after_operand or match.group(0)[0] in "'\""
        deepest = max(deepest, len(chains) - 1 + sum(chains))
    return deepest, operators


def measure(expr: Any, limits: Limits) -> None:
    """Refuse CQL2 JSON nested deeper than ``max_filter_depth`` (each operator, array and object is a
    level; an operator's ``args`` array is part of it) or with more than ``max_filter_terms`` operators,
    properties and values (a literal object, such as a geometry, is one value). Never recurses."""
    depth, terms = min(limits.max_filter_depth, DEPTH_CEILING), limits.max_filter_terms
    count = nodes = 0
    stack: list[tuple[Any, int, bool]] = [(expr, 0, True)]  # (node, its parent's level, counts as a term)
    while stack:
        node, level, counted = stack.pop()
        count += counted
        nodes += 1  # every node takes at least a character of JSON: their number is bounded below
        if count > terms:
            raise _over("max_filter_terms", terms, "the filter has too many operators and values")
        if not isinstance(node, dict | list) or (counted and isinstance(node, dict) and "property" in node):
            continue  # a value or a property: no level of its own
        if level + 1 > depth:
            raise _over("max_filter_depth", depth, "the filter nests too deep")
        operator = isinstance(node, dict) and "op" in node and isinstance(node.get("args"), list) and counted
        children = node if isinstance(node, list) else node["args"] if operator else list(node.values())
        if nodes + len(stack) + len(children) > limits.max_filter_chars:
            raise _over("max_filter_chars", limits.max_filter_chars, "the filter is too long")
        terms_inside = counted and (operator or isinstance(node, list))  # a geometry is one value
        stack.extend((child, level + 1, terms_inside) for child in children)


def check_structure(expr: Any) -> None:
    """Refuse an operator the translator implements with the wrong number of arguments (what the CQL2
    schema would say), so that translation never indexes past its arguments."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        if not (isinstance(node, dict) and "op" in node):
            continue
        args = node.get("args")
        op = str(node["op"]).lower()
        if not isinstance(args, list):
            raise FilterError(
                f"bad CQL2 filter: {json.dumps(node)[:100]} is not valid: args must be an array"
            )
        least, most = ARITY.get(op, (0, None))
        if len(args) < least or (most is not None and len(args) > most):
            takes = f"{least}" if least == most else f"at least {least}"
            raise FilterError(
                f"bad CQL2 filter: {json.dumps(node)[:100]} is not valid: {op!r} takes {takes} "
                f"argument{'s' if least != 1 else ''}, not {len(args)}"
            )
        stack.extend(args)


def _legacy_between(node: Any) -> Any:
    """Accept the pre-1.0 CQL2 JSON ``BETWEEN`` (``[property, [low, high]]``), which clients such as
    stac-api-validator still send, as ``[property, low, high]``."""
    if isinstance(node, list):
        return [_legacy_between(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _legacy_between(v) for k, v in node.items()}
    args = out.get("args")
    if str(out.get("op")).lower() == "between" and isinstance(args, list) and len(args) == 2:
        if isinstance(args[1], list) and len(args[1]) == 2:
            out["args"] = [args[0], *args[1]]
    return out


@dataclass
class Translation:
    """The SQL condition of a filter and the geometries of its top-level ``S_INTERSECTS`` terms."""

    condition: ColumnElement[bool] | None
    geometries: list[dict[str, Any]] = field(default_factory=list)


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
    def __init__(self, dialect: str, known: Callable[[str], bool], collection_id: ColumnElement[str]) -> None:
        self.dialect = dialect
        self.known = known
        self.collection_id = collection_id

    # --- properties ---------------------------------------------------------------------------

    def _key(self, name: str) -> str:
        if name not in BUILTINS and not self.known(name):
            raise FilterError(
                f"unknown property {name!r}: no item has it (GET /stac/queryables lists the properties)"
            )
        return name

    @staticmethod
    def _match(key: str, condition: ColumnElement[bool] | None = None) -> ColumnElement[bool]:
        query = select(StacValueRow.item_row_id).where(StacValueRow.key == key)
        if condition is not None:
            query = query.where(condition)
        return StacItemRow.id.in_(query)

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
        key = self._key(name)
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
        elif op == "a_contains":
            truth = and_(present, *(self._match(key, self._column(k) == v) for k, v in values))
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


def translate(expr: dict[str, Any], dialect: str, known: Callable[[str], bool]) -> Translation:
    """The condition of a parsed filter (see the module docstring) for ``dialect`` (sqlite, postgresql)."""
    collection_id = RepositoryRow.kind + literal("s.") + RepositoryRow.name
    translator = _Translator(dialect, known, collection_id)
    rest, geometries = _split_spatial(expr)
    conditions = [translator.node(term, False) for term in rest]
    condition = _balanced(and_, conditions) if conditions else None
    return Translation(condition, geometries)
