"""The remote side of :class:`eohub.repository.Repository`: a hub reached over HTTP."""

from __future__ import annotations

from eohub.client.remote import RemoteRepository

__all__ = ["RemoteRepository"]
