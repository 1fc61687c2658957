"""The web pages over plain HTTP (httpx) against a real ``eohub serve``: search and filters, 404 pages,
privacy of private repositories (header and sign-in cookie), sanitised READMEs, diffs, no stack traces."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import httpx
import pytest

from eohub.server.context import SESSION_COOKIE
from tests.test_web_support import COLOURS, WebHub, populated_hub

CLASSIFIER = "/models/demo-landcover-classifier"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebHub]:
    with populated_hub(tmp_path_factory.mktemp("web-pages")) as hub:
        yield hub


@pytest.fixture(scope="module")
def anonymous(web: WebHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.url, timeout=30) as client:
        yield client


def signed_in(web: WebHub, user: str) -> httpx.Client:
    """A client carrying ``user``'s sign-in cookie, as the browser does after the sign-in form."""
    return httpx.Client(base_url=web.url, timeout=30, cookies={SESSION_COOKIE: web.tokens[user]})


def names(html: str) -> list[str]:
    """The repository names of a results page, in order."""
    return re.findall(r'<li class="result" data-name="([^"]+)"', html)


def count(html: str) -> int:
    match = re.search(r'data-testid="result-count">(\d+) result', html)
    assert match, "no result count on the page"
    return int(match.group(1))


# --- search -------------------------------------------------------------------------------------------


def test_home_lists_every_public_repository_and_no_private_one(anonymous: httpx.Client) -> None:
    page = anonymous.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>Search models and datasets · eohub</title>" in page.text
    assert sorted(names(page.text)) == [
        "demo-landcover-classifier",
        "demo-landcover-labels",
        "eurosat-rgb",
        "markdown-attack",
        "s2-segmenter",
    ]
    assert "bob-secret-model" not in page.text


def test_results_show_kind_quality_tasks_latest_version_size_and_update(anonymous: httpx.Client) -> None:
    html = anonymous.get("/", params={"q": "demo-landcover-classifier"}).text
    assert names(html) == ["demo-landcover-classifier"]
    result = html[html.index('data-name="demo-landcover-classifier"') :]
    result = result[: result.index("</li>\n")]
    assert 'class="badge kind model"' in result
    assert ">Q3<" in result
    assert '<dd class="tasks">classification</dd>' in result
    assert '<dd class="latest">v2</dd>' in result
    assert re.search(r'<dd class="size">\d+\.\d kB</dd>', result)
    assert re.search(r"<time datetime=\"\d{4}-\d\d-\d\dT", result)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "labels"}, ["demo-landcover-labels"]),
        ({"q": "SENTINEL-2"}, ["demo-landcover-classifier", "s2-segmenter"]),  # a tag, any case
        ({"q": "random weights"}, ["demo-landcover-classifier", "s2-segmenter"]),  # description words
        ({"kind": "dataset"}, ["demo-landcover-labels"]),
        ({"task": "semantic-segmentation"}, ["s2-segmenter"]),
        ({"framework": "pytorch"}, ["s2-segmenter"]),
        ({"framework": "onnx", "kind": "model"}, ["demo-landcover-classifier", "eurosat-rgb"]),
        ({"bands": "red"}, ["eurosat-rgb"]),
        ({"bands": "B04, B08"}, ["demo-landcover-classifier", "s2-segmenter"]),
        ({"bands": "B04 red"}, []),
        ({"quality": "3"}, ["demo-landcover-classifier", "eurosat-rgb", "s2-segmenter"]),
        ({"quality": "2", "kind": "dataset"}, ["demo-landcover-labels"]),
        ({"q": "zebra"}, []),  # only in the private README
    ],
)
def test_search_box_and_filters(anonymous: httpx.Client, params: dict[str, str], expected: list[str]) -> None:
    html = anonymous.get("/", params=params).text
    assert sorted(names(html)) == expected
    assert count(html) == len(expected)


def test_filters_offer_the_values_present_on_the_hub(anonymous: httpx.Client) -> None:
    html = anonymous.get("/").text
    options = re.findall(r"<option>([^<]+)</option>", html)
    assert sorted(o.lower() for o in options) == [
        "classification",
        "onnx",
        "pytorch",
        "semantic-segmentation",
    ]
    for band in ("B02", "B08", "red"):
        assert f'<option value="{band}">' in html


def test_paging_walks_every_result_once(anonymous: httpx.Client) -> None:
    seen: list[str] = []
    url: str | None = "/?sort=name&per_page=2"
    pages = 0
    while url:
        html = anonymous.get(url).text
        seen += names(html)
        pages += 1
        link = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = link.group(1).replace("&amp;", "&") if link else None
    assert pages == 3
    assert seen == sorted(seen, key=str.casefold)
    assert len(seen) == len(set(seen)) == 5
    assert "page 3 of 3" in html


def test_kind_listings_redirect_to_the_filtered_search(anonymous: httpx.Client) -> None:
    response = anonymous.get("/models")
    assert response.status_code == 303
    assert response.headers["location"] == "/?kind=model"


# --- model and dataset pages --------------------------------------------------------------------------


def test_model_page_shows_the_card_quality_versions_files_and_snippets(
    web: WebHub, anonymous: httpx.Client
) -> None:
    page = anonymous.get(CLASSIFIER)
    html = page.text
    assert page.status_code == 200
    assert "<title>demo-landcover-classifier · model · eohub</title>" in html
    props = web.items["classifier-v2"]["properties"]
    assert f'data-testid="architecture">{props["mlm:architecture"]}<' in html
    assert f'data-testid="framework">{props["mlm:framework"]} {props["mlm:framework_version"]}<' in html
    assert f'data-testid="parameters">{props["mlm:total_parameters"]}<' in html
    assert "z-score (mean 1200, stddev 400)" in html
    for colour in COLOURS.values():
        assert f'fill="#{colour}"' in html
    assert "This is the highest level a model can reach." in html
    assert html.count('<a href="/models/demo-landcover-classifier/versions/') == 2  # v1 and v2 rows
    assert "eohub models get demo-landcover-classifier --version 2" in html
    assert 'download_model("demo-landcover-classifier", path="models", version=2)' in unescape(html)
    assert "eohub predict demo-landcover-classifier:2 scene.tif -o prediction.tif" in html
    manifest = anonymous.get("/api/models/demo-landcover-classifier/versions/2/manifest").json()
    for entry in manifest["files"]:
        assert entry["sha256"] in html
        assert f"/api/models/demo-landcover-classifier/versions/2/files/{entry['path']}" in html


def test_quality_reasons_say_why_a_version_is_not_higher(anonymous: httpx.Client) -> None:
    html = anonymous.get("/models/markdown-attack").text
    assert 'data-testid="quality-reasons"' in html
    assert "Q0: no catalog.json at the folder root" in html
    assert "This version has no STAC item with MLM metadata" in html


def test_an_old_version_has_its_own_url_and_content(anonymous: httpx.Client) -> None:
    html = anonymous.get(f"{CLASSIFIER}/versions/1").text
    assert "<title>demo-landcover-classifier v1 · model · eohub</title>" in html
    assert 'data-testid="old-version-notice"' in html
    assert "fill=" not in html.split('data-testid="classes"')[1].split("</table>")[0]
    assert "now with class colours" not in html
    assert "eohub models get demo-landcover-classifier --version 1" in html


def test_version_picker_redirects_to_the_version_url(anonymous: httpx.Client) -> None:
    assert (
        anonymous.get(CLASSIFIER, params={"version": "1"}).headers["location"] == f"{CLASSIFIER}/versions/1"
    )
    assert anonymous.get(CLASSIFIER, params={"version": "latest"}).headers["location"] == CLASSIFIER


def test_diff_lists_files_stac_fields_and_readme_metadata(anonymous: httpx.Client) -> None:
    page = anonymous.get(f"{CLASSIFIER}/diff", params={"from": "1", "to": "2"})
    html = page.text
    assert page.status_code == 200
    assert "<title>v1 → v2 · demo-landcover-classifier · model · eohub</title>" in html
    assert '<tr class="changed" data-status="changed"><td>changed</td><td class="path">README.md</td>' in html
    assert 'data-path="model-collection/model/model.json"' in html
    assert "/properties/mlm:output/0/classification:classes/0/color_hint" in html
    assert "1f78b4" in html
    assert '<th scope="row">description</th>' in html
    assert "1 file added" not in html
    assert anonymous.get(f"{CLASSIFIER}/diff").text.count("color_hint") >= 4  # default: latest vs previous


def test_dataset_page_maps_footprints_and_lists_collections_and_items(anonymous: httpx.Client) -> None:
    html = anonymous.get("/datasets/demo-landcover-labels").text
    svg = html[html.index('<svg class="footprints"') : html.index("</svg>")]
    assert svg.count('<path class="map-area"') == 3
    for tile in ("tile-0", "tile-1", "tile-2"):
        assert f"<title>{tile}</title>" in svg
        assert f"<code>{tile}</code>" in html
    assert "5°E to 16°E, 45°N to 51°N" in html
    assert "<strong>labels</strong>" in html
    assert "eohub datasets get demo-landcover-labels --version 1" in html
    assert "eohub predict" not in html


# --- not found and errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/models/no-such-model", "no model named &#39;no-such-model&#39;"),
        ("/datasets/demo-landcover-classifier", "no dataset named"),
        (f"{CLASSIFIER}/versions/99", "has no version 99 (latest is 2)"),
        (f"{CLASSIFIER}/versions/first", "there is no version"),
        (f"{CLASSIFIER}/versions/0", "there is no version"),
        (f"{CLASSIFIER}/diff?from=1&to=7", "has no version 7"),
        (f"{CLASSIFIER}/files", "this hub has no page"),
        ("/static/nothing.css", "there is no file"),
    ],
)
def test_unknown_names_and_versions_get_a_friendly_404_page(
    anonymous: httpx.Client, path: str, message: str
) -> None:
    page = anonymous.get(path)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>Not found · eohub</title>" in page.text
    assert message in page.text
    assert 'href="/"' in page.text


def test_unexpected_errors_render_a_page_without_internals(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from eohub.config import load_settings
    from eohub.server import create_app
    from eohub.server.web import views

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal detail /secret/path")

    monkeypatch.setattr(views, "repository_page", broken)
    with TestClient(create_app(load_settings()), raise_server_exceptions=False) as client:
        page = client.get("/models/anything")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "Something broke" in page.text
    assert "Traceback" not in page.text and "/secret/path" not in page.text


# --- privacy and sign-in ------------------------------------------------------------------------------


def test_private_repositories_never_render_for_others(web: WebHub, anonymous: httpx.Client) -> None:
    for client in (anonymous, signed_in(web, "alice")):
        page = client.get("/models/bob-secret-model")
        assert page.status_code == 404
        assert "zebra" not in page.text
        assert "bob-secret-model" not in client.get("/", params={"q": "secret"}).text
        assert client.get("/models/bob-secret-model/versions/1").status_code == 404
        assert client.get("/models/bob-secret-model/diff").status_code == 404


def test_the_owner_sees_a_private_repository_with_the_cookie_or_the_header(web: WebHub) -> None:
    with signed_in(web, "bob") as bob:
        page = bob.get("/models/bob-secret-model")
        assert page.status_code == 200
        assert "Only Bob may see this zebra model." in page.text
        assert 'class="badge private"' in page.text
        assert 'data-testid="signed-in-user">bob<' in page.text
        assert names(bob.get("/", params={"mine": "1"}).text) == ["bob-secret-model"]
        assert names(bob.get("/", params={"q": "zebra"}).text) == ["bob-secret-model"]
    header = {"Authorization": f"Bearer {web.tokens['bob']}"}
    assert httpx.get(f"{web.url}/models/bob-secret-model", headers=header).status_code == 200


def test_the_cookie_reads_the_api_but_never_writes(web: WebHub) -> None:
    with signed_in(web, "bob") as bob:
        assert bob.get("/api/models/bob-secret-model").json()["private"] is True
        assert bob.get("/api/whoami").json()["name"] == "bob"
        refused = bob.patch("/api/models/bob-secret-model", json={"private": False})
        assert refused.status_code == 401
        assert bob.get("/api/models/bob-secret-model").json()["private"] is True


def test_header_tokens_behave_as_before(web: WebHub) -> None:
    assert httpx.get(f"{web.url}/api/whoami").status_code == 401
    bad = httpx.get(f"{web.url}/api/models", headers={"Authorization": "Basic abc"})
    assert bad.status_code == 401
    # the header wins over a cookie
    cookies = {SESSION_COOKIE: web.tokens["bob"]}
    header = {"Authorization": f"Bearer {web.tokens['alice']}"}
    assert httpx.get(f"{web.url}/api/whoami", headers=header, cookies=cookies).json()["name"] == "alice"


def test_sign_in_sets_an_http_only_cookie_and_sign_out_drops_it(web: WebHub) -> None:
    with httpx.Client(base_url=web.url, timeout=30) as browser:
        response = browser.post(
            "/signin", data={"token": web.tokens["bob"], "next": "/models/bob-secret-model"}
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/models/bob-secret-model"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert browser.get("/models/bob-secret-model").status_code == 200
        out = browser.post("/signout", headers={"Origin": web.url})
        assert out.status_code == 303
        assert browser.get("/models/bob-secret-model").status_code == 404


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_sign_in_redirects_only_within_the_hub(web: WebHub, next_url: str) -> None:
    response = httpx.post(f"{web.url}/signin", data={"token": web.tokens["bob"], "next": next_url})
    assert response.status_code == 303
    assert response.headers["location"] == "/?mine=1"


def test_sign_in_refuses_a_bad_token_and_other_sites(web: WebHub) -> None:
    bad = httpx.post(f"{web.url}/signin", data={"token": "eoh_not-a-token"})
    assert bad.status_code == 401
    assert "That is not a valid API token of this hub." in bad.text
    assert "set-cookie" not in bad.headers
    forged = httpx.post(
        f"{web.url}/signin", data={"token": web.tokens["bob"]}, headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == 403
    assert "set-cookie" not in forged.headers


def test_a_stale_cookie_asks_to_sign_in_again_and_is_dropped(web: WebHub) -> None:
    with httpx.Client(base_url=web.url, timeout=30, cookies={SESSION_COOKIE: "eoh_revoked"}) as browser:
        page = browser.get("/")
        assert page.status_code == 401
        assert "Your sign-in token is no longer valid." in page.text
        assert re.match(rf'{SESSION_COOKIE}=""; .*Max-Age=0', page.headers["set-cookie"])


# --- sanitising ---------------------------------------------------------------------------------------


def test_readme_markdown_is_rendered_and_sanitised(anonymous: httpx.Client) -> None:
    page = anonymous.get("/models/markdown-attack")
    html = page.text
    readme = html[html.index('data-testid="readme"') : html.index('<section id="quality"')]
    assert "<h3>Attack heading</h3>" in readme
    tags = re.findall(r"<[a-zA-Z][^>]*>", readme)
    assert not [t for t in tags if t.lower().startswith("<script") or re.search(r"\son\w+=", t)]
    assert not [t for t in tags if "javascript:" in t.lower()]
    assert "&lt;script&gt;" in readme and "&lt;img src=" in readme  # raw HTML is shown as text
    assert "[click me](javascript:window.__pwned=3)" in readme  # a javascript: link is not made a link
    assert 'href="/api/models/markdown-attack/versions/1/files/model.onnx"' in readme
    assert 'href="javascript' not in html  # nor is the README's source
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_the_api_and_its_docs_are_not_shadowed(anonymous: httpx.Client) -> None:
    assert anonymous.get("/api").json()["name"] == "eohub"
    paths = anonymous.get("/openapi.json").json()["paths"]
    assert "/api/{plural}/{name}" in paths
    assert not [p for p in paths if p == "/" or p.startswith(("/models", "/datasets", "/signin"))]
    assert anonymous.get("/docs").status_code == 200
    assert anonymous.get("/api/models/no-such-model").json() == {"detail": "no model named 'no-such-model'"}
    assert anonymous.get("/static/style.css").headers["content-type"].startswith("text/css")
