"""The remote side of :class:`eohub.repository.Repository`: a hub reached over HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eohub.core.lazy import lazy_exports

if TYPE_CHECKING:
    from eohub.client.remote import RemoteRepository

__all__ = ["RemoteRepository"]

# On first use: importing eohub.client.credentials does not load the HTTP client.
__getattr__ = lazy_exports(__name__, {"RemoteRepository": "remote"})
