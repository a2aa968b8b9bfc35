"""A size limit on every request body of the service, enforced as the bytes arrive.

An ASGI middleware in front of every route: a declared ``Content-Length`` above the limit
is answered 413 before a byte of the body is read; a body sent without one (chunked) is
read as it streams and refused as soon as it passes the limit, so an oversized upload
costs the service at most ``limit`` bytes of memory, whichever route it was sent to (a
route that reads no body gets a 413 too, rather than a body it never looks at). The body
is read before the route runs and handed to it unchanged. (The sandbox has its own, which
answers with an OperationOutcome: nothing of ``adapters`` may reach the sandbox.)
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimit"]


class BodyLimit:
    """Answer 413 to any request whose body is larger than ``limit`` bytes."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body up to the limit, then run the app on it (or answer 413)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"0")
        fits = declared.isdigit() and int(declared) <= self.limit
        message = await self._body(receive) if fits else None
        if message is None:
            await self._refuse(send)
            return
        if message["type"] != "http.request":
            return  # the client went away: nobody to answer
        first: Message | None = message

        async def replay() -> Message:
            nonlocal first
            if first is None:
                return await receive()  # after the body only a disconnect can come
            given, first = first, None
            return given

        await self.app(scope, replay, send)

    async def _body(self, receive: Receive) -> Message | None:
        """The whole body as one message, counted as it streams; None when over the limit."""
        message = await receive()
        chunks = [message.get("body", b"")]
        size = len(chunks[0])
        while message.get("more_body", False) and size <= self.limit:
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
        if size > self.limit:
            return None
        if len(chunks) == 1:
            return message
        return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    async def _refuse(self, send: Send) -> None:
        body = orjson.dumps({"detail": f"the request body is larger than {self.limit} bytes"})
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
