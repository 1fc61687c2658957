"""A job's inputs resolved as its owner sees them: the scenes to predict and the files each reads.

A dataset input is every STAC item of the version (or those named) with raster assets stored in the
version; a ``stac_item`` input is one item of this hub's STAC API; an upload is one raster blob the
caller may reference (:mod:`eohub.repository.ledger`: they uploaded it, or can read a version holding
it). Reading rules are the repository's: another user's private dataset is "not found". The same
resolution runs at submit (to check and count pixels) and when the job runs (versions pinned then).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from eohub.core.hrefs import is_link
from eohub.errors import InferenceError, IntegrityError, LimitError, NotFoundError, UsageError
from eohub.jobs.requests import DatasetInput, JobRequest, StacItemInput, UploadInput
from eohub.repository.embedded import EmbeddedRepository
from eohub.repository.manifest import Manifest

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class SceneFile:
    """One raster file a scene reads: its name when staged, the blob, and the asset it is (if any)."""

    name: str
    sha256: str
    asset: str | None = None


@dataclass
class Scene:
    """One scene: its files, the stored STAC item they belong to (``None`` for an upload) and its link."""

    stem: str
    files: list[SceneFile]
    item: dict[str, Any] | None
    link: dict[str, Any]


@dataclass
class Resolved:
    """What a request means now: inputs with versions pinned, the scenes, and whether any was private."""

    inputs: list[dict[str, Any]]
    scenes: list[Scene] = field(default_factory=list)
    private: bool = False


def stac_item_url(base: str, kind: str, name: str, item_id: str, version: int) -> str:
    """The hub's STAC API URL of an item at one version (what ``derived_from`` links name)."""
    cid = f"{kind}s.{name}"
    return f"{base}/stac/collections/{quote(cid, safe='')}/items/{quote(item_id, safe='')}?version={version}"


def model_item(manifest: Any) -> tuple[str, dict[str, Any]] | None:
    """The first STAC item with ``mlm:input`` of a model version (its path and document)."""
    for path, doc in sorted(manifest.documents.items()):
        if doc.get("type") == "Feature" and "mlm:input" in (doc.get("properties") or {}):
            return path, doc
    return None


def _is_raster(asset: dict[str, Any]) -> bool:
    from eohub.inference.raster_input import is_raster_asset  # the pipeline's own rule

    return is_raster_asset(asset)


def _item_scene(
    manifest: Manifest, path: str, item: dict[str, Any], base: str, kind: str, name: str, version: int
) -> Scene:
    """The scene of a stored item: its raster assets, each a file of the version."""
    files = []
    folder = posixpath.dirname(path)
    item_id = str(item.get("id") or "")
    assets = item.get("assets") if isinstance(item.get("assets"), dict) else {}
    for key, asset in assets.items():
        if not isinstance(asset, dict) or not isinstance(asset.get("href"), str) or not _is_raster(asset):
            continue
        href = asset["href"]
        if is_link(href) or href.startswith("/"):
            raise UsageError(f"{kind} '{name}' item {item_id!r}: asset {key!r} is not a file of the version")
        stored = posixpath.normpath(posixpath.join(folder, href))
        entry = manifest.file(stored)
        if entry is None:
            raise NotFoundError(
                f"{kind} '{name}' version {version} has no file {stored!r} (item {item_id!r})"
            )
        safe = _UNSAFE.sub("_", posixpath.basename(stored))[-100:] or "asset.tif"
        files.append(SceneFile(f"{len(files)}-{safe}", entry.sha256, str(key)))
    if not files:
        raise InferenceError(f"{kind} '{name}' item {item_id!r}: the STAC item has no raster assets")
    url = stac_item_url(base, kind, name, item_id, version)
    link = {"rel": "derived_from", "href": url, "type": "application/geo+json", "title": f"input {item_id}"}
    return Scene(item_id, files, item, link)


Items = dict[str, tuple[str, dict[str, Any]]]
"""A version's STAC items with assets, by id: their path and document."""


class _Versions:
    """The manifests (and their items by id) of the versions a request names, each read once however
    many inputs name it."""

    def __init__(self, repo: EmbeddedRepository) -> None:
        self.repo = repo
        self.read: dict[tuple[str, str, int], tuple[Manifest, dict[str, tuple[str, dict[str, Any]]]]] = {}

    def get(
        self, kind: str, name: str, version: int
    ) -> tuple[Manifest, dict[str, tuple[str, dict[str, Any]]]]:
        key = (kind, name, version)
        if key not in self.read:
            manifest = self.repo.manifest(kind, name, version)  # type: ignore[arg-type]
            items = {
                str(d.get("id")): (path, d)
                for path, d in sorted(manifest.documents.items())
                if d.get("type") == "Feature" and isinstance(d.get("assets"), dict)
            }
            self.read[key] = (manifest, items)
        return self.read[key]


def _dataset(versions: _Versions, given: DatasetInput, base: str, out: Resolved) -> None:
    info = versions.repo.get("dataset", given.name)
    version = given.version or (info.latest.number if info.latest else None)
    if version is None:
        raise NotFoundError(f"dataset '{info.name}' has no versions")
    manifest, items = versions.get("dataset", info.name, version)
    if given.items is None:
        wanted = [i for i, (_, d) in items.items() if any(_is_raster(a) for a in d["assets"].values()
                                                          if isinstance(a, dict))]  # fmt: skip
        if not wanted:
            raise InferenceError(f"dataset '{info.name}' version {version} has no items with raster assets")
    else:
        wanted = list(dict.fromkeys(given.items))
        for item_id in wanted:
            if item_id not in items:
                raise NotFoundError(f"dataset '{info.name}' version {version} has no item {item_id!r}")
    for item_id in wanted:
        path, item = items[item_id]
        out.scenes.append(_item_scene(manifest, path, item, base, "dataset", info.name, version))
    out.private = out.private or info.private
    out.inputs.append({"dataset": info.name, "version": version, "items": given.items})


def _stac_item(versions: _Versions, given: StacItemInput, base: str, out: Resolved) -> None:
    from eohub.search.catalog import StacCatalog

    repo = versions.repo
    catalog = StacCatalog(repo.database, repo.user, repo.admin, repo.limits)
    hit = catalog.item(given.collection, given.item, given.version)
    manifest, _ = versions.get(hit.kind, hit.name, hit.number)
    out.scenes.append(_item_scene(manifest, hit.path, hit.item, base, hit.kind, hit.name, hit.number))
    out.private = out.private or repo.get(hit.kind, hit.name).private
    out.inputs.append({"stac_item": f"{hit.collection}/{given.item}", "version": hit.number})


def _upload(repo: EmbeddedRepository, given: UploadInput, n: int, out: Resolved) -> None:
    if not repo.may_reference(given.sha256):
        raise IntegrityError(
            f"inputs[{n}].upload: blob {given.sha256} was not uploaded by you and is in no version you can "
            "read; upload the file first"
        )
    stem = given.name.rsplit(".", 1)[0]
    link = {"rel": "derived_from", "href": f"urn:eohub:upload:sha256:{given.sha256}", "title": given.name}
    out.scenes.append(Scene(stem, [SceneFile(given.name, given.sha256)], None, link))
    out.private = True  # an upload is the caller's own data: the result stays theirs until they publish it
    out.inputs.append({"upload": {"sha256": given.sha256, "name": given.name}})


def resolve(repo: EmbeddedRepository, request: JobRequest, base: str) -> Resolved:
    """The scenes of ``request`` as ``repo``'s user may read them (see the module docstring)."""
    out, versions = Resolved([]), _Versions(repo)
    for n, given in enumerate(request.inputs):
        if isinstance(given, DatasetInput):
            _dataset(versions, given, base, out)
        elif isinstance(given, StacItemInput):
            _stac_item(versions, given, base, out)
        else:
            _upload(repo, given, n, out)
        if len(out.scenes) > repo.limits.max_job_inputs:
            raise LimitError(
                f"the inputs hold more than {repo.limits.max_job_inputs} scenes, the most one job takes "
                "(EOHUB_MAX_JOB_INPUTS)"
            )
    _unique_stems(out.scenes)
    return out


def _unique_stems(scenes: list[Scene]) -> None:
    """Output names: the item id or upload name made file-safe, numbered where two would collide."""
    seen: set[str] = set()
    for scene in scenes:
        stem = _UNSAFE.sub("_", scene.stem).strip("._")[:100] or "scene"
        candidate, k = stem, 1
        while candidate.lower() in seen:
            k += 1
            candidate = f"{stem}-{k}"
        seen.add(candidate.lower())
        scene.stem = candidate


def count_pixels(repo: EmbeddedRepository, scenes: list[Scene], limit: int) -> int:
    """Pixels of every scene (the largest width x height of its files: the model runs on the finest
    grid), read from the raster headers; over ``limit`` a :class:`LimitError` naming
    ``EOHUB_MAX_JOB_PIXELS`` as soon as the sum passes it. (The job checks its planned grids again.)"""
    total, known = 0, {}
    for scene in scenes:
        for f in scene.files:
            if f.sha256 not in known:  # a file read once however many scenes hold it
                known[f.sha256] = _pixels(repo, scene, f)
        total += max(known[f.sha256] for f in scene.files)
        if total > limit:
            raise LimitError(
                f"the inputs hold more than {limit} pixels, the most one job may predict "
                "(EOHUB_MAX_JOB_PIXELS)"
            )
    return total


RASTER_DRIVERS = ("GTiff", "JP2OpenJPEG")
"""The only GDAL drivers a job's input is opened with: formats whose files cannot name other files (a
VRT, say, reads any file or URL the hub can reach, and a model that passes pixels through would publish
them)."""


def raster_size(where: str, name: str) -> int:
    """Width x height of the raster at ``where`` opened as a GeoTIFF or JPEG 2000 only; anything else (or
    an unreadable file) is an :class:`InferenceError` naming ``name``."""
    import rasterio
    from rasterio.errors import RasterioError

    problem = ""
    for driver in RASTER_DRIVERS:  # rasterio takes one driver at a time
        try:
            with (
                rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"),
                rasterio.open(where, driver=driver) as src,
            ):
                return int(src.width) * int(src.height)
        except RasterioError as exc:
            problem = problem or (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    problem = problem.replace(where, name)  # never the store's paths or a presigned URL
    raise InferenceError(f"{name}: not a readable GeoTIFF or JPEG 2000 ({problem[:200]})")


def _pixels(repo: EmbeddedRepository, scene: Scene, file: SceneFile) -> int:
    path = repo.store.local_path(file.sha256)
    presign = getattr(repo.store, "presign_get", None)
    if path is not None:
        where = str(path)
    elif presign is not None:
        where = "/vsicurl/" + presign(file.sha256, 600)
    else:
        raise UsageError(f"{file.name}: this hub's storage cannot be read by a job")
    return raster_size(where, f"{scene.stem}/{file.name}")
