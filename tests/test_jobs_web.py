"""The model page's "Run" form in a real Chromium against ``eohub serve`` running jobs: a signed-in user
runs the model over a dataset, follows the job's page (updated by its script, or by the refresh link
without JavaScript) until it is done and follows the link to the result dataset; a signed-out user sees no
form; a form posted from another origin, from ``Origin: null`` or without an ``Origin`` runs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.hub_server import HubServer, start_hub
from tests.jobs_content import DATASET, MODEL, publish
from tests.servers import free_port
from tests.test_web_browser import ARGS, CHROMIUM, DESKTOP, screenshot, sync_api

JOB_TIMEOUT = 180_000
"""Milliseconds a job may take here: the hub starts its Dask cluster for the first one."""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    root = tmp_path_factory.mktemp("jobs-web")
    env = {"EOHUB_JOB_WORKERS": "1", "EOHUB_JOB_THREADS": "1", "EOHUB_MAX_USER_JOBS": "4"}
    server = start_hub(root / "hub", env)
    try:
        publish(server.url, server.token("alice"), root / "work", size=512)
        server.token("bob")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def sign_in(tab: Any, hub: HubServer, user: str, target: str) -> None:
    tab.goto(f"{hub.url}/signin?next={target}")
    tab.get_by_label("API token").fill(hub.token(user))
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(hub.url + target)


def jobs_of(hub: HubServer, user: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{hub.url}/api/jobs", headers={"Authorization": f"Bearer {hub.token(user)}"})
    answer.raise_for_status()
    return answer.json()


def test_a_signed_out_user_sees_no_form(hub: HubServer, page: Any):
    page.goto(f"{hub.url}/models/{MODEL}")
    assert page.get_by_test_id("repo-name").inner_text() == MODEL
    assert page.get_by_test_id("run-form").count() == 0
    assert page.locator("#run").count() == 0
    form = {"dataset": DATASET}
    answer = httpx.post(f"{hub.url}/models/{MODEL}/run", data=form, headers={"Origin": hub.url})
    assert (answer.status_code, answer.headers["location"]) == (303, f"/signin?next=/models/{MODEL}")
    stale = httpx.post(
        f"{hub.url}/models/{MODEL}/run",
        data=form,
        headers={"Origin": hub.url},
        cookies={"eohub_token": "eoh_x"},
    )
    assert stale.status_code == 401 and "Sign in again" in stale.text
    job_id = "0" * 32
    assert page.goto(f"{hub.url}/jobs/{job_id}").url == f"{hub.url}/signin?next=/jobs/{job_id}"
    assert httpx.get(f"{hub.url}/jobs/{job_id}/state").status_code == 404


def test_run_the_model_on_a_dataset_and_follow_the_job_to_its_result(hub: HubServer, page: Any):
    sign_in(page, hub, "alice", f"/models/{MODEL}")
    form = page.get_by_test_id("run-form")
    assert form.is_visible()
    options = form.get_by_label("Dataset", exact=True).locator("option").all_inner_texts()
    assert options == [f"{DATASET} · v1"]
    form.get_by_label("Dataset", exact=True).select_option(DATASET)
    form.get_by_label("Tile").fill("32")
    form.get_by_label("Batch").fill("1")
    form.get_by_label("Result dataset").fill("web-run")
    screenshot(page, "jobs-run-form.png")
    polls: list[str] = []
    page.on("response", lambda r: polls.append(r.url) if r.url.endswith("/state") else None)
    form.get_by_role("button", name="Run").click()
    page.wait_for_url(re.compile(r".*/jobs/[0-9a-f]{32}$"))
    job_id = page.url.rsplit("/", 1)[1]
    first_state = page.get_by_test_id("job-state").inner_text()
    assert first_state in ("queued", "running", "done")
    assert page.get_by_role("link", name=f"{MODEL} v1").is_visible()

    ended = page.locator("[data-job][data-ended='true']")
    ended.wait_for(timeout=JOB_TIMEOUT)  # the script reloads the page when the job ends
    assert page.get_by_test_id("job-state").inner_text() == "done", page.get_by_role("main").inner_text()
    assert re.fullmatch(r"(\d+) of \1 windows \(100%\)", page.get_by_test_id("job-progress").inner_text())
    if first_state != "done":
        assert polls and all(p == f"{hub.url}/jobs/{job_id}/state" for p in polls)
    assert page.get_by_test_id("job-refresh").count() == 0
    screenshot(page, "jobs-done.png")

    page.get_by_test_id("job-result").click()
    page.wait_for_url(f"{hub.url}/datasets/web-run/versions/1")
    assert page.get_by_test_id("repo-name").inner_text() == "web-run"
    assert [j["id"] for j in jobs_of(hub, "alice") if j["output_dataset"] == "web-run"] == [job_id]


def test_without_javascript_the_refresh_link_follows_the_job(hub: HubServer, browser: Any):
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    try:
        tab = context.new_page()
        sign_in(tab, hub, "alice", f"/models/{MODEL}")
        tab.get_by_label("Dataset", exact=True).select_option(DATASET)
        tab.get_by_label("Result dataset").fill("nojs-run")
        tab.get_by_role("button", name="Run").click()
        tab.wait_for_url(re.compile(r".*/jobs/[0-9a-f]{32}$"))
        for _ in range(JOB_TIMEOUT // 500):
            if tab.get_by_test_id("job-result").count():
                break
            tab.wait_for_timeout(500)
            tab.get_by_test_id("job-refresh").click()
            tab.wait_for_load_state()
        assert tab.get_by_test_id("job-state").inner_text() == "done"
        assert tab.get_by_test_id("job-result").get_attribute("href") == "/datasets/nojs-run/versions/1"
    finally:
        context.close()


def test_a_form_posted_from_another_origin_runs_nothing(hub: HubServer, page: Any):
    sign_in(page, hub, "bob", f"/models/{MODEL}")
    before = len(jobs_of(hub, "bob"))
    evil = f"http://127.0.0.1:{free_port()}"  # same site for cookies (ports do not count), another origin
    attack = f"""<form method="post" action="{hub.url}/models/{MODEL}/run">
        <input name="dataset" value="{DATASET}"><input name="output" value="stolen"></form>
        <script>document.forms[0].submit()</script>"""
    page.route(f"{evil}/**", lambda route: route.fulfill(body=attack, content_type="text/html"))
    page.goto(f"{evil}/attack")
    page.wait_for_url(f"{hub.url}/models/{MODEL}/run")
    assert (
        page.get_by_test_id("error-message").inner_text()
        == "this form can only be sent from the hub's own pages"
    )

    cookies = {c["name"]: c["value"] for c in page.context.cookies() if c["name"] == "eohub_token"}
    assert cookies  # bob is signed in: only the origin is wrong
    for origin in ({"Origin": "null"}, {"Origin": "https://evil.example"}, {}):
        forged = httpx.post(
            f"{hub.url}/models/{MODEL}/run", data={"dataset": DATASET}, headers=origin, cookies=cookies
        )
        assert forged.status_code == 403, (origin, forged.status_code)
    for field, value, said in (
        ("tile", "0", "the tile size must be"),
        ("dataset_version", "x", "version must be a whole number"),
    ):
        bad = httpx.post(
            f"{hub.url}/models/{MODEL}/run",
            data={"dataset": DATASET, field: value},
            headers={"Origin": hub.url},
            cookies=cookies,
        )
        assert bad.status_code == 400 and said in bad.text
    assert len(jobs_of(hub, "bob")) == before


def test_someone_elses_job_page_is_not_found(hub: HubServer, page: Any):
    job_id = jobs_of(hub, "alice")[0]["id"]
    sign_in(page, hub, "bob", "/")
    assert page.goto(f"{hub.url}/jobs/{job_id}").status == 404
    assert "alice" not in page.get_by_role("main").inner_text()
    assert page.goto(f"{hub.url}/jobs/{job_id}/state").status == 404


def test_the_job_page_is_served_under_the_pages_policy(hub: HubServer, tmp_path: Path):
    job_id = jobs_of(hub, "alice")[0]["id"]
    answer = httpx.get(f"{hub.url}/jobs/{job_id}", cookies={"eohub_token": hub.token("alice")})
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy and "unsafe-inline" not in policy
    script = httpx.get(f"{hub.url}/static/job.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
