"""What each repository page shows, gathered from the repository as the caller sees it.

:func:`repository_page` is the model or dataset page of one version (the latest by default): README,
model cards, collections, items and their footprints, quality with the notes on what the metadata lacks
(they never lower the level), versions, files and copy-paste snippets.
:func:`diff_page` compares two versions. Both return the template's context; they raise
:class:`~eohub.errors.NotFoundError` for unknown (or invisible) names and versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from eohub.core.readme import metadata_notes
from eohub.errors import NotFoundError
from eohub.quality.report import LEVEL_MEANING, TOP_LEVEL
from eohub.repository import Kind, Repository, VersionInfo
from eohub.search.catalog import collection_id
from eohub.server.stac.documents import Urls
from eohub.server.web import card, training
from eohub.server.web.compare import compare
from eohub.server.web.dataset_quality import quality_context
from eohub.server.web.footprints import footprint_map
from eohub.server.web.markdown import file_links, render_markdown
from eohub.server.web.pages import PLURAL, file_url


@dataclass
class Snippet:
    label: str
    language: str
    code: str


def snippets(kind: Kind, name: str, number: int, hub_url: str) -> list[Snippet]:
    """Copy-paste commands to download (and, for a model, run) this version from this hub."""
    plural = PLURAL[kind]
    target = plural
    out = [
        Snippet(
            "Command line",
            "shell",
            f"export EOHUB_URL={hub_url}\neohub {plural} get {name} --version {number} --path {target}",
        ),
        Snippet(
            "Python",
            "python",
            f'import os\nos.environ["EOHUB_URL"] = "{hub_url}"\n\n'
            f"from eohub.{plural} import download_{kind}\n\n"
            f'path = download_{kind}("{name}", path="{target}", version={number})',
        ),
    ]
    if kind == "model":
        out.append(
            Snippet(
                "Predict",
                "shell",
                f"export EOHUB_URL={hub_url}\neohub predict {name}:{number} scene.tif -o prediction.tif",
            )
        )
    return out


def _version(versions: list[VersionInfo], number: int | None, kind: Kind, name: str) -> VersionInfo:
    if not versions:
        raise NotFoundError(f"{kind} '{name}' has no versions yet")
    if number is None:
        return versions[-1]
    found = next((v for v in versions if v.number == number), None)
    if found is None:
        raise NotFoundError(f"{kind} '{name}' has no version {number} (latest is {versions[-1].number})")
    return found


def repository_page(
    request: Request, repo: Repository, kind: Kind, name: str, number: int | None
) -> dict[str, Any]:
    """The context of ``repository.html`` for version ``number`` (``None``: the latest)."""
    info = repo.get(kind, name)
    versions = repo.versions(kind, name)
    version = _version(versions, number, kind, name)
    manifest = repo.manifest(kind, name, version.number)
    paths = {e.path for e in manifest.files}
    readme = render_markdown(
        manifest.metadata.description,
        file_links(paths, lambda p: file_url(kind, info.name, version.number, p)),
    )
    item_docs = [d for _, d in sorted(manifest.documents.items()) if d.get("type") == "Feature"]
    items = card.items(manifest)
    collections = card.collections(manifest)
    stac = Urls("")  # links on this site: /stac/...

    def item_url(item_id: str) -> str:
        """The item in the STAC API, at this version."""
        return stac.item(collection_id(kind, info.name), item_id, version.number)

    footprints = None
    if kind == "dataset":
        extents = [(f"Collection {c.title or c.id} (extent)", c.bbox) for c in collections if c.bbox]
        footprints = footprint_map(item_docs, item_url, extents)
    compare_link = None
    if len(versions) > 1:
        old, new = (version.number - 1, version.number) if version.number > 1 else (1, 2)
        compare_link = f"/{PLURAL[kind]}/{info.name}/diff?from={old}&to={new}"
    extra = training.context(repo, kind, info.name, version)
    if kind == "dataset":
        extra |= quality_context(version.metrics, item_docs, item_url)
    return extra | {
        "compare_link": compare_link,
        "info": info,
        "kind": kind,
        "versions": versions,
        "version": version,
        "latest": versions[-1],
        "manifest": manifest,
        "metadata": manifest.metadata,
        "readme": readme,
        "cards": card.model_cards(manifest),
        "collections": collections,
        "items": items[: card.MAX_ITEMS_LISTED],
        "items_total": len(items),
        "item_url": item_url,
        "footprints": footprints,
        "top_level": TOP_LEVEL[kind],
        "quality_meaning": LEVEL_MEANING,
        "notes": metadata_notes(manifest.metadata),
        "snippets": snippets(kind, info.name, version.number, str(request.base_url).rstrip("/")),
    }


def diff_page(repo: Repository, kind: Kind, name: str, old: int | None, new: int | None) -> dict[str, Any]:
    """The context of ``diff.html``: version ``old`` against ``new`` (default: latest and the one before)."""
    info = repo.get(kind, name)
    versions = repo.versions(kind, name)
    after = _version(versions, new, kind, name)
    before = _version(versions, old if old is not None else max(1, after.number - 1), kind, name)
    comparison = compare(
        before.number,
        repo.manifest(kind, name, before.number),
        after.number,
        repo.manifest(kind, name, after.number),
    )
    return {
        "info": info,
        "kind": kind,
        "versions": versions,
        "before": before,
        "after": after,
        "comparison": comparison,
    }
