"""Accounts (issue 12, part 7): an admin lists users, revokes a token and disables a user, and names are
matched whole, with one rule on the hub and in every client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from eohub.client import RemoteRepository
from eohub.errors import InvalidNameError
from eohub.repository import check_name
from tests.hub_server import HubServer
from tests.repository_helpers import write_q0_model

from .attacks import commit, entry, headers, upload


def _admin(hub: HubServer, *args: str) -> subprocess.CompletedProcess:
    env = {**hub._environment(), **hub.env}
    return subprocess.run(
        [sys.executable, "-m", "eohub", "admin", *args], env=env, capture_output=True, text=True
    )


def _whoami(hub: HubServer, token: str) -> int:
    return httpx.get(f"{hub.url}/api/whoami", headers={"Authorization": f"Bearer {token}"}).status_code


def test_list_users_shows_token_numbers_never_tokens(sqlite_hub: HubServer):
    alice = sqlite_hub.token("alice")
    sqlite_hub.token("root", admin=True)
    done = _admin(sqlite_hub, "list-users", "--format", "json")
    assert done.returncode == 0, done.stderr
    users = {u["name"]: u for u in json.loads(done.stdout)}
    assert users["root"]["admin"] and not users["alice"]["admin"]
    assert len(users["alice"]["tokens"]) == 1
    assert alice not in done.stdout
    text = _admin(sqlite_hub, "list-users").stdout
    assert "root [admin]" in text and alice not in text


def test_a_revoked_token_gets_401_and_the_users_other_tokens_work(sqlite_hub: HubServer):
    first = sqlite_hub.token("alice")
    second = _admin(sqlite_hub, "create-token", "alice").stdout.strip()
    assert _whoami(sqlite_hub, first) == _whoami(sqlite_hub, second) == 200
    done = _admin(sqlite_hub, "revoke-token", first)
    assert done.returncode == 0 and "alice" in done.stdout
    assert _whoami(sqlite_hub, first) == 401
    assert _whoami(sqlite_hub, second) == 200
    number = json.loads(_admin(sqlite_hub, "list-users", "--format", "json").stdout)[0]["tokens"][0]["id"]
    assert _admin(sqlite_hub, "revoke-token", str(number)).returncode == 0
    assert _whoami(sqlite_hub, second) == 401
    unknown = _admin(sqlite_hub, "revoke-token", "12345")
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: no such token")


def test_a_disabled_user_is_refused_and_their_public_work_stays_readable(
    sqlite_hub: HubServer, tmp_path: Path
):
    token = sqlite_hub.token("alice")
    with RemoteRepository(sqlite_hub.url, token) as alice:
        alice.ingest("model", write_q0_model(tmp_path / "pub", name="Alice-Public"))
        alice.ingest("model", write_q0_model(tmp_path / "priv", name="Alice-Private", seed=3), private=True)
    assert _admin(sqlite_hub, "disable-user", "alice").returncode == 0
    assert _whoami(sqlite_hub, token) == 401
    assert "disabled" in httpx.get(f"{sqlite_hub.url}/api/whoami", headers=headers(sqlite_hub, "alice")).text
    assert upload(sqlite_hub, "alice", b"more").status_code == 401
    assert commit(sqlite_hub, "alice", "Alice-Public", [entry(b"more", "x")]).status_code == 401
    with RemoteRepository(sqlite_hub.url) as anonymous:
        assert anonymous.download("model", "Alice-Public", tmp_path / "get").is_dir()
        assert [r.name for r in anonymous.list("model")] == ["Alice-Public"]
    assert _admin(sqlite_hub, "enable-user", "alice").returncode == 0
    assert _whoami(sqlite_hub, token) == 200


@pytest.mark.parametrize("name", ["AlicePub\n", "AlicePub\r\n", "Alice Pub", "AlicePub\x00", "../AlicePub"])
def test_names_are_matched_whole(sqlite_hub: HubServer, name: str):
    with pytest.raises(InvalidNameError):
        check_name(name)
    if "\x00" not in name:  # a command-line argument cannot hold NUL
        created = _admin(sqlite_hub, "create-user", name)
        assert created.returncode != 0 and created.stderr.startswith("error: invalid user name")
        assert "Traceback" not in created.stderr
    data = b"bytes"
    assert upload(sqlite_hub, "bob", data).status_code == 200
    answer = httpx.post(
        f"{sqlite_hub.url}/api/models/{quote(name, safe='')}/versions",
        json={"manifest": {"files": [entry(data, "x")], "documents": {}, "metadata": {}}},
        headers=headers(sqlite_hub, "bob"),
    )
    assert 400 <= answer.status_code < 500
    assert httpx.get(f"{sqlite_hub.url}/api/models").json() == []
