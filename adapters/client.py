"""An async FHIR R4 client over one httpx connection pool.

The transport is injectable, as httpx's own ``AsyncClient`` takes it: production uses
aiohttp's (about 6x less client CPU per request than httpx's default, see
``docs/benchmarks.md``), tests pass ``httpx.ASGITransport`` or a respx router. Every
failure becomes a typed :class:`fhir_coder.errors.FhirError` that keeps the server's
OperationOutcome; URLs in errors never carry their query strings, which may hold
identifiers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Self
from urllib.parse import urljoin

import httpx
import orjson

from fhir_coder.errors import (
    FhirError,
    FhirNotFoundError,
    FhirResponseError,
    FhirTransportError,
    NotFhirError,
)
from fhir_coder.outcome import outcome_text

__all__ = ["DEFAULT_TIMEOUT", "FHIR_JSON", "FhirClient", "RoundTrips", "count_round_trips"]

FHIR_JSON = "application/fhir+json"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
"""Generous for a slow EHR, short enough that a dead one is noticed."""

_MAX_PAGES = 10_000  # a guard against servers whose next links go round in circles


class RoundTrips:
    """A tally of HTTP requests made within one :func:`count_round_trips` block."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


_round_trips: ContextVar[RoundTrips | None] = ContextVar("fhir_round_trips", default=None)


@contextmanager
def count_round_trips() -> Iterator[RoundTrips]:
    """Count the requests made inside the block, including by tasks it starts.

    A context variable, not a counter on the client, so that encounters gathered
    concurrently over one client are each charged only their own requests.
    """
    tally = RoundTrips()
    token = _round_trips.set(tally)
    try:
        yield tally
    finally:
        _round_trips.reset(token)


def _default_transport() -> httpx.AsyncBaseTransport:
    from httpx_aiohttp import AiohttpTransport  # noqa: PLC0415 - aiohttp loads only when used

    return AiohttpTransport()


def _redact(url: httpx.URL | str) -> str:
    """``url`` without its query string, which may carry patient identifiers."""
    return str(httpx.URL(str(url)).copy_with(query=None))


class FhirClient:
    """A FHIR R4 client for one server base URL.

    Use it as an async context manager so its connection pool is closed::

        async with FhirClient("https://ehr.example/fhir") as fhir:
            encounter = await fhir.read("Encounter", "123")

    ``round_trips`` counts the HTTP requests made, so callers can report the cost of
    gathering an encounter.
    """

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._base = httpx.URL(self.base_url + "/")
        self.round_trips = 0
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/",
            transport=transport if transport is not None else _default_transport(),
            timeout=timeout,
            headers={"Accept": FHIR_JSON, **(headers or {})},
            follow_redirects=False,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def __repr__(self) -> str:
        return f"FhirClient({self.base_url!r})"

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[httpx.Response, dict[str, Any] | None]:
        """Send one request and return the response with its parsed FHIR body.

        Raises :class:`FhirTransportError` when no answer came, :class:`NotFhirError` when
        the answer is not FHIR JSON, and :class:`FhirResponseError` (or
        :class:`FhirNotFoundError`) for error statuses.
        """
        content = orjson.dumps(json_body) if json_body is not None else None
        send_headers = dict(headers or {})
        if content is not None:
            send_headers["Content-Type"] = FHIR_JSON
        self.round_trips += 1
        tally = _round_trips.get()
        if tally is not None:
            tally.count += 1
        try:
            response = await self._http.request(
                method, url, params=params, content=content, headers=send_headers
            )
        except httpx.TransportError as exc:
            raise _transport_failure(exc, _redact(self._http.base_url.join(url))) from exc
        body = _parse_body(response)
        if response.status_code >= 400:
            raise _error_for(response, body)
        return response, body

    async def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        """``GET [base]/{type}/{id}``."""
        _, body = await self.request("GET", f"{resource_type}/{resource_id}")
        return _expect(body, resource_type, f"{self.base_url}/{resource_type}/{resource_id}")

    async def metadata(self) -> dict[str, Any]:
        """The server's CapabilityStatement."""
        _, body = await self.request("GET", "metadata")
        return _expect(body, "CapabilityStatement", f"{self.base_url}/metadata")

    async def update(
        self, resource: dict[str, Any], *, if_match: str | None = None
    ) -> tuple[int, dict[str, Any] | None]:
        """``PUT [base]/{type}/{id}``: returns the status (200 updated, 201 created) and body."""
        headers = {"If-Match": if_match} if if_match else None
        path = f"{resource['resourceType']}/{resource['id']}"
        response, body = await self.request("PUT", path, json_body=resource, headers=headers)
        return response.status_code, body

    async def search(
        self, resource_type: str, params: Mapping[str, str] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every matching resource, page after page, following ``next`` links as given.

        A next link is resolved against the base URL when relative and refused when it
        points at another origin (a proxy that rewrites links wrongly, or worse). Entries
        whose ``search.mode`` is ``outcome`` are the server's remarks, not data: skipped.
        """
        url: str | None = resource_type
        query: Mapping[str, str] | None = params
        for _ in range(_MAX_PAGES):
            if url is None:
                return
            _, body = await self.request("GET", url, params=query)
            bundle = _expect(body, "Bundle", f"{self.base_url}/{resource_type}")
            for entry in bundle.get("entry") or []:
                resource = entry.get("resource")
                if not isinstance(resource, dict):
                    continue
                if (entry.get("search") or {}).get("mode") == "outcome":
                    continue
                if resource.get("resourceType") == resource_type:
                    yield resource
            url, query = self._next_link(bundle), None
        raise FhirError(
            f"more than {_MAX_PAGES} pages from {self.base_url}/{resource_type}: "
            "the server's next links look circular",
            url=f"{self.base_url}/{resource_type}",
        )

    async def search_all(
        self, resource_type: str, params: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """Every matching resource as a list."""
        return [resource async for resource in self.search(resource_type, params)]

    async def count(self, resource_type: str, params: Mapping[str, str] | None = None) -> int:
        """How many resources match, with ``_summary=count`` (one round trip)."""
        query = {**(params or {}), "_summary": "count"}
        _, body = await self.request("GET", resource_type, params=query)
        bundle = _expect(body, "Bundle", f"{self.base_url}/{resource_type}")
        total = bundle.get("total")
        if not isinstance(total, int):
            raise NotFhirError(
                f"{self.base_url}/{resource_type}?_summary=count gave no total",
                url=f"{self.base_url}/{resource_type}",
            )
        return total

    def _next_link(self, bundle: dict[str, Any]) -> str | None:
        for link in bundle.get("link") or []:
            if link.get("relation") == "next" and link.get("url"):
                target = httpx.URL(urljoin(str(self._base), str(link["url"])))
                if (target.scheme, target.host, target.port) != (
                    self._base.scheme,
                    self._base.host,
                    self._base.port,
                ):
                    raise FhirError(
                        f"refusing a next link to another origin ({target.scheme}://"
                        f"{target.host}) from {self.base_url}",
                        url=self.base_url,
                    )
                return str(target)
        return None


def _transport_failure(exc: httpx.TransportError, where: str) -> FhirTransportError:
    """A FhirTransportError that says whether the server was slow or not there at all.

    httpx-aiohttp reports a refused connection as ``ConnectTimeout``; the cause, an
    ``OSError`` that is not a ``TimeoutError``, tells the two apart.
    """
    cause = exc.__cause__
    refused = isinstance(cause, OSError) and not isinstance(cause, TimeoutError)
    if isinstance(exc, httpx.TimeoutException) and not refused:
        return FhirTransportError(f"timed out talking to {where}", url=where)
    reason = type(cause if refused and cause is not None else exc).__name__
    return FhirTransportError(f"cannot reach {where} ({reason})", url=where)


def _parse_body(response: httpx.Response) -> dict[str, Any] | None:
    """The response's JSON object, None for an empty body; NotFhirError for anything else."""
    if not response.content:
        return None
    where = _redact(response.request.url)
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and "json" not in content_type:
        raise NotFhirError(
            f"{where} answered HTTP {response.status_code} with {content_type}, not FHIR JSON",
            url=where,
        )
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise NotFhirError(
            f"{where} answered HTTP {response.status_code} with a body that is not JSON",
            url=where,
        ) from exc
    if not isinstance(body, dict) or "resourceType" not in body:
        raise NotFhirError(
            f"{where} answered HTTP {response.status_code} with JSON that is not a FHIR resource",
            url=where,
        )
    return body


def _error_for(response: httpx.Response, body: dict[str, Any] | None) -> FhirResponseError:
    where = _redact(response.request.url)
    outcome = body if body and body.get("resourceType") == "OperationOutcome" else None
    said = outcome_text(outcome)
    message = f"{response.request.method} {where} failed with HTTP {response.status_code}"
    if said:
        message = f"{message}: {said}"
    kind = FhirNotFoundError if response.status_code in (404, 410) else FhirResponseError
    return kind(message, url=where, status_code=response.status_code, outcome=outcome)


def _expect(body: dict[str, Any] | None, resource_type: str, url: str) -> dict[str, Any]:
    if body is None or body.get("resourceType") != resource_type:
        got = "an empty body" if body is None else body.get("resourceType")
        raise NotFhirError(
            f"{_redact(url)} gave {got} where a {resource_type} was expected", url=url
        )
    return body
