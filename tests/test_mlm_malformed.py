"""Malformed documents never crash validate, lint or migrate: every field of two items, replaced by junk.

Each field (at any depth) of the tutorial's item and of a built v1.5.2 item is replaced, one at a time, by
values of the wrong type. Whatever the replacement, lint (and validate, for the top two levels) return
reports whose findings point into the document, and migrate either refuses with a named error or
returns a document that validates.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eohub.demo import make_classifier
from eohub.errors import MigrationError, UsageError
from eohub.mlm.build import build_item
from eohub.mlm.lint import lint_data
from eohub.mlm.migrate import migrate_data
from eohub.mlm.validate import validate_data

from .fixtures_tutorial import tutorial_item_dict

JUNK: list[Any] = [None, 7, "x", [], {}, [[1]]]
MIGRATE_JUNK: list[Any] = [None, 7, [[1]]]


def _paths(node: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every field and list element, except the second and later elements of a list (like the first)."""
    if prefix:
        yield prefix
    if isinstance(node, dict):
        children: Any = node.items()
    else:
        children = enumerate(node[:1]) if isinstance(node, list) else ()
    for key, value in children:
        yield from _paths(value, (*prefix, key))


def _replace(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    node: Any = copied
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = copy.deepcopy(value)
    return copied


def _parent_exists(document: Any, ptr: str) -> bool:
    """True when everything but the last step of ``ptr`` exists (a finding may name a missing field)."""
    node = document
    for part in ptr.split("/")[1:-1] if ptr else []:
        part = part.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            return False
    return True


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, Any], Path]]:
    folder = tmp_path_factory.mktemp("malformed")
    model = make_classifier(folder / "model.onnx", bands=3, classes=10, size=64, batch=1)
    options = {"bands": ["red", "green", "blue"], "classes": [f"c{i}" for i in range(10)]}
    built = build_item(model, name="Tiny", mean=[0.5] * 3, std=[0.2] * 3, **options)
    return {
        "tutorial": (tutorial_item_dict("model.onnx"), folder),
        "built": (built.to_dict(include_self_link=False), folder),
    }


@pytest.mark.parametrize("seed", ["tutorial", "built"])
def test_every_field_replaced_by_junk_gives_reports_or_named_errors(
    seeds: dict[str, tuple[dict[str, Any], Path]], seed: str
) -> None:
    document, base = seeds[seed]
    paths = list(_paths(document))
    assert len(paths) > 20 and max(len(p) for p in paths) >= 5  # down to e.g. .../result/shape/0
    for path in paths:
        for junk in JUNK:
            mutated = _replace(document, path, junk)
            where = f"{'/'.join(map(str, path))} = {junk!r}"
            # The schema validator is generic code; its part is checked on the top two levels (it is slow).
            findings = lint_data(mutated, base).findings
            findings += validate_data(mutated).findings if len(path) <= 2 else []
            for finding in findings:
                assert finding.code and finding.message, where
                assert _parent_exists(mutated, finding.pointer), (where, finding)
            if junk not in MIGRATE_JUNK:
                continue  # migrate validates its result, which is slow: the types that broke it before
            try:
                result = migrate_data(mutated)
            except (MigrationError, UsageError):
                pass
            else:
                assert validate_data(result.data).ok, where
