"""Raster input and output with rasterio: what the input bands are, reading regions, writing the result.

Input is one multi-band GeoTIFF/COG, several single-band files on the same grid, or a STAC item JSON
whose raster assets carry band names (``eo:bands``, ``bands``, ``raster:bands``; a single-band asset
without them is named by its asset key). Output is written in parts, each an uncompressed tiled GeoTIFF
written window by window; :func:`write_cog` then streams the parts through a VRT into a compressed,
tiled Cloud-Optimized GeoTIFF with overviews, the input's georeferencing, nodata, and for class maps a
colour table and the class names. Files are only ever created under temporary names.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.errors import RasterioError
from rasterio.windows import Window

from eohub.errors import InferenceError, UsageError
from eohub.inference.bands import COMMON_NAMES
from eohub.inference.metadata import BandInfo, ClassSpec
from eohub.mlm.documents import read_json

log = logging.getLogger(__name__)

SUPPORTED_DTYPES = frozenset(
    {"uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64", "float32", "float64"}
)
RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".jp2", ".img")
GDAL_ENV = {"GDAL_CACHEMAX": 128, "GDAL_NUM_THREADS": "1", "GDAL_TIFF_INTERNAL_MASK": True}


@contextmanager
def gdal_env() -> Iterator[None]:
    """GDAL settings for a run: a bounded block cache so memory does not grow with the scene."""
    with rasterio.Env(**GDAL_ENV):
        yield


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


def _stac_nodata(holder: dict[str, Any], n: int) -> list[float | None]:
    for key in ("bands", "raster:bands"):
        raw = holder.get(key)
        if isinstance(raw, list) and len(raw) == n:
            return [b.get("nodata") if isinstance(b, dict) else None for b in raw]
    return [None] * n


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
        file_nodata = list(src.nodatavals)
        bands = [
            BandSource(
                path,
                i + 1,
                infos[i],
                file_nodata[i] if file_nodata[i] is not None else (nodata[i] if nodata else None),
                src.dtypes[i],
            )
            for i in range(src.count)
        ]
        grid = (src.height, src.width, src.transform, src.crs, tuple(src.block_shapes[0]))
        tags = src.tags()
    return bands, (grid, tags.get("TIFFTAG_DATETIME"))


def _is_raster_asset(key: str, asset: dict[str, Any]) -> bool:
    media = str(asset.get("type") or "").lower()
    href = str(asset.get("href") or "").lower().split("?")[0]
    roles = asset.get("roles") or []
    if "thumbnail" in roles or "overview" in roles:
        return False
    return "tiff" in media or "jp2" in media or href.endswith(RASTER_SUFFIXES)


def _stac_item_sources(
    path: Path,
) -> tuple[list[tuple[str, list[BandInfo], list[float | None]]], dict[str, Any]]:
    item = read_json(path)
    if item.get("type") != "Feature" or not isinstance(item.get("assets"), dict):
        raise UsageError(f"{path}: not a STAC item with assets")
    files = []
    for key, asset in item["assets"].items():
        if not isinstance(asset, dict) or not _is_raster_asset(key, asset):
            continue
        href = str(asset["href"])
        if "://" not in href and not Path(href).is_absolute():
            href = str(path.parent / href)
        infos = _band_infos_from(asset)
        if not infos:
            common = key.lower() if key.lower() in COMMON_NAMES else None
            infos = [BandInfo(key, common)]
        files.append((href, infos, _stac_nodata(asset, len(infos))))
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
        files = [(p, [], None) for p in paths]
    bands: list[BandSource] = []
    grid = None
    stamp = None
    for path, names, nodata in files:
        more, (file_grid, file_stamp) = _file_bands(path, names, nodata)
        if names and len(names) != len(more):
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
        bands, height, width, transform, crs, block, item, item_path, [f[0] for f in files], when
    )


def _tiff_datetime(stamp: str) -> str | None:
    """``YYYY:MM:DD HH:MM:SS`` (TIFF) as RFC 3339."""
    try:
        date, time = stamp.strip().split(" ")
        return f"{date.replace(':', '-')}T{time}Z"
    except ValueError:
        return None


# -- output --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputLayout:
    """What one output file holds: band count, data type, nodata, names, and class metadata."""

    count: int
    dtype: str
    nodata: float | None
    descriptions: tuple[str, ...]
    classes: tuple[ClassSpec, ...] = ()
    resampling: str = "average"


def temp_name(final: Path, suffix: str = ".part.tif") -> Path:
    """A hidden temporary name beside ``final`` (same filesystem, so a rename finishes the write)."""
    return final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}{suffix}")


class PartWriter:
    """An uncompressed tiled GeoTIFF holding scene rows ``row0:row0+height``, written window by window."""

    def __init__(
        self, path: Path, layout: OutputLayout, width: int, height: int, transform: Any, crs: Any
    ) -> None:
        self.path = path
        self.layout = layout
        profile = {
            "driver": "GTiff",
            "width": width,
            "height": height,
            "count": layout.count,
            "dtype": layout.dtype,
            "transform": transform,
            "crs": crs,
            "nodata": layout.nodata,
            "tiled": True,
            "blockxsize": 256,
            "blockysize": 256,
            "BIGTIFF": "IF_SAFER",
            "SPARSE_OK": True,
        }
        self._dst = rasterio.open(path, "w", **profile)

    def write(self, array: np.ndarray, row: int, col: int) -> None:
        """Write ``array`` (bands, h, w) with its top-left at (``row``, ``col``) of this part."""
        self._dst.write(array, window=Window(col, row, array.shape[-1], array.shape[-2]))

    def close(self) -> None:
        self._dst.close()


def _vrt(parts: Sequence[tuple[Path, int, int]], layout: OutputLayout, width: int, height: int, crs: Any,
         transform: Any) -> str:  # fmt: skip
    gdal_type = {"uint8": "Byte", "int8": "Int8", "uint16": "UInt16", "int16": "Int16", "uint32": "UInt32",
                 "int32": "Int32", "float32": "Float32", "float64": "Float64"}[layout.dtype]  # fmt: skip
    geo = ", ".join(repr(float(v)) for v in transform.to_gdal())
    srs = f"<SRS>{escape(crs.to_wkt())}</SRS>" if crs else ""
    lines = [
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">',
        srs,
        f"<GeoTransform>{geo}</GeoTransform>",
    ]
    for band in range(1, layout.count + 1):
        lines.append(f'<VRTRasterBand dataType="{gdal_type}" band="{band}">')
        if layout.nodata is not None:
            lines.append(f"<NoDataValue>{_nodata_text(layout.nodata)}</NoDataValue>")
        lines.append(f"<Description>{escape(layout.descriptions[band - 1])}</Description>")
        if layout.classes and band == 1:
            lines += _class_xml(layout.classes)
        for path, row, rows in parts:
            lines.append(
                f'<SimpleSource><SourceFilename relativeToVRT="0">{escape(str(path))}</SourceFilename>'
                f"<SourceBand>{band}</SourceBand>"
                f'<SrcRect xOff="0" yOff="0" xSize="{width}" ySize="{rows}"/>'
                f'<DstRect xOff="0" yOff="{row}" xSize="{width}" ySize="{rows}"/></SimpleSource>'
            )
        lines.append("</VRTRasterBand>")
    lines.append("</VRTDataset>")
    return "\n".join(lines)


def _nodata_text(value: float) -> str:
    return (
        "nan" if np.isnan(value) else repr(float(value)) if not float(value).is_integer() else str(int(value))
    )


def _class_xml(classes: Sequence[ClassSpec]) -> list[str]:
    top = max(c.value for c in classes)
    lookup = {c.value: c for c in classes}
    lines = ["<ColorInterp>Palette</ColorInterp>", "<CategoryNames>"]
    lines += [f"<Category>{escape(lookup[v].name) if v in lookup else ''}</Category>" for v in range(top + 1)]
    lines += ["</CategoryNames>", "<ColorTable>"]
    for v in range(top + 1):
        r, g, b, a = (
            lookup[v].color if v in lookup and lookup[v].color else (0, 0, 0, 0 if v not in lookup else 255)
        )
        lines.append(f'<Entry c1="{r}" c2="{g}" c3="{b}" c4="{a}"/>')
    lines.append("</ColorTable>")
    meta = json.dumps([{"value": c.value, "name": c.name} for c in classes])
    lines.append(f'<Metadata><MDI key="classes">{escape(meta)}</MDI></Metadata>')
    return lines


def write_cog(
    parts: Sequence[tuple[Path, int, int]],
    final: Path,
    layout: OutputLayout,
    width: int,
    height: int,
    transform: Any,
    crs: Any,
) -> None:
    """Stream part files ``(path, first row, rows)`` into a compressed COG at ``final`` (a temporary name)."""
    vrt_path = temp_name(final, ".vrt")
    try:
        vrt_path.write_text(_vrt(parts, layout, width, height, crs, transform))
        predictor = "3" if layout.dtype.startswith("float") else "2"
        options = {
            "COMPRESS": "DEFLATE",
            "PREDICTOR": predictor if not layout.classes else "NO",
            "BLOCKSIZE": 512,
            "BIGTIFF": "IF_SAFER",
            "OVERVIEW_RESAMPLING": "NEAREST" if layout.classes else layout.resampling.upper(),
            "NUM_THREADS": "1",
        }
        with rasterio.Env(GDAL_PAM_ENABLED=False):
            rasterio.shutil.copy(str(vrt_path), str(final), driver="COG", **options)
    finally:
        vrt_path.unlink(missing_ok=True)


def remove_quietly(paths: Sequence[Path]) -> None:
    """Delete temporary files (missing ones are fine)."""
    for p in paths:
        Path(p).unlink(missing_ok=True)
