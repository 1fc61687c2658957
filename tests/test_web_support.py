"""What the web page tests browse: a real hub (``eohub serve``) with a few models and datasets ingested.

No tests here: ``test_web_pages.py`` (httpx) and ``test_web_browser.py`` (Chromium) each start a hub and
call :func:`populate`, which ingests through the hub's API with :class:`eohub.client.RemoteRepository`:

- ``demo-landcover-classifier`` (alice): the demo model; v2 adds class colours and rewrites the README;
- ``s2-segmenter`` (alice): the demo model re-described as a PyTorch segmentation model;
- ``eurosat-rgb`` (carol): the tutorial's RGB model (bands red, green, blue);
- ``demo-landcover-labels`` (alice): the demo dataset with three footprints;
- ``bob-secret-model`` (bob, **private**): a Q0 model whose README says ``zebra``;
- ``markdown-attack`` (alice): a Q0 model whose README tries script, event handlers and ``javascript:``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eohub.client import RemoteRepository
from eohub.demo.hub import DATASET_NAME, MODEL_NAME, write_demo_dataset, write_demo_model
from tests.hub_server import HubServer, start_hub
from tests.repository_helpers import write_q0_model, write_tutorial_catalog

COLOURS = {"water": "1f78b4", "forest": "33a02c", "cropland": "ffd92f", "urban": "e31a1c"}
ITEM = "model-collection/model/model.json"
ATTACK_README = """---
name: markdown-attack
authors: [Mallory]
license: MIT
source: javascript:alert('source')
tags: [attack]
---
# Attack heading

<script>window.__pwned = 1</script>
<img src="x" onerror="window.__pwned = 2">
[click me](javascript:window.__pwned=3) and [the model](model.onnx)

<a href="https://example.org" onclick="window.__pwned = 4">styled</a>
"""
SECRET_README = """---
name: bob-secret-model
authors: [Bob]
license: MIT
source: https://example.org/bob
tags: [secret]
---
Only Bob may see this zebra model.
"""


@dataclass
class WebHub:
    """The running hub, the tokens of its users, and the items ingested (to check pages against)."""

    server: HubServer
    tokens: dict[str, str]
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url


def _edit_item(folder: Path, change: Any) -> dict[str, Any]:
    path = folder / ITEM
    item = json.loads(path.read_text())
    change(item)
    path.write_text(json.dumps(item, indent=2))
    return item


def _colour_classes(item: dict[str, Any]) -> None:
    for entry in item["properties"]["mlm:output"][0]["classification:classes"]:
        entry["color_hint"] = COLOURS[entry["name"]]


def _segmenter(item: dict[str, Any]) -> None:
    props = item["properties"]
    props["mlm:name"] = "Sentinel-2 segmenter"
    props["mlm:tasks"] = ["semantic-segmentation"]
    props["mlm:framework"] = "PyTorch"
    props["mlm:framework_version"] = "2.5.1"
    props["mlm:output"][0]["tasks"] = ["semantic-segmentation"]


def _readme(folder: Path, old: str, new: str) -> None:
    path = folder / "README.md"
    path.write_text(path.read_text().replace(old, new))


def populate(server: HubServer, work: Path) -> WebHub:
    """Ingest the content listed in the module docstring; return what the tests check pages against."""
    tokens = {user: server.token(user) for user in ("alice", "bob", "carol")}
    hub = WebHub(server, tokens)
    alice = RemoteRepository(server.url, tokens["alice"])
    bob = RemoteRepository(server.url, tokens["bob"])
    carol = RemoteRepository(server.url, tokens["carol"])
    try:
        model = write_demo_model(work / "classifier")
        hub.items["classifier-v1"] = json.loads((model / ITEM).read_text())
        hub.results["classifier-v1"] = alice.ingest("model", model)
        hub.items["classifier-v2"] = _edit_item(model, _colour_classes)
        _readme(model, "made by eohub", "now with class colours, made by eohub")
        hub.results["classifier-v2"] = alice.ingest("model", model)

        segmenter = write_demo_model(work / "segmenter")
        _readme(segmenter, f"name: {MODEL_NAME}", "name: s2-segmenter")
        hub.items["segmenter"] = _edit_item(segmenter, _segmenter)
        hub.results["segmenter"] = alice.ingest("model", segmenter, allow_invalid=True)

        rgb = write_tutorial_catalog(write_q0_model(work / "eurosat-model") / "model.onnx", work / "eurosat")
        (rgb / "README.md").write_text((work / "eurosat-model" / "README.md").read_text())
        hub.results["eurosat"] = carol.ingest(
            "model", rgb, name="eurosat-rgb", allow_outside=[work / "eurosat-model"]
        )

        dataset = write_demo_dataset(work / "dataset")
        hub.results["dataset"] = alice.ingest("dataset", dataset)

        secret = write_q0_model(work / "secret", name="bob-secret-model")
        (secret / "README.md").write_text(SECRET_README)
        hub.results["secret"] = bob.ingest("model", secret, private=True)

        attack = write_q0_model(work / "attack", name="markdown-attack")
        (attack / "README.md").write_text(ATTACK_README)
        hub.results["attack"] = alice.ingest("model", attack)
    finally:
        for repo in (alice, bob, carol):
            repo.close()
    assert DATASET_NAME == "demo-landcover-labels"
    return hub


@contextmanager
def populated_hub(root: Path) -> Iterator[WebHub]:
    """``eohub serve`` under ``root`` with the test content ingested; stopped afterwards."""
    server = start_hub(root / "hub")
    try:
        yield populate(server, root / "work")
    finally:
        server.stop()
