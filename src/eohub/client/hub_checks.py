"""What a hub answers about where bytes go, checked before the client acts on it.

A hub is never trusted: an upload plan names the blob asked for, offsets and spans inside the file,
storage headers that cannot redirect, authenticate or reshape a request, and URLs that are absolute
http(s) URLs of printable ASCII with a host and port valid as httpx will encode them. Anything else is
an :class:`~eohub.errors.IntegrityError` with one line saying what was wrong.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

import httpx
import idna

from eohub.errors import IntegrityError
from eohub.repository.manifest import FileEntry


def storage_header(name: object, value: object) -> bool:
    """Whether a hub may have the client send this header to storage: S3's own (checksum, metadata) and
    ``If-None-Match: *`` (create only), nothing that could redirect, authenticate or reshape the request."""
    if not isinstance(name, str) or not isinstance(value, str):
        return False
    return name.lower().startswith("x-amz-") or (name.lower() == "if-none-match" and value == "*")


def checked_plan(data: Any, entry: FileEntry, hub: str) -> dict[str, Any]:
    """An upload plan as a hub sends it, checked: the blob asked for, whole-number offsets, targets that
    are http(s) URLs with spans inside the file."""
    try:
        if not isinstance(data, dict) or data.get("sha256") != entry.sha256:
            raise ValueError("another blob")
        offset = data.get("offset", 0)
        if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= entry.size:
            raise ValueError("offset")
        method = data.get("method", "patch")
        if method not in ("patch", "direct", "batch"):
            raise ValueError(f"method {str(method)[:20]!r}")
        targets = []
        for t in data.get("targets") or []:
            start, length, part = t["offset"], t["length"], t.get("part")
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (start, length)):
                raise ValueError("target span")
            if start + length > entry.size or not (part is None or (isinstance(part, int) and part > 0)):
                raise ValueError("target span")
            headers = t.get("headers") or {}
            if not isinstance(headers, dict) or not all(storage_header(k, v) for k, v in headers.items()):
                raise ValueError("target headers")
            targets.append(
                {
                    "url": storage_url(str(t["url"]), hub),
                    "headers": headers,
                    "offset": start,
                    "length": length,
                    "part": part,
                }
            )
        if len(targets) > 10_000:
            raise ValueError("too many targets")
    except (KeyError, TypeError, ValueError, AttributeError, IntegrityError) as exc:
        raise IntegrityError(f"the hub at {hub} sent a malformed upload plan ({short(exc)})") from None
    return {
        "offset": offset,
        "complete": data.get("complete") is True,
        "method": method,
        "targets": targets,
        "more": data.get("more") is True,
    }


def storage_url(location: str, hub: str) -> str:
    """A redirect's target, which must be an absolute http(s) URL of printable ASCII with a valid host and
    port (it is fetched without credentials)."""
    refused = IntegrityError(f"the hub at {hub} sent a storage URL that is not one: {location[:200]!r}")
    if len(location) > 8192 or not location.isascii() or not location.isprintable() or " " in location:
        raise refused
    try:
        parts = urlsplit(location)
        port = parts.port
        host = parts.hostname
        if host and not _ip_literal(host):
            idna.encode(host)  # as httpx will, when it connects
        httpx.URL(location)
    except (ValueError, UnicodeError, httpx.InvalidURL):
        raise refused from None
    if parts.scheme not in ("http", "https") or not host or (port is not None and not 0 < port < 65536):
        raise refused
    return location


def _ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
