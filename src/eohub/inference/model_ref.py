"""Find the MLM item a user means: an item (dict or ``pystac.Item``), item file, model folder, hub name or
the URL of a model on a hub.

A folder (e.g. one ``eohub models download`` wrote) is searched for the first STAC item with ``mlm:input``.
A name ``NAME[:VERSION]`` that is not a local path is downloaded through the repository, imported only
then so that inference does not depend on it. A hub URL (``https://HUB/models/NAME``, optionally
``/versions/N``, as the hub's pages and API spell it) is downloaded from that hub with the client, with the
token ``EOHUB_TOKEN`` or ``eohub auth login`` gave for it. Items in an older MLM layout are upgraded with
:func:`eohub.mlm.migrate.migrate_data` when that module is available.
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eohub.errors import EohubError, InferenceError, UsageError
from eohub.mlm.documents import read_json, walk
from eohub.mlm.schemas import LATEST_MLM_SCHEMA

log = logging.getLogger(__name__)

HUB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{1,63}(:v?[0-9]{1,10})?\Z")
HUB_URL = re.compile(
    r"^(?P<hub>https?://[^/?#]+(?:/[^?#]*?)?)(?<!/api)/(?:api/)?models/(?P<name>[A-Za-z0-9][A-Za-z0-9-]{1,63})"
    r"(?:/versions/v?(?P<version>[0-9]{1,10}))?/?\Z"
)


@dataclass
class ItemRef:
    """An MLM item, the folder its relative hrefs resolve against, the file it came from (if any) and
    the model folder the user named (if any), where a model file whose href does not resolve is looked for."""

    data: dict[str, Any]
    base: Path | None
    path: Path | None
    root: Path | None = None


def _upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """Migrate an item declaring an older MLM version, or in the old object layout, to MLM v1.5.2."""
    extensions = [str(e) for e in data.get("stac_extensions") or []]
    if LATEST_MLM_SCHEMA in extensions:
        return data
    props = data.get("properties") or {}
    current = "mlm:input" in props and "mlm:output" in props
    older = any("/mlm" in url or "ml-model" in url for url in extensions)
    if current and not older:
        return data
    try:
        from eohub.mlm.migrate import migrate_data
    except ImportError:
        return data
    try:
        return dict(migrate_data(data).data)
    except EohubError as exc:
        if current:
            log.info("could not migrate the MLM item (%s); reading it as it is", exc)
            return data
        raise InferenceError(f"the item uses an old MLM layout that cannot be upgraded: {exc}") from None


def _item_in_folder(folder: Path) -> Path:
    """The first MLM item under ``folder``: via its catalog, else any JSON file, shallowest first."""
    for catalog in [
        folder / "catalog.json",
        *sorted(folder.rglob("catalog.json"), key=lambda p: len(p.parts)),
    ]:
        if not catalog.is_file():
            continue
        try:
            docs = walk(catalog)
        except UsageError:
            continue
        for doc in docs:
            if doc.stac_type == "Feature" and "mlm:input" in (doc.data.get("properties") or {}):
                return doc.path
    for path in sorted(folder.rglob("*.json"), key=lambda p: (len(p.parts), str(p))):
        try:
            data = read_json(path)
        except UsageError:
            continue
        if "mlm:input" in (data.get("properties") or {}):
            return path
    models = sorted(folder.rglob("*.onnx"), key=lambda p: (len(p.parts), str(p)))
    hint = f"; {_onnx_hint(str(models[0]))}" if models else ""
    raise InferenceError(f"{folder}: no MLM item (a STAC item with mlm:input) in this folder{hint}")


def load_item(ref: Any) -> ItemRef:
    """Resolve ``ref`` (see the module docstring) to an :class:`ItemRef`."""
    if hasattr(ref, "to_dict") and hasattr(ref, "get_self_href"):
        href = ref.get_self_href()
        path = Path(href) if href and "://" not in href else None
        return ItemRef(_upgrade(ref.to_dict(include_self_link=False)), path.parent if path else None, path)
    if isinstance(ref, Mapping):
        return ItemRef(_upgrade(dict(ref)), None, None)
    text = str(ref)
    url = HUB_URL.match(text)
    if url:
        version = int(url["version"]) if url["version"] else None
        return load_item(_download_from(url["hub"], url["name"], version))
    if "://" in text:
        raise UsageError(f"{text}: not the URL of a model on a hub (https://HUB/models/NAME[/versions/N])")
    path = Path(text).expanduser()
    root = None
    if path.is_dir():
        root = path.resolve()
        path = _item_in_folder(path)
    if path.is_file():
        if _is_onnx_file(path):
            raise UsageError(_onnx_hint(text))
        path = path.resolve()
        return ItemRef(_upgrade(read_json(path)), path.parent, path, root)
    if HUB_NAME.match(text) and not text.endswith(".json"):
        return load_item(_download(text))
    raise UsageError(f"{text}: no such model item, model folder or hub model name")


def _is_onnx_file(path: Path) -> bool:
    """An ONNX model given where an item belongs: its name says so, or it starts as a ``ModelProto`` does
    (field 1, ``ir_version``, a small varint) rather than as JSON text."""
    if path.suffix.lower() == ".onnx":
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(2)
    except OSError:
        return False
    return len(head) == 2 and head[0] == 0x08 and 0 < head[1] < 0x80


def _onnx_hint(text: str) -> str:
    quoted = shlex.quote(text)
    return (
        f"{text} is an ONNX file, not an MLM item: describe it first with "
        f"`eohub mlm init {quoted} -o item.json`, then run that item"
    )


def _download(ref: str) -> Path:
    """Download hub model ``NAME[:VERSION]`` into ``EOHUB_HOME/cache/models`` (a cached version is reused)."""
    from eohub.config import load_settings
    from eohub.models import download_model

    name, _, version = ref.partition(":")
    try:
        number = int(version.lstrip("v")) if version else None
    except ValueError:
        raise UsageError(f"{ref}: the version must be a number (NAME:3)") from None
    cache = load_settings().home / "cache" / "models"
    if number is not None and (cache / name / f"v{number}").is_dir():
        return cache / name / f"v{number}"
    return Path(download_model(name, path=cache, version=number, force=True))


def _download_from(hub: str, name: str, version: int | None) -> Path:
    """Download model ``name`` (latest, or ``version``) from the hub at ``hub`` into
    ``EOHUB_HOME/cache/models/HOST/NAME/vN`` (a cached numbered version is reused)."""
    import dataclasses
    from urllib.parse import urlsplit

    from eohub.client import RemoteRepository
    from eohub.client.credentials import token_for
    from eohub.config import load_settings

    settings = dataclasses.replace(load_settings(), url=hub)
    parts = urlsplit(hub)
    host = re.sub(r"[^A-Za-z0-9.-]+", "_", parts.netloc + parts.path).strip("_")
    cache = settings.home / "cache" / "models" / host
    if version is not None and (cache / name / f"v{version}").is_dir():
        return cache / name / f"v{version}"
    with RemoteRepository(hub, token_for(settings), attempts=settings.retries + 1) as repo:
        return Path(repo.download("model", name, cache, version, force=True))
