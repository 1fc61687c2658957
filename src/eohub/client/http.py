"""One HTTP session with a hub: the token, retries with backoff, and hub errors as eohub exceptions.

Transient failures (connection refused or reset, timeouts, 502/503/504) are retried with exponential
backoff; after the last attempt they become a :class:`~eohub.errors.TransferError` that says to run the
command again (transfers resume). Every other answer the hub gives is mapped to the exception the
embedded repository would raise, so callers cannot tell the two apart.
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
    if response.status_code == 422:
        problems = body.get("problems") if isinstance(body, dict) else None
        if problems is not None:
            return errors.InvalidStacError(message, [str(p) for p in problems])
        return errors.IntegrityError(message)
    if response.status_code >= 500:
        return errors.TransferError(f"the hub failed ({response.status_code}): {message}")
    return _ERRORS.get(response.status_code, errors.UsageError)(message)


class HubSession:
    """An ``httpx.Client`` bound to one hub URL and token, with retries (see the module docstring)."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        attempts: int = 6,
        backoff: float = 0.5,
        timeout: float = 120.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.attempts = max(1, attempts)
        self.backoff = backoff
        headers = {"User-Agent": f"eohub/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
        )

    def close(self) -> None:
        self.http.close()

    def retrying(self, what: str, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` until it succeeds, retrying transient failures with exponential backoff."""
        for number in range(1, self.attempts + 1):
            try:
                return attempt()
            except (httpx.TransportError, _Retryable) as exc:
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


def read_bounded(response: httpx.Response, hub: str) -> httpx.Response:
    """``response`` read whole, refusing more than :data:`MAX_ANSWER_BYTES` (a hostile hub could send
    an endless body)."""
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise errors.IntegrityError(f"the hub at {hub} sent an answer larger than {MAX_ANSWER_BYTES} bytes")
    parts: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise errors.IntegrityError(
                f"the hub at {hub} sent an answer larger than {MAX_ANSWER_BYTES} bytes"
            )
        parts.append(chunk)
    return httpx.Response(
        response.status_code, headers=response.headers, content=b"".join(parts), request=response.request
    )


def parse_answer(content: bytes, what: str, hub: str) -> Any:
    """A hub's JSON answer, bounded in nesting (see :mod:`eohub.core.jsonbounds`)."""
    try:
        return loads_bounded(content, MAX_ANSWER_BYTES, MAX_ANSWER_DEPTH, "the answer", MAX_ANSWER_VALUES)
    except errors.EohubError as exc:
        raise errors.IntegrityError(f"{what}: the hub at {hub} sent a malformed answer ({exc})") from None


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
