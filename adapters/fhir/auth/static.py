"""Fixed credentials: a bearer token or a user name and password."""

from __future__ import annotations

from collections.abc import Generator

import httpx

__all__ = ["BasicAuth", "BearerAuth"]


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` on every request; the token never shown."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the header and send."""
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"


class BasicAuth(httpx.BasicAuth):
    """httpx's basic authentication with a repr that says so and shows no password."""

    def __init__(self, username: str, password: str) -> None:
        super().__init__(username, password)
        self._username = username

    def __repr__(self) -> str:
        return f"BasicAuth(username={self._username!r}, password=***)"
