"""What the repository pages show, read from a version's STAC documents: model cards and dataset contents.

Model cards are :mod:`eohub.mlm.card`'s (shared with the notebook display); a **dataset** shows its
collections and items. Templates format these plain objects; nothing here knows HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eohub.mlm.card import ModelCard, as_dict, as_list, as_text, model_card
from eohub.mlm.card import model_cards as document_cards
from eohub.repository.manifest import Manifest

__all__ = ["CollectionView", "ItemView", "ModelCard", "collections", "items", "model_card", "model_cards"]

MAX_ITEMS_LISTED = 200


@dataclass
class CollectionView:
    id: str
    path: str
    title: str
    description: str
    license: str
    bbox: list[float] | None
    interval: tuple[str, str] | None
    items: int


@dataclass
class ItemView:
    id: str
    path: str
    collection: str
    when: str
    bbox: list[float] | None
    geometry: str


def model_cards(manifest: Manifest) -> list[ModelCard]:
    """A card for every MLM item of a version, by stored path."""
    return document_cards(manifest.documents, {e.path for e in manifest.files})


def _bbox(value: Any) -> list[float] | None:
    if isinstance(value, list) and len(value) in (4, 6) and all(isinstance(v, int | float) for v in value):
        return [float(v) for v in value]
    return None


def _interval(collection: dict[str, Any]) -> tuple[str, str] | None:
    intervals = as_list(as_dict(as_dict(collection.get("extent")).get("temporal")).get("interval"))
    first = as_list(intervals[0]) if intervals else []
    if len(first) != 2:
        return None
    return (as_text(first[0]) or "open", as_text(first[1]) or "open")


def collections(manifest: Manifest) -> list[CollectionView]:
    """The STAC collections of a version, with how many items name each one."""
    items = [d for d in manifest.documents.values() if d.get("type") == "Feature"]
    out = []
    for path, doc in sorted(manifest.documents.items()):
        if doc.get("type") != "Collection":
            continue
        spatial = as_list(as_dict(as_dict(doc.get("extent")).get("spatial")).get("bbox"))
        out.append(
            CollectionView(
                id=as_text(doc.get("id")),
                path=path,
                title=as_text(doc.get("title")),
                description=as_text(doc.get("description")),
                license=as_text(doc.get("license")),
                bbox=_bbox(spatial[0]) if spatial else None,
                interval=_interval(doc),
                items=sum(1 for i in items if i.get("collection") == doc.get("id")),
            )
        )
    return out


def items(manifest: Manifest) -> list[ItemView]:
    """Every STAC item of a version, by stored path."""
    out = []
    for path, doc in sorted(manifest.documents.items()):
        if doc.get("type") != "Feature":
            continue
        props = as_dict(doc.get("properties"))
        when = as_text(props.get("datetime"))
        if not when and (props.get("start_datetime") or props.get("end_datetime")):
            when = f"{as_text(props.get('start_datetime'))} – {as_text(props.get('end_datetime'))}"
        out.append(
            ItemView(
                id=as_text(doc.get("id")),
                path=path,
                collection=as_text(doc.get("collection")),
                when=when,
                bbox=_bbox(doc.get("bbox")),
                geometry=as_text(as_dict(doc.get("geometry")).get("type")) or "none",
            )
        )
    return out
