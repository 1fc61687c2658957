"""What a model output means and how it becomes raster bands.

- Class outputs (classification and segmentation tasks, ``classification:classes`` given, or an ONNX-ML
  classifier in the graph): float scores are turned into probabilities (softmax over the class axis for
  logits, nothing if the graph ends in ``Softmax``/``Sigmoid`` or is an ONNX-ML classifier's scores,
  ``exp`` after ``LogSoftmax``); one score for two classes is the probability of the second (sigmoid for
  logits); integer outputs are class values and become one-hot votes. Probabilities are what overlapping
  windows blend; the class map is their arg-max, or the classifier's own labels where nothing is blended.
- Class axis index ``i`` means the ``i``-th class label of an ONNX-ML classifier; otherwise the class whose
  ``value`` is ``i`` when the values are exactly ``0..K-1`` (in any list order), else the ``i``-th class
  in list order.
- Everything else (regression, super-resolution...) is values, blended and written as float.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eohub.errors import InferenceError
from eohub.inference.metadata import UNSUPPORTED_TASKS, ClassSpec, OutputSpec


@dataclass(frozen=True)
class OutputPlan:
    """How to read one model output: ``channels`` blendable float channels per pixel (or patch)."""

    spec: OutputSpec
    kind: str  # "scores" | "binary" | "labels" | "values"
    activation: str | None
    classes: tuple[ClassSpec, ...]
    channels: int
    labels: tuple[int, ...] | None = None  # class value of each index, from an ONNX-ML classifier
    own_labels: bool = False  # the classifier's label output is read too (see eohub.inference.reading)

    @property
    def is_classes(self) -> bool:
        return self.kind != "values"

    @property
    def index_values(self) -> np.ndarray:
        """Class value of each class index (see the module docstring)."""
        if self.labels is not None:
            return np.asarray(self.labels)
        values = [c.value for c in self.classes]
        if sorted(values) == list(range(len(values))):
            return np.arange(len(values))
        return np.asarray(values)

    @property
    def class_dtype(self) -> np.dtype:
        values = np.concatenate([self.index_values, [c.value for c in self.classes]])
        if values.min() >= 0 and values.max() < 255:
            return np.dtype(np.uint8)
        if values.min() >= 0 and values.max() < 65535:
            return np.dtype(np.uint16)
        return np.dtype(np.int32)

    @property
    def class_nodata(self) -> int:
        """Class value for nodata pixels: a class flagged ``nodata``, else the type's maximum."""
        flagged = [c.value for c in self.classes if c.nodata]
        return flagged[0] if flagged else int(np.iinfo(self.class_dtype).max)

    def blendable(self, y: np.ndarray) -> np.ndarray:
        """A work-layout output ``(N, K, ...)`` as float32 ``(N, channels, ...)`` that can be averaged."""
        if self.kind == "values":
            return y.astype(np.float32, copy=False)
        if self.kind == "labels":
            lookup = {int(v): i for i, v in enumerate(self.index_values)}
            labels = y[:, 0]
            out = np.zeros((y.shape[0], self.channels, *y.shape[2:]), np.float32)
            for value, index in lookup.items():
                out[:, index] = labels == value
            return out
        y = y.astype(np.float32, copy=False)
        if self.kind == "binary":
            p = y if self.activation in ("sigmoid", "softmax", "classifier") else _sigmoid(y)
            return np.concatenate([1 - p, p], axis=1)
        if self.activation == "log_softmax":
            return np.exp(y)
        if self.activation in ("softmax", "sigmoid", "classifier"):
            return y
        shifted = y - y.max(axis=1, keepdims=True)
        np.exp(shifted, out=shifted)
        shifted /= shifted.sum(axis=1, keepdims=True)
        return shifted

    def class_map(self, probabilities: np.ndarray, indexes: np.ndarray | None = None) -> np.ndarray:
        """Class values from blended probabilities ``(channels, ...)``, or from the model's own class
        ``indexes`` when it gives them (an ONNX-ML classifier's labels)."""
        if indexes is None:
            indexes = np.argmax(probabilities, axis=0)
        return self.index_values[indexes.astype(np.intp, copy=False)].astype(self.class_dtype)

    def label_indexes(self, labels: np.ndarray) -> np.ndarray:
        """The class index of each class value in a classifier's label output (any shape)."""
        values = self.index_values
        order = np.argsort(values, kind="stable")
        flat = labels.reshape(-1).astype(values.dtype, copy=False)
        found = np.minimum(np.searchsorted(values[order], flat), len(values) - 1)
        indexes = order[found]
        if not np.array_equal(values[indexes], flat):
            unknown = sorted(set(np.unique(flat).tolist()) - set(values.tolist()))[:5]
            raise InferenceError(
                f"the model's label output holds class values it does not declare: {unknown}"
            )
        return indexes.reshape(labels.shape)


def _sigmoid(y: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-y))


def plan_output(
    spec: OutputSpec, k: int, data_type: str, activation: str | None, labels: tuple[int, ...] | None = None
) -> OutputPlan:
    """Decide how to read ``spec`` given the size ``k`` of its class/channel axis (-1 if unknown).

    ``labels`` are the class values of an ONNX-ML classifier behind the output (see :func:`graph_classes`).
    """
    classifier = labels is not None or activation == "classifier"
    unsupported = set(spec.tasks) & UNSUPPORTED_TASKS
    if unsupported and not spec.is_classes and not classifier:
        raise InferenceError(
            f"mlm:output[{spec.index}]: task {sorted(unsupported)[0]!r} is not supported by eohub"
        )
    if labels is not None:
        classes = graph_classes(spec, labels)
        if np.issubdtype(np.dtype(data_type), np.integer):
            return OutputPlan(spec, "labels", None, classes, len(labels), labels)
        if k == 1 and len(labels) == 2:
            return OutputPlan(spec, "binary", activation, classes, 2, labels)
        if k not in (-1, len(labels)):
            raise InferenceError(
                f"the model contradicts itself: its classifier has {len(labels)} class labels "
                f"but mlm:output[{spec.index}] has {k} scores"
            )
        return OutputPlan(spec, "scores", activation, classes, len(labels), labels)
    if not spec.is_classes and not classifier:
        if k < 1:
            raise InferenceError(f"mlm:output[{spec.index}]: the number of output channels must be fixed")
        return OutputPlan(spec, "values", activation, (), k)
    integer = np.issubdtype(np.dtype(data_type), np.integer)
    classes = spec.classes
    if integer:
        if k not in (1, -1):
            raise InferenceError(
                f"mlm:output[{spec.index}]: an integer class output must have one value per pixel"
            )
        if not classes:
            raise InferenceError(
                f"mlm:output[{spec.index}]: integer class values need classification:classes"
            )
        return OutputPlan(spec, "labels", activation, classes, len(classes))
    if k < 1:
        k = len(classes)
    if k < 1:
        raise InferenceError(f"mlm:output[{spec.index}]: the number of classes is unknown")
    if k == 1 and len(classes) in (0, 2):
        classes = classes or _default_classes(2)
        return OutputPlan(spec, "binary", activation, classes, 2)
    if classes and len(classes) != k:
        raise InferenceError(
            f"the MLM item contradicts the model: mlm:output[{spec.index}] lists {len(classes)} classes "
            f"but the class axis has {k} values"
        )
    return OutputPlan(spec, "scores", activation, classes or _default_classes(k), k)


def _default_classes(k: int) -> tuple[ClassSpec, ...]:
    return tuple(ClassSpec(i, f"class_{i}") for i in range(k))


def graph_classes(spec: OutputSpec, labels: tuple[int, ...]) -> tuple[ClassSpec, ...]:
    """The item's classes for a classifier's class ``labels``, in label order (``class_V`` for a label the
    item does not name when it names none), then the item's ``nodata`` classes.

    The item listing classes the model never predicts, or not listing one it does, is an error."""
    listed = {c.value: c for c in spec.classes}
    where = f"mlm:output[{spec.index}].classification:classes"
    missing = [v for v in labels if v not in listed]
    if spec.classes and missing:
        raise InferenceError(
            f"the MLM item contradicts the model: {where} lacks class values the model predicts: {missing}"
        )
    extra = [c.value for c in spec.classes if c.value not in labels and not c.nodata]
    if extra:
        raise InferenceError(
            f"the MLM item contradicts the model: {where} lists {extra}, which the model never predicts "
            f"(its classes: {list(labels)})"
        )
    own = tuple(listed.get(v) or ClassSpec(v, f"class_{v}") for v in labels)
    return own + tuple(c for c in spec.classes if c.nodata and c.value not in labels)
