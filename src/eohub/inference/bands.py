"""Match the bands a model asks for (``mlm:input.bands``) with the bands an input raster has.

A model band is looked up in the input by name (band name or description, case-insensitive, ``B8``
equal to ``B08``), then by common name: the model band's ``common_name`` from the model item's band
definitions (or the name itself when it is a common name such as ``nir``) against the input bands' common
names and names. So ``B08`` finds a band described as ``nir`` and ``nir`` finds ``B08``. Two input bands
matching at the same step is an error (ambiguous); one input band used by several model bands is fine.
Bands derived by an expression (``NDVI = (B08 - B04) / (B08 + B04)``) are read from the input when it has
them, computed otherwise. All missing bands are reported in one error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from eohub.errors import InferenceError
from eohub.inference import expressions
from eohub.inference.metadata import BandInfo, BandRef, Expression

log = logging.getLogger(__name__)

COMMON_NAMES = frozenset(
    {
        "pan", "coastal", "blue", "green", "green05", "yellow", "red", "rededge", "rededge071", "rededge075",
        "rededge078", "nir", "nir08", "nir09", "cirrus", "swir16", "swir22", "lwir", "lwir11", "lwir12",
    }
)  # fmt: skip


def normalize(name: str) -> str:
    """Case-folded name with leading zeros of numbers dropped (``B08`` -> ``b8``, ``B8A`` -> ``b8a``)."""
    return re.sub(r"(?<!\d)0+(?=\d)", "", name.strip().lower())


@dataclass(frozen=True)
class Channel:
    """How one model channel is made: read source ``source`` directly, or evaluate ``expression``."""

    name: str
    source: int | None = None
    expression: Expression | None = None
    variables: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class BandPlan:
    """Input bands to read (``sources``, indexes into the input's bands) and how channels derive from them."""

    sources: tuple[int, ...]
    channels: tuple[Channel, ...]

    @property
    def direct(self) -> bool:
        """True when the channels are exactly the sources in order (no copy or expression needed)."""
        return all(c.source == i for i, c in enumerate(self.channels)) and len(self.channels) == len(
            self.sources
        )

    def build(self, stack: np.ndarray, axis: int = 0) -> np.ndarray:
        """Channels from the read sources (``stack`` holds ``sources`` along ``axis``)."""
        if self.direct:
            return stack
        parts = []
        for ch in self.channels:
            if ch.expression is None:
                parts.append(np.take(stack, ch.source, axis=axis))
            else:
                names = {var: np.take(stack, pos, axis=axis).astype(np.float32) for var, pos in ch.variables}
                value = expressions.evaluate(ch.expression, names).astype(np.float32)
                parts.append(np.where(np.isfinite(value), value, np.float32(0)))
        dtype = np.result_type(*parts)
        return np.stack([p.astype(dtype, copy=False) for p in parts], axis=axis)


class _Matcher:
    def __init__(self, available: Sequence[BandInfo], model_defs: Sequence[BandInfo]) -> None:
        self.available = list(available)
        self.common_of = {
            normalize(d.name): d.common_name.lower() for d in model_defs if d.name and d.common_name
        }

    def find(self, name: str) -> int | None:
        key = normalize(name)
        by_name = [
            i
            for i, b in enumerate(self.available)
            if key in {normalize(b.name or ""), normalize(b.description or "")}
        ]
        if not by_name:
            common = self.common_of.get(key) or (key if key in COMMON_NAMES else None)
            if common is None:
                return None
            by_name = [
                i
                for i, b in enumerate(self.available)
                if common
                in {(b.common_name or "").lower(), normalize(b.name or ""), normalize(b.description or "")}
            ]
        if len(by_name) > 1:
            labels = ", ".join(describe(self.available[i], i) for i in by_name)
            raise InferenceError(f"band {name!r} is ambiguous in the input: {labels}")
        return by_name[0] if by_name else None


def describe(band: BandInfo, index: int) -> str:
    """``B08 (nir)``-style label of an input band, for messages."""
    label = band.name or band.description or f"band {index + 1}"
    return f"{label} ({band.common_name})" if band.common_name and band.common_name != label else label


def resolve(
    wanted: Sequence[BandRef],
    available: Sequence[BandInfo],
    model_defs: Sequence[BandInfo] = (),
    channels: int | None = None,
    allow_code: bool = False,
) -> BandPlan:
    """Plan how to make the model's channels from the input's bands (see the module docstring).

    ``channels`` is the model's channel count when known; it checks inputs whose bands carry no names and
    models that name no bands (then every input band is used, in order).
    """
    count = len(available)
    if not wanted or all(b.name is None and b.description is None for b in available):
        need = len(wanted) or channels
        if need is not None and need > 0 and need != count:
            raise InferenceError(f"wrong band count: the model takes {need} bands, the input has {count}")
        if wanted:
            log.warning("input bands have no names; using them in file order as %s", [b.name for b in wanted])
        return BandPlan(tuple(range(count)), tuple(Channel(str(i), i) for i in range(count)))

    matcher = _Matcher(available, model_defs)
    sources: list[int] = []
    plan: list[Channel] = []
    missing: list[str] = []

    def source_position(index: int) -> int:
        if index not in sources:
            sources.append(index)
        return sources.index(index)

    for ref in wanted:
        found = matcher.find(ref.name)
        if found is not None:
            plan.append(Channel(ref.name, source_position(found)))
            continue
        if ref.expression is None:
            missing.append(ref.name)
            continue
        expressions.check(ref.expression, allow_code)
        variables = []
        for var in expressions.variables(ref.expression):
            index = matcher.find(var)
            if index is None:
                missing.append(f"{var} (for {ref.name})")
            else:
                variables.append((var, source_position(index)))
        plan.append(Channel(ref.name, expression=ref.expression, variables=tuple(variables)))
    if missing:
        have = ", ".join(describe(b, i) for i, b in enumerate(available))
        raise InferenceError(f"input lacks bands the model needs: {', '.join(missing)} (input has: {have})")
    return BandPlan(tuple(sources), tuple(plan))
