"""Offline validation against the shipped STAC core and extension schemas."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
from referencing.exceptions import Unresolvable
from typer.testing import CliRunner

from eohub.cli.main import app
from eohub.mlm.documents import BROKEN_LINK
from eohub.mlm.report import Finding, Report
from eohub.mlm.schemas import SCHEMA_ROOT, _location_url, registry
from eohub.mlm.validate import (
    SCHEMA_ERROR,
    SCHEMA_UNAVAILABLE,
    UNKNOWN_MLM_VERSION,
    UNKNOWN_STAC_VERSION,
    not_validated,
    validate,
    validate_data,
)

from .conftest import EXAMPLES
from .fixtures_tutorial import tutorial_item_dict

runner = CliRunner()


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_every_official_mlm_example_validates(example: Path) -> None:
    report = validate([example])
    assert report.ok, [f.line() for f in report.findings]


@pytest.mark.parametrize("version", ["v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0", "v1.4.0", "v1.5.0", "v1.5.1"])
def test_older_mlm_schemas_resolve_and_reject_bad_shapes(example_item: dict, version: str) -> None:
    host = "crim-ca.github.io/mlm-extension" if version < "v1.4.0" else "stac-extensions.github.io/mlm"
    example_item["stac_extensions"] = [f"https://{host}/{version}/schema.json"]
    example_item["properties"]["mlm:input"][0]["input"]["shape"] = "not-a-list"
    report = validate_data(example_item)
    assert any(f.pointer == "/properties/mlm:input/0/input/shape" for f in report.errors)
    assert not any(f.code == SCHEMA_UNAVAILABLE for f in report.findings)


def test_validation_never_opens_a_socket(example_item: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("validation tried to use the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    example_item["stac_version"] = "1.1.0"
    assert validate_data(example_item).ok


def test_unknown_extension_is_reported_not_passed_or_crashing(example_item: dict) -> None:
    example_item["stac_extensions"].append("https://example.com/ext/v1.0.0/schema.json")
    report = validate_data(example_item)
    notes = [f for f in report.findings if f.code == SCHEMA_UNAVAILABLE]
    assert len(notes) == 1
    assert "not validated (schema not available offline)" in notes[0].message
    assert notes[0].pointer == "/stac_extensions/1"


def test_projection_projjson_is_reported_unavailable(example_item: dict) -> None:
    example_item["stac_extensions"].append("https://stac-extensions.github.io/projection/v2.0.0/schema.json")
    example_item["properties"]["proj:projjson"] = {"type": "GeographicCRS"}
    notes = [f for f in validate_data(example_item).findings if f.code == SCHEMA_UNAVAILABLE]
    assert notes and "proj.org" in notes[0].message


def test_accelerator_cpu_error_explains_the_schema_readme_disagreement(example_item: dict) -> None:
    example_item["properties"]["mlm:accelerator"] = "cpu"
    errors = validate_data(example_item).errors
    assert [e.pointer for e in errors] == ["/properties/mlm:accelerator"]
    assert "README" in errors[0].hint


def test_catalog_folder_is_walked_through_every_child(tmp_path: Path, example_item: dict) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    catalog = {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": "root",
        "description": "d",
        "links": [{"rel": "child", "href": "./a/catalog.json"}],
    }
    child = {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": "a",
        "description": "d",
        "links": [{"rel": "item", "href": "./b/item.json"}],
    }
    example_item["properties"]["mlm:input"][0]["input"]["dim_order"] = 5
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    (tmp_path / "a" / "catalog.json").write_text(json.dumps(child))
    (tmp_path / "a" / "b" / "item.json").write_text(json.dumps(example_item))
    report = validate([tmp_path])
    assert len(report.files) == 3
    assert {Path(e.file).name for e in report.errors} == {"item.json"}
    assert all(e.code == SCHEMA_ERROR for e in report.errors)


def test_cli_exit_codes_and_json_report(tmp_path: Path, example_item: dict) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(example_item))
    assert runner.invoke(app, ["mlm", "validate", str(good)]).exit_code == 0

    example_item["properties"]["mlm:tasks"] = "classification"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(example_item))
    result = runner.invoke(app, ["mlm", "validate", str(bad), "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["findings"][0]["pointer"] == "/properties/mlm:tasks"

    assert runner.invoke(app, ["mlm", "validate", str(tmp_path / "missing.json")]).exit_code == 2
    (tmp_path / "broken.json").write_text("{not json")
    result = runner.invoke(app, ["mlm", "validate", str(tmp_path / "broken.json")])
    assert result.exit_code == 2
    assert "not a JSON document" in result.stderr


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_every_official_mlm_example_validates_through_the_cli(example: Path) -> None:
    result = runner.invoke(app, ["mlm", "validate", str(example)])
    assert result.exit_code == 0, result.stdout
    assert result.stdout.strip().endswith("document(s) valid")


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_ref_of_every_shipped_schema_resolves_offline() -> None:
    unresolved = set()
    count = 0
    for path in sorted(SCHEMA_ROOT.rglob("*.json")):
        if "examples" in path.parts:
            continue
        resolver = registry().resolver(_location_url(path))
        for ref in _refs(json.loads(path.read_text())):
            count += 1
            try:
                resolver.lookup(ref)
            except Unresolvable:
                unresolved.add(ref)
    assert count > 1000
    # The PROJJSON schemas (proj.org) are the one thing the shipped schemas reference but
    # ../shared/schemas does not hold; validation reports them as not available offline.
    assert unresolved and all(r.startswith("https://proj.org/schemas/") for r in unresolved), unresolved


def test_every_schema_folder_keeps_its_licence() -> None:
    folders = {p.name for p in SCHEMA_ROOT.iterdir() if p.is_dir()}
    licensed = {p.parent.name for p in SCHEMA_ROOT.glob("*/LICENSE")}
    assert {"stac", "mlm", "eo", "raster", "file", "classification", "label", "ml-aoi"} <= licensed
    # geojson/ holds Feature.json and Geometry.json as ../shared/schemas ships them: without a licence file.
    assert folders - licensed == {"geojson"}


def test_shipped_schemas_are_package_data() -> None:
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert '"schemas/**/*"' in pyproject
    assert (SCHEMA_ROOT / "mlm" / "LICENSE").is_file() and (SCHEMA_ROOT / "stac" / "LICENSE").is_file()


def test_a_broken_child_link_is_an_error_and_the_rest_is_still_validated(
    tmp_path: Path, example_item: dict
) -> None:
    links = [{"rel": "item", "href": "./gone.json"}, {"rel": "item", "href": "./item.json"}]
    catalog = {"type": "Catalog", "stac_version": "1.0.0", "id": "root", "description": "d", "links": links}
    example_item["properties"]["mlm:tasks"] = "classification"
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    (tmp_path / "item.json").write_text(json.dumps(example_item))

    report = validate([tmp_path])

    assert len(report.files) == 2
    broken = [f for f in report.errors if f.code == BROKEN_LINK]
    assert [(Path(f.file).name, f.pointer) for f in broken] == [("catalog.json", "/links/0/href")]
    assert "gone.json: no such file" in broken[0].message
    assert any(Path(f.file).name == "item.json" for f in report.errors if f.code == SCHEMA_ERROR)
    result = runner.invoke(app, ["mlm", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "/links/0/href: error STAC004: cannot follow the link" in result.stdout


def test_a_link_to_a_non_json_file_is_a_broken_link(tmp_path: Path, example_item: dict) -> None:
    example_item["links"] = [{"rel": "child", "href": "notes.txt"}]
    (tmp_path / "notes.txt").write_text("not json")
    (tmp_path / "item.json").write_text(json.dumps(example_item))
    [finding] = [f for f in validate(tmp_path / "item.json").findings if f.code == BROKEN_LINK]
    assert finding.pointer == "/links/0/href" and "not a JSON document" in finding.message


@pytest.mark.parametrize(
    ("field", "value", "pointer"),
    [
        ("type", ["Feature"], ""),
        ("stac_extensions", "https://stac-extensions.github.io/mlm/v1.5.2/schema.json", "/stac_extensions"),
        ("stac_extensions", 5, "/stac_extensions"),
        ("links", {"rel": "child"}, "/links"),
    ],
)
def test_malformed_top_level_fields_are_one_error_not_a_crash_or_noise(
    example_item: dict, field: str, value: object, pointer: str
) -> None:
    example_item[field] = value
    report = validate_data(example_item)
    assert [f.pointer for f in report.errors] == [pointer]
    assert not [f for f in report.findings if f.code == SCHEMA_UNAVAILABLE]


def test_a_non_string_extension_entry_is_reported_once_by_the_core_schema(example_item: dict) -> None:
    example_item["stac_extensions"].append({"url": "x"})
    report = validate_data(example_item)
    assert [(f.code, f.pointer) for f in report.findings] == [(SCHEMA_ERROR, "/stac_extensions/1")]


@pytest.mark.parametrize("version", ["9.9.9", "1.0", "1.0.0/../../mlm/v1.5.2"])
def test_a_stac_version_without_a_shipped_core_schema_is_an_error(example_item: dict, version: str) -> None:
    example_item["stac_version"] = version
    report = validate_data(example_item)
    [finding] = [f for f in report.errors if f.code == UNKNOWN_STAC_VERSION]
    assert finding.pointer == "/stac_version"
    assert "1.0.0, 1.1.0" in finding.message and finding.hint
    assert not report.ok


@pytest.mark.parametrize(
    ("version", "why"), [("v9.0.0", "newer than v1.5.2"), ("v1.4.7", "not an MLM version")]
)
def test_an_mlm_version_that_is_not_shipped_is_not_validated_not_passed(
    example_item: dict, version: str, why: str
) -> None:
    example_item["stac_extensions"][0] = f"https://stac-extensions.github.io/mlm/{version}/schema.json"
    report = validate_data(example_item)
    [note] = report.findings
    assert (note.code, note.severity, note.pointer) == (UNKNOWN_MLM_VERSION, "error", "/stac_extensions/0")
    assert "is not validated: schema https://" in note.message and "not available offline" in note.message
    assert why in note.message and note.hint
    assert not report.ok and not_validated(report)
    assert "/stac_extensions/0: error STAC006: " in Finding.from_dict(note.to_dict()).line()


def test_the_old_mlm_object_layout_error_points_to_migrate() -> None:
    errors = validate_data(tutorial_item_dict("model.onnx")).errors
    [layout] = [e for e in errors if e.pointer == "/properties/mlm:input"]
    assert "is not of type 'array'" in layout.message
    assert "eohub mlm migrate" in layout.hint


def test_array_valued_collection_summaries_error_explains_the_schema_readme_disagreement() -> None:
    collection = json.loads((EXAMPLES / "collection.json").read_text())
    collection["links"] = []
    collection["stac_extensions"].append("https://stac-extensions.github.io/mlm/v1.5.2/schema.json")
    collection["summaries"] = {"mlm:tasks": ["classification"]}
    errors = validate_data(collection).errors
    assert errors and {e.pointer for e in errors} == {"/summaries/mlm:tasks"}
    assert all("README" in e.hint and "array-valued summaries" in e.hint for e in errors)


def test_unreadable_file_is_a_usage_error_not_a_traceback(
    tmp_path: Path, example_item: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "item.json"
    path.write_text(json.dumps(example_item))

    real_open = os.open

    def denied(file: object, *args: Any, **kwargs: Any) -> int:
        if os.fspath(file) == str(path.resolve()):  # type: ignore[call-overload]
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denied)  # the tests may run as root, whom chmod does not stop
    result = runner.invoke(app, ["mlm", "validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {path}: cannot read file (Permission denied)\n"


@pytest.mark.parametrize(("content", "exit_code"), [(None, 2), ("[1, 2]", 2), ("[" * 100_000, 2)])
def test_files_that_are_not_json_objects_are_usage_errors(
    tmp_path: Path, content: str | None, exit_code: int
) -> None:
    path = tmp_path / "doc.json"
    if content is not None:
        path.write_text(content)
    result = runner.invoke(app, ["mlm", "validate", str(path), "--format", "json"])
    assert result.exit_code == exit_code
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_a_folder_without_catalog_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["mlm", "validate", str(tmp_path)])
    assert (result.exit_code, result.stderr) == (2, f"error: {tmp_path}: folder has no catalog.json\n")


def test_json_report_round_trips_and_lists_every_file(tmp_path: Path, example_item: dict) -> None:
    (tmp_path / "a.json").write_text(json.dumps(example_item))
    example_item["properties"]["mlm:accelerator"] = "cpu"
    (tmp_path / "b.json").write_text(json.dumps(example_item))
    result = runner.invoke(app, ["mlm", "validate", str(tmp_path / "a.json"), str(tmp_path / "b.json"),
                                 "--format", "json"])  # fmt: skip
    data = json.loads(result.stdout)
    assert result.exit_code == 1
    assert [Path(f).name for f in data["files"]] == ["a.json", "b.json"]
    assert Report.from_dict(data).to_dict() == data
    [error] = [f for f in data["findings"] if f["severity"] == "error"]
    assert (Path(error["file"]).name, error["pointer"], error["code"]) == (
        "b.json",
        "/properties/mlm:accelerator",
        SCHEMA_ERROR,
    )


def _errors(data: dict) -> dict[str, Finding]:
    return {f.pointer: f for f in validate_data(data).errors}


def test_every_error_under_the_one_of_of_mlm_v10_is_reported_in_document_order(example_item: dict) -> None:
    example_item["stac_extensions"] = ["https://crim-ca.github.io/mlm-extension/v1.0.0/schema.json"]
    props = example_item["properties"]
    props["mlm:tasks"] = ["Classification", "pixel-classification"]
    props["mlm:pretrained"] = "yes"
    props["mlm:input"][0].pop("bands", None)
    props["mlm:input"][0]["input"]["data_type"] = "float"
    report = validate_data(example_item)
    pointers = [f.pointer for f in report.errors]
    assert pointers[:5] == sorted(pointers[:5])  # natural order of the document paths
    assert {
        "/properties/mlm:tasks/0",
        "/properties/mlm:tasks/1",
        "/properties/mlm:pretrained",
        "/properties/mlm:input/0",
        "/properties/mlm:input/0/input/data_type",
    } <= set(pointers)
    assert not any("'Collection' was expected" in f.message for f in report.errors)
    assert len(pointers) == len(set((f.pointer, f.message) for f in report.errors))


def test_a_stac_version_newer_than_shipped_exits_3_and_says_not_validated(
    tmp_path: Path, example_item: dict
) -> None:
    example_item["stac_version"] = "1.2.0"
    path = tmp_path / "item.json"
    path.write_text(json.dumps(example_item))
    result = runner.invoke(app, ["mlm", "validate", str(path)])
    assert result.exit_code == 3
    assert (
        "stac_version '1.2.0' is not validated: schema https://schemas.stacspec.org/v1.2.0/" in result.stdout
    )
    assert "not available offline" in result.stdout


@pytest.mark.parametrize(
    ("change", "pointer", "hint"),
    [
        (lambda d: d["properties"].update({"mlm:foo": 1}), "/properties", "'mlm:foo' is not an MLM field"),
        (
            lambda d: d["properties"]["mlm:input"][0].update(pre_processing_function="pkg.mod:fn"),
            "/properties/mlm:input/0/pre_processing_function",
            '{"format": "python", "expression": "pkg.mod:fn"}',
        ),
        (lambda d: d.update(geometry="POLYGON((0 0, 1 0, 1 1, 0 0))"), "/geometry", "GeoJSON, not WKT"),
        (
            lambda d: d["assets"].update(code={"href": "x.py", "roles": ["data"], "mlm:entrypoint": "a:b"}),
            "/assets/code/roles",
            "must have the role 'code'",
        ),
        (
            lambda d: d["assets"].update(other={"href": "x.pt", "roles": ["data"], "mlm:artifact_type": "x"}),
            "/assets/other",
            "only the asset with the role 'mlm:model' may have mlm:artifact_type",
        ),
        (
            lambda d: d["properties"]["mlm:input"][0].update(resize_type="bilinear"),
            "/properties/mlm:input/0/resize_type",
            "interpolation-linear",
        ),
    ],
)
def test_opaque_schema_messages_get_a_hint(example_item: dict, change: Any, pointer: str, hint: str) -> None:
    change(example_item)
    found = _errors(example_item)
    assert pointer in found, list(found)
    assert hint in found[pointer].hint


def test_bands_without_definitions_are_explained_at_the_document(example_item: dict) -> None:
    example_item["properties"]["mlm:input"][0]["bands"] = ["B04", "B03", "B02"]
    example_item["properties"]["mlm:input"][0]["input"]["dim_order"] = ["batch", "bands", "height", "width"]
    [root] = [f for f in validate_data(example_item).errors if f.pointer == ""]
    assert root.message.startswith(
        "mlm extension: the document is not valid under any of the given schemas: (1) "
    )
    assert "properties.bands AND 'bands' on the model asset" in root.hint


def test_the_same_rule_failing_on_many_items_is_one_finding(example_item: dict) -> None:
    example_item["properties"]["mlm:tasks"] = [f"task-{i}" for i in range(40)]
    [finding] = [f for f in validate_data(example_item).errors if "mlm:tasks" in f.pointer]
    assert finding.pointer == "/properties/mlm:tasks"
    assert finding.message.startswith(
        "mlm extension: items 0, 1, 2, 3, 4, 5, 6, 7, ... (40 in all): 'task-0'"
    )


def test_middle_keeps_both_ends() -> None:
    from eohub.mlm.schema_errors import middle

    text = "[" + ", ".join(str(i) for i in range(1000)) + "]"
    short = middle(text, 60)
    assert len(short) <= 60 and short.startswith("[0, 1, 2") and short.endswith("998, 999]")
    assert middle("short", 60) == "short"
