"""Which graph outputs a run reads for an ``mlm:output``, and what they mean.

Most outputs are read alone (:func:`eohub.inference.outputs.plan_output` with the graph's activation).
An ONNX-ML classifier (``TreeEnsembleClassifier``, ``LinearClassifier``, ``SVMClassifier``) has two:
class labels and per-class scores, which are probabilities already (they are never given a softmax).
Whichever of the two the item declares, eohub reads the scores (probabilities to write and blend) and,
where the graph has it, the label output too: where nothing is blended (one prediction per pixel or per
patch) the class map is the classifier's own decision, as its library's ``predict`` gives it. Score
column ``i`` is the classifier's ``i``-th class label.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from eohub.inference import graph
from eohub.inference.onnx_nodes import GraphNodes
from eohub.inference.outputs import OutputPlan, plan_output


@dataclass(frozen=True)
class Reading:
    """An output as a run reads it: its plan, the graph tensor its values (or scores) come from and that
    tensor's dims, and the tensor of the classifier's own labels when there is one."""

    plan: OutputPlan
    tensor: str
    dims: tuple[str, ...]
    labels: str | None = None


def _k(shape: Sequence[int], dims: Sequence[str]) -> int:
    axis = "class" if "class" in dims else "channel"
    return shape[list(dims).index(axis)] if axis in dims else 1


def _is_integer(data_type: str) -> bool:
    try:
        return np.issubdtype(np.dtype(data_type), np.integer)
    except TypeError:
        return False


def read_output(
    bindings: Sequence[graph.Binding], outputs: Sequence[graph.Tensor], nodes: GraphNodes, index: int
) -> Reading:
    """How to read ``bindings[index]`` (``mlm:output[index]`` and its tensor) of a graph whose output
    tensors are ``outputs`` and whose nodes are ``nodes``."""
    binding = bindings[index]
    spec, name = binding.spec, binding.tensor.name
    meaning = graph.meaning(nodes, name)
    if meaning.classifier is None:
        plan = plan_output(spec, _k(binding.shape, spec.dims), spec.data_type, meaning.activation)
        return Reading(plan, name, spec.dims)
    labels = meaning.classifier.labels
    tensors = {t.name: t for t in outputs}
    declared = {b.tensor.name: b for b in bindings}
    other = graph.sibling(nodes, name)
    if meaning.role == "scores":
        scores: str | None = name
        label = other if other in tensors and _is_integer(tensors[other].data_type) else None
    else:
        label = name
        scores = other if other in tensors and not _is_integer(tensors[other].data_type) else None
    if scores is None:
        return Reading(plan_output(spec, 1, spec.data_type, None, labels), name, spec.dims)
    if scores in declared:
        dims, shape = declared[scores].spec.dims, declared[scores].shape
    else:
        dims, shape = ("batch", "class"), tensors[scores].shape
    data_type = tensors[scores].data_type
    scores_spec = dataclasses.replace(spec, dims=dims, shape=shape, data_type=data_type)
    plan = plan_output(scores_spec, _k(shape, dims), data_type, "classifier", labels)
    own = label is not None and labels is not None
    return Reading(dataclasses.replace(plan, own_labels=own), scores, dims, label if own else None)
