"""What the newest shipped MLM schema allows (task and accelerator values, the name pattern), read from it."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from eohub.mlm.schemas import LATEST_MLM_VERSION, SCHEMA_ROOT


@cache
def _definitions() -> dict[str, Any]:
    schema = json.loads((SCHEMA_ROOT / "mlm" / LATEST_MLM_VERSION / "schema.json").read_text())
    return schema["$defs"]


def _enum(node: dict[str, Any]) -> tuple[str, ...]:
    if "enum" in node:
        return tuple(node["enum"])
    for key in ("items", "oneOf", "anyOf"):
        children = node.get(key)
        for child in children if isinstance(children, list) else [children] if children else []:
            if found := _enum(child):
                return found
    return ()


def mlm_enum(field: str) -> tuple[str, ...]:
    """The values the newest MLM schema allows for ``field`` (``mlm:tasks``, ``mlm:accelerator``)."""
    return _enum(_definitions()[field])


def mlm_pattern(field: str) -> re.Pattern[str]:
    """The regular expression the newest MLM schema requires of ``field`` (e.g. ``mlm:name``)."""
    return re.compile(_definitions()[field]["pattern"])
