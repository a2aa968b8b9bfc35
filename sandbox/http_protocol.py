"""Uvicorn's httptools protocol, with each response's writes sent as one.

Uvicorn writes a response's head and its body separately; with ``TCP_NODELAY`` (which the
sandbox needs, see :mod:`sandbox.server`) each becomes its own TCP segment, its own
``send`` system call and its own wake-up of the client. On loopback those came to a fifth
of the sandbox's time for a small write, and the client, which shares the machine, paid
again. :class:`CoalescingTransport` gathers the writes made in one turn of the event loop
and sends them together at the end of the turn; nothing waits longer than that turn.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["CoalescingTransport", "SandboxHttpProtocol"]


class CoalescingTransport:
    """A transport whose writes within one loop turn leave as one ``write``."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        """Queue ``data``; the first write of a turn schedules the flush."""
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        """Send what is queued, as one write."""
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending = []
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        """Send what is queued, then close."""
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - the transport's own members
        return getattr(self._transport, name)


class SandboxHttpProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` over a :class:`CoalescingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Wrap the connection's transport before uvicorn sees it."""
        coalescing: Any = CoalescingTransport(transport, self.loop)
        super().connection_made(coalescing)
