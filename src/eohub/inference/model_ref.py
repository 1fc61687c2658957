"""Find the MLM item a user means: an item (dict or ``pystac.Item``), item file, model folder or hub name.

A folder (e.g. one ``eohub models download`` wrote) is searched for the first STAC item with ``mlm:input``.
A name ``NAME[:VERSION]`` that is not a local path is downloaded through the repository, imported only
then so that inference does not depend on it. Items in an older MLM layout are upgraded with
:func:`eohub.mlm.migrate.migrate_data` when that module is available.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eohub.errors import EohubError, InferenceError, UsageError
from eohub.mlm.documents import read_json, walk
from eohub.mlm.schemas import LATEST_MLM_SCHEMA

log = logging.getLogger(__name__)

HUB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{1,63}(:[\w.\-]+)?$")


@dataclass
class ItemRef:
    """An MLM item, the folder its relative hrefs resolve against, and the file it came from (if any)."""

    data: dict[str, Any]
    base: Path | None
    path: Path | None


def _upgrade(data: dict[str, Any]) -> dict[str, Any]:
    extensions = [str(e) for e in data.get("stac_extensions") or []]
    if LATEST_MLM_SCHEMA in extensions:
        return data
    try:
        from eohub.mlm.migrate import migrate_data
    except ImportError:
        return data
    try:
        return dict(migrate_data(data).data)
    except EohubError as exc:
        log.warning("could not migrate the MLM item (%s); reading it as it is", exc)
        return data


def _item_in_folder(folder: Path) -> Path:
    candidates = [folder / "item.json", *sorted(folder.glob("*.json"))]
    try:
        docs = walk(folder)
    except UsageError:
        docs = []
    for doc in docs:
        if doc.stac_type == "Feature" and "mlm:input" in (doc.data.get("properties") or {}):
            return doc.path
    for path in candidates:
        if path.is_file():
            data = read_json(path)
            if "mlm:input" in (data.get("properties") or {}):
                return path
    raise InferenceError(f"{folder}: no MLM item (a STAC item with mlm:input) in this folder")


def load_item(ref: Any) -> ItemRef:
    """Resolve ``ref`` (see the module docstring) to an :class:`ItemRef`."""
    if hasattr(ref, "to_dict") and hasattr(ref, "get_self_href"):
        href = ref.get_self_href()
        path = Path(href) if href and "://" not in href else None
        return ItemRef(_upgrade(ref.to_dict(include_self_link=False)), path.parent if path else None, path)
    if isinstance(ref, Mapping):
        return ItemRef(_upgrade(dict(ref)), None, None)
    text = str(ref)
    path = Path(text).expanduser()
    if path.is_dir():
        path = _item_in_folder(path)
    if path.is_file():
        path = path.resolve()
        return ItemRef(_upgrade(read_json(path)), path.parent, path)
    if HUB_NAME.match(text) and not text.endswith(".json"):
        return load_item(_download(text))
    raise UsageError(f"{text}: no such model item, model folder or hub model name")


def _download(ref: str) -> str:
    from eohub.models import download_model

    name, _, version = ref.partition(":")
    return download_model(name, version=version or None)
