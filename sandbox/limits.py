"""The request body limit, enforced in front of every route while the body streams in.

A declared ``Content-Length`` above the limit is a 413 before any of the body is read; a
body without one (chunked) is counted as it arrives and refused the moment it passes the
limit. So a 64 MiB upload costs the server at most the limit in memory, on any route:
the FHIR interactions, the SMART token endpoint, Bulk Data and the payer's routes alike,
and also those that read no body (which answer 413 rather than ignore one). Within the
limit the body is read here and handed to the route unchanged. The 413 is an
OperationOutcome, like every other error of the sandbox.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.problems import too_large
from sandbox.routing import outcome_response

__all__ = ["BodyLimit"]


class BodyLimit:
    """Answer 413 to any request whose body is larger than ``limit`` bytes."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body up to the limit and pass it on, or answer 413."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"0")
        message = (
            await self._body(receive)
            if declared.isdigit() and int(declared) <= self.limit
            else None
        )
        if message is None:
            await outcome_response(too_large(self.limit))(scope, receive, send)
            return
        if message["type"] != "http.request":
            return  # the client went away
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
