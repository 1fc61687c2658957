"""Turn the errors of a JSON schema validator into problems a person can act on: all of them, readable.

A failed ``oneOf``/``anyOf`` hides its reasons in ``error.context``, one group per branch. The MLM
schemas v1.0-v1.2 wrap everything in ``oneOf: [Item, Collection]`` (and the eo extension does too), so
reporting the parent alone, or one leaf, hides every real mistake. Here a branch is *ruled out* when it
fails on the discriminator (``type`` is not what the branch is for, or the instance is not of the
branch's JSON type); a branch that only fails at the instance itself on ``const``/``enum``/``not`` is
*weak*. When one branch is left it is expanded in full (recursively); when several are, the problem is
reported once at the parent with each branch's reason, since nothing says which one the author meant.

Long values (a geometry, a whole asset) are shortened in the middle wherever the message repeats them;
the reason (what was expected) is kept whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eohub.mlm.report import pointer

if TYPE_CHECKING:
    import jsonschema

VALUE_LIMIT = 160  # characters of an offending value quoted in a message
REASON_LIMIT = 1200  # characters of an expected value (an enum, a schema) quoted in a message
SIZES = {"minItems": "at least", "maxItems": "at most", "minLength": "at least", "maxLength": "at most"}
GROUP_LIMIT = 3  # the same rule failing on more items of one list is one problem
DISCRIMINATORS = ("const", "enum")
WEAK = ("const", "enum", "not", "type", "maxItems")  # a branch for another kind of value, or "empty"
AROUND = ("not",)  # a branch that fails only on what sits next to the value (bbox without geometry)


@dataclass(frozen=True)
class Problem:
    """One thing wrong: where (a path into the document), what, and the validator error behind it.

    ``alternatives`` holds the branch reasons when the problem is a ``oneOf``/``anyOf`` no branch of
    which could be singled out; ``allowed`` the values (or JSON types) a value may take when none of the
    branches is for it; ``instance`` the offending value.
    """

    path: tuple[str | int, ...]
    message: str
    error: jsonschema.ValidationError
    alternatives: tuple[str, ...] = ()
    allowed: tuple[Any, ...] = ()
    kind: str = ""

    @property
    def validator(self) -> str:
        return str(self.error.validator)

    @property
    def instance(self) -> Any:
        return self.error.instance

    @property
    def value_kind(self) -> str:
        """``enum`` or ``type`` when the problem is the value's kind (two such at one place say the same)."""
        if self.kind:
            return self.kind
        return {"enum": "enum", "const": "enum", "type": "type"}.get(self.validator, "")


def middle(text: str, limit: int) -> str:
    """``text`` cut in the middle to at most ``limit`` characters (both ends stay readable)."""
    if len(text) <= limit:
        return text
    keep = max(limit - 5, 2)
    head = keep - keep // 2
    return f"{text[:head]} ... {text[len(text) - keep // 2 :]}"


def _path(error: jsonschema.ValidationError, document: Any) -> tuple[str | int, ...]:
    path = tuple(error.absolute_path)
    if error.validator is None:  # a `false` subschema: jsonschema drops the property name from the path
        parent = _at(document, path)
        if isinstance(parent, dict) and parent is not error.instance:
            keys = [k for k, v in parent.items() if v is error.instance]
            if len(keys) == 1:
                return (*path, keys[0])
    return path


def _at(document: Any, path: Sequence[str | int]) -> Any:
    node = document
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def message(error: jsonschema.ValidationError) -> str:
    """The validator's message with long values shortened in the middle."""
    text = error.message
    if error.validator is None:
        return (
            f"{middle(repr(error.instance), VALUE_LIMIT)} is not allowed here (the schema forbids this field)"
        )
    shown = repr(error.instance)
    if len(shown) > VALUE_LIMIT and shown in text:
        text = text.replace(shown, middle(shown, VALUE_LIMIT))
    expected = repr(error.validator_value)
    if len(expected) > REASON_LIMIT and expected in text:
        text = text.replace(expected, middle(expected, REASON_LIMIT))
    if error.validator in SIZES and isinstance(error.instance, list | str | dict):
        text += f" ({SIZES[error.validator]} {error.validator_value}, it has {len(error.instance)})"
    return middle(text, 2 * REASON_LIMIT)


def _reason(error: jsonschema.ValidationError, base: int) -> str:
    """A branch's reason without the offending value the parent message already shows."""
    text = message(error)
    shown = middle(repr(error.instance), VALUE_LIMIT)
    if text.startswith(shown + " "):
        text = text[len(shown) + 1 :]
    rel = pointer(*list(error.absolute_path)[base:])
    return f"{rel}: {text}" if rel else text


def _branches(error: jsonschema.ValidationError) -> list[list[jsonschema.ValidationError]]:
    groups: dict[Any, list[jsonschema.ValidationError]] = {}
    for sub in error.context or []:
        key = sub.relative_schema_path[0] if sub.relative_schema_path else None
        groups.setdefault(key, []).append(sub)
    return list(groups.values())


def _member_type(parent: jsonschema.ValidationError, sub: jsonschema.ValidationError) -> bool:
    """``sub`` says the ``type`` member is not what the branch is for (GeoJSON, STAC and MLM objects)."""
    rel = list(sub.absolute_path)[len(parent.absolute_path) :]
    return sub.validator in DISCRIMINATORS and rel == ["type"]


def _json_type(parent: jsonschema.ValidationError, sub: jsonschema.ValidationError) -> bool:
    """``sub`` says the instance is not of the branch's JSON type (an object where null is allowed...)."""
    return sub.validator == "type" and len(sub.absolute_path) == len(parent.absolute_path)


def _ruled_out(parent: jsonschema.ValidationError, branch: list[jsonschema.ValidationError]) -> bool:
    """The branch is for another kind of value: its ``type`` member or its JSON type does not match."""
    return any(_member_type(parent, sub) or _json_type(parent, sub) for sub in branch)


def _weak(parent: jsonschema.ValidationError, branch: list[jsonschema.ValidationError]) -> bool:
    """The branch fails only on what the value is (``const``, ``not``, a JSON type, "must be empty"), or
    on a member being null or being there at all (STAC's "no geometry, then no bbox")."""
    base = len(parent.absolute_path)

    def weak(sub: jsonschema.ValidationError) -> bool:
        depth = len(sub.absolute_path) - base
        if depth == 0:
            return sub.validator in WEAK
        null = sub.validator == "type" and sub.validator_value == "null"
        return depth == 1 and (null or sub.validator in AROUND)

    return all(weak(sub) for sub in branch)


def _no_kind_matches(error: jsonschema.ValidationError, document: Any) -> Problem | None:
    """Every branch is ruled out: the problem is the ``type`` member (or the JSON type), said once."""
    branches = _branches(error)
    members = [sub for b in branches for sub in b if _member_type(error, sub)]
    if not all(_ruled_out(error, b) for b in branches):
        return None
    if members:
        allowed: list[Any] = []
        for sub in members:
            value = sub.validator_value
            allowed += [v for v in (value if isinstance(value, list) else [value]) if v not in allowed]
        shown = middle(repr(members[0].instance), VALUE_LIMIT)
        text = f"{shown} is not one of {allowed!r}"
        return Problem(
            (*tuple(error.absolute_path), "type"), text, members[0], allowed=tuple(allowed), kind="enum"
        )
    types: list[Any] = []
    for sub in (s for b in branches for s in b if _json_type(error, s)):
        value = sub.validator_value
        types += [t for t in (value if isinstance(value, list) else [value]) if t not in types]
    shown = middle(repr(error.instance), VALUE_LIMIT)
    text = f"{shown} is not of type {' or '.join(map(repr, types))}"
    return Problem(_path(error, document), text, error, allowed=tuple(types), kind="type")


def _intended(error: jsonschema.ValidationError) -> list[list[jsonschema.ValidationError]]:
    """The branches the author may have meant: not ruled out, and not weak when a stronger one exists."""
    branches = _branches(error)
    possible = [b for b in branches if not _ruled_out(error, b)] or branches
    strong = [b for b in possible if not _weak(error, b)]
    return strong or possible


def problems(error: jsonschema.ValidationError, document: Any) -> Iterator[Problem]:
    """Every problem behind ``error``, branches of ``oneOf``/``anyOf`` included."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        yield Problem(_path(error, document), message(error), error)
        return
    if (kind := _no_kind_matches(error, document)) is not None:
        yield kind
        return
    intended = _intended(error)
    if len(intended) == 1:
        for sub in intended[0]:
            yield from problems(sub, document)
        return
    base = len(error.absolute_path)
    reasons = tuple("; ".join(dict.fromkeys(_reason(sub, base) for sub in branch[:3])) for branch in intended)
    listed = " | ".join(f"({i}) {r}" for i, r in enumerate(reasons, 1))
    shown = middle(repr(error.instance), VALUE_LIMIT) if error.absolute_path else "the document"
    text = f"{shown} is not valid under any of the given schemas: {listed}"
    yield Problem(tuple(error.absolute_path), text, error, reasons)


def grouped(found: list[Problem], limit: int = GROUP_LIMIT) -> list[Problem]:
    """The same rule failing on more than ``limit`` items of one list, said once at the list.

    A flat list of numbers where points belong fails once per number; one line says it, with the
    first item's message and which items fail.
    """
    groups: dict[tuple[Any, ...], list[Problem]] = {}
    for problem in found:
        key: tuple[Any, ...] = (id(problem),)
        if problem.path and isinstance(problem.path[-1], int) and not problem.alternatives:
            key = (problem.path[:-1], problem.validator, tuple(problem.error.absolute_schema_path))
        groups.setdefault(key, []).append(problem)
    result = []
    for members in groups.values():
        if len(members) <= limit:
            result.extend(members)
            continue
        first = members[0]
        indexes = [str(m.path[-1]) for m in members]
        shown = ", ".join(indexes[:8]) + (f", ... ({len(indexes)} in all)" if len(indexes) > 8 else "")
        text = f"items {shown}: {first.message} (item {indexes[0]}; the others alike)"
        result.append(Problem(first.path[:-1], text, first.error))
    return result


def sort_key(path: Sequence[str | int]) -> tuple[tuple[int, int, str], ...]:
    """Document order for paths: numbers compare as numbers, names as text."""
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in path)
