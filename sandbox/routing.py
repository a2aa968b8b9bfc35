"""The FHIR routes' dispatcher: plain ASGI, in front of FastAPI's router.

FastAPI's routing and dependency solving cost ~0.2 ms a request, as much as a whole read
of a resource. The FHIR interactions need none of it (their only parameters are path
segments), so this layer matches ``method`` and path segments itself and calls the route
function with a Starlette :class:`~starlette.requests.Request`. It sits inside the auth and
fault middlewares, which still see every request; what it does not match (the SMART token
and discovery routes, unknown paths) goes on to FastAPI. A
:class:`~sandbox.problems.FhirRequestError` becomes an OperationOutcome here, with the same
:func:`outcome_response` the FastAPI handlers use, so either way errors look alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from fhir_coder.outcome import IssueCode
from sandbox.problems import FhirRequestError, problem
from sandbox.wire import FhirResponse

__all__ = ["Endpoint", "FhirRoutes", "Route", "method_not_allowed", "outcome_response"]

Endpoint = Callable[..., Awaitable[Response]]
"""A route function: ``request`` plus one keyword argument per ``{name}`` segment."""


@dataclass(frozen=True, slots=True)
class Route:
    """``method`` on ``path`` (relative to the FHIR base, ``{name}`` for a parameter)."""

    method: str
    path: str
    endpoint: Endpoint

    @property
    def segments(self) -> tuple[str, ...]:
        """The path's segments; ``()`` for the base itself."""
        stripped = self.path.strip("/")
        return tuple(stripped.split("/")) if stripped else ()


def outcome_response(error: FhirRequestError) -> FhirResponse:
    """The OperationOutcome answer to ``error``, with its status and headers."""
    return FhirResponse(error.outcome(), status_code=error.status, headers=error.headers)


def method_not_allowed(method: str, path: str) -> FhirRequestError:
    """The 405 for a path that exists but not for ``method``."""
    return problem(405, IssueCode.NOT_SUPPORTED, f"{method} is not supported on {path}")


def _match(pattern: tuple[str, ...], parts: list[str]) -> dict[str, str] | None:
    """The parameters of ``parts`` under ``pattern``; None when the literals differ."""
    params: dict[str, str] = {}
    for expected, actual in zip(pattern, parts, strict=True):
        if expected.startswith("{"):
            params[expected[1:-1]] = actual
        elif expected != actual:
            return None
    return params


class FhirRoutes:
    """Dispatch the FHIR routes under ``base``; pass everything else to ``app``."""

    def __init__(self, app: ASGIApp, *, base: str, routes: Sequence[Route]) -> None:
        self.app = app
        self.base = base
        # Literal routes first (``Subscription/{id}/$status`` before ``{type}/{id}/...``).
        ordered = sorted(routes, key=lambda r: sum(s.startswith("{") for s in r.segments))
        self._by_length: dict[int, list[tuple[tuple[str, ...], Route]]] = {}
        for route in ordered:
            self._by_length.setdefault(len(route.segments), []).append((route.segments, route))

    def _find(
        self, method: str, parts: list[str]
    ) -> tuple[Route, dict[str, str]] | list[str] | None:
        """The route and its parameters; else the methods the path allows; else None."""
        allowed: list[str] = []
        for pattern, route in self._by_length.get(len(parts), ()):
            params = _match(pattern, parts)
            if params is None:
                continue
            if route.method == method:
                return route, params
            allowed.append(route.method)
        return allowed or None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a FHIR route, or hand the request on."""
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(self.base):
            await self.app(scope, receive, send)
            return
        rest = path[len(self.base) :]
        if rest and not rest.startswith("/"):  # /fhirx is not under /fhir
            await self.app(scope, receive, send)
            return
        stripped = rest.strip("/")
        parts = stripped.split("/") if stripped else []
        if any(not part for part in parts):
            await self.app(scope, receive, send)
            return
        found = self._find(scope["method"], parts)
        if found is None:
            await self.app(scope, receive, send)
            return
        if isinstance(found, list):
            error = method_not_allowed(scope["method"], path)
            error.headers["Allow"] = ", ".join(sorted(set(found)))
            await outcome_response(error)(scope, receive, send)
            return
        route, params = found
        try:
            response = await route.endpoint(request=Request(scope, receive), **params)
        except FhirRequestError as exc:
            response = outcome_response(exc)
        await response(scope, receive, send)
