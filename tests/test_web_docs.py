"""The API docs (``/docs``: Swagger UI shipped in the package), the favicon and the site's API links,
against a real ``eohub serve``: in Chromium with every request to another host aborted (none may be
attempted), and over plain HTTP (links, HEAD, the docs page's own Content-Security-Policy).

The browser is Debian's (``/usr/bin/chromium``), launched as in ``test_web_browser.py``; without it the
browser tests skip (fail in CI) and the HTTP tests still run.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import tomllib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from eohub.server.web.apidocs import VERSION
from tests.servers import unavailable
from tests.test_web_support import WebHub, populated_hub

try:
    from playwright import sync_api
except ImportError:
    sync_api = None

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [  # as test_web_browser.py (not imported: that module skips whole when Chromium is missing)
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
STATIC = resources.files("eohub.server.web").joinpath("static")
PAGES = [
    "/",
    "/?kind=dataset",
    "/models/demo-landcover-classifier",
    "/datasets/demo-landcover-labels",
    "/models/demo-landcover-classifier/diff",
    "/signin",
    "/no/such/page",
    "/docs",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]"}


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebHub]:
    with populated_hub(tmp_path_factory.mktemp("web-docs")) as hub:
        yield hub


@pytest.fixture(scope="module")
def anonymous(web: WebHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if sync_api is None:
        unavailable("Playwright is not installed: .venv/bin/pip install -e '.[test]'")
    if not CHROMIUM.is_file() and not shutil.which("chromium"):
        unavailable(
            "Debian's chromium is not installed: run `sudo bash scripts/install-system-deps.sh` "
            "(or `sudo apt-get install chromium`)"
        )
    with sync_api.sync_playwright() as playwright:
        executable = str(CHROMIUM) if CHROMIUM.is_file() else shutil.which("chromium")
        chromium = playwright.chromium.launch(executable_path=executable, args=ARGS)
        yield chromium
        chromium.close()


class Offline:
    """A browser tab whose requests to any host but this machine are aborted and remembered, with the
    console errors (a Content-Security-Policy refusal is one) and every response of 400 or more."""

    def __init__(self, tab: Any) -> None:
        self.tab = tab
        self.foreign: list[str] = []
        self.failed: list[str] = []
        self.console_errors: list[str] = []
        tab.route("**/*", self._route)
        tab.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        tab.on("response", lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        tab.on("requestfailed", lambda r: self.failed.append(f"{r.failure} {r.url}"))

    def _route(self, route: Any) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()


@pytest.fixture
def offline(browser: Any) -> Iterator[Offline]:
    context = browser.new_context(viewport=DESKTOP)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield Offline(tab)
    context.close()


def inline_scripts(html: str) -> list[str]:
    return re.findall(r"<script>(.*?)</script>", html, re.DOTALL)


def sha256_source(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


# --- in the browser -----------------------------------------------------------------------------------


def test_docs_page_lists_the_operations_with_the_network_cut_off(web: WebHub, offline: Offline) -> None:
    tab = offline.tab
    tab.goto(web.url + "/docs")
    operation = tab.locator('.opblock-summary-path[data-path="/api/{plural}"]')
    operation.wait_for()
    assert tab.title() == "eohub — API docs"
    assert tab.locator(".info .title").inner_text().startswith("eohub")
    paths = tab.locator(".opblock-summary-path").evaluate_all("nodes => nodes.map(n => n.dataset.path)")
    assert {"/api/{plural}", "/api/{plural}/{name}/versions", "/stac/search", "/api"} <= set(paths)
    assert offline.foreign == []  # Swagger UI asked no CDN, font host or validator for anything
    assert offline.failed == []
    assert offline.console_errors == []  # no Content-Security-Policy refusal either


def test_try_it_out_calls_the_hub_from_the_docs_page(web: WebHub, offline: Offline) -> None:
    tab = offline.tab
    tab.goto(web.url + "/docs")
    tab.locator('.opblock-summary-path[data-path="/api"]').click()
    block = tab.locator("#operations-hub-about_api_get")
    block.get_by_role("button", name="Try it out").click()
    block.get_by_role("button", name="Execute").click()
    body = block.locator(".live-responses-table .response-col_description .microlight").first
    body.wait_for()
    assert '"name": "eohub"' in body.inner_text()  # the request went to this hub (connect-src 'self')
    assert offline.foreign == [] and offline.failed == [] and offline.console_errors == []


def test_no_page_request_fails_and_the_favicon_is_drawn(web: WebHub, offline: Offline) -> None:
    tab = offline.tab
    for path in PAGES:
        tab.goto(web.url + path, wait_until="networkidle")
    # Swagger UI fetches /openapi.json from a script: on a busy machine after "networkidle", and leaving
    # the page first aborts that fetch (a failure of the test's, not the page's): wait for what it draws
    tab.locator(".opblock-summary-path").first.wait_for()
    assert offline.failed == ["404 " + web.url + "/no/such/page"]  # the page asked for, nothing it loads
    assert offline.foreign == []
    tab.goto(web.url + "/")
    sizes = tab.evaluate(
        """hrefs => Promise.all(hrefs.map(href => new Promise(done => {
            const img = new Image();
            img.onload = () => done([img.naturalWidth, img.naturalHeight]);
            img.onerror = () => done(null);
            img.src = href;
        })))""",
        # Playwright aborts intercepted URLs ending in /favicon.ico (and hides them): a query keeps it out
        tab.locator("link[rel=icon]").evaluate_all("links => links.map(l => l.href + '?drawn')"),
    )
    assert len(sizes) == 2 and all(size and size[0] >= 16 and size[0] == size[1] for size in sizes), sizes
    assert offline.failed == ["404 " + web.url + "/no/such/page"]


# --- over HTTP --------------------------------------------------------------------------------------------


def test_the_api_links_lead_where_their_labels_say(anonymous: httpx.Client) -> None:
    html = anonymous.get("/").text
    header = html.split("<header", 1)[1].split("</header>", 1)[0]
    footer = html.split("<footer", 1)[1].split("</footer>", 1)[0]
    assert '<a href="/docs">API docs</a>' in header
    links = dict((label, href) for href, label in re.findall(r'<a href="([^"]+)">([^<]+)</a>', footer))
    assert links == {"API docs": "/docs", "OpenAPI (JSON)": "/openapi.json", "STAC API": "/stac"}

    docs = anonymous.get(links["API docs"])
    assert docs.headers["content-type"].startswith("text/html") and 'id="swagger-ui"' in docs.text
    openapi = anonymous.get(links["OpenAPI (JSON)"])
    assert openapi.headers["content-type"] == "application/json"
    assert "/api/{plural}" in openapi.json()["paths"]
    stac = anonymous.get(links["STAC API"]).json()
    assert stac["type"] == "Catalog" and stac["conformsTo"]
    assert anonymous.get("/redoc").status_code == 404  # no second docs page that would need a CDN


def test_the_docs_page_loads_only_files_of_the_hub_under_its_own_policy(anonymous: httpx.Client) -> None:
    docs = anonymous.get("/docs")
    references = re.findall(r'(?:src|href)="([^"]*)"', docs.text)
    assert references and all(r.startswith("/") and not r.startswith("//") for r in references)
    assert f"/docs/assets/swagger-ui-bundle.js?v={VERSION}" in references
    policy = docs.headers["content-security-policy"]
    scripts = inline_scripts(docs.text)
    assert len(scripts) == 1 and "SwaggerUIBundle(" in scripts[0]
    assert f"script-src 'self' {sha256_source(scripts[0])};" in policy
    assert "unsafe" not in policy and "connect-src 'self'" in policy and "default-src 'none'" in policy
    assert '"validatorUrl": null' in scripts[0]  # the API's address is never sent to validator.swagger.io

    page = anonymous.get("/")
    assert "script-src 'self';" in page.headers["content-security-policy"]  # the pages keep theirs
    assert "sha256-" not in page.headers["content-security-policy"] and not inline_scripts(page.text)


def test_the_shipped_swagger_ui_is_served_as_packaged_with_its_licence(anonymous: httpx.Client) -> None:
    folder = STATIC.joinpath("swagger-ui")
    for name, media in (("swagger-ui-bundle.js", "text/javascript"), ("swagger-ui.css", "text/css")):
        answer = anonymous.get(f"/docs/assets/{name}", params={"v": VERSION})
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(media)
        assert answer.content == folder.joinpath(name).read_bytes()
    assert "Apache License" in folder.joinpath("LICENSE").read_text()
    assert "SmartBear" in folder.joinpath("NOTICE").read_text()
    assert f"swagger-ui-dist@{VERSION}" in folder.joinpath("SOURCE.md").read_text()
    for name in ("LICENSE", "swagger-ui-bundle.js.map", "../favicon.svg", "%2e%2e%2fstyle.css"):
        assert anonymous.get(f"/docs/assets/{name}").status_code == 404


def test_the_favicon_is_served_in_both_forms(anonymous: httpx.Client) -> None:
    ico = anonymous.get("/favicon.ico")
    assert ico.status_code == 200 and ico.headers["content-type"] == "image/x-icon"
    assert ico.content[:4] == b"\0\0\1\0" and ico.content == STATIC.joinpath("favicon.ico").read_bytes()
    svg = anonymous.get("/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.startswith("<svg") and "<script" not in svg.text
    assert svg.headers["content-security-policy"] == "default-src 'none'"
    html = anonymous.get("/models/demo-landcover-classifier").text
    assert re.findall(r'<link rel="icon" href="([^"]+)"', html) == ["/favicon.ico", "/favicon.svg"]
    assert '<link rel="shortcut icon" href="/favicon.ico">' in anonymous.get("/docs").text


@pytest.mark.parametrize(
    "path",
    [
        "/docs",
        f"/docs/assets/swagger-ui-bundle.js?v={VERSION}",
        "/docs/assets/swagger-ui.css",
        "/favicon.ico",
        "/favicon.svg",
        "/static/style.css",
        "/static/enhance.js",
    ],
)
def test_head_answers_like_get_without_a_body(anonymous: httpx.Client, path: str) -> None:
    get, head = anonymous.get(path), anonymous.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    varying = {"date"}
    assert {k: v for k, v in head.headers.items() if k not in varying} == {
        k: v for k, v in get.headers.items() if k not in varying
    }
    assert int(head.headers["content-length"]) == len(get.content)


def test_every_static_file_is_package_data() -> None:
    root = Path(__file__).parents[1]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    package = root / "src" / "eohub"
    shipped = {p for pattern in patterns["eohub"] for p in package.glob(pattern) if p.is_file()}
    static = package / "server" / "web" / "static"
    files = {p for p in static.rglob("*") if p.is_file()}
    assert files - shipped == set()
    assert {static / "favicon.ico", static / "swagger-ui" / "LICENSE", static / "swagger-ui" / "NOTICE"} <= (
        files
    )
