"""What the attacks of the security tests share: raw HTTP calls as an attacker makes them (not through
eohub's client, which would refuse to), and the folders the victims ingest."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx

from eohub.client import RemoteRepository
from tests.hub_server import HubServer
from tests.repository_helpers import write_q0_model


def headers(hub: HubServer, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {hub.token(user)}"}


def upload(hub: HubServer, user: str, data: bytes) -> httpx.Response:
    """One PATCH carrying all of ``data`` as ``user``."""
    digest = hashlib.sha256(data).hexdigest()
    return httpx.patch(
        f"{hub.url}/api/uploads/{digest}",
        content=data,
        headers={**headers(hub, user), "Upload-Offset": "0", "Upload-Length": str(len(data))},
        timeout=60,
    )


def commit(
    hub: HubServer,
    user: str,
    name: str,
    files: list[dict[str, Any]],
    documents: dict[str, Any] | None = None,
    private: bool = False,
) -> httpx.Response:
    """``POST /api/models/{name}/versions`` with a hand-made manifest."""
    manifest = {
        "files": files,
        "documents": documents or {},
        "metadata": {"name": name, "authors": ["Mallory"], "license": "MIT", "source": "https://x.org"},
    }
    return httpx.post(
        f"{hub.url}/api/models/{name}/versions",
        json={"manifest": manifest, "allow_invalid": True, "private": private},
        headers=headers(hub, user),
        timeout=60,
    )


def entry(data: bytes, path: str) -> dict[str, Any]:
    return {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def victim_model(hub: HubServer, folder: Path, name: str = "Victim-Model", private: bool = False) -> dict:
    """alice ingests a Q0 model; returns the manifest entry of its ONNX file."""
    write_q0_model(folder, name=name)
    with RemoteRepository(hub.url, hub.token("alice")) as alice:
        alice.ingest("model", folder, private=private)
        manifest = alice.manifest("model", name)
    return next(e for e in manifest.files if e.path == "model.onnx").to_dict()
