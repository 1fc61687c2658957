"""ZipMap outputs read as the probability tensors they wrap.

scikit-learn classifiers converted by skl2onnx (and LightGBM ones by onnxmltools) end, unless converted
with ``options={'zipmap': False}``, in a ``ZipMap`` node: the probabilities ``[N, K]`` become a list of
``N`` Python dicts ``{class: probability}``, which is slow to build for millions of pixels and not an
array. The values are the same, so eohub runs such a model with each ZipMap that makes a graph output
replaced by an ``Identity`` of its input: the output keeps its name and becomes the float tensor
``[N, K]``, column ``i`` the ZipMap's ``i``-th class label. The file on disk is not changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from eohub.errors import InferenceError
from eohub.inference.onnx_nodes import GraphNodes

ML_DOMAIN = "ai.onnx.ml"


def zipmap_outputs(nodes: GraphNodes) -> list[str]:
    """Graph outputs made by a ZipMap node."""
    return [
        name
        for name in nodes.outputs
        if (node := nodes.producers.get(name)) is not None
        and node.op_type == "ZipMap"
        and node.domain == ML_DOMAIN
    ]


def unwrap(model_path: str | Path, names: Sequence[str]) -> bytes:
    """The model at ``model_path`` with the ZipMaps making outputs ``names`` turned into ``Identity``
    nodes and those outputs declared as float tensors ``[N, K]``; serialized for ONNX Runtime."""
    import onnx
    from onnx import TensorProto, helper

    try:
        model = onnx.load(str(model_path))
    except Exception as exc:  # noqa: BLE001 - onnx raises several types for a bad file
        raise InferenceError(f"{model_path}: cannot read the model to unwrap its ZipMap ({exc})") from None
    wanted = set(names)
    classes: dict[str, int] = {}
    for node in model.graph.node:
        if node.op_type == "ZipMap" and node.domain == ML_DOMAIN and node.output[0] in wanted:
            labels = next(
                (helper.get_attribute_value(a) for a in node.attribute if a.name.startswith("classlabels")),
                [],
            )
            classes[node.output[0]] = len(labels)
            node.op_type, node.domain = "Identity", ""
            del node.attribute[:]
    for output in model.graph.output:
        if output.name in classes:
            tensor = helper.make_tensor_type_proto(TensorProto.FLOAT, ["N", classes[output.name] or "K"])
            output.type.CopyFrom(tensor)
    return model.SerializeToString()
