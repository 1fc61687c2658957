"""What an href names: a local file, or a link kept as written. One rule for ingest, quality, the web
pages and the STAC API.

- **Local** (a file to read and store): a path (``model.onnx``, ``v1/model.onnx``, ``../v1/model.onnx``,
  ``/data/model.onnx``) or a ``file:`` URL. A path starting with ``./``, ``../`` or ``/`` is always local.
- **URL** (a link): any other scheme (``http(s)://``, ``s3://``, ``gs://``, ``az://``, ``urn:``...) and
  ``//host/...``.
- **Image** (a link): an OCI/Docker image reference, ``docker://...`` or ``oci://...``, or without a
  scheme ``REGISTRY/PATH:TAG``, ``REGISTRY/PATH@sha256:HEX`` (or both), where REGISTRY is a host name with
  a dot (``ghcr.io``, ``docker.io``), a host with a port (``registry:5000``) or ``localhost``, and PATH is
  one or more components of letters, digits and ``.``, ``_``, ``-`` separators.

What the rule decides for the ambiguous cases: ``models/weights.onnx`` and ``v1/model.onnx`` are local
(``models`` and ``v1`` are no registry host); ``ghcr.io/org/name`` is local (no tag or digest: a folder
named ``ghcr.io``); ``pytorch/pytorch:2.1`` is local (no registry host; write
``docker.io/pytorch/pytorch:2.1`` or ``docker://pytorch/pytorch:2.1``); ``data.d/model:v2`` is an image
(write ``./data.d/model:v2`` for the file); ``localhost:5000/team/net:dev`` is an image; ``weights:v2.pt``
is a URL (a first segment with a colon reads as a scheme, as RFC 3986 says: write ``./weights:v2.pt``).
"""

from __future__ import annotations

import re
from enum import StrEnum
from urllib.parse import unquote, urlsplit

from eohub.errors import UsageError

SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
"""The scheme that starts a URL (``file:`` included)."""

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_REGISTRY = rf"(?:{_LABEL}(?:\.{_LABEL})+(?::[0-9]{{1,5}})?|{_LABEL}:[0-9]{{1,5}}|localhost)"
_COMPONENT = r"[A-Za-z0-9]+(?:(?:[._]|__|-+)[A-Za-z0-9]+)*"
_TAG = r":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_REFERENCE = re.compile(
    rf"^(?:docker|oci)://\S+$|^{_REGISTRY}(?:/{_COMPONENT})+(?:{_TAG}{_DIGEST}|{_TAG}|{_DIGEST})$"
)
_IMAGE_WITHOUT_TAG = re.compile(rf"^{_REGISTRY}(?:/{_COMPONENT})+$")
WEB_SCHEMES = ("http://", "https://")


class HrefKind(StrEnum):
    """What an href names (see the module docstring)."""

    LOCAL = "local"
    URL = "url"
    IMAGE = "image"


def href_kind(href: str) -> HrefKind:
    """Local path, URL or image reference, by the rule of the module docstring."""
    if href.startswith(("./", "../", "/")) and not href.startswith("//"):
        return HrefKind.LOCAL
    if IMAGE_REFERENCE.match(href):
        return HrefKind.IMAGE
    if href.startswith("//"):
        return HrefKind.URL
    match = SCHEME.match(href)
    if match is not None and match.group(0).lower() != "file:":
        return HrefKind.URL
    return HrefKind.LOCAL


def is_link(href: str) -> bool:
    """True for URLs and image references (kept as written, never read); ``False`` for local files."""
    return href_kind(href) is not HrefKind.LOCAL


def is_web_url(href: str) -> bool:
    """An ``http(s)://`` URL, which a browser can open."""
    return href.lower().startswith(WEB_SCHEMES)


def missing_hint(href: str) -> str:
    """A hint for a local href naming no file that reads like an image reference without its tag."""
    if _IMAGE_WITHOUT_TAG.match(href) and "." not in href.rsplit("/", 1)[-1]:
        return (
            f"; if it is a container image, give its tag or digest ({href}:latest) or write docker://{href}"
        )
    return ""


def local_path(href: str, what: str = "") -> str:
    """The path a local href names: the href itself, or the path of a ``file:`` URL, decoded.

    A ``file:`` URL must be ``file:///abs``, ``file:/abs`` or ``file://localhost/abs``: another host, a
    query, a fragment or a relative path is a :class:`UsageError` (``what`` starts its message), and
    so is a NUL character anywhere."""
    what = what or repr(href[:200])
    path = href
    if SCHEME.match(href):
        try:
            parts = urlsplit(href)
        except ValueError as exc:
            raise UsageError(f"{what} is not a valid file: URL ({exc})") from None
        if parts.netloc.lower() not in ("", "localhost"):
            raise UsageError(
                f"{what} names a file on another host ({parts.netloc!r}); ingest reads local files"
            )
        if parts.query or parts.fragment or "?" in href or "#" in href:
            raise UsageError(f"{what}: a file: URL with a query or fragment does not name a file")
        path = unquote(parts.path, errors="surrogateescape")
        if not path.startswith("/"):
            raise UsageError(f"{what}: a file: URL must hold an absolute path (file:///...)")
    if "\x00" in path:
        raise UsageError(f"{what} holds a NUL character")
    return path
