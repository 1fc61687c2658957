"""The footprint map of a dataset page in a real headless Chromium, offline: every request to another
host is aborted (and none may be attempted). The screenshot must show land and sea, the graticule its
longitude and latitude labels, and each footprint must lead to its item in the STAC API.

Chromium, its launch options and the populated hub are those of ``test_web_browser.py`` (which skips,
or fails in CI, when Chromium is missing). The screenshot goes to ``tests/artifacts/web-map.png``.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from tests import test_web_browser as browser_suite
from tests.test_web_browser import ARTIFACTS, DESKTOP
from tests.test_web_support import WebHub

DATASET = "/datasets/demo-landcover-labels"
LAND = (0xEF, 0xE9, 0xD8)  # .map-land in style.css
SEA = (0xD4, 0xE4, 0xF1)  # .map-sea
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
TILES = {"tile-0": (5.0, 45.0), "tile-1": (10.0, 47.0), "tile-2": (15.0, 50.0)}  # demo.hub.TILES

web = browser_suite.web  # the same populated hub, browser and launch options as the other browser tests
browser = browser_suite.browser


@pytest.fixture
def offline(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """A tab whose requests to any host but this machine are aborted, and the list of those requests."""
    context = browser.new_context(viewport=DESKTOP)
    elsewhere: list[str] = []

    def only_local(route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab, elsewhere
    context.close()


def pixels(png: bytes) -> np.ndarray:
    """A PNG screenshot as an (rows, columns, RGB) array."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a picture, not a raster of the Earth
        with MemoryFile(png) as memory, memory.open() as image:
            return np.moveaxis(image.read()[:3], 0, -1)


def share(image: np.ndarray, colour: tuple[int, int, int]) -> float:
    """The fraction of the pixels within 3 levels of ``colour``."""
    near = np.all(np.abs(image.astype(int) - colour) <= 3, axis=-1)
    return float(near.mean())


def test_the_map_draws_land_and_sea_offline(web: WebHub, offline: tuple[Any, list[str]]) -> None:
    page, elsewhere = offline
    page.goto(web.url + DATASET)
    figure = page.get_by_test_id("footprints")
    ARTIFACTS.mkdir(exist_ok=True)
    figure.screenshot(path=str(ARTIFACTS / "web-map.png"))
    frame = figure.locator("svg.map-frame").first
    locator = figure.locator("svg.map-locator")
    image = pixels(frame.screenshot())
    box, inset = frame.bounding_box(), locator.bounding_box()
    assert box and inset
    x, y = round(inset["x"] - box["x"]), round(inset["y"] - box["y"])
    locator_pixels = image[y : y + round(inset["height"]), x : x + round(inset["width"])].copy()
    image[y : y + round(inset["height"]), x : x + round(inset["width"])] = 0  # the main map alone
    land, sea = share(image, LAND), share(image, SEA)
    print(f"land {land:.1%}, sea {sea:.1%}")
    assert land > 0.5, f"land covers {land:.1%} of a map of central Europe"
    assert sea > 0.005, f"the Adriatic (sea) covers {sea:.1%}"
    assert share(locator_pixels, SEA) > 0.4 and share(locator_pixels, LAND) > 0.15  # the world, mostly sea
    assert elsewhere == []


def test_the_map_labels_longitudes_and_latitudes(web: WebHub, offline: tuple[Any, list[str]]) -> None:
    page, _ = offline
    page.goto(web.url + DATASET)
    figure = page.get_by_test_id("footprints")
    frame = figure.locator("svg.map-frame").first.bounding_box()
    assert frame
    lons = figure.locator("text.map-lon")
    lats = figure.locator("text.map-lat")
    assert all(re.fullmatch(r"\d+°E", t) for t in lons.all_text_contents())
    assert all(re.fullmatch(r"\d+°N", t) for t in lats.all_text_contents())
    assert {"6°E", "10°E", "16°E"} <= set(lons.all_text_contents())
    assert {"45°N", "47°N", "51°N"} <= set(lats.all_text_contents())
    for label in lons.all():
        box = label.bounding_box()
        assert box and box["y"] >= frame["y"] + frame["height"] and label.is_visible()
    for label in lats.all():
        box = label.bounding_box()
        assert box and box["x"] + box["width"] <= frame["x"] and label.is_visible()
    # the 10°E meridian runs through the middle tile, which spans 10°E to 11°E
    meridian = lons.filter(has_text=re.compile(r"^10°E$")).bounding_box()
    tile = figure.get_by_role("link", name="Item tile-1").bounding_box()
    assert meridian and tile
    assert abs(meridian["x"] + meridian["width"] / 2 - tile["x"]) < 3


def test_each_footprint_leads_to_its_item(web: WebHub, offline: tuple[Any, list[str]]) -> None:
    page, elsewhere = offline
    page.goto(web.url + DATASET)
    links = page.get_by_test_id("footprints").locator("svg a")
    assert links.count() == len(TILES)
    for link in links.all():
        answer = page.request.get(web.url + link.get_attribute("href"))
        item = answer.json()
        assert (
            answer.ok
            and item["type"] == "Feature"
            and link.get_attribute("aria-label") == f"Item {item['id']}"
        )
        assert item["bbox"][:2] == list(TILES[item["id"]])

    page.get_by_test_id("footprints").get_by_role("link", name="Item tile-1").click()
    page.wait_for_url("**/stac/collections/datasets.demo-landcover-labels/items/tile-1?version=1")
    item = json.loads(page.locator("body").inner_text())
    assert item["id"] == "tile-1" and item["collection"] == "datasets.demo-landcover-labels"
    assert elsewhere == []


def test_the_map_works_without_javascript(web: WebHub, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    try:
        tab = context.new_page()
        tab.goto(web.url + DATASET)
        figure = tab.get_by_test_id("footprints")
        assert figure.locator("svg.map-frame > path.map-land").count() == 1  # and one in the locator
        assert figure.locator("path.map-area").count() == len(TILES)
        figure.get_by_role("link", name="Item tile-0").click()
        tab.wait_for_url("**/items/tile-0?version=1")
    finally:
        context.close()
