"""HEAD on every GET route, with the headers a GET gets and no body.

FastAPI routes answer only the methods they declare, so a HEAD would be a 405. :class:`HeadAsGet`
hands the app a GET (marked, see :func:`is_head`) and drops the body of the answer; the server, which
still sees a HEAD, sends no body either. A route that would read much for its body (a file download)
asks :func:`is_head` and skips the reading.
"""

from __future__ import annotations

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_MARK = "eohub.head"


def is_head(request: Request) -> bool:
    """Whether ``request`` is a HEAD answered as a GET (its body will be dropped)."""
    return bool(request.scope.get(_MARK))


class HeadAsGet:
    """The ASGI middleware of the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET", _MARK: True}, receive, headers_only)
