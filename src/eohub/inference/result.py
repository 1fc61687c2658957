"""What ``Predictor.run`` returns: the raster it wrote, which opens in one call.

A :class:`Prediction` is a path (``os.PathLike``): ``rasterio.open(p)``, ``Path(p)`` and ``str(p)`` take it
as they took the ``Path`` ``run`` used to return, and ``p.path`` is that ``Path``. ``p.open()`` is the
raster as a rasterio dataset (use it in a ``with``), ``p.to_xarray()`` an ``xarray.DataArray`` through
rioxarray (``pip install 'eohub[notebook]'``), and ``p.item`` the STAC item written beside it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import xarray
    from rasterio.io import DatasetReader

XARRAY_MISSING = "to_xarray needs xarray and rioxarray: pip install 'eohub[notebook]'"


class Prediction(os.PathLike[str]):
    """The output raster of one run and the STAC item that describes it (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str], item: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path)
        self.item = Path(item) if item is not None else None

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"Prediction({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, os.PathLike):
            return self.path == Path(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.path)

    def open(self) -> DatasetReader:
        """The raster as an open rasterio dataset: ``with prediction.open() as src: src.read(1)``."""
        import rasterio

        return rasterio.open(self.path)

    def to_xarray(self, **options: Any) -> xarray.DataArray:
        """The raster as an ``xarray.DataArray`` (band, y, x) with its CRS and transform, read lazily by
        ``rioxarray.open_rasterio(path, **options)``. Needs the ``notebook`` extra."""
        try:
            import rioxarray
        except ImportError:
            raise ImportError(XARRAY_MISSING) from None
        return rioxarray.open_rasterio(self.path, **options)
