"""The shared secret notifications must carry, checked in constant time.

The FHIR server is told the header when the Subscription is created (``channel.header``);
a request without it, or with another value, is a 401 that says nothing of the secret.
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request
from pydantic import SecretStr

__all__ = ["TokenCheck"]


class TokenCheck:
    """A FastAPI dependency: ``header`` must hold ``token`` (no token configured: open)."""

    def __init__(self, header: str, token: SecretStr | None) -> None:
        self.header = header
        self._expected = token.get_secret_value().encode() if token is not None else None

    async def __call__(self, request: Request) -> None:
        """Refuse the request unless it carries the token.

        ``async`` although it never awaits: FastAPI runs a plain ``def`` dependency in a
        worker thread, and the hand-off cost more than the check on every notification.
        """
        if self._expected is None:
            return
        given = request.headers.get(self.header, "").encode()
        bare = given.removeprefix(b"Bearer ")
        if not (
            hmac.compare_digest(given, self._expected) or hmac.compare_digest(bare, self._expected)
        ):
            raise HTTPException(status_code=401, detail="missing or wrong notification token")
