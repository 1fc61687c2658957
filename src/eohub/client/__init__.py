"""The remote side of :class:`eohub.repository.Repository`: a hub reached over HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eohub.client.remote import RemoteRepository

__all__ = ["RemoteRepository"]


def __getattr__(name: str) -> Any:
    if name == "RemoteRepository":  # on first use (PEP 562): eohub.client.credentials stays light
        from eohub.client.remote import RemoteRepository

        return RemoteRepository
    raise AttributeError(f"module 'eohub.client' has no attribute {name!r}")
