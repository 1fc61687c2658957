"""Raster output with rasterio: part files written window by window, streamed into one COG at the end.

Output is written in parts, each an uncompressed tiled GeoTIFF holding a range of the scene's rows;
:func:`write_cog` then streams the parts through a VRT into a compressed, tiled Cloud-Optimized GeoTIFF
with overviews, the input's georeferencing, nodata, and for class maps a colour table and the class
names. Files are only ever created under temporary names.
"""

from __future__ import annotations

import html
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.windows import Window

from eohub.inference.metadata import ClassSpec


@dataclass(frozen=True)
class OutputLayout:
    """What one output file holds: band count, data type, nodata, names, and class metadata."""

    count: int
    dtype: str
    nodata: float | None
    descriptions: tuple[str, ...]
    classes: tuple[ClassSpec, ...] = ()
    resampling: str = "average"


@dataclass
class PartResult:
    """The part files of rows ``row:row+rows`` of the output (main file, then scores file if any)."""

    paths: list[Path]
    row: int
    rows: int


def temp_name(final: Path, suffix: str = ".part.tif") -> Path:
    """A hidden temporary name beside ``final`` (same filesystem, so a rename finishes the write)."""
    return final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}{suffix}")


class PartWriter:
    """An uncompressed tiled, band-interleaved GeoTIFF holding scene rows ``row0:row0+height``, written
    window by window."""

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
            # One block per band: writing a window into a pixel-interleaved block of many bands makes
            # GDAL interleave the whole block again (a 10-band float block: 2 ms per region written).
            "interleave": "band",
            "BIGTIFF": "IF_SAFER",
            "SPARSE_OK": True,
        }
        self._dst = rasterio.open(path, "w", **profile)

    def write(self, array: np.ndarray, row: int, col: int) -> None:
        """Write ``array`` (bands, h, w) with its top-left at (``row``, ``col``) of this part."""
        self._dst.write(array, window=Window(col, row, array.shape[-1], array.shape[-2]))

    def close(self) -> None:
        self._dst.close()


def escape(text: str) -> str:
    """XML text: ``&``, ``<`` and ``>`` escaped (``xml.sax.saxutils.escape``, whose module imports ssl)."""
    return html.escape(text, quote=False)


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
