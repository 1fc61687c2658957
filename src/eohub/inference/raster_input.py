"""Raster input with rasterio: what the input bands are, and reading regions of them.

Input is one multi-band GeoTIFF/COG, several single-band files on the same grid, or a STAC item JSON
whose raster assets carry band names (``eo:bands``, ``bands``, ``raster:bands``; a single-band asset
without them is named by its asset key). Each reader thread keeps its own open datasets.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import RasterioError
from rasterio.windows import Window

from eohub.errors import InferenceError, UsageError
from eohub.inference.bands import COMMON_NAMES
from eohub.inference.metadata import BandInfo
from eohub.mlm.documents import read_json

log = logging.getLogger(__name__)

SUPPORTED_DTYPES = frozenset(
    {"uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64", "float32", "float64"}
)
RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".jp2", ".img")
GDAL_ENV = {"GDAL_CACHEMAX": 128, "GDAL_NUM_THREADS": "1", "GDAL_TIFF_INTERNAL_MASK": True}


@contextmanager
def gdal_env(raster: RasterInput | None = None) -> Iterator[None]:
    """GDAL settings for a run: a bounded block cache so memory does not grow with the scene.

    With a ``raster`` whose files are all :func:`reads_directly`, datasets opened inside read without the
    block cache (``GTIFF_DIRECT_IO``): half the CPU time for them, and twice it or worse for the others
    (band-interleaved, striped), which is why it is not set for every file.
    """
    options = dict(GDAL_ENV)
    if raster is not None and raster.direct_io:
        options["GTIFF_DIRECT_IO"] = "YES"
    with rasterio.Env(**options):
        yield


def reads_directly(src: Any) -> bool:
    """True for an uncompressed, tiled, pixel-interleaved multi-band GeoTIFF, which GDAL reads faster
    without its block cache: a pixel-interleaved block in the cache is split into one block per band and
    copied again from there; direct reads copy each band's pixels once."""
    structure = src.tags(ns="IMAGE_STRUCTURE")
    return (
        src.driver == "GTiff"
        and src.count > 1
        and src.compression is None
        and bool(src.profile.get("tiled"))
        and structure.get("INTERLEAVE", "PIXEL").upper() == "PIXEL"
    )


@dataclass(frozen=True)
class BandSource:
    """Where one input band lives: a file and the band's 1-based index in it."""

    path: str
    index: int
    info: BandInfo
    nodata: float | None
    dtype: str


@dataclass
class RasterInput:
    """The input scene: its bands (in order), grid and, for a STAC item, the item itself."""

    bands: list[BandSource]
    height: int
    width: int
    transform: Any
    crs: Any
    block_shape: tuple[int, int]
    item: dict[str, Any] | None = None
    item_path: Path | None = None
    paths: list[str] = field(default_factory=list)
    datetime: str | None = None
    direct_io: bool = False  # every file :func:`reads_directly`
    _local: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def infos(self) -> list[BandInfo]:
        return [b.info for b in self.bands]

    def _dataset(self, path: str) -> Any:
        handles = getattr(self._local, "handles", None)
        if handles is None:
            handles = self._local.handles = {}
        if path not in handles:
            handles[path] = rasterio.open(path)
        return handles[path]

    def read(self, sources: Sequence[int], row: int, col: int, height: int, width: int) -> np.ndarray:
        """Bands ``sources`` (indexes into :attr:`bands`) of a window clipped to the scene, as one array.

        Bands are decoded straight into the result: one read per file for the bands it holds in a row of
        the result (in a multi-band file, usually all of them), without an intermediate copy.
        """
        window = Window(col, row, min(width, self.width - col), min(height, self.height - row))
        dtype = np.result_type(*[np.dtype(self.bands[s].dtype) for s in sources])
        out = np.empty((len(sources), int(window.height), int(window.width)), dtype)
        runs: list[tuple[str, int, list[int]]] = []  # (file, first position in out, band indexes)
        for pos, s in enumerate(sources):
            band = self.bands[s]
            if runs and runs[-1][0] == band.path and runs[-1][1] + len(runs[-1][2]) == pos:
                runs[-1][2].append(band.index)
            else:
                runs.append((band.path, pos, [band.index]))
        path = runs[0][0] if runs else ""
        try:
            for path, start, indexes in runs:
                target = out[start : start + len(indexes)]
                dataset = self._dataset(path)
                if all(np.dtype(dataset.dtypes[i - 1]) == dtype for i in indexes):
                    dataset.read(indexes, window=window, out=target)
                else:
                    target[...] = dataset.read(indexes, window=window)
        except RasterioError as exc:
            raise InferenceError(f"cannot read {path}: {exc}") from None
        return out

    def invalid(self, sources: Sequence[int], data: np.ndarray) -> np.ndarray | None:
        """Pixels where any read band is nodata (or NaN); None when no band declares nodata or none is."""
        mask: np.ndarray | None = None
        floating = np.issubdtype(data.dtype, np.floating)
        by_value: dict[float, list[int]] = {}
        for pos, s in enumerate(sources):
            nodata = self.bands[s].nodata
            if nodata is not None and not np.isnan(nodata):
                by_value.setdefault(float(nodata), []).append(pos)
        if floating:
            mask = np.isnan(data).any(axis=0)
        for value, positions in by_value.items():
            bands = data if len(positions) == len(data) else data[positions]
            if not floating and value == np.iinfo(data.dtype).min:
                bad = bands.min(axis=0) == value  # one fast reduction for the usual nodata 0 of unsigned data
            elif not floating and value == np.iinfo(data.dtype).max:
                bad = bands.max(axis=0) == value
            else:
                bad = (bands == value).any(axis=0)
            mask = bad if mask is None else (mask | bad)
        if mask is None or not mask.any():
            return None
        return mask

    @property
    def has_nodata(self) -> bool:
        return any(b.nodata is not None or np.dtype(b.dtype).kind == "f" for b in self.bands)

    def close(self) -> None:
        for handle in getattr(self._local, "handles", {}).values():
            handle.close()
        self._local.handles = {}


def _band_infos_from(holder: dict[str, Any]) -> list[BandInfo]:
    for key in ("bands", "eo:bands", "raster:bands"):
        raw = holder.get(key)
        if isinstance(raw, list) and raw and any(isinstance(b, dict) and b.get("name") for b in raw):
            return [
                BandInfo(b.get("name"), b.get("common_name") or b.get("eo:common_name"), b.get("description"))
                for b in raw
            ]
    return []


def _stac_nodata(holder: dict[str, Any]) -> list[float | None] | None:
    """Per-band ``nodata`` of a STAC asset's band objects (numbers only), or None when it has none."""
    for key in ("bands", "raster:bands"):
        raw = holder.get(key)
        if isinstance(raw, list) and raw:
            return [_number(b.get("nodata")) if isinstance(b, dict) else None for b in raw]
    return None


def _number(value: Any) -> float | None:
    """A STAC ``nodata``: a number, or ``"nan"``, ``"inf"``, ``"-inf"`` as the raster extension allows."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value.strip().lower() in ("nan", "inf", "-inf"):
        return float(value.strip())
    return None


def _open(path: str) -> Any:
    if not Path(path).exists() and "://" not in path:
        raise UsageError(f"{path}: no such file")
    try:
        return rasterio.open(path)
    except RasterioError as exc:
        raise InferenceError(f"{path}: not a readable raster ({str(exc).splitlines()[0]})") from None


def _file_bands(
    path: str, names: list[BandInfo], nodata: list[float | None] | None = None
) -> tuple[list[BandSource], Any]:
    """The bands of one file: named by ``names`` (from STAC) when they count the file's bands, else by the
    file's band descriptions; STAC ``nodata`` only where the file declares none and the counts agree.
    Also its grid, TIFF date and whether it :func:`reads_directly`."""
    with _open(path) as src:
        if src.count == 0:
            raise InferenceError(f"{path}: the raster has no bands")
        for dtype in src.dtypes:
            if dtype not in SUPPORTED_DTYPES:
                raise InferenceError(
                    f"{path}: data type {dtype} is not supported ({', '.join(sorted(SUPPORTED_DTYPES))})"
                )
        infos = names if len(names) == src.count else []
        if not infos:
            descriptions = list(src.descriptions or [None] * src.count)
            if src.count == 1 and not descriptions[0]:
                stem = Path(path).stem
                infos = [BandInfo(stem, stem.lower() if stem.lower() in COMMON_NAMES else None)]
            else:
                infos = [BandInfo(d, None, d) if d else BandInfo(None) for d in descriptions]
        stac_nodata = nodata if nodata is not None and len(nodata) == src.count else [None] * src.count
        file_nodata = [
            v if v is not None else stac for v, stac in zip(src.nodatavals, stac_nodata, strict=True)
        ]
        bands = [BandSource(path, i + 1, infos[i], file_nodata[i], src.dtypes[i]) for i in range(src.count)]
        grid = (src.height, src.width, src.transform, src.crs, tuple(src.block_shapes[0]))
        tags = src.tags()
        direct = reads_directly(src)
    return bands, (grid, tags.get("TIFFTAG_DATETIME"), direct)


def is_raster_asset(asset: dict[str, Any]) -> bool:
    """True when a STAC asset is a raster the pipeline reads (a GeoTIFF or JPEG 2000, not a thumbnail)."""
    media = str(asset.get("type") or "").lower()
    href = str(asset.get("href") or "").lower().split("?")[0]
    roles = asset.get("roles") or []
    if "thumbnail" in roles or "overview" in roles:
        return False
    return "tiff" in media or "jp2" in media or href.endswith(RASTER_SUFFIXES)


def _stac_item_sources(
    path: Path,
) -> tuple[list[tuple[str, list[BandInfo], list[float | None] | None, bool]], dict[str, Any]]:
    """The raster assets of a STAC item: href, band names and nodata from its band metadata (an asset
    without any is named by its key when its file has one band, else by the file's band descriptions)."""
    item = read_json(path)
    if item.get("type") != "Feature" or not isinstance(item.get("assets"), dict):
        raise UsageError(f"{path}: not a STAC item with assets")
    files = []
    for key, asset in item["assets"].items():
        if not isinstance(asset, dict) or not is_raster_asset(asset):
            continue
        href = str(asset["href"])
        if "://" not in href and not Path(href).is_absolute():
            href = str(path.parent / href)
        infos = _band_infos_from(asset)
        described = bool(infos)
        if not described:
            infos = [BandInfo(key, key.lower() if key.lower() in COMMON_NAMES else None)]
        files.append((href, infos, _stac_nodata(asset), described))
    if not files:
        raise InferenceError(f"{path}: the STAC item has no raster assets")
    return files, item


def open_input(paths: Sequence[str]) -> RasterInput:
    """Open the input: one raster, several rasters on one grid, or one STAC item JSON."""
    if not paths:
        raise UsageError("no input given")
    item = item_path = None
    if len(paths) == 1 and paths[0].lower().endswith(".json"):
        item_path = Path(paths[0]).resolve()
        files, item = _stac_item_sources(item_path)
    else:
        files = [(p, [], None, False) for p in paths]
    bands: list[BandSource] = []
    grid = None
    stamp = None
    direct = True
    for path, names, nodata, described in files:
        more, (file_grid, file_stamp, file_direct) = _file_bands(path, names, nodata)
        direct = direct and file_direct
        if described and len(names) != len(more):
            log.warning(
                "%s: %d bands described, %d in the file; using the file's", path, len(names), len(more)
            )
        if grid is None:
            grid, stamp = file_grid, file_stamp
        elif file_grid[:4] != grid[:4]:
            raise InferenceError(
                f"{path}: not on the same grid as {files[0][0]} ({file_grid[1]}x{file_grid[0]} vs "
                f"{grid[1]}x{grid[0]}, or a different transform/CRS); resample the inputs to one grid first"
            )
        bands.extend(more)
    assert grid is not None
    height, width, transform, crs, block = grid
    when = None
    if item is not None:
        props = item.get("properties") or {}
        when = props.get("datetime") or props.get("start_datetime")
    elif stamp:
        when = _tiff_datetime(stamp)
    return RasterInput(
        bands, height, width, transform, crs, block, item, item_path, [f[0] for f in files], when, direct
    )


def _tiff_datetime(stamp: str) -> str | None:
    """``YYYY:MM:DD HH:MM:SS`` (TIFF) as RFC 3339."""
    try:
        date, time = stamp.strip().split(" ")
        return f"{date.replace(':', '-')}T{time}Z"
    except ValueError:
        return None
