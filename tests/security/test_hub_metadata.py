"""A hub derives a version's metadata itself, from the stored README and STAC documents (red-team note
on finding 07): what a client claims in the commit body about license or authors is not taken."""

from __future__ import annotations

import httpx

from tests.hub_server import HubServer

from .attacks import entry, headers, upload

README = b"---\nname: Honest-Model\nauthors: [Ann]\nlicense: MIT\nsource: https://x.org\n---\nA model.\n"


def test_a_claimed_license_is_replaced_by_what_the_readme_says(sqlite_hub: HubServer):
    assert upload(sqlite_hub, "bob", README).status_code == 200
    claimed = {"name": "Honest-Model", "authors": ["Someone Famous"], "license": "CC0-1.0", "source": "x"}
    manifest = {"files": [entry(README, "README.md")], "documents": {}, "metadata": claimed}
    answer = httpx.post(
        f"{sqlite_hub.url}/api/models/Honest-Model/versions",
        json={"manifest": manifest},
        headers=headers(sqlite_hub, "bob"),
    )
    assert answer.status_code == 201, answer.text
    stored = httpx.get(f"{sqlite_hub.url}/api/models/Honest-Model").json()["metadata"]
    assert (stored["license"], stored["authors"]) == ("MIT", ["Ann"])


def test_without_a_readme_the_name_is_the_repositorys(sqlite_hub: HubServer):
    data = b"bytes"
    assert upload(sqlite_hub, "bob", data).status_code == 200
    manifest = {"files": [entry(data, "x.bin")], "documents": {}, "metadata": {"license": "Made-Up"}}
    answer = httpx.post(
        f"{sqlite_hub.url}/api/models/Plain-Files/versions",
        json={"manifest": manifest},
        headers=headers(sqlite_hub, "bob"),
    )
    assert answer.status_code == 201, answer.text
    stored = httpx.get(f"{sqlite_hub.url}/api/models/Plain-Files").json()["metadata"]
    assert stored["name"] == "Plain-Files" and stored["license"] == ""
