"""Move arrays between eohub's working layout and a model's ``dim_order``.

eohub works on inputs as ``(batch, time, channel, height, width)`` and on outputs as
``(batch, class|channel, height, width)`` (or ``(batch, class|channel)`` for one prediction per patch).
A model may order those axes any way and leave some out (no batch axis, no channel axis for a single band,
no time axis); these functions insert, drop and transpose axes accordingly.
"""

from __future__ import annotations

import numpy as np

from eohub.errors import InferenceError

INPUT_WORK = ("batch", "time", "channel", "height", "width")


def to_model(x: np.ndarray, dims: tuple[str, ...]) -> np.ndarray:
    """A working-layout input ``(N, T, C, H, W)`` in the model's ``dims`` (missing axes must have size 1)."""
    for axis, name in reversed(list(enumerate(INPUT_WORK))):
        if name not in dims:
            if x.shape[axis] != 1:
                raise InferenceError(f"the model input has no {name} axis but {x.shape[axis]} are given")
            x = np.squeeze(x, axis=axis)
    present = [n for n in INPUT_WORK if n in dims]
    return np.transpose(x, [present.index(n) for n in dims])


def from_model(x: np.ndarray, dims: tuple[str, ...]) -> np.ndarray:
    """A model-layout input in the working layout ``(N, T, C, H, W)``, adding size-1 axes the model lacks."""
    if x.ndim != len(dims):
        raise InferenceError(f"the model takes {len(dims)}-d arrays ({', '.join(dims)}), got {x.ndim}-d")
    present = [n for n in INPUT_WORK if n in dims]
    x = np.transpose(x, [dims.index(n) for n in present])
    for axis, name in enumerate(INPUT_WORK):
        if name not in dims:
            x = np.expand_dims(x, axis)
    return x


def output_to_work(y: np.ndarray, dims: tuple[str, ...]) -> np.ndarray:
    """A model output as ``(N, K, H, W)`` or ``(N, K)``: K is the class or channel axis (1 if absent).

    A time axis of size 1 is dropped; a longer one is an error (time series outputs are not rasters).
    """
    if y.ndim != len(dims):
        raise InferenceError(f"the model returned a {y.ndim}-d array but mlm:output declares {dims}")
    if "time" in dims:
        axis = dims.index("time")
        if y.shape[axis] != 1:
            raise InferenceError(
                f"the output has {y.shape[axis]} time steps; eohub writes one raster per output"
            )
        y = np.squeeze(y, axis=axis)
        dims = tuple(d for d in dims if d != "time")
    k_name = "class" if "class" in dims else "channel"
    spatial = "height" in dims and "width" in dims
    order = ["batch", k_name, *(("height", "width") if spatial else ())]
    present = [n for n in order if n in dims]
    extra = [d for d in dims if d not in order]
    if extra:
        raise InferenceError(f"mlm:output dimension(s) {extra} cannot be written as a raster")
    y = np.transpose(y, [dims.index(n) for n in present])
    for axis, name in enumerate(order):
        if name not in dims:
            y = np.expand_dims(y, axis)
    return y
