"""The hub server: a FastAPI app over the same repository code as embedded mode."""

from __future__ import annotations

from eohub.server.app import create_app

__all__ = ["create_app"]
