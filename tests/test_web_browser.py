"""The web pages in a real headless Chromium (Debian's ``chromium``, driven by Playwright) against
``eohub serve``: search and filter, the model card against its item, switching versions, a diff, signing in
to see a private model, reading without JavaScript, the keyboard, phone widths; screenshots go to
``tests/artifacts/``.

The browser is the system one (``/usr/bin/chromium``, installed by scripts/install-system-deps.sh);
Playwright never downloads one. Without it, these tests skip and say how to install it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import unavailable
from tests.test_web_support import COLOURS, WebHub, populated_hub

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
CLASSIFIER = "demo-landcover-classifier"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

try:
    from playwright import sync_api
except ImportError:
    sync_api = None
if sync_api is None:
    unavailable("Playwright is not installed: .venv/bin/pip install -e '.[test]'", module=True)
if not CHROMIUM.is_file() and not shutil.which("chromium"):
    unavailable(
        "Debian's chromium is not installed: run `sudo bash scripts/install-system-deps.sh` "
        "(or `sudo apt-get install chromium`)",
        module=True,
    )


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebHub]:
    with populated_hub(tmp_path_factory.mktemp("web-browser")) as hub:
        yield hub


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        executable = str(CHROMIUM) if CHROMIUM.is_file() else shutil.which("chromium")
        chromium = playwright.chromium.launch(executable_path=executable, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def result_names(tab: Any) -> list[str]:
    return tab.locator("li.result").evaluate_all("items => items.map(i => i.dataset.name)")


def screenshot(tab: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    tab.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a real rendering, not a blank page
    return path


def named_shape(spec: dict[str, Any]) -> str:
    """How the card writes a shape: ``batch any × bands 4 × …`` from ``shape`` and ``dim_order``."""
    sizes = ["any" if s == -1 else str(s) for s in spec["shape"]]
    return " × ".join(f"{n}\u00a0{s}" for n, s in zip(spec["dim_order"], sizes, strict=True))


# --- search -------------------------------------------------------------------------------------------


def test_search_box_and_filters(web: WebHub, page: Any) -> None:
    page.goto(web.url + "/")
    assert page.title() == "Search models and datasets · eohub"
    screenshot(page, "web-home.png")
    assert sorted(result_names(page)) == [
        CLASSIFIER,
        "demo-landcover-labels",
        "eurosat-rgb",
        "markdown-attack",
        "s2-segmenter",
    ]
    page.get_by_label("Search name, description and tags").fill("sentinel-2")
    page.keyboard.press("Enter")
    page.wait_for_url("**/?q=sentinel-2*")
    assert sorted(result_names(page)) == [CLASSIFIER, "s2-segmenter"]
    assert page.title() == "“sentinel-2” — search · eohub"

    page.get_by_label("Task").select_option("semantic-segmentation")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**task=semantic-segmentation*")
    assert result_names(page) == ["s2-segmenter"]
    assert page.get_by_label("Search name, description and tags").input_value() == "sentinel-2"

    page.goto(web.url + "/")
    page.get_by_label("Bands").fill("red")
    page.get_by_label("Quality").select_option("3")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**bands=red*")
    assert result_names(page) == ["eurosat-rgb"]
    result = page.locator("li.result").first
    assert result.locator(".badge.q").inner_text() == "Q3"
    assert result.locator("dd.latest").inner_text() == "v1"

    page.goto(web.url + "/")
    page.get_by_label("Kind").select_option("dataset")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**kind=dataset*")
    assert result_names(page) == ["demo-landcover-labels"]
    assert page.get_by_role("link", name="Datasets").get_attribute("aria-current") == "page"


def test_paging_with_next_and_previous(web: WebHub, page: Any) -> None:
    page.goto(web.url + "/?sort=name&per_page=2")
    first = result_names(page)
    page.get_by_role("link", name="Next →").click()
    page.wait_for_url("**page=2*")
    second = result_names(page)
    assert len(first) == len(second) == 2 and not set(first) & set(second)
    page.get_by_role("link", name="← Previous").click()
    page.wait_for_load_state()
    assert result_names(page) == first


# --- the model card -----------------------------------------------------------------------------------


def test_model_card_matches_the_item(web: WebHub, page: Any) -> None:
    page.goto(web.url + f"/?q={CLASSIFIER}")
    page.get_by_role("link", name=CLASSIFIER, exact=True).click()
    page.wait_for_url(f"**/models/{CLASSIFIER}")
    assert page.title() == f"{CLASSIFIER} · model · eohub"
    item = web.items["classifier-v2"]
    props = item["properties"]
    card = page.get_by_test_id("model-card")
    assert card.get_by_test_id("architecture").inner_text() == props["mlm:architecture"]
    assert card.get_by_test_id("tasks").inner_text() == ", ".join(props["mlm:tasks"])
    framework = f"{props['mlm:framework']} {props['mlm:framework_version']}"
    assert card.get_by_test_id("framework").inner_text() == framework
    assert card.get_by_test_id("parameters").inner_text().replace("\u202f", "") == str(
        props["mlm:total_parameters"]
    )

    spec = props["mlm:input"][0]
    block = card.get_by_test_id("input")
    assert block.get_attribute("data-name") == spec["name"]
    assert block.get_by_test_id("input-shape").inner_text() == named_shape(spec["input"])
    assert block.get_by_test_id("input-dtype").inner_text() == spec["input"]["data_type"]
    rows = block.locator("table.bands tbody tr")
    assert rows.locator("td.band-name").all_inner_texts() == spec["bands"]
    expected = [f"z-score (mean {s['mean']:g}, stddev {s['stddev']:g})" for s in spec["value_scaling"]]
    assert rows.locator("td.band-scaling").all_inner_texts() == expected

    out = props["mlm:output"][0]
    block = card.get_by_test_id("output")
    assert block.get_by_test_id("output-shape").inner_text() == named_shape(out["result"])
    classes = block.locator("table.classes tbody tr")
    assert classes.locator("td.class-name").all_inner_texts() == [
        c["name"] for c in out["classification:classes"]
    ]
    fills = classes.locator("svg.swatch rect").evaluate_all("rects => rects.map(r => r.getAttribute('fill'))")
    assert fills == [f"#{COLOURS[c['name']]}" for c in out["classification:classes"]]

    assert page.get_by_test_id("quality-top").is_visible()
    assert "now with class colours" in page.get_by_test_id("readme").inner_text()
    snippets = page.locator("pre[data-copy]").all_inner_texts()
    assert any(f"eohub models get {CLASSIFIER} --version 2" in s for s in snippets)
    assert any(f'download_model("{CLASSIFIER}", path="models", version=2)' in s for s in snippets)
    assert any(f"eohub predict {CLASSIFIER}:2" in s for s in snippets)
    assert page.get_by_role("button", name="Copy").count() == 3  # JavaScript only adds copy buttons
    files = page.get_by_test_id("files").locator("tbody tr")
    assert files.count() == 2
    assert len(files.locator("code.digest").first.inner_text()) == 64
    screenshot(page, "web-model.png")


def test_switch_versions(web: WebHub, page: Any) -> None:
    page.goto(web.url + f"/models/{CLASSIFIER}")
    assert page.get_by_test_id("shown-version").inner_text() == "v2"
    page.get_by_label("Version", exact=True).select_option("1")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**/models/{CLASSIFIER}/versions/1")
    assert page.title() == f"{CLASSIFIER} v1 · model · eohub"
    assert page.get_by_test_id("shown-version").inner_text() == "v1"
    assert page.get_by_test_id("old-version-notice").is_visible()
    assert page.locator("table.classes svg.swatch").count() == 0  # v1 had no colours
    assert "now with class colours" not in page.get_by_test_id("readme").inner_text()
    assert page.locator("tr.current td").first.inner_text() == "v1"
    page.get_by_test_id("versions").get_by_role("link", name="v2", exact=True).click()
    page.wait_for_url(f"**/models/{CLASSIFIER}/versions/2")
    assert page.locator("table.classes svg.swatch").count() == 4


def test_diff_two_versions(web: WebHub, page: Any) -> None:
    page.goto(web.url + f"/models/{CLASSIFIER}")
    page.get_by_role("link", name="Compare versions").click()
    page.wait_for_url("**/diff?from=1&to=2")
    assert page.title() == f"v1 → v2 · {CLASSIFIER} · model · eohub"
    changed = page.get_by_test_id("diff-files").locator("tr[data-status=changed] td.path").all_inner_texts()
    assert changed == ["README.md"]
    document = page.locator('[data-testid=diff-document][data-path="model-collection/model/model.json"]')
    pointers = document.locator("tbody th").all_inner_texts()
    assert [p for p in pointers if p.endswith("/color_hint")] == [
        f"/properties/mlm:output/0/classification:classes/{i}/color_hint" for i in range(4)
    ]
    assert "description" in page.get_by_test_id("diff-metadata").inner_text()
    page.get_by_label("From").select_option("2")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**/diff?from=2&to=2")
    assert "same version" in page.get_by_test_id("diff-summary").inner_text()


def test_dataset_page_draws_the_footprints(web: WebHub, page: Any) -> None:
    page.goto(web.url + "/datasets/demo-landcover-labels")
    assert page.title() == "demo-landcover-labels · dataset · eohub"
    footprints = page.get_by_test_id("footprints")
    assert footprints.locator("svg path.map-area").count() == 3
    box = footprints.locator("svg.footprints").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    assert page.get_by_test_id("items").locator("tbody tr").count() == 3
    screenshot(page, "web-dataset.png")


# --- sign in --------------------------------------------------------------------------------------------


def test_sign_in_to_see_a_private_model(web: WebHub, page: Any) -> None:
    secret = web.url + "/models/bob-secret-model"
    response = page.goto(secret)
    assert response.status == 404
    assert page.title() == "Not found · eohub"
    assert "zebra" not in page.content()
    page.get_by_role("main").get_by_role("link", name="sign in").click()
    page.wait_for_url("**/signin?next=**")
    page.get_by_label("API token").fill(web.tokens["bob"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(secret)
    assert "Only Bob may see this zebra model." in page.get_by_test_id("readme").inner_text()
    assert page.get_by_test_id("signed-in-user").inner_text() == "bob"
    cookie = next(c for c in page.context.cookies() if c["name"] == "eohub_token")
    assert cookie["httpOnly"] is True
    assert page.evaluate("document.cookie") == ""  # scripts never see the token

    page.goto(web.url + "/")
    assert "bob-secret-model" in result_names(page)
    page.get_by_label("Only mine").check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**mine=1*")
    assert result_names(page) == ["bob-secret-model"]

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(web.url + "/")
    assert "bob-secret-model" not in result_names(page)
    assert page.goto(secret).status == 404


def test_a_wrong_token_is_refused_on_the_form(web: WebHub, page: Any) -> None:
    page.goto(web.url + "/signin")
    page.get_by_label("API token").fill("eoh_wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_test_id("signin-error").inner_text() == "That is not a valid API token of this hub."
    assert not [c for c in page.context.cookies() if c["name"] == "eohub_token"]


# --- without JavaScript, keyboard, phone ----------------------------------------------------------------


def test_pages_read_and_work_without_javascript(web: WebHub, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    try:
        tab = context.new_page()
        tab.goto(web.url + "/")
        tab.get_by_label("Search name, description and tags").fill("labels")
        tab.keyboard.press("Enter")
        tab.wait_for_url("**q=labels*")
        assert result_names(tab) == ["demo-landcover-labels"]
        tab.goto(web.url + f"/models/{CLASSIFIER}")
        assert tab.get_by_test_id("model-card").get_by_test_id("architecture").is_visible()
        assert tab.get_by_role("button", name="Copy").count() == 0
        tab.get_by_label("Version", exact=True).select_option("1")
        tab.get_by_role("button", name="Show").click()
        tab.wait_for_url(f"**/models/{CLASSIFIER}/versions/1")
        assert tab.get_by_test_id("shown-version").inner_text() == "v1"
    finally:
        context.close()


def test_keyboard_reaches_the_skip_link_and_the_search_box(web: WebHub, page: Any) -> None:
    page.goto(web.url + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    for _ in range(20):
        if page.evaluate("document.activeElement.id") == "q":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("eurosat")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=eurosat*")
    page.keyboard.press("Tab")  # from the top again: the skip link, then every link in order
    links = []
    for _ in range(40):
        page.keyboard.press("Tab")
        links.append(page.evaluate("document.activeElement.getAttribute('href')"))
    assert "/models/eurosat-rgb" in links


@pytest.mark.parametrize("path", ["/", f"/models/{CLASSIFIER}", "/datasets/demo-landcover-labels"])
def test_pages_fit_a_phone_screen(web: WebHub, browser: Any, path: str) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    try:
        tab = context.new_page()
        tab.goto(web.url + path)
        overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
        if path == "/":
            box = tab.get_by_label("Search name, description and tags").bounding_box()
            assert box and box["width"] > PHONE["width"] * 0.7
            screenshot(tab, "web-home-phone.png")
    finally:
        context.close()
