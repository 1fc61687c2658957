"""One HTTP session with a hub: the token, retries with backoff, and hub errors as eohub exceptions.

Retries are for a hub that answered and then broke off: a connection reset or refused while it restarts,
a timeout, a 502/503/504 from it or its proxy. They are retried with exponential backoff; after the last
attempt they become a :class:`~eohub.errors.TransferError` that says to run the command again (transfers
resume). Before the hub has answered anything, a refused connection or a name that does not resolve is
"no hub answers at URL" at once: nothing was started that a retry could finish. Every other answer the hub
gives is mapped to the exception the embedded repository would raise, so callers cannot tell the two apart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx

from eohub import __version__, errors
from eohub.core.jsonbounds import loads_bounded

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_STATUS = frozenset({502, 503, 504})
MAX_ANSWER_BYTES = 256 * 1024 * 1024
"""The largest JSON answer read from a hub (twice the largest manifest a hub accepts by default)."""
MAX_ANSWER_VALUES = 8_000_000
"""Arrays, objects and values of one answer: what parsing it allocates (~1 GB at most), whatever its size."""
MAX_DETAIL = 2000
"""The most of a hub's error message shown (one line for a person, not a flood)."""
MAX_ANSWER_DEPTH = 96
"""Deepest JSON answer: a manifest wraps STAC documents, which a hub accepts up to 64 levels deep."""
_ERRORS: dict[int, type[errors.EohubError]] = {
    400: errors.UsageError,
    401: errors.AuthenticationError,
    413: errors.LimitError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    409: errors.AlreadyExistsError,
    416: errors.UsageError,
}
_NO_HUB = (httpx.ConnectError, httpx.ConnectTimeout)
"""Failures to open a connection: no hub at the URL, unless one answered this session before."""


class _Retryable(Exception):
    """A hub answer worth retrying (it was overloaded or restarting)."""


def hub_error(response: httpx.Response) -> errors.EohubError:
    """The eohub exception for a hub's 4xx/5xx answer, with the hub's ``detail`` as the message."""
    try:
        body = parse_answer(response.content, "", "")
    except errors.EohubError:
        body = {}
    detail = body.get("detail") if isinstance(body, dict) else None
    message = str(detail)[:MAX_DETAIL] if detail else f"the hub answered {response.status_code}"
    arguments = _arguments(body.get("arguments") if isinstance(body, dict) else None, message)
    if response.status_code == 422:
        problems = body.get("problems") if isinstance(body, dict) else None
        if problems is not None:
            return errors.InvalidStacError(message, [str(p) for p in problems], arguments)
        return errors.IntegrityError(message, arguments=arguments)
    if response.status_code >= 500:
        return errors.TransferError(f"the hub failed ({response.status_code}): {message}")
    return _ERRORS.get(response.status_code, errors.UsageError)(message, arguments=arguments)


def _arguments(listed: object, message: str) -> list[errors.Argument]:
    """The Python arguments a hub's message names (``[{"name", "value"}]``), kept only where the message
    spells them, each a short name with a flag, a text or a list of texts as its value."""
    found: list[errors.Argument] = []
    for entry in listed[:4] if isinstance(listed, list) else []:
        name = entry.get("name") if isinstance(entry, dict) else None
        value = entry.get("value", True) if isinstance(entry, dict) else None
        if not (isinstance(name, str) and name.isidentifier() and len(name) <= 40):
            continue
        if isinstance(value, list) and all(isinstance(v, str) for v in value[:16]):
            value = value[:16]
        elif value is None:
            value = ...
        elif not isinstance(value, bool | str):
            continue
        argument = errors.Argument(name, value)
        if str(argument) in message:
            found.append(argument)
    return found


class HubSession:
    """An ``httpx.Client`` bound to one hub URL and token, with retries (see the module docstring)."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        attempts: int = 6,
        backoff: float = 0.5,
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.answered = False
        """Whether the hub has answered a request of this session (then a refused connection is a restart)."""
        headers = {"User-Agent": f"eohub/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
            transport=transport,
            event_hooks={"response": [self._answer]},
        )

    def _answer(self, response: httpx.Response) -> None:
        self.answered = True

    def close(self) -> None:
        self.http.close()

    def retrying(self, what: str, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` until it succeeds, retrying transient failures with exponential backoff; fail at
        once when no hub answers at the URL (see the module docstring)."""
        for number in range(1, self.attempts + 1):
            try:
                return attempt()
            except (httpx.TransportError, _Retryable) as exc:
                if isinstance(exc, _NO_HUB) and not self.answered:
                    raise errors.TransferError(
                        f"no hub answers at {self.url} ({_describe(exc)}); is it running, and is EOHUB_URL "
                        "right?"
                    ) from None
                if number == self.attempts:
                    raise errors.TransferError(
                        f"{what}: the hub at {self.url} cannot be reached ({_describe(exc)}); "
                        "run the command again to resume"
                    ) from None
                delay = self.backoff * 2 ** (number - 1)
                log.info("%s: %s; retrying in %.1f s", what, _describe(exc), delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, retried when transient; a 4xx/5xx answer raises the matching eohub error."""

        def attempt() -> httpx.Response:
            with self.http.stream(method, path, **kwargs) as response:
                if response.status_code in RETRY_STATUS:
                    raise _Retryable(f"{response.status_code} {response.reason_phrase}")
                return read_bounded(response, self.url)

        response = self.retrying(f"{method} {path}", attempt)
        if response.status_code >= 400:
            raise hub_error(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer of a request; a malformed, oversized or too deeply nested one is an
        :class:`~eohub.errors.IntegrityError` (a hub is never trusted)."""
        response = self.request(method, path, **kwargs)
        return parse_answer(response.content, f"{method} {path}", self.url)

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """A streamed response (not retried here: the caller knows where to resume)."""
        with self.http.stream(method, path, **kwargs) as response:
            if response.status_code in RETRY_STATUS:
                raise _Retryable(f"{response.status_code} {response.reason_phrase}")
            if response.status_code >= 400:
                raise hub_error(read_bounded(response, self.url))
            yield response


def read_bounded(
    response: httpx.Response, hub: str, most: int = MAX_ANSWER_BYTES, raw: bool = False
) -> httpx.Response:
    """``response`` read whole, refusing more than ``most`` bytes (a hostile hub could send an endless
    body); with ``raw``, the bytes as sent, without content decoding (a small compressed answer cannot
    inflate past the bound while it is decoded; the caller refuses an encoding it did not ask for). A hub
    behind a proxy that compresses its answers is read decoded."""
    declared = response.headers.get("content-length", "")
    too_long = errors.IntegrityError(f"the hub at {hub} sent an answer of more than {most} bytes")
    if declared.isascii() and declared.isdigit() and (len(declared) > 20 or int(declared) > most):
        raise too_long
    parts: list[bytes] = []
    size = 0
    for chunk in response.iter_raw() if raw else response.iter_bytes():
        size += len(chunk)
        if size > most:
            raise too_long
        parts.append(chunk)
    return answer_of(response.status_code, response.headers.multi_items(), b"".join(parts), response.request)


def answer_of(
    status: int, headers: list[tuple[str, str]], content: bytes, request: httpx.Request | None = None
) -> httpx.Response:
    """An :class:`httpx.Response` holding ``content`` as it is: httpx decodes the body of a response it
    builds by its ``Content-Encoding``, so that header is left out (the bytes given are already decoded,
    or were refused if they were not)."""
    kept = [(k, v) for k, v in headers if k.lower() != "content-encoding"]
    return httpx.Response(status, headers=kept, content=content, request=request)


def parse_answer(content: bytes, what: str, hub: str) -> Any:
    """A hub's JSON answer, bounded in nesting (see :mod:`eohub.core.jsonbounds`)."""
    try:
        return loads_bounded(content, MAX_ANSWER_BYTES, MAX_ANSWER_DEPTH, "the answer", MAX_ANSWER_VALUES)
    except errors.EohubError as exc:
        raise errors.IntegrityError(f"{what}: the hub at {hub} sent a malformed answer ({exc})") from None


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
