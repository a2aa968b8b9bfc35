"""How a notification reaches its endpoint: one HTTP request, its status or a failure.

Notifications were a third of the sandbox's CPU in the end-to-end flow, most of it the
client: httpx's request and response models on top of aiohttp's transport. The default
:class:`AiohttpCourier` talks to aiohttp directly (a keep-alive pool, the body read so the
connection is reused). A caller that hands the notifier an ``httpx`` transport (tests
deliver to an app in process through ``httpx.ASGITransport``) gets :class:`HttpxCourier`.
"""

from __future__ import annotations

from typing import Protocol

import aiohttp
import httpx

__all__ = ["AiohttpCourier", "Courier", "DeliveryError", "HttpxCourier", "courier_for"]

TIMEOUT_SECONDS = 5.0


class DeliveryError(Exception):
    """The request got no HTTP answer (refused, reset, timed out); the message says which."""


class Courier(Protocol):
    """Sends one request and says the status it got."""

    async def send(self, method: str, url: str, content: bytes, headers: dict[str, str]) -> int:
        """The response's status; :class:`DeliveryError` when there is none."""
        ...  # pragma: no cover - a protocol

    async def aclose(self) -> None:
        """Close the connections."""
        ...  # pragma: no cover - a protocol


class AiohttpCourier:
    """aiohttp's client session, made on first use (it needs the running loop)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def send(self, method: str, url: str, content: bytes, headers: dict[str, str]) -> int:
        """Send; read the whole answer, so the connection goes back to the pool."""
        if self._closed:  # a late delivery must not open a session nobody will close
            raise DeliveryError("delivery failed: the notifier is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
            )
        try:
            async with self._session.request(
                method, url, data=content or None, headers=headers
            ) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeliveryError(f"delivery failed: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        """Close the session, if one was made; no session is made after this."""
        self._closed = True
        if self._session is not None:
            await self._session.close()


class HttpxCourier:
    """An ``httpx`` client over the transport it is given."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._client = httpx.AsyncClient(transport=transport, timeout=TIMEOUT_SECONDS)

    async def send(self, method: str, url: str, content: bytes, headers: dict[str, str]) -> int:
        """Send; the status."""
        try:
            response = await self._client.request(method, url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"delivery failed: {type(exc).__name__}") from exc
        return response.status_code

    async def aclose(self) -> None:
        """Close the client."""
        await self._client.aclose()


def courier_for(transport: httpx.AsyncBaseTransport | None) -> Courier:
    """The courier for ``transport``: aiohttp's own client when none is given."""
    return AiohttpCourier() if transport is None else HttpxCourier(transport)
