"""Label assets read bounded: raster values counted (rasterio, GeoTIFF and PNG only, a window at a time),
GeoJSON features counted by a property; and :class:`LabelChecks`, what the rasters say about validity.

A label raster is read only when it is a regular file inside the dataset's folder, at most
``Limits.max_label_pixels`` pixels (``EOHUB_MAX_LABEL_PIXELS``; times the bands when they are
interleaved by pixel: GDAL decodes them all), in blocks of at most ``Limits.max_label_block_bytes``
decompressed (``EOHUB_MAX_LABEL_BLOCK_BYTES``), while the version's pixels read stay
within ``Limits.max_label_pixels_total``; a GeoJSON label file at most ``Limits.max_label_vector_bytes``.
Anything else is counted as "not read" with the reason, never an exception.
"""

from __future__ import annotations

import json
import logging
import math
import os
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eohub.config import Limits
from eohub.core.hrefs import is_link, local_path
from eohub.core.jsonbounds import loads_bounded
from eohub.errors import EohubError
from eohub.mlm.documents import dict_field, list_field
from eohub.quality.metrics.balance import scalar
from eohub.quality.metrics.shape import MAX_LISTED, LabelValidity, Tally, item_id

log = logging.getLogger(__name__)

RASTER_SUFFIXES = (".tif", ".tiff", ".png")
VECTOR_SUFFIXES = (".geojson", ".json")
WINDOW_PIXELS = 4 * 1024 * 1024
GDAL_OPTIONS = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",  # no listing of the folder (100,000 files) per open
    "GTIFF_SRS_SOURCE": "GEOKEYS",  # the CRS as the file says it, without a lookup in PROJ's database
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".none",
}


def label_assets(data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The item's label assets: role ``labels``/``label``, ``ml-aoi:role`` ``label``, or the key
    ``labels``/``label``."""
    for key, asset in dict_field(data, "assets").items():
        if not isinstance(asset, dict) or not isinstance(asset.get("href"), str):
            continue
        roles = [r for r in list_field(asset, "roles") if isinstance(r, str)]
        if (
            {"labels", "label"} & set(roles)
            or asset.get("ml-aoi:role") == "label"
            or key in ("labels", "label")
        ):
            yield str(key), asset


def asset_file(item_path: str | Path, href: str, root: str | None) -> str | None:
    """The local file an asset href names, when it is a regular file inside ``root`` (compared on the
    normalized path: a staged version's files may be links to where they came from); else ``None``."""
    if not href or is_link(href):
        return None
    try:
        local = local_path(href)
        path = os.path.normpath(
            local if os.path.isabs(local) else os.path.join(os.path.dirname(item_path), local)
        )
        if root is not None and not path.startswith(root.rstrip(os.sep) + os.sep):
            return None
        return path if stat.S_ISREG(os.stat(path).st_mode) else None
    except (EohubError, OSError, ValueError):
        return None


def kind_of(asset: dict[str, Any], path: str) -> str:
    """``raster``, ``vector`` or ``""`` for a label asset, from its media type or file name."""
    media = str(asset.get("type") or "").lower()
    name = os.path.basename(path).lower()
    if "tiff" in media or "png" in media or name.endswith(RASTER_SUFFIXES):
        return "raster"
    if "json" in media or name.endswith(VECTOR_SUFFIXES):
        return "vector"
    return ""


@dataclass
class RasterCounts:
    """What one label raster holds: pixels per value (nodata left out), nodata pixels, CRS, resolution."""

    values: Counter[Any]
    pixels: int
    nodata: int
    crs: str
    resolution: tuple[float, float]
    truncated: bool = False
    """More distinct values than were kept."""


def _plain(value: Any) -> int | float | str:
    """A raster value as a class value: whole numbers as ``int``, ``inf`` and ``nan`` as text (JSON has
    no such numbers)."""
    number = value.item() if hasattr(value, "item") else value
    if isinstance(number, float) and not math.isfinite(number):
        return str(number)
    if isinstance(number, float) and number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number


def _windows(width: int, height: int) -> Iterator[Any]:
    """Windows of at most :data:`WINDOW_PIXELS` pixels covering a raster, row by row."""
    from rasterio.windows import Window

    cols = max(1, min(width, WINDOW_PIXELS))
    rows = max(1, WINDOW_PIXELS // cols)
    for top in range(0, height, rows):
        for left in range(0, width, cols):
            yield Window(left, top, min(cols, width - left), min(rows, height - top))


def _band_values(band: Any, nodata: float | None) -> tuple[Any, Any, int]:
    """The distinct values of a window and how often each occurs, nodata (or NaN) left out and counted."""
    import numpy as np

    mask = band == nodata if nodata is not None and not math.isnan(nodata) else None
    if band.dtype.kind in "fc":  # NaN is never a class: nodata whatever the file declares
        mask = np.isnan(band) if mask is None else mask | np.isnan(band)
    blank = int(mask.sum()) if mask is not None else 0
    values, found = np.unique(band[~mask] if mask is not None else band, return_counts=True)
    return values, found, blank


def _bands_read(ds: Any) -> int:
    """The bands GDAL decodes to read band 1: all of them when they are interleaved by pixel."""
    from rasterio.enums import Interleaving

    return ds.count if ds.count > 1 and ds.interleaving == Interleaving.pixel else 1


def _block_bytes(ds: Any) -> int:
    """The bytes of one block of band 1 as GDAL decompresses it (with the bands interleaved in it)."""
    import numpy as np

    rows, cols = ds.block_shapes[0]
    return int(rows) * int(cols) * np.dtype(ds.dtypes[0]).itemsize * _bands_read(ds)


class RasterReader:
    """Reads label rasters within the pixel bounds; counts what it could not read, by reason."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.pixels_read = 0
        self.not_read: Counter[str] = Counter()
        self._env: Any = None
        self._crs_names: dict[str, str] = {}

    def _crs(self, crs: Any) -> str:
        """``EPSG:32633`` for a CRS, worked out once per distinct CRS."""
        if not crs:
            return "none"
        wkt = crs.wkt
        if wkt not in self._crs_names and len(self._crs_names) < 1000:
            self._crs_names[wkt] = crs.to_string()
        return self._crs_names.get(wkt) or crs.to_string()

    def close(self) -> None:
        if self._env is not None:
            self._env.__exit__(None, None, None)
            self._env = None

    def read(self, path: str, max_values: int) -> RasterCounts | None:
        """Pixels per value of band 1 of the raster at ``path``; ``None`` (why: ``not_read``) if not read."""
        import rasterio

        if self._env is None:
            self._env = rasterio.Env(**GDAL_OPTIONS)
            self._env.__enter__()
        try:
            driver = "PNG" if path.lower().endswith(".png") else "GTiff"  # no other format is opened
            with rasterio.open(path, driver=driver) as ds:
                pixels = ds.width * ds.height * _bands_read(ds)
                if pixels > self.limits.max_label_pixels:
                    self.not_read[
                        f"larger than {self.limits.max_label_pixels} pixels (EOHUB_MAX_LABEL_PIXELS)"
                    ] += 1
                    return None
                if _block_bytes(ds) > self.limits.max_label_block_bytes:
                    self.not_read[
                        f"blocks larger than {self.limits.max_label_block_bytes} bytes "
                        "(EOHUB_MAX_LABEL_BLOCK_BYTES)"
                    ] += 1
                    return None
                if self.pixels_read + pixels > self.limits.max_label_pixels_total:
                    self.not_read[
                        f"past {self.limits.max_label_pixels_total} pixels read in all "
                        "(EOHUB_MAX_LABEL_PIXELS_TOTAL)"
                    ] += 1
                    return None
                self.pixels_read += pixels
                counts: Counter[Any] = Counter()
                nodata, truncated = 0, False
                for window in _windows(ds.width, ds.height):
                    values, found, blank = _band_values(ds.read(1, window=window), ds.nodata)
                    nodata += blank
                    room = max_values - len(counts)
                    for value, n in zip(values.tolist(), found.tolist(), strict=True):
                        key = _plain(value)
                        if key in counts:
                            counts[key] += n
                        elif room > 0:
                            counts[key] = n
                            room -= 1
                        else:
                            truncated = True
                crs = self._crs(ds.crs)
                res = (round(float(ds.res[0]), 9), round(float(ds.res[1]), 9))
                return RasterCounts(counts, pixels, nodata, crs, res, truncated)
        except Exception as exc:  # noqa: BLE001 - whatever GDAL says about a hostile file, it is "not read"
            log.debug("label raster %s not read: %s", path, exc)
            self.not_read["unreadable (not a GeoTIFF or PNG rasterio can read)"] += 1
            return None


def vector_counts(path: str, key: str, limits: Limits, max_values: int) -> tuple[Counter[Any], str]:
    """Features of a GeoJSON label file per value of property ``key``; ``(counts, "")`` or the reason
    it was not read."""
    try:
        size = os.stat(path).st_size
        if size > limits.max_label_vector_bytes:
            return (
                Counter(),
                f"larger than {limits.max_label_vector_bytes} bytes (EOHUB_MAX_LABEL_VECTOR_BYTES)",
            )
        with open(path, "rb") as handle:
            raw = handle.read(limits.max_label_vector_bytes + 1)
        data = loads_bounded(raw, limits.max_label_vector_bytes, limits.max_json_depth, "GeoJSON labels")
    except (EohubError, OSError, json.JSONDecodeError) as exc:
        return Counter(), f"unreadable ({str(exc)[:80]})"
    counts: Counter[Any] = Counter()
    for feature in list_field(data, "features"):
        value = dict_field(feature, "properties").get(key)
        if not scalar(value):
            continue
        if value in counts or len(counts) < max_values:
            counts[value] += 1
    return counts, ""


@dataclass
class LabelChecks:
    """Accumulates label validity over the rasters read (see :class:`~.sections.LabelValidity`)."""

    rasters: int = 0
    pixels: int = 0
    outside_pixels: int = 0
    outside_items: int = 0
    outside_values: Counter[Any] = field(default_factory=Counter)
    outside_ids: list[str] = field(default_factory=list)
    nodata: int = 0
    empty_items: int = 0
    unchecked_items: int = 0
    crs: Counter[str] = field(default_factory=Counter)
    resolutions: Counter[tuple[float, float]] = field(default_factory=Counter)

    def add(self, item: str, counts: RasterCounts, declared: set[Any] | None) -> None:
        """One raster of ``item``; ``declared`` its classes' values (``None``: nothing to check against)."""
        self.rasters += 1
        self.pixels += counts.pixels
        self.nodata += counts.nodata
        if counts.nodata == counts.pixels:
            self.empty_items += 1
        if len(self.crs) < MAX_LISTED or counts.crs in self.crs:
            self.crs[counts.crs] += 1
        if len(self.resolutions) < MAX_LISTED or counts.resolution in self.resolutions:
            self.resolutions[counts.resolution] += 1
        if declared is None:
            self.unchecked_items += 1
            return
        outside = {v: n for v, n in counts.values.items() if v not in declared}
        if outside:
            self.outside_items += 1
            self.outside_pixels += sum(outside.values())
            for value, n in outside.items():
                if value in self.outside_values or len(self.outside_values) < MAX_LISTED:
                    self.outside_values[value] += n
            if len(self.outside_ids) < MAX_LISTED:
                self.outside_ids.append(item_id(item))

    def result(self, not_read: int) -> LabelValidity:
        return LabelValidity(
            rasters=self.rasters,
            pixels=self.pixels,
            not_read=not_read,
            outside_pixels=self.outside_pixels,
            outside_items=self.outside_items,
            outside_values=[Tally(v, n) for v, n in self.outside_values.most_common(20)],
            outside_ids=list(self.outside_ids),
            nodata_pixels=self.nodata,
            empty_items=self.empty_items,
            crs=[Tally(v, n) for v, n in self.crs.most_common()],
            resolutions=[Tally(list(v), n) for v, n in self.resolutions.most_common()],
        )
