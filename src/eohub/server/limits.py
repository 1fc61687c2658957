"""Bounds on what a request sends, checked before any route or parser reads it.

:class:`BodyLimits` is a pure ASGI middleware in front of every route:

- A body longer than ``Limits.max_request_bytes`` (declared in ``Content-Length``, or counted as it
  streams in) is a 413 before the app sees a byte. A commit's manifest may reach
  ``Limits.max_manifest_bytes``, and only with a token the hub accepts: without one the commit is a
  401 before its body is read.
- A JSON body (no ``Content-Type``, ``application/json`` or ``application/*+json``: what FastAPI parses
  as JSON) nested deeper than ``Limits.max_json_depth`` is a 400 (``json.loads`` recurses once per level
  and fails with a ``RecursionError`` on deep input); one holding more than ``Limits.max_json_values``
  arrays, objects and values is a 413 (``[[],[],...]`` parses into ~28 times its size). Large bodies
  are measured on a worker thread, so the event loop keeps serving.
- The checked body is then replayed to the app. The bytes of an upload (``PATCH /api/uploads/{sha256}``)
  stream through untouched: ``Upload-Length`` bounds them.

:func:`whole_number` reads a number a caller sends (a version, a page, a byte offset) as bounded ASCII
digits: ``int()`` alone takes ``١`` and ``1_000``, and fails on ``²`` and on 5,000 digits.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import anyio
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eohub.config import Limits
from eohub.core.jsonbounds import json_depth, json_values

MAX_VERSION = 2**31 - 1
"""The largest version number (the database stores versions as 32-bit integers)."""

_UPLOAD = re.compile(r"^/api/uploads/[^/]*$")
_COMMIT = re.compile(r"^/api/(?:models|datasets)/[^/]+/versions/?$")
_OFF_LOOP_BYTES = 64 * 1024
"""Bodies larger than this are measured on a worker thread, so the event loop keeps serving."""


def whole_number(text: str, maximum: int) -> int | None:
    """``text`` as a whole number of ASCII digits from 0 to ``maximum``; ``None`` for anything else."""
    digits = text.lstrip("0") or ("0" if text else "")
    if not digits or not (digits.isascii() and digits.isdigit()) or len(digits) > len(str(maximum)):
        return None
    number = int(digits)
    return number if number <= maximum else None


def bound_message(name: str, value: int, what: str) -> str:
    """``what``, then the bound's name and the variable that sets it."""
    return f"{what} (at most {value:,}: {name}, set by EOHUB_{name.upper()})"


def _is_json(headers: Headers) -> bool:
    """Whether FastAPI would parse this body as JSON (it reads the first ``Content-Type``)."""
    content_type = headers.get("content-type")
    if content_type is None:
        return True
    media = content_type.split(";")[0].strip().lower()
    main, _, sub = media.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


class BodyLimits:
    """The ASGI middleware of the module docstring."""

    def __init__(
        self, app: ASGIApp, limits: Limits, token_valid: Callable[[str], bool] | None = None
    ) -> None:
        self.app = app
        self.limits = limits
        self.token_valid = token_valid

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        if (
            headers is None
            or ("content-length" not in headers and "transfer-encoding" not in headers)
            or (scope["method"] == "PATCH" and _UPLOAD.match(scope["path"]))
        ):
            await self.app(scope, receive, send)
            return
        commit = scope["method"] == "POST" and _COMMIT.match(scope["path"]) is not None
        if commit and not await self._signed_in(headers):  # before a byte of a large body is read
            detail = "a commit needs a valid API token (Authorization: Bearer <token>)"
            await JSONResponse({"detail": detail}, 401, {"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        bound = "max_manifest_bytes" if commit else "max_request_bytes"
        most = getattr(self.limits, bound)
        declared = headers.get("content-length")
        if declared is not None:
            if not (declared.strip().isascii() and declared.strip().isdigit()):
                await JSONResponse({"detail": "bad Content-Length header"}, 400)(scope, receive, send)
                return
            if whole_number(declared.strip(), most) is None:
                await self._too_large(scope, receive, send, bound)
                return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > most:
                await self._too_large(scope, receive, send, bound)
                return
            if not message.get("more_body", False):
                break
        raw = bytes(body)
        if _is_json(headers):
            problem = (
                await anyio.to_thread.run_sync(self._json_problem, raw)
                if len(raw) > _OFF_LOOP_BYTES
                else self._json_problem(raw)
            )
            if problem is not None:
                await JSONResponse({"detail": problem[1]}, status_code=problem[0])(scope, receive, send)
                return
        await self.app(scope, _replay(raw, receive), send)

    async def _signed_in(self, headers: Headers) -> bool:
        """Whether the request carries a token the hub accepts (checked on a worker thread)."""
        scheme, _, token = (headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        if self.token_valid is None:
            return True
        return await anyio.to_thread.run_sync(self.token_valid, token)

    def _json_problem(self, raw: bytes) -> tuple[int, str] | None:
        """The status and message for a JSON body over a bound of its shape, else ``None``."""
        if json_depth(raw) > self.limits.max_json_depth:
            what = "the JSON body nests arrays and objects too deep"
            return 400, bound_message("max_json_depth", self.limits.max_json_depth, what)
        if json_values(raw) > self.limits.max_json_values:
            what = "the JSON body holds too many arrays, objects and values"
            return 413, bound_message("max_json_values", self.limits.max_json_values, what)
        return None

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, bound: str) -> None:
        detail = bound_message(bound, getattr(self.limits, bound), "the request body is too large")
        response = JSONResponse({"detail": detail}, status_code=413, headers={"Connection": "close"})
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` that gives ``body`` once, then whatever the server says next (a disconnect)."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
