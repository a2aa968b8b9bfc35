"""Recording each HTTP exchange in short, safely, so a failed check can show what was said.

The recorder wraps the transport, below the auth flow, so it sees every request the
probe makes, token requests included. It keeps the method, the path, the names of the
query parameters (never their values, which may be patient identifiers or, on careless
servers, tokens), the status and the content type: never a header, never a body.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import parse_qsl

import httpx

from adapters.probe.model import Exchange

__all__ = ["RecordingTransport", "recording", "short_url"]

_current: ContextVar[list[Exchange] | None] = ContextVar("probe_exchanges", default=None)


@contextmanager
def recording() -> Iterator[list[Exchange]]:
    """Collect the exchanges made inside the block (tasks it starts included)."""
    found: list[Exchange] = []
    token = _current.set(found)
    try:
        yield found
    finally:
        _current.reset(token)


def short_url(url: httpx.URL) -> str:
    """The path with each query parameter's name and an ellipsis for its value."""
    names = [name for name, _ in parse_qsl(url.query.decode(), keep_blank_values=True)]
    query = "&".join(f"{name}=…" for name in names)
    return f"{url.path}?{query}" if query else url.path


def _no_answer(exc: httpx.TransportError) -> str:
    """Timed out, or refused: aiohttp reports a refused connection as a connect timeout."""
    cause = exc.__cause__
    if isinstance(cause, OSError) and not isinstance(cause, TimeoutError):
        return f"no answer ({type(cause).__name__})"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    return f"no answer ({type(exc).__name__})"


class RecordingTransport(httpx.AsyncBaseTransport):
    """A transport that records exchanges and leaves closing the inner one to its owner.

    The probe shares one inner transport between the FHIR client and a plain client for
    ``.well-known/smart-configuration`` (which is not a FHIR resource), so closing either
    client must not close the pool under the other: :meth:`close_inner` does that once.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request and note it down."""
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TransportError as exc:
            self._note(request, None, _no_answer(exc))
            raise
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        answer = f"HTTP {response.status_code} {content_type or '(no content type)'}"
        self._note(request, response.status_code, answer)
        return response

    @staticmethod
    def _note(request: httpx.Request, status: int | None, answer: str) -> None:
        found = _current.get()
        if found is not None:
            found.append(Exchange(request.method, short_url(request.url), status, answer))

    async def aclose(self) -> None:
        """Leave the inner transport open: see :meth:`close_inner`."""

    async def close_inner(self) -> None:
        """Close the inner transport, once every client using it is done."""
        await self._inner.aclose()
