"""Reading ONNX signatures: names, shapes, data types, parameter counts, and refusing non-ONNX files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from eohub.demo import make_classifier, make_segmenter
from eohub.errors import ModelGraphError, UsageError
from eohub.mlm.onnx_graph import read_signature


def _save(graph: onnx.GraphProto, path: Path, ir_version: int = 8) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="test")
    model.ir_version = ir_version
    onnx.save(model, path)
    return path


def test_static_classifier_signature_has_names_shapes_types_and_parameter_count(tmp_path: Path) -> None:
    path = make_classifier(tmp_path / "m.onnx", bands=3, classes=10, size=64, batch=1, hidden=8)
    sig = read_signature(path)
    assert [(t.name, t.shape, t.data_type) for t in sig.inputs] == [("input", [1, 3, 64, 64], "float32")]
    assert [(t.name, t.shape, t.data_type) for t in sig.outputs] == [("logits", [1, 10], "float32")]
    # conv 8x3x3x3 + 8 bias, dense 10x8 + 10 bias
    assert sig.total_parameters == 8 * 3 * 3 * 3 + 8 + 10 * 8 + 10
    assert (sig.opset, sig.ir_version, sig.producer) == (17, 8, "eohub.demo")


def test_symbolic_dimensions_become_minus_one(tmp_path: Path) -> None:
    sig = read_signature(make_segmenter(tmp_path / "s.onnx", bands=4, classes=3, size=None, batch=None))
    assert sig.inputs[0].shape == [-1, 4, -1, -1]
    assert sig.outputs[0].shape == [-1, 3, -1, -1]


def test_onnx_version_is_the_first_release_supporting_the_opset(tmp_path: Path) -> None:
    sig = read_signature(make_classifier(tmp_path / "m.onnx"))
    assert sig.onnx_version == "1.12.0"  # the release that introduced opset 17


def test_initializers_listed_as_inputs_are_weights_not_inputs_and_counted_once(tmp_path: Path) -> None:
    weight = numpy_helper.from_array(np.ones((2, 3), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2]),
            helper.make_tensor_value_info("w", TensorProto.FLOAT, [2, 3]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
        [weight],
    )
    sig = read_signature(_save(graph, tmp_path / "m.onnx"))
    assert [t.name for t in sig.inputs] == ["x"]
    assert sig.total_parameters == 6


@pytest.mark.parametrize(
    ("elem_type", "expected"),
    [
        (TensorProto.UINT8, "uint8"),
        (TensorProto.INT16, "int16"),
        (TensorProto.INT64, "int64"),
        (TensorProto.FLOAT16, "float16"),
        (TensorProto.DOUBLE, "float64"),
        (TensorProto.BOOL, "other"),
        (TensorProto.BFLOAT16, "other"),
    ],
)
def test_data_types_use_mlm_names_and_other_for_types_mlm_cannot_name(
    tmp_path: Path, elem_type: int, expected: str
) -> None:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", elem_type, [1, 2])],
        [helper.make_tensor_value_info("y", elem_type, [1, 2])],
    )
    sig = read_signature(_save(graph, tmp_path / "m.onnx"))
    assert sig.inputs[0].data_type == sig.outputs[0].data_type == expected


def test_output_without_shape_has_unknown_rank(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    out = read_signature(_save(graph, tmp_path / "m.onnx")).outputs[0]
    assert (out.shape, out.rank_known, out.data_type) == ([], False, "float32")


def test_to_dict_is_plain_json_data(tmp_path: Path) -> None:
    data = read_signature(make_classifier(tmp_path / "m.onnx", size=None)).to_dict()
    expected = {"name": "input", "shape": [-1, 3, -1, -1], "data_type": "float32", "rank_known": True}
    assert data["inputs"][0] == expected
    assert data["total_parameters"] == 314


@pytest.mark.parametrize("content", [b"this is not a model at all", b"", b"\x08\x07\x12\x04junk\xff\xff"])
def test_non_onnx_file_raises_model_graph_error_with_one_line(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelGraphError) as info:
        read_signature(path)
    assert "not an ONNX model" in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        read_signature(tmp_path / "missing.onnx")


@pytest.mark.parametrize("name", ["model.json", "model.onnxtxt", "model.textproto", "model.txt"])
def test_file_name_does_not_pick_another_parser(tmp_path: Path, name: str) -> None:
    # onnx.load guesses JSON or text format from the suffix; a model file is the binary protobuf.
    garbage = tmp_path / name
    garbage.write_text('{"irVersion": 8} junk {')
    with pytest.raises(ModelGraphError, match="not an ONNX model"):
        read_signature(garbage)
    real = make_classifier(tmp_path / "cls.onnx", bands=3, classes=10, size=64, batch=1)
    renamed = tmp_path / f"real-{name}"
    renamed.write_bytes(real.read_bytes())
    assert read_signature(renamed).outputs[0].shape == [1, 10]
