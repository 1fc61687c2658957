"""A job request as a caller sends it, checked before anything looks it up: shapes, types, bounds.

``{"version": int|null, "inputs": [...], "options": {"tile", "overlap", "batch"}, "output":
{"dataset": NAME|null}}``; an input is ``{"dataset": NAME, "version": int|null, "items": [ids]|null}``,
``{"stac_item": "COLLECTION_ID/ITEM_ID", "version": int|null}`` or
``{"upload": {"sha256": HEX, "name": "scene.tif"}}``.
Every bad value is a :class:`~eohub.errors.UsageError` (400) naming the field; too many inputs a
:class:`~eohub.errors.LimitError` naming ``EOHUB_MAX_JOB_INPUTS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from eohub.config import Limits
from eohub.core.names import check_name
from eohub.errors import InvalidNameError, LimitError, UsageError

MAX_VERSION = 2**31 - 1
OPTION_BOUNDS = {"tile": (1, 8192), "overlap": (0, 8191), "batch": (1, 1 << 20)}
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
RASTER_NAME = re.compile(r"\.(tif|tiff)\Z", re.IGNORECASE)
ITEM_ID = re.compile(r"^[^\x00-\x1f\x7f/\\\ud800-\udfff]{1,256}\Z")
DIGEST = re.compile(r"^[0-9a-fA-F]{64}\Z")
COLLECTION = re.compile(r"^(datasets|models)\.([A-Za-z0-9-]{3,64})\Z")


@dataclass
class DatasetInput:
    name: str
    version: int | None
    items: list[str] | None


@dataclass
class StacItemInput:
    collection: str
    item: str
    version: int | None = None


@dataclass
class UploadInput:
    sha256: str
    name: str


Input = DatasetInput | StacItemInput | UploadInput


@dataclass
class JobRequest:
    version: int | None
    inputs: list[Input]
    options: dict[str, int | None] = field(default_factory=dict)
    output: str | None = None


def _object(value: Any, where: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(f"{where} must be a JSON object")
    unknown = sorted(repr(str(k)[:40]) for k in value if k not in keys)
    if unknown:
        raise UsageError(f"{where}: unknown field(s) {', '.join(unknown)} (known: {', '.join(sorted(keys))})")
    return value


def whole(value: Any, where: str, low: int, high: int) -> int | None:
    """``value`` when it is ``null`` or a whole number in ``low..high``; else a usage error naming it."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        shown = repr(value)[:40]
        raise UsageError(f"{where} must be a whole number from {low} to {high} (got {shown})")
    return value


def _name(value: Any, where: str) -> str:
    try:
        return check_name(value)
    except InvalidNameError:
        shown = repr(value)[:70]
        raise UsageError(f"{where} must be a name: 3 to 64 letters, digits and '-' (got {shown})") from None


def _input(raw: Any, n: int, limits: Limits) -> Input:
    where = f"inputs[{n}]"
    if not isinstance(raw, dict) or not raw:
        raise UsageError(f"{where} must be an object with dataset, stac_item or upload")
    if "dataset" in raw:
        body = _object(raw, where, {"dataset", "version", "items"})
        items = body.get("items")
        if items is not None:
            if not isinstance(items, list) or not items:
                raise UsageError(f"{where}.items must be a non-empty list of item ids, or null")
            if len(items) > limits.max_job_inputs:
                raise LimitError(
                    f"{where}.items lists {len(items)} items; a job takes at most {limits.max_job_inputs} "
                    "scenes (EOHUB_MAX_JOB_INPUTS)"
                )
            for i, item in enumerate(items):
                if not isinstance(item, str) or not ITEM_ID.match(item):
                    raise UsageError(f"{where}.items[{i}] must be an item id (1 to 256 characters, no '/')")
        version = whole(body.get("version"), f"{where}.version", 1, MAX_VERSION)
        return DatasetInput(_name(body["dataset"], f"{where}.dataset"), version, items)
    if "stac_item" in raw:
        body = _object(raw, where, {"stac_item", "version"})
        text = body["stac_item"]
        collection, _, item = text.partition("/") if isinstance(text, str) else ("", "", "")
        if not COLLECTION.match(collection) or not ITEM_ID.match(item):
            raise UsageError(
                f"{where}.stac_item must be COLLECTION_ID/ITEM_ID as this hub's STAC API names them "
                "(datasets.NAME/ITEM)"
            )
        return StacItemInput(collection, item, whole(body.get("version"), f"{where}.version", 1, MAX_VERSION))
    if "upload" in raw:
        _object(raw, where, {"upload"})
        body = _object(raw["upload"], f"{where}.upload", {"sha256", "name"})
        digest = body.get("sha256")
        if not isinstance(digest, str) or not DIGEST.match(digest):
            raise UsageError(f"{where}.upload.sha256 must be a SHA-256 (64 hex digits)")
        name = body.get("name")
        if not isinstance(name, str) or not FILE_NAME.match(name) or not RASTER_NAME.search(name):
            raise UsageError(
                f"{where}.upload.name must be a plain file name ending in .tif or .tiff (letters, digits, "
                "'.', '_', '-'; no folders)"
            )
        return UploadInput(digest.lower(), name)
    raise UsageError(f"{where} must have one of dataset, stac_item or upload")


def parse_request(raw: Any, limits: Limits) -> JobRequest:
    """The checked :class:`JobRequest` of a request body (see the module docstring)."""
    body = _object(raw, "the job request", {"version", "inputs", "options", "output"})
    version = whole(body.get("version"), "version", 1, MAX_VERSION)
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise UsageError("inputs must be a non-empty list")
    if len(inputs) > limits.max_job_inputs:
        raise LimitError(
            f"{len(inputs)} inputs; a job takes at most {limits.max_job_inputs} scenes (EOHUB_MAX_JOB_INPUTS)"
        )
    options_raw = _object(body.get("options") or {}, "options", set(OPTION_BOUNDS))
    options = {
        key: whole(options_raw.get(key), f"options.{key}", low, high)
        for key, (low, high) in OPTION_BOUNDS.items()
    }
    output_raw = _object(body.get("output") or {}, "output", {"dataset"})
    output = output_raw.get("dataset")
    return JobRequest(
        version,
        [_input(item, n, limits) for n, item in enumerate(inputs)],
        options,
        None if output is None else _name(output, "output.dataset"),
    )
