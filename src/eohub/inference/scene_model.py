"""``SceneModel``: what planning a scene, running the pipeline and describing its output need from a model.

:class:`eohub.inference.predictor.Predictor` is the one implementation; the modules that run scenes know
a model only by this protocol, so they never import the predictor (which imports them to run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from eohub.inference.metadata import InputSpec, ModelMetadata
    from eohub.inference.outputs import OutputPlan
    from eohub.inference.scaling import Scaling


class SceneModel(Protocol):
    """A model described by MLM, ready to run on windows cut from a scene."""

    metadata: ModelMetadata
    allow_code: bool
    work_dtype: np.dtype
    per_pixel: bool  # the input has no height and width: the model predicts each pixel from its bands

    @property
    def spec(self) -> InputSpec:
        """The model's input (``mlm:input[0]``)."""
        ...

    @property
    def primary(self) -> OutputPlan:
        """The output a run writes."""
        ...

    @property
    def tile_size(self) -> tuple[int, int]:
        """The model's fixed (height, width), -1 where it takes any size."""
        ...

    @property
    def fixed_batch(self) -> int | None:
        """The batch size the graph fixes, or None."""
        ...

    def size(self, dim: str) -> int:
        """Size of a canonical input axis (-1 variable, 0 when the axis is absent)."""
        ...

    def scaling(self, channels: int) -> Scaling | None:
        """The input's ``value_scaling`` for ``channels`` bands."""
        ...

    def scale(self, x: np.ndarray, axis: int, invalid: np.ndarray | None = None) -> np.ndarray:
        """``value_scaling`` along the channel ``axis``, then nodata pixels set to 0."""
        ...

    def fit(self, x: np.ndarray) -> np.ndarray:
        """Resize the last two axes to the model's fixed height and width."""
        ...

    def predict_windows(
        self,
        x: np.ndarray,
        batch: int | None = None,
        size: tuple[int, int] | None = None,
        labels: bool = False,
    ) -> np.ndarray:
        """Blendable predictions of the primary output for pre-processed windows ``(N, T, C, h, w)``;
        with ``labels``, the class index of the model's own label output as one channel more."""
        ...
