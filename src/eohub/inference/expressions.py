"""Run MLM processing expressions, and refuse to unless the user allowed code (``--allow-code``).

Two kinds of ``format`` run:

- arithmetic (``gdal-calc``, ``rio-calc`` in infix form, ``numexpr``): an expression over named arrays
  (``(B08 - B04) / (B08 + B04)``, ``A * logical_or(A <= 177, A >= 185)``), evaluated by a small
  interpreter that knows numbers, variables, operators and a fixed list of NumPy functions; nothing else;
- ``python``: an entry point ``package.module:function`` (or dotted ``package.module.function``) that is
  imported and called with the array.

Any other format (``uri``, ``docker``...) is refused with its location in the item.
"""

from __future__ import annotations

import ast
import importlib
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from eohub.errors import InferenceError
from eohub.inference.metadata import Expression

ARITHMETIC_FORMATS = frozenset({"gdal-calc", "rio-calc", "numexpr"})
PYTHON_FORMATS = frozenset({"python"})

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: getattr(np, name)
    for name in (
        "abs", "sqrt", "exp", "log", "log10", "log1p", "sin", "cos", "tan", "arctan", "arctan2", "minimum",
        "maximum", "clip", "where", "logical_and", "logical_or", "logical_not", "logical_xor", "isnan",
        "floor", "ceil", "round", "power", "square",
    )
}  # fmt: skip


def refusal(expr: Expression) -> InferenceError:
    """The error for an expression the user did not allow: names the entry point and the flag."""
    what = "Python entry point" if expr.format in PYTHON_FORMATS else f"{expr.format} expression"
    return InferenceError(f"{expr.where} runs {what} {expr.expression!r}; pass --allow-code to run it")


def check(expr: Expression, allow_code: bool) -> None:
    """Raise unless ``expr`` has a format eohub runs and the user allowed code."""
    if expr.format not in ARITHMETIC_FORMATS | PYTHON_FORMATS:
        known = ", ".join(sorted(ARITHMETIC_FORMATS | PYTHON_FORMATS))
        raise InferenceError(f"{expr.where}: format {expr.format!r} is not supported (eohub runs {known})")
    if not isinstance(expr.expression, str):
        raise InferenceError(f"{expr.where}: the expression must be a string")
    if not allow_code:
        raise refusal(expr)


def variables(expr: Expression) -> list[str]:
    """Names an arithmetic expression reads (function names excluded), in order of appearance."""
    names: list[str] = []
    for node in ast.walk(_parse(expr)):
        if isinstance(node, ast.Name) and node.id not in FUNCTIONS and node.id not in names:
            names.append(node.id)
    return names


def _parse(expr: Expression) -> ast.Expression:
    try:
        return ast.parse(str(expr.expression).strip(), mode="eval")
    except SyntaxError as exc:
        raise InferenceError(
            f"{expr.where}: cannot parse {expr.expression!r} as an infix expression"
        ) from exc


def evaluate(expr: Expression, names: Mapping[str, Any]) -> np.ndarray:
    """Evaluate an arithmetic expression over ``names`` (arrays or numbers); x/0 gives inf or nan."""
    tree = _parse(expr)

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise InferenceError(f"{expr.where}: unknown name {node.id!r} in {expr.expression!r}")
            return names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
            value = ev(node.operand)
            return (
                np.logical_not(value)
                if isinstance(node.op, ast.Not)
                else (-value if isinstance(node.op, ast.USub) else value)
            )
        if isinstance(node, ast.Compare):
            left, result = ev(node.left), True
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                if type(op) not in _COMPARE:
                    break
                right = ev(right_node)
                result = np.logical_and(result, _COMPARE[type(op)](left, right))
                left = right
            else:
                return result
        if isinstance(node, ast.BoolOp):
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            values = [ev(v) for v in node.values]
            out = values[0]
            for v in values[1:]:
                out = combine(out, v)
            return out
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
            if node.keywords:
                raise InferenceError(
                    f"{expr.where}: keyword arguments are not supported in {expr.expression!r}"
                )
            return FUNCTIONS[node.func.id](*[ev(a) for a in node.args])
        raise InferenceError(f"{expr.where}: {type(node).__name__} is not allowed in {expr.expression!r}")

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.asarray(ev(tree))


def load_entry_point(expr: Expression) -> Callable[..., Any]:
    """Import ``package.module:attr.path`` (or the longest importable dotted prefix); the callable."""
    text = str(expr.expression).strip()
    if ":" in text:
        module_name, _, attr_path = text.partition(":")
        candidates = [(module_name, attr_path)]
    else:
        parts = text.split(".")
        candidates = [(".".join(parts[:i]), ".".join(parts[i:])) for i in range(len(parts) - 1, 0, -1)]
    for module_name, attr_path in candidates:
        try:
            target: Any = importlib.import_module(module_name)
        except ImportError:
            continue
        try:
            for attr in attr_path.split("."):
                target = getattr(target, attr)
        except AttributeError as exc:
            raise InferenceError(f"{expr.where}: {text!r}: {exc}") from exc
        if not callable(target):
            raise InferenceError(f"{expr.where}: {text!r} is not callable")
        return target
    raise InferenceError(f"{expr.where}: cannot import {text!r}")


def array_function(
    expr: Expression, allow_code: bool, bind: Callable[[np.ndarray], Mapping[str, Any]] | None = None
) -> Callable[[np.ndarray], np.ndarray]:
    """A function ``array -> array`` for a whole-array expression (pre/post-processing functions).

    Python entry points get the array itself. Arithmetic expressions see the names ``bind(array)``
    returns; by default the whole array as ``A`` (gdal-calc's first input) and as ``x``.
    """
    check(expr, allow_code)
    if expr.format in PYTHON_FORMATS:
        func = load_entry_point(expr)

        def run_python(array: np.ndarray) -> np.ndarray:
            try:
                result = np.asarray(func(array))
            except Exception as exc:  # noqa: BLE001 - the model author's code may raise anything
                raise InferenceError(f"{expr.where}: {expr.expression!r} failed: {exc}") from exc
            if result.dtype == object:
                raise InferenceError(f"{expr.where}: {expr.expression!r} did not return an array")
            return result

        return run_python
    _parse(expr)
    binder = bind or (lambda array: {"A": array, "x": array})
    return lambda array: evaluate(expr, binder(array))
