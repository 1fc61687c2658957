"""Reading MLM items for inference: dim_order aliases, model asset choice, graph contradictions, outputs."""

from __future__ import annotations

import copy
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from eohub.demo import make_classifier
from eohub.errors import InferenceError
from eohub.inference import graph
from eohub.inference.metadata import DIM_ALIASES, canonical_dims, choose_model_asset, parse_item
from eohub.inference.onnx_nodes import read_nodes
from eohub.inference.options import RunOptions
from eohub.inference.planning import plan_scene
from eohub.inference.predictor import Predictor
from eohub.inference.raster_input import open_input
from tests.conftest import EXAMPLES
from tests.inference_helpers import classifier_item, mlm_item, save, segmenter_item, write_item, write_raster

BANDS = ["B02", "B03", "B04"]


def test_dim_order_alias_table_maps_every_documented_name() -> None:
    assert canonical_dims(["batch", "channel", "height", "width"], "x") == (
        "batch",
        "channel",
        "height",
        "width",
    )
    assert canonical_dims(["batch", "bands", "y", "x"], "x") == ("batch", "channel", "height", "width")
    assert canonical_dims(["t", "rows", "cols", "bands"], "x") == ("time", "height", "width", "channel")
    assert canonical_dims(["time", "batch", "height", "width", "channel"], "x")[0] == "time"
    assert canonical_dims(["batch", "classes"], "y", output=True) == ("batch", "class")
    assert {DIM_ALIASES[n] for n in ("channel", "bands")} == {"channel"}
    with pytest.raises(InferenceError, match="unknown dimension 'lat'"):
        canonical_dims(["batch", "bands", "lat", "lon"], "mlm:input[0].input")
    with pytest.raises(InferenceError, match="two dimensions mean 'height'"):
        canonical_dims(["batch", "y", "rows", "width"], "x")


@pytest.mark.parametrize(
    "name", ["item_eo_bands.json", "item_raster_bands.json", "item_bands_expression.json"]
)
def test_official_examples_parse_into_typed_specs(name: str) -> None:
    data = json.loads((EXAMPLES / name).read_text())
    data["assets"]["weights"]["mlm:artifact_type"] = "onnx"
    meta = parse_item(data)
    spec = meta.inputs[0]
    assert spec.dims == ("batch", "channel", "height", "width")
    assert spec.shape[1] == len(spec.bands)
    assert meta.outputs[0].dims == ("batch", "class")


def test_old_classification_classes_key_of_the_examples_is_read() -> None:
    data = json.loads((EXAMPLES / "item_bands_expression.json").read_text())
    data["assets"]["weights"]["mlm:artifact_type"] = "onnx"
    out = parse_item(data).outputs[0]
    assert [c.name for c in out.classes] == ["vegetation", "background"]
    assert out.classes[0].color == (0, 255, 0, 255)
    assert parse_item(data).inputs[0].bands[3].expression.format == "rio-calc"


def test_model_asset_is_chosen_by_artifact_type_then_file_name() -> None:
    assets = {
        "weights": {"href": "model.pt", "roles": ["mlm:model"], "mlm:artifact_type": "torch.save"},
        "by-name": {"href": "model.onnx", "roles": ["mlm:model"], "mlm:artifact_type": "custom"},
        "onnx": {"href": "exported.bin", "roles": ["mlm:model"], "mlm:artifact_type": "torch.onnx.export"},
    }
    assert choose_model_asset(assets, None).key == "onnx"
    del assets["onnx"]
    assert choose_model_asset(assets, None).key == "by-name"
    del assets["by-name"]
    with pytest.raises(InferenceError, match=r"ONNX only\); found weights \(torch.save\)"):
        choose_model_asset(assets, None)
    with pytest.raises(InferenceError, match="no asset with role 'mlm:model'"):
        choose_model_asset({"code": {"href": "x.py", "roles": ["code"]}}, None)


def _item(tmp_path, **changes):
    path = segmenter_item(tmp_path, BANDS, classes=3, size=32)
    data = json.loads(path.read_text())
    for pointer, value in changes.items():
        target = data["properties"]
        *parents, last = pointer.split("/")
        for p in parents:
            target = target[int(p)] if p.isdigit() else target[p]
        target[last] = value
    return write_item(tmp_path / "changed.json", data)


@pytest.mark.parametrize(
    ("pointer", "value", "message"),
    [
        ("mlm:input/0/input/shape", [-1, 3, 48, 48], "height is 48, graph input 'input' has 32"),
        ("mlm:input/0/input", {"shape": [-1, 1, 3, 32, 32], "data_type": "float32",
                               "dim_order": ["batch", "time", "bands", "height", "width"]}, "has shape"),
        ("mlm:input/0/input/data_type", "uint16", "says uint16, graph input 'input' is float32"),
        ("mlm:input/0/bands", ["B02", "B03"], "lists 2 bands but the channel axis has 3"),
        ("mlm:output/0/result/shape", [-1, 5, 32, 32], "class is 5"),
        ("mlm:output/0/classification:classes", [{"value": v, "name": f"c{v}"} for v in range(4)], "lists 4"),
    ],
)  # fmt: skip
def test_mlm_contradicting_the_graph_is_refused(tmp_path, pointer, value, message) -> None:
    with pytest.raises(InferenceError, match=message):
        Predictor.from_item(_item(tmp_path, **{pointer: value}))


def test_logits_get_a_softmax_but_probabilities_from_the_graph_do_not(tmp_path) -> None:
    path = classifier_item(tmp_path, BANDS, classes=4, size=16)
    plain = Predictor.from_item(path)
    assert plain.primary.activation is None
    x = np.random.default_rng(0).normal(size=(2, 1, 3, 16, 16)).astype(np.float32)
    probabilities = plain.predict_windows(x)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    logits = plain.forward(x)["logits"]
    assert np.array_equal(probabilities.argmax(axis=1), logits.argmax(axis=1))
    # the same model ending in Softmax: its output is used as it is
    import onnx

    model = onnx.load(tmp_path / "cls.onnx")
    model.graph.node[-1].output[0] = "pre"
    model.graph.node.append(helper.make_node("Softmax", ["pre"], ["logits"], axis=1))
    save(model.graph, tmp_path / "cls.onnx")
    soft = Predictor.from_item(path)
    assert soft.primary.activation == "softmax"
    np.testing.assert_allclose(soft.predict_windows(x), probabilities, rtol=1e-5)


def test_class_axis_index_maps_to_class_values(tmp_path) -> None:
    path = segmenter_item(tmp_path, BANDS, classes=3, size=32)
    data = json.loads(path.read_text())
    out = data["properties"]["mlm:output"][0]
    out["classification:classes"] = [
        {"value": 2, "name": "c"},
        {"value": 0, "name": "a"},
        {"value": 1, "name": "b"},
    ]
    assert list(Predictor.from_item(write_item(path, data)).primary.index_values) == [0, 1, 2]
    out["classification:classes"] = [
        {"value": 10, "name": "x"},
        {"value": 20, "name": "y"},
        {"value": 5, "name": "z"},
    ]
    plan = Predictor.from_item(write_item(path, data)).primary
    assert list(plan.index_values) == [10, 20, 5]
    probabilities = np.zeros((3, 1, 2), np.float32)
    probabilities[1, 0, 0] = probabilities[2, 0, 1] = 1
    assert plan.class_map(probabilities).tolist() == [[20, 5]]


def test_tile_is_the_models_fixed_size_else_the_hyperparameter_else_256(tmp_path) -> None:
    raster = open_input([str(write_raster(tmp_path / "in.tif", np.ones((3, 40, 40), np.uint16), BANDS))])
    fixed = Predictor.from_item(segmenter_item(tmp_path, BANDS, size=32))
    assert plan_scene(fixed, raster, RunOptions()).tile == (32, 32)
    assert plan_scene(fixed, raster, RunOptions()).grid.overlap_h == 4  # dense outputs: tile // 8
    free = Predictor.from_item(segmenter_item(tmp_path, BANDS, size=None))
    assert plan_scene(free, raster, RunOptions()).tile == (256, 256)
    assert plan_scene(free, raster, RunOptions(tile=64, overlap=0)).tile == (64, 64)
    hinted = segmenter_item(
        tmp_path, BANDS, size=None, properties={"mlm:hyperparameters": {"tile_size": 128, "tile_overlap": 16}}
    )
    plan = plan_scene(Predictor.from_item(hinted), raster, RunOptions())
    assert plan.tile == (128, 128)
    assert plan.grid.overlap_h == 16
    assert plan_scene(Predictor.from_item(hinted), raster, RunOptions(overlap=0)).grid.overlap_h == 0
    raster.close()


def test_a_tile_other_than_the_model_size_needs_a_resize_type(tmp_path) -> None:
    from eohub.errors import UsageError

    raster = open_input([str(write_raster(tmp_path / "in.tif", np.ones((3, 40, 40), np.uint16), BANDS))])
    with pytest.raises(UsageError, match="needs a resize_type"):
        plan_scene(Predictor.from_item(segmenter_item(tmp_path, BANDS, size=32)), raster, RunOptions(tile=64))
    linear = Predictor.from_item(segmenter_item(tmp_path, BANDS, size=32, resize_type="interpolation-linear"))
    assert plan_scene(linear, raster, RunOptions(tile=64)).tile == (64, 64)
    raster.close()


def test_an_integer_output_of_class_values_becomes_one_hot_votes(tmp_path) -> None:
    graph = helper.make_graph(
        [
            helper.make_node("ArgMax", ["x"], ["i"], axis=1, keepdims=1),
            helper.make_node("Cast", ["i"], ["y"], to=2),
        ],
        "argmax",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, ["N", 1, "H", "W"])],
    )
    save(graph, tmp_path / "argmax.onnx")
    classes = [{"value": v, "name": n} for v, n in ((0, "a"), (1, "b"), (2, "c"))]
    item = mlm_item(tmp_path / "argmax.onnx", BANDS, [-1, 3, -1, -1], ["batch", "bands", "height", "width"],
                    [-1, 1, -1, -1], ["batch", "class", "height", "width"], ["segmentation"], classes,
                    out_type="uint8")  # fmt: skip
    predictor = Predictor.from_item(copy.deepcopy(item) | {"assets": {"model": {**item["assets"]["model"],
                                    "href": str(tmp_path / "argmax.onnx")}}})  # fmt: skip
    assert predictor.primary.kind == "labels"
    x = np.zeros((1, 1, 3, 2, 2), np.float32)
    x[0, 0, 2] = 1
    votes = predictor.predict_windows(x)
    assert votes.shape == (1, 3, 2, 2)
    assert np.all(votes[0, 2] == 1) and np.all(votes[0, :2] == 0)


def test_models_with_several_inputs_are_refused_with_a_clear_error(tmp_path) -> None:
    path = segmenter_item(tmp_path, BANDS, size=32)
    data = json.loads(path.read_text())
    data["properties"]["mlm:input"].append(dict(data["properties"]["mlm:input"][0], name="second"))
    with pytest.raises(InferenceError, match="eohub runs models with one input; this one has 2"):
        Predictor.from_item(write_item(path, data))


def test_the_graph_scan_finds_activations_without_loading_weights(tmp_path, monkeypatch) -> None:
    make_classifier(tmp_path / "cls.onnx", bands=3, classes=4, size=16)
    model = onnx.load(tmp_path / "cls.onnx")
    model.graph.node[-1].output[0] = "logits_raw"
    model.graph.node.extend(
        [
            helper.make_node("LogSoftmax", ["logits_raw"], ["log_p"], axis=1),
            helper.make_node("Identity", ["log_p"], ["logits"]),
        ]
    )
    onnx.save(model, tmp_path / "inline.onnx")
    onnx.save(model, tmp_path / "external.onnx", save_as_external_data=True, size_threshold=0)
    expected = {o: (n.op_type, tuple(n.input)) for n in model.graph.node for o in n.output}
    with monkeypatch.context() as patch:
        patch.setattr(onnx, "load", lambda *a, **k: pytest.fail("the weights were loaded"))
        for name in ("inline.onnx", "external.onnx"):
            nodes = read_nodes(tmp_path / name)
            assert {o: (n.op_type, n.inputs) for o, n in nodes.producers.items()} == expected
            assert nodes.outputs == ["logits"]
            assert graph.activation(tmp_path / name, "logits") == "log_softmax"
            assert graph.activation(tmp_path / name, "logits_raw") is None
    (tmp_path / "junk.onnx").write_bytes(b"\xff\xff\xff not protobuf")
    assert graph.activation(tmp_path / "junk.onnx", "logits") is None
