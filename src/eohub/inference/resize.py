"""``resize_type``: change the height and width (the last two axes) of an array to a model's input size.

Interpolations follow OpenCV's conventions (pixel centres at ``i + 0.5``, borders replicated) and are
separable: a ``(out, in)`` weight matrix per axis, applied as ``Rh @ x @ Rw.T``. ``crop`` and ``pad``
are centred; ``pad`` fills with zeros. ``wrap-*`` are OpenCV warp flags, not resize methods, and are
refused.
"""

from __future__ import annotations

import math

import numpy as np

from eohub.errors import InferenceError

INTERPOLATIONS = (
    "interpolation-nearest",
    "interpolation-linear",
    "interpolation-cubic",
    "interpolation-area",
    "interpolation-lanczos4",
    "interpolation-max",
)
SUPPORTED = (*INTERPOLATIONS, "crop", "pad")


def check_resize_type(resize_type: str | None, where: str) -> None:
    """Raise for a ``resize_type`` eohub cannot apply."""
    if resize_type is not None and resize_type not in SUPPORTED:
        raise InferenceError(
            f"{where}.resize_type {resize_type!r} is not supported (eohub applies {', '.join(SUPPORTED)})"
        )


def _cubic(t: np.ndarray, a: float = -0.75) -> np.ndarray:
    t = np.abs(t)
    return np.where(
        t <= 1,
        ((a + 2) * t - (a + 3)) * t * t + 1,
        np.where(t < 2, ((a * t - 5 * a) * t + 8 * a) * t - 4 * a, 0.0),
    )


def _lanczos(t: np.ndarray, a: int = 4) -> np.ndarray:
    return np.where(np.abs(t) < a, np.sinc(t) * np.sinc(t / a), 0.0)


def weights(n_in: int, n_out: int, method: str) -> np.ndarray:
    """The ``(n_out, n_in)`` resampling matrix of one axis for an interpolation method."""
    scale = n_in / n_out
    out = np.arange(n_out)
    matrix = np.zeros((n_out, n_in))
    if method == "interpolation-nearest":
        matrix[out, np.minimum(np.floor(out * scale).astype(int), n_in - 1)] = 1.0
        return matrix
    if method == "interpolation-area":
        for i in range(n_out):
            lo, hi = i * scale, (i + 1) * scale
            for j in range(int(math.floor(lo)), min(int(math.ceil(hi)), n_in)):
                matrix[i, j] = min(hi, j + 1) - max(lo, j)
        return matrix / matrix.sum(axis=1, keepdims=True)
    centre = (out + 0.5) * scale - 0.5
    if method == "interpolation-linear":
        taps, kernel = 2, lambda t: np.maximum(0.0, 1.0 - np.abs(t))
    elif method == "interpolation-cubic":
        taps, kernel = 4, _cubic
    else:
        taps, kernel = 8, _lanczos
    first = np.floor(centre).astype(int) - taps // 2 + 1
    for k in range(taps):
        src = first + k
        w = kernel(centre - src)
        np.add.at(matrix, (out, np.clip(src, 0, n_in - 1)), w)
    return matrix / matrix.sum(axis=1, keepdims=True)


def _max_pool(x: np.ndarray, height: int, width: int) -> np.ndarray:
    for axis, n_out in ((-2, height), (-1, width)):
        n_in = x.shape[axis]
        starts = np.minimum(np.floor(np.arange(n_out) * n_in / n_out).astype(int), n_in - 1)
        x = np.maximum.reduceat(x, starts, axis=axis)
    return x


def _crop_or_pad(x: np.ndarray, height: int, width: int, method: str) -> np.ndarray:
    h, w = x.shape[-2:]
    if method == "crop" and (h < height or w < width):
        raise InferenceError(f"resize_type crop cannot grow {h}x{w} to {height}x{width}")
    if method == "pad" and (h > height or w > width):
        raise InferenceError(f"resize_type pad cannot shrink {h}x{w} to {height}x{width}")
    if method == "crop":
        top, left = (h - height) // 2, (w - width) // 2
        return x[..., top : top + height, left : left + width]
    top, left = (height - h) // 2, (width - w) // 2
    pads = [(0, 0)] * (x.ndim - 2) + [(top, height - h - top), (left, width - w - left)]
    return np.pad(x, pads)


def resize(x: np.ndarray, height: int, width: int, method: str | None) -> np.ndarray:
    """Resize the last two axes of ``x`` to ``height`` x ``width`` with an MLM ``resize_type``."""
    h, w = x.shape[-2:]
    if (h, w) == (height, width):
        return x
    if method is None:
        raise InferenceError(
            f"input is {h}x{w} but the model takes {height}x{width} and declares no resize_type"
        )
    check_resize_type(method, "mlm:input")
    if method in ("crop", "pad"):
        return _crop_or_pad(x, height, width, method)
    if method == "interpolation-max":
        return _max_pool(x, height, width)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float32)
    rh = weights(h, height, method).astype(dtype)
    rw = weights(w, width, method).astype(dtype)
    return rh @ x.astype(dtype, copy=False) @ rw.T


def restore(x: np.ndarray, height: int, width: int, method: str | None) -> np.ndarray:
    """Bring a dense model output back to the window's size: the inverse of :func:`resize`.

    ``pad`` crops the padding away; interpolations resample linearly (nearest for ``interpolation-nearest``).
    """
    h, w = x.shape[-2:]
    if (h, w) == (height, width):
        return x
    if method == "pad":
        return _crop_or_pad(x, height, width, "crop")
    if method == "crop":
        raise InferenceError("resize_type crop drops pixels, so a per-pixel output cannot cover the window")
    back = "interpolation-nearest" if method == "interpolation-nearest" else "interpolation-linear"
    return resize(x, height, width, back)
