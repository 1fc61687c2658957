"""``value_scaling`` of an MLM input: every type the spec defines, applied per channel in one pass.

| type | operation | | type | operation |
| --- | --- | --- | --- | --- |
| ``min-max`` | (x - minimum) / (maximum - minimum) | | ``clip-min`` | max(x, minimum) |
| ``z-score`` | (x - mean) / stddev | | ``clip-max`` | min(x, maximum) |
| ``clip`` | min(max(x, minimum), maximum) | | ``offset`` | x - value |
| ``scale`` | x / value | | ``processing`` | a processing expression, ``A`` = the channel |

A ``null`` entry (or ``{"type": null}``) leaves its channel unchanged; a single object is broadcast to
every channel. A scaling that divides by zero (``stddev: 0``, ``maximum == minimum``, ``scale`` by 0) is
refused when the model is loaded, as torchvision's ``Normalize`` refuses ``std == 0``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eohub.errors import InferenceError
from eohub.inference import expressions
from eohub.inference.metadata import Expression

FLOAT32 = np.dtype(np.float32)
REQUIRED = {
    "min-max": ("minimum", "maximum"),
    "z-score": ("mean", "stddev"),
    "clip": ("minimum", "maximum"),
    "clip-min": ("minimum",),
    "clip-max": ("maximum",),
    "offset": ("value",),
    "scale": ("value",),
    "processing": ("format", "expression"),
}


@dataclass
class Scaling:
    """Per-channel ``x * scale + shift``, clipping to ``[low, high]``, then expressions for some channels."""

    scale: np.ndarray
    shift: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    processing: dict[int, Callable[[np.ndarray], np.ndarray]] = field(default_factory=dict)

    def apply(self, x: np.ndarray, axis: int, dtype: np.dtype = FLOAT32) -> np.ndarray:
        """Scale ``x`` along its channel ``axis`` into a new C-contiguous array of ``dtype`` (a float type).

        ``x`` may be any view (e.g. windows cut from a region): casting, scaling and copying are one pass.
        """
        shape = [1] * x.ndim
        shape[axis] = -1
        out = np.empty(x.shape, dtype)
        raw = x if self.processing else None
        np.multiply(x, self.scale.astype(dtype).reshape(shape), out=out)
        out += self.shift.astype(dtype).reshape(shape)
        if self.low is not None and self.high is not None:
            np.clip(
                out, self.low.astype(dtype).reshape(shape), self.high.astype(dtype).reshape(shape), out=out
            )
        for channel, func in self.processing.items():
            index = [slice(None)] * x.ndim
            index[axis] = channel
            band = np.take(raw, channel, axis=axis).astype(dtype)
            out[tuple(index)] = np.broadcast_to(func(band), band.shape)
        return out

    def apply_band(self, band: np.ndarray, channel: int, out: np.ndarray) -> np.ndarray:
        """Scale one channel's 2-D ``band`` into ``out`` (a float array of its shape): the same operations,
        in the same order and type, as :meth:`apply` does for that channel (not ``processing`` ones)."""
        dtype = out.dtype
        np.multiply(band, self.scale[channel].astype(dtype), out=out)
        out += self.shift[channel].astype(dtype)
        if self.low is not None and self.high is not None:
            np.clip(out, self.low[channel].astype(dtype), self.high[channel].astype(dtype), out=out)
        return out


def _number(obj: Mapping[str, Any], key: str, where: str) -> float:
    value = obj.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InferenceError(f"{where}: {obj.get('type')} needs a number {key!r}")
    return float(value)


def parse_scaling(
    value_scaling: Sequence[Any] | None, channels: int, where: str, allow_code: bool = False
) -> Scaling | None:
    """Turn ``value_scaling`` into a :class:`Scaling` for ``channels`` channels (None when nothing scales)."""
    if not value_scaling:
        return None
    entries = list(value_scaling)
    if len(entries) == 1:
        entries = entries * channels
    elif len(entries) != channels:
        raise InferenceError(
            f"{where}: {len(entries)} scaling objects for {channels} bands (give one per band or one for all)"
        )
    scale = np.ones(channels, np.float64)
    shift = np.zeros(channels, np.float64)
    low = np.full(channels, -np.inf)
    high = np.full(channels, np.inf)
    processing: dict[int, Callable[[np.ndarray], np.ndarray]] = {}
    for c, obj in enumerate(entries):
        at = f"{where}[{c if len(value_scaling) > 1 else 0}]"
        kind = obj.get("type") if isinstance(obj, Mapping) else None
        if obj is None or kind is None:
            continue
        if kind not in REQUIRED:
            raise InferenceError(f"{at}: unknown value_scaling type {kind!r} (known: {', '.join(REQUIRED)})")
        if kind == "processing":
            expr = Expression(str(obj.get("format", "")), obj.get("expression"), at)
            processing[c] = expressions.array_function(expr, allow_code)
            continue
        p = {k: _number(obj, k, at) for k in REQUIRED[kind]}
        if kind == "min-max":
            if p["maximum"] == p["minimum"]:
                raise InferenceError(
                    f"{at}: min-max with maximum == minimum ({p['minimum']}) divides by zero"
                )
            scale[c] = 1.0 / (p["maximum"] - p["minimum"])
            shift[c] = -p["minimum"] * scale[c]
        elif kind == "z-score":
            if p["stddev"] == 0:
                raise InferenceError(f"{at}: z-score with stddev 0 divides by zero")
            scale[c] = 1.0 / p["stddev"]
            shift[c] = -p["mean"] / p["stddev"]
        elif kind == "offset":
            shift[c] = -p["value"]
        elif kind == "scale":
            if p["value"] == 0:
                raise InferenceError(f"{at}: scale by 0 divides by zero")
            scale[c] = 1.0 / p["value"]
        else:
            low[c] = p.get("minimum", -np.inf)
            high[c] = p.get("maximum", np.inf)
    clipped = bool(np.isfinite(low).any() or np.isfinite(high).any())
    return Scaling(scale, shift, low if clipped else None, high if clipped else None, processing)
