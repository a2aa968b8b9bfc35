"""The HTTP side of :mod:`sandbox.auth`: the bearer check, the token and discovery routes.

The bearer check is a plain ASGI middleware (401s never reach the routes); the scope check
(403) is :func:`authorize`, which each route calls with the resource type and interaction it
serves, since only the route knows them. Without an auth configuration neither exists and
:func:`authorize` allows everything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from fhir_coder.outcome import Issue, IssueCode, Severity
from sandbox.auth import ALGORITHMS, Scopes, TokenError, TokenService
from sandbox.problems import FhirRequestError, problem
from sandbox.wire import FhirResponse

__all__ = ["AuthMiddleware", "authorize", "may_read", "smart_configuration", "token_endpoint"]

_STATE_KEY = "fhir_scopes"
_PUBLIC_SUFFIXES = ("/metadata", "/.well-known/smart-configuration", "/auth/token")
_MAX_FORM_BYTES = 64 * 1024


class AuthMiddleware:
    """Refuse (401) any request to a non-public route without a valid bearer token."""

    def __init__(self, app: ASGIApp, service: TokenService, base: str) -> None:
        self.app = app
        self.service = service
        self.public = {base + suffix for suffix in _PUBLIC_SUFFIXES}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the token, remember its scopes for :func:`authorize`, or answer 401."""
        if scope["type"] != "http" or scope["path"].rstrip("/") in self.public:
            await self.app(scope, receive, send)
            return
        header = ""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                header = value.decode("latin-1")
        kind, _, token = header.partition(" ")
        scopes = self.service.scopes_for(token.strip()) if kind.lower() == "bearer" else None
        if scopes is None:
            error = FhirRequestError(
                401,
                Issue(
                    severity=Severity.ERROR,
                    code=IssueCode.LOGIN,
                    message="A valid bearer token is required (Authorization: Bearer <token>)",
                ),
                headers={"WWW-Authenticate": 'Bearer realm="fhir-coder sandbox"'},
            )
            response = FhirResponse(error.outcome(), status_code=401, headers=error.headers)
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[_STATE_KEY] = scopes
        await self.app(scope, receive, send)


def authorize(request: Request, resource_type: str, letter: str) -> None:
    """Refuse (403) when the request's token does not allow ``letter`` on ``resource_type``.

    ``letter`` is SMART's c (create), r (read), u (update), d (delete) or s (search).
    """
    scopes: Scopes | None = request.scope.get("state", {}).get(_STATE_KEY)
    if scopes is None or scopes.allows(resource_type, letter):
        return
    names = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}
    raise problem(
        403,
        IssueCode.FORBIDDEN,
        f"The token's scopes do not allow {names.get(letter, letter)} on {resource_type}",
    )


def may_read(request: Request) -> Callable[[str], bool]:
    """Whether the request's token may read a resource type: for what a route adds unasked.

    A search's ``_include``/``_revinclude`` and ``$events``' focus resources are reads of
    other types; those the token may not read are left out rather than leaked.
    """
    scopes: Scopes | None = request.scope.get("state", {}).get(_STATE_KEY)
    if scopes is None:
        return _anything
    return lambda resource_type: scopes.allows(resource_type, "r")


def _anything(_: str) -> bool:
    return True


def smart_configuration(token_url: str, service: TokenService) -> dict[str, Any]:
    """The SMART discovery document of this server; ``token_url`` as configured."""
    return {
        "token_endpoint": token_url,
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(ALGORITHMS),
        "scopes_supported": service.config.scopes_supported(),
        "capabilities": ["client-confidential-asymmetric"],
    }


async def token_endpoint(request: Request, token_url: str, service: TokenService) -> Response:
    """``POST {base}/auth/token``: a client_credentials grant, or an OAuth error.

    The assertions' ``aud`` must be ``token_url``, the URL the server is configured to be
    reached at, never one made from the request's Host header: a client could choose that
    header, and so replay here an assertion made for another server.
    """
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    body = await request.body()
    answer: dict[str, Any]
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        form = None
    if form is None or len(body) > _MAX_FORM_BYTES:
        answer = {"error": "invalid_request", "error_description": "not a small UTF-8 form"}
        status = 400
    else:
        try:
            answer = service.issue(form, token_url=token_url)
            status = 200
        except TokenError as exc:
            answer, status = exc.body(), exc.status
    return Response(
        orjson.dumps(answer), status_code=status, headers=headers, media_type="application/json"
    )
