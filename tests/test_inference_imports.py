"""The modules of eohub.inference import each other in one direction only: their import graph has no cycle.

The graph is read from the source with ``ast``, so it counts every import of an ``eohub.inference`` module:
at module level, under ``TYPE_CHECKING`` and inside functions (none of which a cycle check at run time sees).
"""

from __future__ import annotations

import ast
from pathlib import Path

import eohub.inference
from eohub.inference.predictor import Predictor
from eohub.inference.scene_model import SceneModel
from tests.inference_helpers import regressor_item

PACKAGE = "eohub.inference"
ROOT = Path(eohub.inference.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def module_files() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def imported(node: ast.Import | ast.ImportFrom, here: str, is_package: bool, known: set[str]) -> set[str]:
    """The eohub.inference modules an import statement in module ``here`` loads."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in known}
    base = node.module or ""
    if node.level:
        anchor = here.split(".")
        anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
        base = ".".join(anchor + ([base] if base else []))
    if base not in known:
        return set()
    # ``from eohub.inference import bands`` loads the submodule; ``from eohub.inference.x import y`` loads x.
    submodules = {f"{base}.{alias.name}" for alias in node.names} & known
    return submodules or {base}


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    known = set(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in ast.walk(tree):  # module level, TYPE_CHECKING blocks and function bodies alike
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges |= imported(node, name, path.name == "__init__.py", known)
        graph[name] = edges - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle ``[a, b, ..., a]`` of the graph, or None when it has none."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_reader_sees_every_kind_of_import() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import eohub.inference.tiling\n"
        "from eohub.inference import bands as b\n"
        "if TYPE_CHECKING:\n    from eohub.inference.metadata import InputSpec\n"
        "def f():\n    from .scaling import Scaling\n"
    )
    known = {PACKAGE, *(f"{PACKAGE}.{m}" for m in ("tiling", "bands", "metadata", "scaling", "x"))}
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            found |= imported(node, f"{PACKAGE}.x", False, known)
    assert found == {f"{PACKAGE}.{m}" for m in ("tiling", "bands", "metadata", "scaling")}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_inference_modules_import_each_other_without_a_cycle() -> None:
    graph = import_graph()
    assert f"{PACKAGE}.pipeline" in graph and f"{PACKAGE}.predictor" in graph
    cycle = find_cycle(graph)
    shown = " -> ".join(m.rsplit(".", 1)[-1] for m in cycle or [])
    assert cycle is None, f"import cycle in eohub.inference: {shown}"


def test_the_pipeline_knows_a_model_by_a_protocol_not_by_the_predictor() -> None:
    graph = import_graph()
    users = sorted(m.rsplit(".", 1)[-1] for m, edges in graph.items() if f"{PACKAGE}.predictor" in edges)
    assert users == ["distributed"]  # the façades: the Predictor itself and the Dask runner that builds it


def test_the_predictor_has_everything_the_scene_modules_ask_of_a_model(tmp_path) -> None:
    predictor = Predictor.from_item(regressor_item(tmp_path, ["B02", "B03", "B04"]))
    members = {n for n in vars(SceneModel) if not n.startswith("_")} | set(SceneModel.__annotations__)
    assert {"predict_windows", "metadata", "spec"} <= members
    assert [m for m in sorted(members) if not hasattr(predictor, m)] == []
