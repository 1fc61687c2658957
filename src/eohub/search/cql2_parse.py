"""CQL2 filters (text or JSON) measured, parsed and checked: the CQL2 JSON that :mod:`eohub.search.filters`
translates into SQL.

A filter is measured before the ``cql2`` library parses it, because that parser recurses without a
limit (about 1,500 nested parentheses, a few thousand chained ``NOT``s or signs crash the process) and
its JSON-schema validation costs about 14 MB per chained ``NOT``. The bounds (:class:`eohub.config.Limits`):
``max_filter_chars`` (the text, or the JSON's text), ``max_filter_depth`` (estimated on the text before
parsing: parentheses, plus the operators chained at each level between ``AND``s and ``OR``s, then
measured exactly on the parsed JSON: operators, arrays and objects in a chain) and ``max_filter_terms``
(operators, properties and values). Over a bound is a 400 that names it. The schema validation is not
run: :func:`check_structure` checks the argument counts of what the translator implements, and the
translator refuses everything else by name. The ``cql2`` parse errors are what a bad filter's 400 says.
"""

from __future__ import annotations

import json
import re
from typing import Any

import cql2

from eohub.config import Limits
from eohub.core.jsonbounds import json_depth
from eohub.errors import UsageError

COMPARISONS = {"=", "<>", "<", "<=", ">", ">="}
ARRAY_OPS = {"a_equals", "a_contains", "a_containedby", "a_overlaps"}
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
