"""The dataset page's quality (class histogram, split map, findings) and the training links on the pages,
over a real hub (``eohub serve``), with httpx and one check in headless Chromium.

alice owns ``leaky-chips``: 12 chips on a 4 × 3 grid, columns 0-1 ``train``, 2 ``test``, 3
``validate``, so the train chips of column 1 touch the test chips (split leakage), labelled mostly
``water`` and with a class named like markup; and the private ``secret-chips``. Her model ``chip-model``
was trained on both; bob's public ``bob-model`` and private ``bob-hidden`` on ``leaky-chips``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest

from eohub.quality.metrics.shape import ClassBalance, ClassCount, DatasetMetrics, Leakage, LeakingPair
from eohub.server.context import SESSION_COOKIE
from eohub.server.web.dataset_quality import MAX_BARS, histogram, split_map
from eohub.server.web.footprints import MAX_SHAPES
from tests.dataset_metrics_helpers import chip_bbox, label_item, write_dataset
from tests.hub_server import HubServer, start_hub
from tests.test_training_links import model_folder

HOSTILE = '<script>alert("class")</script>'
CLASSES = ["water", "forest", HOSTILE]
SPLITS = {0: "train", 1: "train", 2: "test", 3: "validate"}


def chips(name: str, columns: int = 4) -> list[dict[str, Any]]:
    """The grid's label items: one class per chip (``label:properties`` ``class``), a split per column."""
    out = []
    for col in range(columns):
        for row in range(3):
            index = col * 3 + row
            label = "forest" if index in (1, 7) else HOSTILE if index == 8 else "water"
            out.append(
                label_item(
                    f"{name}-{index:02d}", chip_bbox(col, row), SPLITS[col], CLASSES, **{"class": label}
                )
            )
    return out


@dataclass
class Site:
    server: HubServer

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, user: str | None = None) -> httpx.Client:
        cookies = {SESSION_COOKIE: self.server.token(user)} if user else {}
        return httpx.Client(base_url=self.url, timeout=30, cookies=cookies)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from eohub.client import RemoteRepository

    root = tmp_path_factory.mktemp("web-quality")
    server = start_hub(root / "home")
    try:
        with RemoteRepository(server.url, server.token("alice")) as alice:
            alice.ingest("dataset", write_dataset(root / "leaky", chips("leaky"), "leaky-chips"))
            secret = write_dataset(root / "secret", chips("secret", 1), "secret-chips")
            alice.ingest("dataset", secret, private=True)
            trained = ["datasets/leaky-chips@v1", "datasets/secret-chips@v1"]
            alice.ingest("model", model_folder(root / "m", "chip-model", []), trained_on=trained)
        with RemoteRepository(server.url, server.token("bob")) as bob:
            on_leaky = ["datasets/leaky-chips"]
            bob.ingest("model", model_folder(root / "b", "bob-model", []), trained_on=on_leaky)
            hidden = model_folder(root / "h", "bob-hidden", [])
            bob.ingest("model", hidden, private=True, trained_on=on_leaky)
        yield Site(server)
    finally:
        server.stop()


def section(html: str, ident: str) -> str:
    match = re.search(rf'<section id="{ident}".*?</section>', html, re.S)
    assert match, f"no section #{ident}"
    return match.group(0)


def stored_metrics(site: Site) -> dict[str, Any]:
    versions = httpx.get(f"{site.url}/api/datasets/leaky-chips/versions", timeout=30).json()
    return versions[-1]["metrics"]


def test_the_dataset_page_shows_the_stored_metrics(site: Site) -> None:
    metrics = stored_metrics(site)
    with site.client() as anonymous:
        page = anonymous.get("/datasets/leaky-chips")
    assert page.status_code == 200
    quality = section(page.text, "data-quality")
    bars = dict(re.findall(r'<g class="class-bar" data-class="([^"]*)" data-count="(\d+)"', quality))
    assert {unescape(k): int(v) for k, v in bars.items()} == {
        c["name"]: c["count"] for c in metrics["class_balance"]["classes"] if c["count"]
    }
    assert {unescape(k): int(v) for k, v in bars.items()} == {"water": 9, "forest": 2, HOSTILE: 1}
    assert HOSTILE not in page.text and "&lt;script&gt;" in quality  # other users' words are escaped
    assert page.text.count("<script") == 1  # the page's own enhance.js, and no other
    findings = [
        unescape(m)
        for m in re.findall(r'<li data-severity="[^"]+" data-metric="[^"]+">.*?: (.*?)</li>', quality)
    ]
    assert findings and sorted(findings) == sorted(f["message"] for f in metrics["findings"])
    assert any("leak" in f["metric"] for f in metrics["findings"])


def test_the_split_map_colours_splits_and_outlines_the_leaking_pairs(site: Site) -> None:
    metrics = stored_metrics(site)
    with site.client() as anonymous:
        quality = section(anonymous.get("/datasets/leaky-chips").text, "data-quality")
    leaking = set(re.findall(r'data-item="([^"]+)" data-leaking="true"', quality))
    pairs = metrics["leakage"]["pairs"]
    assert pairs and leaking == {p["a"] for p in pairs} | {p["b"] for p in pairs}
    assert {p["a_split"] for p in pairs} | {p["b_split"] for p in pairs} == {"train", "test", "validate"}
    assert len(re.findall(r'<line class="leak"', quality)) == len(pairs)
    legend = dict(re.findall(r'<span class="legend" data-split="([^"]+)">.*? \((\d+)\)</span>', quality))
    assert legend == {"test": "3", "train": "6", "validate": "3"}
    assert "leak-caption" in quality
    assert "test 100%, train 50%, validate 100% of the split's items touch another split" in quality


def test_pages_list_training_links_both_ways_as_the_viewer_may_see_them(site: Site) -> None:
    with site.client() as anonymous:
        model = anonymous.get("/models/chip-model").text
        dataset = anonymous.get("/datasets/leaky-chips").text
    trained_on = section(model, "trained-on")
    assert 'href="/datasets/leaky-chips/versions/1"' in trained_on and "Q" in trained_on
    assert 'data-testid="private-dataset">private dataset<' in trained_on
    assert "secret-chips" not in model
    models = section(dataset, "trained-models")
    assert re.findall(r'<a href="/models/([^/"]+)/versions/1">', models) == ["bob-model", "chip-model"]
    with site.client("alice") as alice:
        own = section(alice.get("/models/chip-model").text, "trained-on")
    assert 'href="/datasets/secret-chips/versions/1"' in own and "private dataset" not in own
    with site.client("bob") as bob:
        models = section(bob.get("/datasets/leaky-chips").text, "trained-models")
    assert re.findall(r'<a href="/models/([^/"]+)/versions/1">', models) == [
        "bob-hidden",
        "bob-model",
        "chip-model",
    ]
    with site.client() as anonymous:
        assert anonymous.get("/datasets/secret-chips").status_code == 404


def test_histogram_and_split_map_are_bounded() -> None:
    classes = [ClassCount(f"class-{i}", i, i + 1) for i in range(MAX_BARS + 20)]
    drawn = histogram(DatasetMetrics(class_balance=ClassBalance(classes=classes)))
    assert drawn is not None and (drawn.shown, drawn.omitted) == (MAX_BARS, 20)
    assert drawn.svg.count('class="class-bar"') == MAX_BARS
    items = [
        label_item(f"c{i}", chip_bbox(i % 100, i // 100), "train" if i % 2 else "test") for i in range(2500)
    ]
    pairs = [
        LeakingPair("c1", "train", "c2", "test", 0.0),
        LeakingPair("nowhere", "test", "c1", "train", 0.0),
    ]
    drawn_map = split_map(items, DatasetMetrics(leakage=Leakage(count=2, pairs=pairs)))
    assert drawn_map is not None and (drawn_map.shown, drawn_map.omitted) == (MAX_SHAPES, 2500 - MAX_SHAPES)
    assert drawn_map.svg.count('<line class="leak"') == 1  # a pair with an item not drawn has no line
    assert (
        split_map(items[:5], None) is not None and split_map([label_item("x", chip_bbox(0, 0))], None) is None
    )


CHROMIUM = Path("/usr/bin/chromium")


def test_chromium_draws_the_histogram_and_the_split_map(site: Site) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = str(CHROMIUM) if CHROMIUM.is_file() else shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (scripts/install-system-deps.sh)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.goto(site.url + "/datasets/leaky-chips")
            histogram_box = page.get_by_test_id("class-histogram").locator("svg").bounding_box()
            assert histogram_box and histogram_box["width"] > 300 and histogram_box["height"] > 50
            bars = page.locator("svg.histogram rect")
            assert bars.count() == 3
            widths = [bars.nth(i).bounding_box()["width"] for i in range(3)]
            assert widths[0] > widths[1] > 0 and widths[0] > widths[2]
            split = page.get_by_test_id("split-map")
            box = split.locator("svg.split-map").bounding_box()
            assert box and box["width"] > 300 and box["height"] > 100
            leaking = split.locator('[data-leaking="true"] path')
            assert leaking.count() > 0
            assert leaking.first.evaluate("p => getComputedStyle(p).stroke") == "rgb(227, 26, 28)"
            assert problems == []
        finally:
            browser.close()
