"""MLM lint: each rule fires on an item that breaks it; clean items (official examples, built ones) pass."""

from __future__ import annotations

import copy
import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eohub.cli.main import app
from eohub.demo import make_classifier
from eohub.mlm import lint_bands, lint_model
from eohub.mlm.build import build_item
from eohub.mlm.documents import StacDocument
from eohub.mlm.lint import lint, lint_data, lint_document
from eohub.mlm.report import Severity
from tests.conftest import EXAMPLES
from tests.fixtures_tutorial import tutorial_item_dict, write_tutorial_item

BANDS = ["red", "green", "blue"]
CLASSES = [f"class-{i}" for i in range(10)]


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    make_classifier(tmp_path / "model.onnx", bands=3, classes=10, size=64, batch=1)
    return tmp_path


@pytest.fixture
def item(model_dir: Path) -> dict[str, Any]:
    """A clean STAC 1.1.0 / MLM v1.5.2 item for model.onnx: bands, classes, z-score scaling."""
    built = build_item(
        model_dir / "model.onnx",
        name="Tiny classifier",
        bands=BANDS,
        classes=CLASSES,
        mean=[0.5] * 3,
        std=[0.2] * 3,
    )
    return built.to_dict(include_self_link=False)


def run(data: dict[str, Any], base_dir: Path | None = None) -> dict[str, list[tuple[str, str]]]:
    """``{code: [(severity, pointer), ...]}`` of a lint run."""
    found: dict[str, list[tuple[str, str]]] = {}
    for f in lint_data(data, base_dir).findings:
        found.setdefault(f.code, []).append((f.severity.value, f.pointer))
    return found


def first_input(data: dict[str, Any]) -> dict[str, Any]:
    return data["properties"]["mlm:input"][0]


def first_output(data: dict[str, Any]) -> dict[str, Any]:
    return data["properties"]["mlm:output"][0]


def test_built_item_lints_without_any_finding(item: dict[str, Any], model_dir: Path) -> None:
    assert run(item, model_dir) == {}


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_official_examples_lint_without_errors(example: str) -> None:
    report = lint([EXAMPLES / example])
    assert report.ok, [f.line() for f in report.errors]


def test_official_example_misspelt_classes_key_is_flagged_as_legacy() -> None:
    found = run(json.loads((EXAMPLES / "item_basic.json").read_text()))
    assert found == {"MLM016": [("warning", "/properties/mlm:output/0/classification_classes")]}


@pytest.mark.parametrize(("kind", "key"), [("input", "input"), ("output", "result")])
def test_dim_order_length_differing_from_shape_is_an_error(
    item: dict[str, Any], model_dir: Path, kind: str, key: str
) -> None:
    item["properties"][f"mlm:{kind}"][0][key]["dim_order"].pop()
    assert run(item, model_dir)["MLM001"] == [("error", f"/properties/mlm:{kind}/0/{key}/dim_order")]


def test_class_dimension_size_differing_from_class_count_is_an_error(
    item: dict[str, Any], model_dir: Path
) -> None:
    first_output(item)["classification:classes"].pop()
    assert run(item, model_dir)["MLM002"] == [("error", "/properties/mlm:output/0/result/shape/1")]


def test_class_dimension_of_size_one_holds_an_index_and_is_accepted(item: dict[str, Any]) -> None:
    first_output(item)["result"]["shape"] = [1, 1]
    first_output(item)["result"]["data_type"] = "uint8"
    assert "MLM002" not in run(item)


def test_band_count_differing_from_band_dimension_is_an_error(item: dict[str, Any], model_dir: Path) -> None:
    first_input(item)["bands"] = ["red", "green"]
    first_input(item)["value_scaling"] = first_input(item)["value_scaling"][:1]
    assert run(item, model_dir) == {"MLM003": [("error", "/properties/mlm:input/0/bands")]}


def test_band_count_mismatch_is_a_warning_when_a_pre_processing_function_may_combine_bands(
    item: dict[str, Any], model_dir: Path
) -> None:
    first_input(item)["bands"] = ["red", "green", "blue", "nir"]
    first_input(item)["pre_processing_function"] = {"format": "gdal-calc", "expression": "A"}
    assert run(item, model_dir)["MLM003"] == [("warning", "/properties/mlm:input/0/bands")]


@pytest.mark.parametrize(("entries", "flagged"), [(1, False), (2, True), (3, False), (4, True)])
def test_value_scaling_needs_one_entry_or_one_per_band(
    item: dict[str, Any], model_dir: Path, entries: int, flagged: bool
) -> None:
    first_input(item)["value_scaling"] = [{"type": "z-score", "mean": 0, "stddev": 1}] * entries
    found = run(item, model_dir)
    assert (found.get("MLM004") == [("error", "/properties/mlm:input/0/value_scaling")]) is flagged


def test_missing_model_role_is_an_error_that_names_the_likely_asset(
    item: dict[str, Any], model_dir: Path
) -> None:
    item["assets"]["model"]["roles"] = ["data"]
    report = lint_data(item, model_dir)
    [finding] = [f for f in report.findings if f.code == "MLM005"]
    assert finding.severity is Severity.ERROR
    assert "asset 'model'" in finding.hint


def test_local_model_href_that_does_not_exist_is_an_error(item: dict[str, Any], model_dir: Path) -> None:
    item["assets"]["model"]["href"] = "weights/missing.onnx"
    assert run(item, model_dir) == {"MLM006": [("error", "/assets/model/href")]}


def test_relative_href_is_not_checked_without_a_base_folder(item: dict[str, Any]) -> None:
    item["assets"]["model"]["href"] = "weights/missing.onnx"
    assert run(item) == {}


def test_local_model_that_is_not_onnx_is_an_error(item: dict[str, Any], model_dir: Path) -> None:
    (model_dir / "model.onnx").write_bytes(b"definitely not protobuf")
    assert run(item, model_dir) == {"MLM007": [("error", "/assets/model/href")]}


def test_more_inputs_than_the_graph_has_is_an_error(item: dict[str, Any], model_dir: Path) -> None:
    extra = copy.deepcopy(first_input(item)) | {"name": "dem", "bands": []}
    extra["input"]["dim_order"][1] = "channel"
    extra.pop("value_scaling")
    item["properties"]["mlm:input"].append(extra)
    assert run(item, model_dir) == {"MLM008": [("error", "/properties/mlm:input")]}


def test_input_name_unknown_to_the_graph_is_paired_by_position_with_a_warning(
    item: dict[str, Any], model_dir: Path
) -> None:
    first_input(item)["name"] = "RGB image"
    assert run(item, model_dir) == {"MLM009": [("warning", "/properties/mlm:input/0/name")]}


def test_rank_contradicting_the_graph_is_an_error(item: dict[str, Any], model_dir: Path) -> None:
    first_output(item)["result"] |= {"shape": [1, 10, 1], "dim_order": ["batch", "class", "height"]}
    assert run(item, model_dir) == {"MLM010": [("error", "/properties/mlm:output/0/result/shape")]}


def test_fixed_size_contradicting_the_graph_is_an_error_and_minus_one_matches_anything(
    item: dict[str, Any], model_dir: Path
) -> None:
    first_input(item)["input"]["shape"] = [-1, 3, 32, -1]
    assert run(item, model_dir) == {"MLM011": [("error", "/properties/mlm:input/0/input/shape/2")]}


def test_data_type_contradicting_the_graph_is_an_error(item: dict[str, Any], model_dir: Path) -> None:
    first_input(item)["input"]["data_type"] = "uint8"
    report = lint_data(item, model_dir)
    [finding] = report.findings
    assert (finding.code, finding.pointer) == ("MLM012", "/properties/mlm:input/0/input/data_type")
    assert "float32" in finding.message and "uint8" in finding.message


def test_total_parameters_differing_from_the_graph_is_a_warning(
    item: dict[str, Any], model_dir: Path
) -> None:
    item["properties"]["mlm:total_parameters"] = 11_700_000
    assert run(item, model_dir) == {"MLM013": [("warning", "/properties/mlm:total_parameters")]}


def test_older_mlm_version_is_a_warning_that_points_to_migrate(item: dict[str, Any], model_dir: Path) -> None:
    item["stac_extensions"][0] = "https://stac-extensions.github.io/mlm/v1.4.0/schema.json"
    [finding] = lint_data(item, model_dir).findings
    assert (finding.code, finding.severity, finding.pointer) == (
        "MLM014",
        Severity.WARNING,
        "/stac_extensions/0",
    )
    assert "eohub mlm migrate" in finding.hint


def test_mlm_v151_is_not_told_to_migrate_since_v152_changed_no_field(
    item: dict[str, Any], model_dir: Path
) -> None:
    item["stac_extensions"][0] = "https://stac-extensions.github.io/mlm/v1.5.1/schema.json"
    assert run(item, model_dir) == {}


def test_a_future_mlm_version_is_a_warning_and_its_tasks_are_checked_against_the_newest(
    item: dict[str, Any], model_dir: Path
) -> None:
    item["stac_extensions"][0] = "https://stac-extensions.github.io/mlm/v1.6.0/schema.json"
    item["properties"]["mlm:tasks"] = ["classification", "not-a-task"]
    findings = [f for f in lint_data(item, model_dir).findings if f.code == "MLM025"]
    assert [(f.severity, f.pointer) for f in findings] == [
        (Severity.WARNING, "/stac_extensions/0"),
        (Severity.WARNING, "/properties/mlm:tasks/1"),
    ]
    assert "newer than v1.5.2" in findings[0].message and "not validated" in findings[0].message


def test_a_stac_version_newer_than_shipped_is_a_warning(item: dict[str, Any], model_dir: Path) -> None:
    item["stac_version"] = "1.2.0"
    assert run(item, model_dir) == {"MLM025": [("warning", "/stac_version")]}


@pytest.mark.parametrize(
    ("name", "flagged"), [("model.onnx", True), ("resnet18.pth", True), ("ResNet-18 v2", False)]
)
def test_mlm_name_that_is_a_file_name_is_an_info(item: dict[str, Any], name: str, flagged: bool) -> None:
    item["properties"]["mlm:name"] = name
    assert (run(item).get("MLM015") == [("info", "/properties/mlm:name")]) is flagged


@pytest.mark.parametrize("key", ["norm_type", "norm_by_channel", "norm_clip", "statistics"])
def test_legacy_normalization_keys_are_warnings_in_v14_and_later(item: dict[str, Any], key: str) -> None:
    first_input(item)[key] = {
        "norm_type": "z-score",
        "norm_by_channel": True,
        "norm_clip": [1],
        "statistics": [],
    }[key]
    assert run(item) == {"MLM016": [("warning", f"/properties/mlm:input/0/{key}")]}


def test_misspelt_classification_classes_is_a_warning(item: dict[str, Any]) -> None:
    output = first_output(item)
    output["classification_classes"] = output.pop("classification:classes")
    assert run(item) == {"MLM016": [("warning", "/properties/mlm:output/0/classification_classes")]}


def test_model_asset_without_artifact_type_is_an_error_in_v152(item: dict[str, Any], model_dir: Path) -> None:
    del item["assets"]["model"]["mlm:artifact_type"]
    assert run(item, model_dir) == {"MLM017": [("error", "/assets/model")]}


def test_output_tasks_outside_mlm_tasks_are_a_warning(item: dict[str, Any]) -> None:
    first_output(item)["tasks"] = ["classification", "semantic-segmentation"]
    assert run(item) == {"MLM018": [("warning", "/properties/mlm:output/0/tasks")]}


@pytest.mark.parametrize(
    ("drop", "explains"),
    [
        ("asset", "only allows item-level bands when an asset has bands too"),
        ("properties", "properties.bands is missing"),
        ("both", "defines none"),
    ],
)
def test_bands_trap_of_stac_11_is_explained(item: dict[str, Any], drop: str, explains: str) -> None:
    if drop in ("asset", "both"):
        del item["assets"]["model"]["bands"]
    if drop in ("properties", "both"):
        del item["properties"]["bands"]
    [finding] = lint_data(item).findings
    assert (finding.code, finding.severity, finding.pointer) == (
        "MLM019",
        Severity.ERROR,
        "/properties/mlm:input/0/bands",
    )
    assert explains in finding.message
    assert "bands" in finding.hint


def test_stac_10_item_with_eo_bands_escapes_the_bands_trap(item: dict[str, Any]) -> None:
    item["stac_version"] = "1.0.0"
    del item["assets"]["model"]["bands"]
    item["properties"]["eo:bands"] = item["properties"].pop("bands")
    item["stac_extensions"].append("https://stac-extensions.github.io/eo/v1.1.0/schema.json")
    assert run(item) == {}


def test_cpu_accelerator_explains_the_schema_readme_disagreement(item: dict[str, Any]) -> None:
    item["properties"]["mlm:accelerator"] = "cpu"
    [finding] = lint_data(item).findings
    assert (finding.code, finding.severity) == ("MLM020", Severity.ERROR)
    assert "README" in finding.hint and "amd64" in finding.message


def test_array_valued_collection_summaries_explain_the_schema_readme_disagreement() -> None:
    collection = json.loads((EXAMPLES / "collection.json").read_text())
    collection["stac_extensions"].append("https://stac-extensions.github.io/mlm/v1.5.2/schema.json")
    collection["summaries"] = {
        "mlm:tasks": [["classification"]],
        "mlm:total_parameters": {"minimum": 1, "maximum": 9},
    }
    [finding] = lint_data(collection).findings
    assert (finding.code, finding.pointer) == ("MLM021", "/summaries/mlm:tasks")
    assert "README" in finding.hint


@pytest.mark.parametrize(
    ("band", "flagged"),
    [
        ("nir", True),
        ({"name": "nir"}, True),
        ({"name": "ndvi", "format": "rio-calc", "expression": "(nir - red) / (nir + red)"}, False),
    ],
)
def test_input_band_the_item_does_not_define_is_a_warning(
    item: dict[str, Any], band: Any, flagged: bool
) -> None:
    first_input(item)["bands"][2] = band
    found = run(item)
    assert (found.get("MLM024") == [("warning", "/properties/mlm:input/0/bands/2")]) is flagged
    assert set(found) <= {"MLM024"}


def test_input_band_matching_an_eo_common_name_is_defined(item: dict[str, Any]) -> None:
    item["stac_version"] = "1.0.0"
    del item["assets"]["model"]["bands"], item["properties"]["bands"]
    item["properties"]["eo:bands"] = [{"name": f"B0{i}", "common_name": c} for i, c in enumerate(BANDS, 2)]
    item["stac_extensions"].append("https://stac-extensions.github.io/eo/v1.1.0/schema.json")
    assert run(item) == {}


def test_mlm_fields_without_the_extension_are_a_warning(item: dict[str, Any]) -> None:
    item["stac_extensions"] = item["stac_extensions"][1:]
    assert run(item) == {"MLM023": [("warning", "/stac_extensions")]}


def test_documents_without_mlm_are_not_linted() -> None:
    plain = {"type": "Feature", "stac_version": "1.1.0", "id": "x", "properties": {}, "assets": {}}
    assert lint_data(plain).findings == []


def test_malformed_fields_are_left_to_the_schema(item: dict[str, Any]) -> None:
    item["properties"]["mlm:input"] = ["not an object", {"name": "x", "input": {"shape": "64x64"}}]
    item["properties"]["mlm:output"] = 7
    item["assets"]["model"]["roles"] = None
    assert set(run(item)) == {"MLM005"}


class TestTutorialItem:
    """The EOTDL tutorial's item (old object layout, v1.2.0), linted next to its ONNX model."""

    @pytest.fixture
    def findings(self, tmp_path: Path) -> dict[str, list[tuple[str, str]]]:
        path = write_tutorial_item(tmp_path)
        return run(json.loads(path.read_text()), path.parent)

    def test_output_dim_order_shape_mismatch_is_flagged(
        self, findings: dict[str, list[tuple[str, str]]]
    ) -> None:
        assert findings["MLM001"] == [("error", "/properties/mlm:output/result/dim_order")]

    def test_old_layout_old_version_and_missing_model_metadata_are_flagged(
        self, findings: dict[str, list[tuple[str, str]]]
    ) -> None:
        assert findings["MLM022"] == [("error", "/properties/mlm:input"), ("error", "/properties/mlm:output")]
        assert findings["MLM014"] == [("warning", "/stac_extensions/0")]
        assert findings["MLM015"] == [("info", "/properties/mlm:name")]
        assert findings["MLM005"] == [("error", "/assets")]
        assert findings["MLM017"] == [("warning", "/assets/model")]
        assert findings["MLM019"] == [("error", "/properties/mlm:input/bands")]

    def test_graph_is_still_checked_through_the_onnx_asset(
        self, findings: dict[str, list[tuple[str, str]]]
    ) -> None:
        # The declared input name is prose; shapes and types agree with the graph: only the name is flagged.
        assert findings["MLM009"] == [("warning", "/properties/mlm:input/name")]
        assert not {"MLM010", "MLM011", "MLM012"} & set(findings)

    def test_fixture_keeps_the_tutorials_properties(self) -> None:
        data = tutorial_item_dict("model.onnx")
        assert data["properties"]["mlm:output"]["result"] == {
            "shape": [-1, 10],
            "dim_order": ["batch", "height", "width"],
            "data_type": "float32",
        }
        assert data["stac_extensions"] == ["https://crim-ca.github.io/mlm-extension/v1.2.0/schema.json"]


def test_catalog_folder_is_walked_and_hrefs_resolve_per_document(
    tmp_path: Path, item: dict[str, Any]
) -> None:
    folder = tmp_path / "cat"
    make_classifier(folder / "items" / "model.onnx", bands=3, classes=10, size=64, batch=1)
    (folder / "items" / "item.json").write_text(json.dumps(item))
    catalog = {"type": "Catalog", "stac_version": "1.1.0", "id": "c", "description": "d",
               "links": [{"rel": "item", "href": "items/item.json"}]}  # fmt: skip
    (folder / "catalog.json").write_text(json.dumps(catalog))
    report = lint([folder])
    assert len(report.files) == 2
    assert report.findings == []


def test_lint_document_resolves_hrefs_against_the_documents_folder(
    item: dict[str, Any], model_dir: Path
) -> None:
    first_input(item)["input"]["data_type"] = "int16"
    report = lint_document(StacDocument(model_dir / "item.json", item))
    assert [f.code for f in report.findings] == ["MLM012"]
    assert report.findings[0].file == str(model_dir / "item.json")


def test_every_code_is_documented_in_the_code_table() -> None:
    lint_module = importlib.import_module("eohub.mlm.lint")  # eohub.mlm.lint is also the API function
    modules = (lint_module, lint_model, lint_bands)
    source = "".join(Path(m.__file__).read_text() for m in modules)  # type: ignore[arg-type]
    used = set(re.findall(r'"(MLM\d{3})"', source))
    documented = set(re.findall(r"^(MLM\d{3}) ", lint_module.__doc__ or "", re.MULTILINE))
    assert used == documented == {f"MLM{i:03d}" for i in range(1, 29)}


class TestCli:
    runner = CliRunner()

    def test_clean_item_exits_zero(self, item: dict[str, Any], model_dir: Path) -> None:
        (model_dir / "item.json").write_text(json.dumps(item))
        result = self.runner.invoke(app, ["mlm", "lint", str(model_dir / "item.json")])
        assert result.exit_code == 0
        assert "1 document(s) linted, no errors" in result.stdout

    def test_tutorial_item_exits_one_with_one_line_per_finding(self, tmp_path: Path) -> None:
        path = write_tutorial_item(tmp_path)
        result = self.runner.invoke(app, ["mlm", "lint", str(path)])
        assert result.exit_code == 1
        assert re.search(r"/properties/mlm:output/result/dim_order: error MLM001: .*\(hint: ", result.stdout)

    def test_json_format_is_a_machine_readable_report(self, tmp_path: Path) -> None:
        path = write_tutorial_item(tmp_path)
        result = self.runner.invoke(app, ["mlm", "lint", "--format", "json", str(path)])
        report = json.loads(result.stdout)
        assert result.exit_code == 1 and report["ok"] is False
        mlm001 = [f for f in report["findings"] if f["code"] == "MLM001"]
        assert mlm001 == [
            {
                "code": "MLM001",
                "severity": "error",
                "file": str(path),
                "pointer": "/properties/mlm:output/result/dim_order",
                "message": mlm001[0]["message"],
                "hint": mlm001[0]["hint"],
            }
        ]

    def test_warnings_alone_exit_zero(self, item: dict[str, Any], model_dir: Path) -> None:
        item["properties"]["mlm:total_parameters"] = 1
        (model_dir / "item.json").write_text(json.dumps(item))
        result = self.runner.invoke(app, ["mlm", "lint", str(model_dir / "item.json")])
        assert result.exit_code == 0
        assert "warning MLM013" in result.stdout

    @pytest.mark.parametrize("content", [None, "{not json"])
    def test_missing_or_non_json_file_is_a_usage_error(self, tmp_path: Path, content: str | None) -> None:
        path = tmp_path / "item.json"
        if content is not None:
            path.write_text(content)
        result = self.runner.invoke(app, ["mlm", "lint", str(path)])
        assert result.exit_code == 2
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


def _resolve(document: Any, ptr: str) -> Any:
    """The value a JSON pointer names (RFC 6901); KeyError/IndexError when it names nothing."""
    node = document
    for part in ptr.split("/")[1:] if ptr else []:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _triggering_documents(tmp_path: Path, item: dict[str, Any], model_dir: Path) -> list[tuple[dict, Path]]:
    tutorial = write_tutorial_item(tmp_path / "tutorial")
    broken = copy.deepcopy(item)
    first_input(broken)["input"] |= {"shape": [-1, 4, 32, -1], "data_type": "uint8"}
    first_input(broken).update(bands=["red", "green"], norm_type="z-score", statistics=[])
    first_output(broken)["classification:classes"].pop()
    first_output(broken)["tasks"] = ["detection"]
    broken["properties"] |= {"mlm:total_parameters": 3, "mlm:name": "model.onnx", "mlm:accelerator": "cpu"}
    missing = copy.deepcopy(item)
    missing["assets"]["model"]["href"] = "gone.onnx"
    return [(json.loads(tutorial.read_text()), tutorial.parent), (broken, model_dir), (missing, model_dir)]


def test_every_finding_has_a_code_severity_resolvable_pointer_message_and_hint(
    tmp_path: Path, item: dict[str, Any], model_dir: Path
) -> None:
    codes = set()
    for document, base in _triggering_documents(tmp_path, item, model_dir):
        for finding in lint_data(document, base).findings:
            codes.add(finding.code)
            assert re.fullmatch(r"MLM\d{3}", finding.code)
            assert finding.severity in (Severity.ERROR, Severity.WARNING, Severity.INFO)
            _resolve(document, finding.pointer)  # the pointer names a place that exists in the document
            assert finding.message and finding.hint, finding
    assert len(codes) >= 15, codes


def test_python_api_lints_a_path_string_and_a_pystac_item(item: dict[str, Any], model_dir: Path) -> None:
    import pystac

    from eohub import mlm

    first_input(item)["input"]["data_type"] = "uint8"
    (model_dir / "item.json").write_text(json.dumps(item))
    from_path = mlm.lint(str(model_dir / "item.json"))
    from_item = mlm.lint(pystac.Item.from_dict(item), base_dir=model_dir)
    assert [f.code for f in from_path.findings] == [f.code for f in from_item.findings] == ["MLM012"]


def test_assets_with_malformed_roles_are_linted_without_crashing_on_them(item: dict[str, Any]) -> None:
    item["assets"]["model"]["roles"] = 5
    assert set(run(item)) == {"MLM005"}


def test_a_broken_catalog_link_is_reported_by_lint_too(tmp_path: Path) -> None:
    catalog = {"type": "Catalog", "stac_version": "1.1.0", "id": "c", "description": "d",
               "links": [{"rel": "child", "href": "missing/catalog.json"}]}  # fmt: skip
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    result = CliRunner().invoke(app, ["mlm", "lint", str(tmp_path)])
    assert result.exit_code == 1
    assert "/links/0/href: error STAC004: cannot follow the link" in result.stdout


def segmentation_output(item: dict[str, Any], channels: int, classes: int, axis: str = "channel") -> None:
    output = first_output(item)
    output["tasks"] = ["semantic-segmentation"]
    output["result"] |= {"shape": [-1, channels, 64, 64], "dim_order": ["batch", axis, "height", "width"]}
    output["classification:classes"] = [{"value": i, "name": f"c{i}"} for i in range(classes)]
    item["properties"]["mlm:tasks"] = ["semantic-segmentation"]


@pytest.mark.parametrize(("channels", "classes", "flagged"), [(5, 2, True), (2, 2, False), (1, 2, False)])
def test_segmentation_classes_are_checked_against_the_channel_axis(
    item: dict[str, Any], channels: int, classes: int, flagged: bool
) -> None:
    segmentation_output(item, channels, classes)
    found = run(item).get("MLM002")
    assert (found == [("error", "/properties/mlm:output/0/result/shape/1")]) is flagged
    if flagged:
        [finding] = [f for f in lint_data(item).findings if f.code == "MLM002"]
        assert "the channel dimension (which carries the classes of a semantic-segmentation output)" in (
            finding.message
        )


def test_a_nodata_class_does_not_count_against_the_channel_axis(item: dict[str, Any]) -> None:
    segmentation_output(item, 2, 2)
    first_output(item)["classification:classes"].append({"value": 255, "name": "nodata", "nodata": True})
    assert "MLM002" not in run(item)


def test_a_channel_axis_of_a_detection_output_is_not_a_class_axis(item: dict[str, Any]) -> None:
    segmentation_output(item, 5, 2)
    first_output(item)["tasks"] = ["object-detection"]
    item["properties"]["mlm:tasks"] = ["object-detection"]
    assert "MLM002" not in run(item)


@pytest.mark.parametrize("name", ['"red"', " red", "red ", "'red'", "\u201cred\u201d"])
def test_quoted_or_padded_band_names_are_errors(item: dict[str, Any], name: str) -> None:
    first_input(item)["bands"][0] = name
    findings = [f for f in lint_data(item).findings if f.code == "MLM026"]
    assert [(f.severity, f.pointer) for f in findings] == [
        (Severity.ERROR, "/properties/mlm:input/0/bands/0")
    ]
    assert findings[0].hint == 'write it as "red"'
    assert "MLM024" not in run(item)  # one finding for one mistake


def test_quoted_band_definitions_are_errors_too(item: dict[str, Any]) -> None:
    item["properties"]["bands"][1]["name"] = '"green"'
    item["assets"]["model"]["bands"][1] = {"name": " green "}
    assert run(item)["MLM026"] == [
        ("error", "/properties/bands/1/name"),
        ("error", "/assets/model/bands/1/name"),
    ]


@pytest.mark.parametrize(
    ("asset", "what"),
    [
        ({"href": "https://github.com/org/repo/blob/main/train.py", "type": "text/x-python"}, "Python"),
        ({"href": "src/model.py"}, "Python"),
        ({"href": "notebooks/train.ipynb"}, "notebook"),
        ({"href": "ghcr.io/org/models/unet:latest"}, "container image"),
        ({"href": "docker://org/unet:1.0"}, "container image"),
        (
            {"href": "https://x.org/image", "type": "application/vnd.oci.image.index.v1+json"},
            "container image",
        ),
    ],
)
def test_an_asset_that_is_not_a_model_with_the_model_role_is_an_error(
    item: dict[str, Any], model_dir: Path, asset: dict[str, Any], what: str
) -> None:
    item["assets"]["code"] = {**asset, "roles": ["mlm:model"], "mlm:artifact_type": "python"}
    findings = [f for f in lint_data(item, model_dir).findings]
    assert [(f.code, f.pointer) for f in findings] == [("MLM027", "/assets/code/roles")]
    assert what in findings[0].message


def test_runtime_images_without_the_model_role_are_fine(item: dict[str, Any], model_dir: Path) -> None:
    for role in ("mlm:training-runtime", "mlm:inference-runtime"):
        item["assets"][role] = {"href": "ghcr.io/org/models/unet:latest", "roles": [role]}
    item["assets"]["code"] = {
        "href": "https://github.com/org/repo",
        "roles": ["code"],
        "mlm:entrypoint": "a:b",
    }
    assert run(item, model_dir) == {}


def test_input_bands_need_a_bands_axis_since_v150(item: dict[str, Any]) -> None:
    first_input(item)["input"]["dim_order"] = ["batch", "channel", "height", "width"]
    [finding] = [f for f in lint_data(item).findings if f.code == "MLM028"]
    assert (finding.severity, finding.pointer) == (Severity.ERROR, "/properties/mlm:input/0/input/dim_order")
    assert (
        "None of ['batch', 'channel', 'height', 'width'] are valid under the given schema" in finding.message
    )
    assert finding.hint.startswith("rename 'channel' to 'bands'")
    item["stac_extensions"][0] = "https://stac-extensions.github.io/mlm/v1.4.0/schema.json"
    assert "MLM028" not in run(item)


def test_a_bands_axis_without_listed_bands_is_an_error_since_v150(item: dict[str, Any]) -> None:
    first_input(item)["bands"] = []
    assert run(item)["MLM028"] == [("error", "/properties/mlm:input/0/input/dim_order")]


@pytest.mark.parametrize(
    ("change", "explains"),
    [
        ("eo-undeclared", "eo:bands needs the eo extension in stac_extensions"),
        ("eo-v2", "MLM accepts eo:bands of eo v1.x only, not v2.0.0"),
        ("raster-elsewhere", "raster:bands must be on the mlm:model asset"),
        ("bands-on-stac-10", "'bands' is STAC 1.1 (stac_version is '1.0.0')"),
    ],
)
def test_bands_defined_where_mlm_does_not_look_are_named_not_called_missing(
    item: dict[str, Any], change: str, explains: str
) -> None:
    bands = item["properties"].pop("bands")
    del item["assets"]["model"]["bands"]
    eo = [{"name": b["name"]} for b in bands]
    if change.startswith("eo"):
        item["properties"]["eo:bands"] = eo
        item["stac_version"] = "1.0.0"
        if change == "eo-v2":
            item["stac_extensions"].append("https://stac-extensions.github.io/eo/v2.0.0/schema.json")
    elif change == "raster-elsewhere":
        item["stac_extensions"].append("https://stac-extensions.github.io/raster/v1.1.0/schema.json")
        item["assets"]["preview"] = {"href": "preview.tif", "roles": ["overview"], "raster:bands": eo}
    else:
        item["stac_version"] = "1.0.0"
        item["properties"]["bands"] = bands
    [finding] = [f for f in lint_data(item).findings if f.code == "MLM019"]
    assert "defines none" not in finding.message
    assert explains in finding.message
