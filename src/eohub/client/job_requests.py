"""What a job runs on, as people write it, made into the request the hub takes.

An input is one of:

- ``datasets/NAME``, ``datasets/NAME@vN`` (a version; the latest without it), ``datasets/NAME@vN:ITEM_ID``
  (one item of it; several such inputs of one version are merged into one list of items);
- ``stac:COLLECTION/ITEM``, a STAC item of this hub (``stac:datasets.NAME/ITEM``);
- a local file (a GeoTIFF/COG scene), uploaded the usual way first: resumable, and not sent at all when
  the hub has its bytes already for the caller. Write ``./datasets/x`` for a file that looks like a
  dataset.

The Python API also takes a :class:`~pathlib.Path` (a file) or a dict in the hub's own form.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eohub.client.jobs import MAX_INPUTS, check_text
from eohub.core.names import check_name, check_version, name_key
from eohub.errors import UsageError

if TYPE_CHECKING:
    from eohub.client.remote import RemoteRepository
    from eohub.repository.progress import Progress

_DATASET = re.compile(r"datasets/([^@:/]+)(?:@v?([0-9]{1,10}))?(?::(.+))?", re.S)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
FORMS = "datasets/NAME[@vN][:ITEM_ID], stac:COLLECTION/ITEM or a local file"
READ_SIZE = 1024 * 1024

Input = str | Path | dict[str, Any]


def parse_input(value: Input) -> dict[str, Any] | Path:
    """One input as the hub's dict, or the local file to upload (see the module docstring)."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, Path):
        return _local_file(value)
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"an input is {FORMS}, not {str(value)[:80]!r}")
    if value.startswith("stac:"):
        reference = check_text(value[5:], "a STAC item reference")
        collection, _, item = reference.partition("/")
        if not collection or not item:
            raise UsageError(f"{value[:80]!r}: a STAC item is written stac:COLLECTION/ITEM")
        return {"stac_item": reference}
    match = _DATASET.fullmatch(value)
    if match:
        name, version, item = match.groups()
        return {
            "dataset": check_name(name, "dataset name"),
            "version": None if version is None else check_version(int(version)),
            "items": None if item is None else [check_text(item, "an item id")],
        }
    return _local_file(Path(value))


def _local_file(path: Path) -> Path:
    """``path`` resolved (links followed once, here) when it is a regular file."""
    try:
        resolved = path.expanduser().resolve(strict=True)
        mode = resolved.stat().st_mode
    except (OSError, RuntimeError):
        raise UsageError(f"{str(path)[:200]!r} is not a file here; an input is {FORMS}") from None
    if not stat.S_ISREG(mode):
        raise UsageError(f"{str(path)[:200]!r} is not a regular file; an input is {FORMS}")
    return resolved


def merged(inputs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``inputs`` with the items of one dataset version gathered into one input (a whole version wins over
    some of its items) and repeated inputs once, in the order first given."""
    out: list[dict[str, Any]] = []
    datasets: dict[tuple[str, int | None], dict[str, Any]] = {}
    for entry in inputs:
        if "dataset" not in entry:
            if entry not in out:
                out.append(entry)
            continue
        key = (name_key(str(entry["dataset"])), entry.get("version"))
        known = datasets.get(key)
        if known is None:
            datasets[key] = known = {**entry, "items": None if entry.get("items") is None else []}
            out.append(known)
        if known["items"] is None or entry.get("items") is None:
            known["items"] = None
        else:
            known["items"] += [i for i in entry["items"] if i not in known["items"]]
    if len(out) > MAX_INPUTS:
        raise UsageError(f"a job takes at most {MAX_INPUTS} inputs")
    return out


def upload_files(remote: RemoteRepository, files: Sequence[Path], progress: Progress) -> list[dict[str, Any]]:
    """Send ``files`` to the hub as uploads (only the bytes it lacks for the caller; an interrupted upload
    goes on where it stopped) and return their ``upload`` inputs."""
    from eohub.repository.manifest import FileEntry

    entries = [FileEntry(upload_name(f), *_size_and_digest(f)) for f in files]
    missing = remote.missing_blobs({e.sha256 for e in entries}) if entries else set()
    sending = {e.sha256: (e, f) for e, f in zip(entries, files, strict=True) if e.sha256 in missing}
    progress.begin("uploading", sum(e.size for e, _ in sending.values()), len(sending))
    try:
        for entry, path in sending.values():
            remote.upload_blob(entry, path, progress)
            progress.file_done()
    finally:
        progress.end()
    return [{"upload": {"sha256": e.sha256, "name": e.path}} for e in entries]


def upload_name(path: Path) -> str:
    """The name a scene is sent under: its file name with anything but letters, digits, ``.``, ``_`` and
    ``-`` as ``_`` (the hub's rule); it must be a GeoTIFF's."""
    name = _UNSAFE.sub("_", path.name)[-128:].lstrip("._-")
    if not name.lower().endswith((".tif", ".tiff")):
        raise UsageError(f"{str(path)[:200]}: a scene to upload is a GeoTIFF or COG (.tif, .tiff)")
    return name


def _size_and_digest(path: Path) -> tuple[int, str]:
    from eohub.repository.confine import open_source

    digest = hashlib.sha256()
    with open_source(path) as f:
        size = os.fstat(f.fileno()).st_size
        while chunk := f.read(READ_SIZE):
            digest.update(chunk)
    return size, digest.hexdigest()


def job_request(
    inputs: Sequence[dict[str, Any]],
    version: int | None = None,
    output: str | None = None,
    tile: int | None = None,
    overlap: int | None = None,
    batch: int | None = None,
) -> dict[str, Any]:
    """The body of ``POST /api/models/{name}/jobs`` (uploads are added once sent); options are checked as
    ``eohub predict`` checks them."""
    from eohub.inference.options import positive

    return {
        "version": None if version is None else check_version(version),
        "inputs": merged(inputs),
        "options": {
            "tile": positive(tile, "tile"),
            "overlap": positive(overlap, "overlap", 0),
            "batch": positive(batch, "batch"),
        },
        "output": {"dataset": None if output is None else check_name(output, "output dataset name")},
    }
