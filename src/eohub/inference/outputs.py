"""What a model output means and how it becomes raster bands.

- Class outputs (classification and segmentation tasks, or ``classification:classes`` given):
  float scores are turned into probabilities (softmax over the class axis for logits, nothing if the graph
  ends in ``Softmax``/``Sigmoid``, ``exp`` after ``LogSoftmax``); one score for two classes is the
  probability of the second (sigmoid for logits); integer outputs are class values and become one-hot
  votes. Probabilities are what overlapping windows blend; the class map is their arg-max.
- Class axis index ``i`` means the class whose ``value`` is ``i`` when the values are exactly
  ``0..K-1`` (in any list order), else the ``i``-th class in list order.
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

    @property
    def is_classes(self) -> bool:
        return self.kind != "values"

    @property
    def index_values(self) -> np.ndarray:
        """Class value of each class index (see the module docstring)."""
        values = [c.value for c in self.classes]
        if sorted(values) == list(range(len(values))):
            return np.arange(len(values))
        return np.asarray(values)

    @property
    def class_dtype(self) -> np.dtype:
        values = self.index_values
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
            p = y if self.activation in ("sigmoid", "softmax") else _sigmoid(y)
            return np.concatenate([1 - p, p], axis=1)
        if self.activation == "log_softmax":
            return np.exp(y)
        if self.activation in ("softmax", "sigmoid"):
            return y
        shifted = y - y.max(axis=1, keepdims=True)
        np.exp(shifted, out=shifted)
        shifted /= shifted.sum(axis=1, keepdims=True)
        return shifted

    def class_map(self, probabilities: np.ndarray) -> np.ndarray:
        """Class values from blended probabilities ``(channels, ...)``."""
        return self.index_values[np.argmax(probabilities, axis=0)].astype(self.class_dtype)


def _sigmoid(y: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-y))


def plan_output(spec: OutputSpec, k: int, data_type: str, activation: str | None) -> OutputPlan:
    """Decide how to read ``spec`` given the size ``k`` of its class/channel axis (-1 if unknown)."""
    unsupported = set(spec.tasks) & UNSUPPORTED_TASKS
    if unsupported and not spec.is_classes:
        raise InferenceError(
            f"mlm:output[{spec.index}]: task {sorted(unsupported)[0]!r} is not supported by eohub"
        )
    if not spec.is_classes:
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
