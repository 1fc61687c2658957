"""Building MLM v1.5.2 items from ONNX files (``build_item`` and ``eohub mlm init``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import onnx
import pytest
from onnx import TensorProto, helper
from typer.testing import CliRunner

from eohub.cli.main import app
from eohub.demo import make_classifier, make_segmenter
from eohub.errors import ModelGraphError, UsageError
from eohub.mlm.build import build_item
from eohub.mlm.lint import lint, lint_data
from eohub.mlm.migrate import migrate_data
from eohub.mlm.validate import validate, validate_data

MODELS = {
    "static classifier": (make_classifier, {"bands": 3, "classes": 10, "size": 64, "batch": 1}),
    "dynamic classifier": (make_classifier, {"bands": 3, "classes": 10, "size": None, "batch": None}),
    "segmenter": (make_segmenter, {"bands": 4, "classes": 3, "size": None, "batch": None}),
}
OPTIONS = {
    "static classifier": {"bands": ["red", "green", "blue"], "classes": [f"c{i}" for i in range(10)],
                          "mean": [0.4, 0.5, 0.6], "std": [0.2, 0.2, 0.2]},
    "dynamic classifier": {"classes": [f"c{i}" for i in range(10)], "minimum": [0.0], "maximum": [255.0]},
    "segmenter": {"bands": ["B02", "B03", "B04", "B08"], "classes": ["water", "land", "cloud"],
                  "tasks": ["semantic-segmentation"], "architecture": "FCN"},
}  # fmt: skip


def built(tmp_path: Path, kind: str, **options: Any) -> tuple[dict[str, Any], Path]:
    make, args = MODELS[kind]
    path = make(tmp_path / "model.onnx", **args)
    return build_item(path, name="Test model", **options).to_dict(include_self_link=False), path


@pytest.mark.parametrize("kind", list(MODELS))
def test_built_item_validates_and_lints_without_findings(tmp_path: Path, kind: str) -> None:
    data, _ = built(tmp_path, kind, **OPTIONS[kind])
    assert [f.line() for f in validate_data(data).findings] == []
    assert [f.line() for f in lint_data(data, tmp_path).findings] == []


@pytest.mark.parametrize("kind", list(MODELS))
def test_built_item_without_options_validates_and_lints_without_findings(tmp_path: Path, kind: str) -> None:
    make, args = MODELS[kind]
    data = build_item(make(tmp_path / "my_model-v2.onnx", **args)).to_dict()
    assert data["properties"]["mlm:name"] == "my_model-v2"
    assert validate_data(data).findings == [] and lint_data(data, tmp_path).findings == []


def test_shapes_types_and_parameters_come_from_the_graph(tmp_path: Path) -> None:
    data, _ = built(tmp_path, "dynamic classifier")
    props = data["properties"]
    assert props["mlm:input"] == [
        {
            "name": "input",
            "bands": [],
            "input": {"shape": [-1, 3, -1, -1], "dim_order": ["batch", "channel", "height", "width"],
                      "data_type": "float32"},
        }
    ]  # fmt: skip
    assert props["mlm:output"][0]["result"] == {
        "shape": [-1, 10],
        "dim_order": ["batch", "class"],
        "data_type": "float32",
    }
    assert props["mlm:tasks"] == ["classification"]
    assert props["mlm:total_parameters"] == 8 * 3 * 9 + 8 + 10 * 8 + 10
    assert (props["mlm:framework"], props["mlm:framework_version"]) == ("ONNX", "1.12.0")


def test_model_asset_has_role_artifact_type_size_and_multihash_checksum(tmp_path: Path) -> None:
    data, path = built(tmp_path, "static classifier")
    asset = data["assets"]["model"]
    assert asset["href"] == "model.onnx"
    assert asset["roles"] == ["mlm:model"] and asset["mlm:artifact_type"] == "onnx"
    assert asset["file:size"] == path.stat().st_size
    assert asset["file:checksum"] == "1220" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert "https://stac-extensions.github.io/file/v2.1.0/schema.json" in data["stac_extensions"]


def test_bands_are_defined_in_properties_and_on_the_model_asset(tmp_path: Path) -> None:
    data, _ = built(tmp_path, "segmenter", **OPTIONS["segmenter"])
    expected = [{"name": b} for b in OPTIONS["segmenter"]["bands"]]
    assert data["stac_version"] == "1.1.0"
    assert data["properties"]["bands"] == expected == data["assets"]["model"]["bands"]
    entry = data["properties"]["mlm:input"][0]
    assert entry["bands"] == OPTIONS["segmenter"]["bands"]
    assert entry["input"]["dim_order"] == ["batch", "bands", "height", "width"]
    assert entry["input"]["shape"] == [-1, 4, -1, -1]


def test_classes_are_numbered_and_fill_a_dynamic_class_dimension(tmp_path: Path) -> None:
    make_segmenter(tmp_path / "m.onnx", bands=4, classes=3)
    output = build_item(tmp_path / "m.onnx", classes=["a", "b", "c"]).to_dict()["properties"]["mlm:output"][0]
    assert output["result"]["dim_order"] == ["batch", "class", "height", "width"]
    assert output["classification:classes"] == [
        {"value": i, "name": n, "description": n} for i, n in enumerate(["a", "b", "c"])
    ]
    assert output["tasks"] == ["semantic-segmentation"]


def test_z_score_and_min_max_scaling_become_one_entry_per_band(tmp_path: Path) -> None:
    data, _ = built(tmp_path, "static classifier", **OPTIONS["static classifier"])
    assert data["properties"]["mlm:input"][0]["value_scaling"] == [
        {"type": "z-score", "mean": m, "stddev": 0.2} for m in (0.4, 0.5, 0.6)
    ]
    data, _ = built(tmp_path, "static classifier", minimum=[0, 0, 0], maximum=[1, 2, 3])
    assert data["properties"]["mlm:input"][0]["value_scaling"] == [
        {"type": "min-max", "minimum": 0.0, "maximum": float(m)} for m in (1, 2, 3)
    ]


def test_channels_last_input_is_recognised_by_its_band_count(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["image"], ["score"], keepdims=0, axes=[1, 2])],
        "nhwc",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, ["n", 32, 32, 3])],
        [helper.make_tensor_value_info("score", TensorProto.UINT8, ["n", 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "nhwc.onnx")
    data = build_item(tmp_path / "nhwc.onnx", bands=["r", "g", "b"], tasks=["regression"]).to_dict()
    structure = data["properties"]["mlm:input"][0]["input"]
    assert structure == {"shape": [-1, 32, 32, 3], "dim_order": ["batch", "height", "width", "bands"],
                         "data_type": "uint8"}  # fmt: skip
    assert data["properties"]["mlm:output"][0]["result"]["dim_order"] == ["batch", "channel"]
    assert validate_data(data).findings == [] and lint_data(data, tmp_path).findings == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bands": ["red", "green"]}, "--bands has 2 names but input 'input' [1, 3, 64, 64] has 3 bands"),
        ({"classes": ["a", "b", "c"]}, "--classes has 3 names but output 'logits' [1, 10] has 10 classes"),
        ({"mean": [0.5, 0.5, 0.5]}, "--mean and --std go together"),
        ({"mean": [0.5, 0.5], "std": [1.0]}, "--mean has 2 values but --std has 1"),
        ({"minimum": [0.0]}, "--min and --max go together"),
        ({"mean": [0.5], "std": [1.0], "minimum": [0.0], "maximum": [1.0]}, "not both"),
        (
            {"mean": [0.5, 0.5], "std": [1.0, 1.0]},
            "2 scaling values for the 3 bands of input 'input': give 1 or 3",
        ),
        ({"mean": [0.5], "std": [0.0]}, "--std values must not be 0"),
        ({"tasks": ["classify"]}, "unknown task(s) classify"),
        ({"name": "x"}, "is not a valid mlm:name"),
        ({"bands": ["red", "red", "blue"]}, "--bands lists a name twice"),
    ],
)
def test_options_contradicting_the_graph_or_each_other_are_usage_errors(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    path = make_classifier(tmp_path / "m.onnx", bands=3, classes=10, size=64, batch=1)
    with pytest.raises(UsageError) as info:
        build_item(path, **options)
    assert message in str(info.value)


def test_per_band_scaling_needs_a_fixed_band_count(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", "c", 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "c", 8, 8])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), tmp_path / "m.onnx")
    with pytest.raises(UsageError, match="no fixed number of bands"):
        build_item(tmp_path / "m.onnx", mean=[1, 2], std=[1, 1])
    data = build_item(tmp_path / "m.onnx", bands=["a", "b"], mean=[1, 2], std=[1, 1]).to_dict()
    assert data["properties"]["mlm:input"][0]["input"]["shape"] == [-1, 2, 8, 8]


def test_non_onnx_file_raises_model_graph_error(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_text("hello")
    with pytest.raises(ModelGraphError):
        build_item(tmp_path / "model.onnx")


class TestInitCli:
    runner = CliRunner()

    def test_init_writes_an_item_that_validates_and_lints_clean(self, tmp_path: Path) -> None:
        model = make_classifier(tmp_path / "models" / "eurosat.onnx", bands=3, classes=4, size=None)
        out = tmp_path / "stac" / "item.json"
        args = ["mlm", "init", str(model), "-o", str(out), "--name", "EuroSAT RGB", "--tasks",
                "classification", "--architecture", "tiny-cnn", "--bands", "red,green,blue", "--classes",
                "a,b,c,d", "--mean", "0.4,0.5,0.6", "--std", "0.2,0.2,0.2"]  # fmt: skip
        result = self.runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        data = json.loads(out.read_text())
        assert data["assets"]["model"]["href"] == "../models/eurosat.onnx"
        assert data["properties"]["mlm:architecture"] == "tiny-cnn"
        assert validate([out]).findings == [] and lint([out]).findings == []
        assert "1 input(s), 1 output(s)" in result.stderr

    def test_init_without_output_prints_the_item(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        make_segmenter(tmp_path / "seg.onnx")
        monkeypatch.chdir(tmp_path)
        result = self.runner.invoke(app, ["mlm", "init", "seg.onnx"])
        assert result.exit_code == 0
        assert json.loads(result.stdout)["assets"]["model"]["href"] == "seg.onnx"

    def test_non_onnx_file_is_a_one_line_error_with_exit_one(self, tmp_path: Path) -> None:
        (tmp_path / "model.onnx").write_bytes(b"not a model")
        result = self.runner.invoke(
            app, ["mlm", "init", str(tmp_path / "model.onnx"), "-o", str(tmp_path / "i.json")]
        )
        assert result.exit_code == 1
        assert result.stderr.startswith("error: ") and "not an ONNX model" in result.stderr
        assert result.stderr.count("\n") == 1
        assert not (tmp_path / "i.json").exists()

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--classes", "a,b"], "--classes has 2 names but output 'logits'"),
            (["--bands", "red,green"], "--bands has 2 names"),
            (["--mean", "1,2", "--std", "1"], "--mean has 2 values but --std has 1"),
            (["--mean", "1,x", "--std", "1,1"], "--mean takes comma-separated numbers"),
            (["--tasks", "classification,"], "--tasks needs non-empty names"),
            (["--tasks", "clasification"], "unknown task(s) clasification; MLM knows regression"),
        ],
    )
    def test_wrong_lists_are_clear_usage_errors(self, tmp_path: Path, args: list[str], message: str) -> None:
        model = make_classifier(tmp_path / "m.onnx")
        result = self.runner.invoke(app, ["mlm", "init", str(model), "-o", str(tmp_path / "i.json"), *args])
        assert result.exit_code == 2
        assert message in result.stderr and result.stderr.count("\n") == 1
        assert not (tmp_path / "i.json").exists()

    def test_existing_output_is_kept_unless_overwrite(self, tmp_path: Path) -> None:
        model = make_classifier(tmp_path / "m.onnx")
        out = tmp_path / "item.json"
        out.write_text("previous")
        result = self.runner.invoke(app, ["mlm", "init", str(model), "-o", str(out)])
        assert result.exit_code == 1 and "pass --overwrite" in result.stderr
        assert out.read_text() == "previous"
        result = self.runner.invoke(app, ["mlm", "init", str(model), "-o", str(out), "--overwrite"])
        assert result.exit_code == 0
        assert json.loads(out.read_text())["type"] == "Feature"

    def test_missing_model_is_a_usage_error(self, tmp_path: Path) -> None:
        result = self.runner.invoke(app, ["mlm", "init", str(tmp_path / "nope.onnx")])
        assert result.exit_code == 2 and "no such file" in result.stderr

    def test_init_with_min_max_scaling_on_a_segmenter_validates_and_lints_clean(self, tmp_path: Path) -> None:
        model = make_segmenter(tmp_path / "seg.onnx", bands=4, classes=3, size=None, batch=None)
        out = tmp_path / "item.json"
        args = ["mlm", "init", str(model), "-o", str(out), "--name", "Tiny segmenter", "--tasks",
                "semantic-segmentation", "--architecture", "FCN", "--bands", "B02,B03,B04,B08",
                "--classes", "water,land,cloud", "--min", "0,0,0,0", "--max", "1e4,1e4,1e4,1e4"]  # fmt: skip
        result = self.runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        props = json.loads(out.read_text())["properties"]
        assert (
            props["mlm:input"][0]["value_scaling"]
            == [{"type": "min-max", "minimum": 0.0, "maximum": 10000.0}] * 4
        )
        assert props["mlm:output"][0]["result"]["dim_order"] == ["batch", "class", "height", "width"]
        classes = props["mlm:output"][0]["classification:classes"]
        assert [c["name"] for c in classes] == ["water", "land", "cloud"]
        assert validate(out).findings == [] and lint(out).findings == []

    @pytest.mark.parametrize("name", ["item.json", "model.onnxtxt", "model.textproto", "empty.onnx"])
    def test_non_onnx_file_of_any_name_is_a_one_line_error_exit_one(self, tmp_path: Path, name: str) -> None:
        path = tmp_path / name
        path.write_text("" if name == "empty.onnx" else '{"type": "Feature"} garbage {')
        result = self.runner.invoke(app, ["mlm", "init", str(path)])
        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: {path}: not an ONNX model (")
        assert result.stderr.count("\n") == 1 and result.stdout == ""

    def test_a_folder_is_not_a_model_and_not_an_output(self, tmp_path: Path) -> None:
        model = make_classifier(tmp_path / "m.onnx")
        result = self.runner.invoke(app, ["mlm", "init", str(tmp_path)])
        assert (result.exit_code, result.stderr) == (2, f"error: {tmp_path}: is a folder, not an ONNX file\n")
        result = self.runner.invoke(app, ["mlm", "init", str(model), "-o", str(tmp_path), "--overwrite"])
        assert result.exit_code == 2 and "is a folder" in result.stderr


def test_guessed_tasks_are_said_in_one_line_and_given_tasks_are_not(tmp_path: Path) -> None:
    said: list[str] = []
    item = build_item(make_segmenter(tmp_path / "seg.onnx"), on_assumption=said.append)
    assert item.properties["mlm:tasks"] == ["semantic-segmentation"]
    assert said == [
        "mlm:tasks not given: assumed semantic-segmentation from output 'scores' [-1, 3, 64, 64]; "
        "set them with --tasks"
    ]
    said.clear()
    build_item(tmp_path / "seg.onnx", tasks=["regression"], on_assumption=said.append)
    assert said == []


def test_nothing_is_said_when_the_build_fails(tmp_path: Path) -> None:
    said: list[str] = []
    with pytest.raises(UsageError):
        build_item(make_classifier(tmp_path / "m.onnx"), classes=["a"], on_assumption=said.append)
    assert said == []


def test_init_says_the_guessed_task_on_stderr_in_one_line(tmp_path: Path) -> None:
    model = make_classifier(tmp_path / "m.onnx")
    result = CliRunner().invoke(app, ["mlm", "init", str(model), "-o", str(tmp_path / "item.json")])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert notes == [
        "note: mlm:tasks not given: assumed classification from output 'logits' [-1, 10]; "
        "set them with --tasks"
    ]
    given = ["mlm", "init", str(model), "-o", str(tmp_path / "i2.json"), "--tasks", "classification"]
    assert "note:" not in CliRunner().invoke(app, given).stderr


def test_built_item_needs_no_migration(tmp_path: Path) -> None:
    data, _ = built(tmp_path, "static classifier", **OPTIONS["static classifier"])
    result = migrate_data(data)
    assert result.changes == [] and result.data == data
    assert data["properties"]["mlm:framework"] == "ONNX"  # spelt as the schema's list spells it


ONE = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])


def _graph_model(path: Path, inputs: list, outputs: list, nodes: list) -> Path:
    graph = helper.make_graph(nodes, "g", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, path)
    return path


@pytest.mark.parametrize(
    ("inputs", "outputs", "nodes", "message"),
    [
        ([], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
         [helper.make_node("Constant", [], ["y"], value=ONE)],
         "the ONNX graph has no inputs to describe"),
        ([helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
         [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
         [helper.make_node("Identity", ["x"], ["y"])], "graph output 'y' has no recorded shape"),
        ([helper.make_tensor_value_info("x", TensorProto.FLOAT, [])],
         [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])],
         [helper.make_node("Identity", ["x"], ["y"])], "graph input 'x' is a scalar"),
    ],
)  # fmt: skip
def test_graphs_mlm_cannot_describe_are_one_line_errors_exit_one(
    tmp_path: Path, inputs: list, outputs: list, nodes: list, message: str
) -> None:
    model = _graph_model(tmp_path / "m.onnx", inputs, outputs, nodes)
    with pytest.raises(ModelGraphError, match=message):
        build_item(model)
    result = CliRunner().invoke(app, ["mlm", "init", str(model), "-o", str(tmp_path / "item.json")])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: ") and message in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "item.json").exists()


def test_a_model_with_two_inputs_and_integer_types_validates_and_lints_clean(tmp_path: Path) -> None:
    model = _graph_model(
        tmp_path / "m.onnx",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 8, 8]),
         helper.make_tensor_value_info("mask", TensorProto.INT64, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_node("Cast", ["mask"], ["m"], to=TensorProto.FLOAT),
         helper.make_node("Mul", ["image", "m"], ["y"])],
    )  # fmt: skip
    data = build_item(model, name="Masked", bands=["r", "g", "b"], tasks=["segmentation"]).to_dict()
    assert [(e["name"], e["input"]["data_type"]) for e in data["properties"]["mlm:input"]] == [
        ("image", "float32"),
        ("mask", "int64"),
    ]
    assert validate_data(data).findings == [] and lint_data(data, tmp_path).findings == []


def test_data_type_table_matches_the_onnx_element_types() -> None:
    from eohub.mlm.onnx_graph import MLM_DATA_TYPES

    expected = {
        "uint8": TensorProto.UINT8, "int8": TensorProto.INT8, "uint16": TensorProto.UINT16,
        "int16": TensorProto.INT16, "uint32": TensorProto.UINT32, "int32": TensorProto.INT32,
        "uint64": TensorProto.UINT64, "int64": TensorProto.INT64, "float16": TensorProto.FLOAT16,
        "float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE, "cfloat32": TensorProto.COMPLEX64,
        "cfloat64": TensorProto.COMPLEX128,
    }  # fmt: skip
    assert {name: number for number, name in MLM_DATA_TYPES.items()} == expected
