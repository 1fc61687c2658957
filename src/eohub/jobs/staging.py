"""A job's files on this machine: the model, each scene's rasters (and STAC item) and the result,
under ``eohub-jobs/<id>/`` in the temporary folder (``TMPDIR``), removed when the job ends whatever
happened. (Not under ``EOHUB_HOME``, which ingest never reads.)

Every staged raster must open as a GeoTIFF or JPEG 2000 (:func:`~eohub.jobs.inputs.raster_size`):
a VRT or another format that names files or URLs would make the workers read whatever it names. On
local storage a staged file is a symbolic link to the stored blob (read-only, never written
through); on S3 storage the blob is copied down. Workers of a local Dask cluster read them where they
are; a remote cluster (``EOHUB_DASK_SCHEDULER``) needs that folder on storage its workers share.
"""

from __future__ import annotations

import copy
import json
import os
import posixpath
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from eohub.errors import InferenceError
from eohub.jobs.inputs import Scene, model_item, raster_size
from eohub.repository.embedded import EmbeddedRepository
from eohub.storage import BlobStore

RETRIES = 5


def job_folder(job_id: str) -> Path:
    return Path(tempfile.gettempdir()) / "eohub-jobs" / job_id


def remove(folder: Path) -> None:
    """Remove the job's folder; again a moment later if a task that was cancelled still wrote into it."""
    for _ in range(RETRIES):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.5)


def stage_blob(store: BlobStore, digest: str, target: Path) -> Path:
    """The blob as the file ``target``: a link to the stored file, or a copy of an S3 object."""
    target.parent.mkdir(parents=True, exist_ok=True)
    stored = store.local_path(digest)
    if stored is not None:
        os.symlink(stored, target)
        return target
    with open(target, "xb") as f:
        for chunk in store.read(digest):
            f.write(chunk)
    return target


def stage_model(
    repo: EmbeddedRepository, name: str, version: int, folder: Path
) -> tuple[dict[str, Any], str]:
    """The model version's MLM item with its model asset staged in ``folder`` (href made absolute), and
    the item's id."""
    manifest = repo.manifest("model", name, version)
    found = model_item(manifest)
    if found is None:
        raise InferenceError(f"model '{name}' version {version} has no MLM item (a STAC item with mlm:input)")
    path, item = found
    item = copy.deepcopy(item)
    for n, asset in enumerate((item.get("assets") or {}).values()):
        if not isinstance(asset, dict) or "mlm:model" not in (asset.get("roles") or []):
            continue
        stored = posixpath.normpath(posixpath.join(posixpath.dirname(path), str(asset.get("href") or "")))
        entry = manifest.file(stored)
        if entry is None:
            continue  # a link or a file the version lacks: the predictor says what is wrong
        target = folder / "model" / str(n) / posixpath.basename(stored)
        asset["href"] = str(stage_blob(repo.store, entry.sha256, target).absolute())
    return item, str(item.get("id") or "")


def stage_scene(store: BlobStore, scene: Scene, folder: Path) -> list[str]:
    """The sources ``eohub predict`` would be given for ``scene``: its STAC item (asset hrefs naming the
    staged files) or its uploaded raster."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in scene.files:
        staged = stage_blob(store, f.sha256, folder / f.name)
        raster_size(str(staged), f"{scene.stem}/{f.name}")  # a GeoTIFF or JPEG 2000, nothing GDAL follows
    if scene.item is None:
        return [str(folder / scene.files[0].name)]
    item = copy.deepcopy(scene.item)
    item["links"] = []
    item["assets"] = {f.asset: {**item["assets"][f.asset], "href": f.name} for f in scene.files}
    path = folder / "item.json"
    path.write_text(json.dumps(item), encoding="utf-8")
    return [str(path)]
