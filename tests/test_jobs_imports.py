"""The jobs engine sits below the faces that call it: no module of ``eohub.jobs`` imports ``eohub.cli``,
``eohub.server`` or ``eohub.client`` (read from the source with ``ast``, so imports inside functions
count too), and it uses no private name of another module."""

from __future__ import annotations

import ast
from pathlib import Path

import eohub.jobs

ROOT = Path(eohub.jobs.__file__).parent
FACES = ("eohub.cli", "eohub.server", "eohub.client")


def imports(path: Path) -> list[tuple[str, list[str]]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names]
    return found


def test_the_jobs_engine_imports_no_face_of_the_hub() -> None:
    wrong = [
        f"{path.name}: {module}"
        for path in sorted(ROOT.glob("*.py"))
        for module, _ in imports(path)
        if module.startswith(FACES)
    ]
    assert wrong == []


def test_the_jobs_engine_uses_no_private_name_of_another_module() -> None:
    wrong = [
        f"{path.name}: {module}.{name}"
        for path in sorted(ROOT.glob("*.py"))
        for module, names in imports(path)
        for name in names
        if name.startswith("_") and not name.startswith("__") and module.startswith("eohub")
    ]
    assert wrong == []


def test_a_failure_reason_spells_arguments_as_eohub_predict_flags() -> None:
    from eohub.errors import Argument, InferenceError
    from eohub.jobs.job import failure_reason

    exc = InferenceError("the model runs code; pass allow_code=True", arguments=[Argument("allow_code")])
    assert failure_reason(exc) == "the model runs code; pass --allow-code"
