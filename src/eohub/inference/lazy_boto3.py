"""rasterio without boto3 at start-up: ``rasterio.session`` imports boto3 (0.1-0.3 s with botocore and
urllib3) although a run on local files never uses it.

:func:`install` puts a finder on ``sys.meta_path`` that loads ``rasterio.session`` with boto3 hidden from
the importing thread (other threads import as usual), then gives it a stand-in that imports boto3 on
first use, so an ``s3://`` input still gets rasterio's ``AWSSession``. Where boto3 is not installed,
rasterio sees it missing as before. The finder answers for ``rasterio.session`` alone, once, and only if
rasterio is not imported yet.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
import types
from typing import Any


class _Boto3OnFirstUse(types.ModuleType):
    """Stands for the boto3 module in ``rasterio.session`` and imports it when an attribute is asked for."""

    def __getattr__(self, name: str) -> Any:
        import boto3

        return getattr(boto3, name)


class _HideBoto3:
    """A finder that makes ``import boto3`` fail in one thread (rasterio catches the ImportError)."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name.partition(".")[0] == "boto3" and threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"{name} deferred by eohub", name=name)
        return None


class _Loader:
    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        available = importlib.util.find_spec("boto3") is not None
        hide = _HideBoto3()
        sys.meta_path.insert(0, hide)
        try:
            self.loader.exec_module(module)
        finally:
            sys.meta_path.remove(hide)
        if available and getattr(module, "boto3", None) is None:
            module.boto3 = _Boto3OnFirstUse("boto3")  # type: ignore[attr-defined]


class _Finder:
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "rasterio.session":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None and "boto3" not in sys.modules:
            spec.loader = _Loader(spec.loader)
        return spec


def install() -> None:
    """Defer boto3 in ``rasterio.session`` if rasterio is not imported yet (idempotent)."""
    if "rasterio.session" in sys.modules or any(isinstance(f, _Finder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _Finder())
