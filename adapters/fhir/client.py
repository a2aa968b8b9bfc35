"""An async FHIR R4 client over one httpx transport (one connection pool).

The transport is injectable, as httpx's own ``AsyncClient`` takes it: production uses
aiohttp's (about 6x less client CPU per request than httpx's default, see
``docs/benchmarks.md``), tests pass ``httpx.ASGITransport`` or a respx router. Requests go
straight to the transport, not through ``httpx.AsyncClient``: a FHIR client needs none of
its cookie jar, redirects, event hooks or per-request URL merging, and they more than
doubled the client's CPU per request (475 against 205 us for a read over aiohttp). Its
INFO log line, which carried query strings and so patient identifiers, goes with them.
Throttling and dropped connections are retried (:mod:`adapters.fhir.retry`); authentication is an
``httpx.Auth`` flow (:mod:`adapters.fhir.auth`). Every failure becomes a typed
:class:`fhir_coder.errors.FhirError` that keeps the server's OperationOutcome; URLs in
errors never carry their query strings, which may hold identifiers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Self
from urllib.parse import urljoin

import httpx
import orjson

from adapters.fhir.capabilities import ServerCapabilities, read_capabilities
from adapters.fhir.retry import RETRY_STATUSES, RetryPolicy, is_idempotent, server_delay
from adapters.fhir.search import Query
from fhir_coder import __version__
from fhir_coder.errors import (
    FhirError,
    FhirNotFoundError,
    FhirResponseError,
    FhirTransportError,
    NotFhirError,
)
from fhir_coder.outcome import Issue, Severity, issue_from_json, outcome_text

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "FHIR_JSON",
    "FhirClient",
    "QueryParams",
    "RoundTrips",
    "count_round_trips",
    "matches",
    "outcome_warnings",
]

FHIR_JSON = "application/fhir+json"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
"""Generous for a slow EHR, short enough that a dead one is noticed."""

DEFAULT_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=32)
"""One pool per client: enough for 16 encounters gathered at once with 4 reads each."""

QueryParams = Mapping[str, str] | Sequence[tuple[str, str]]
"""Search parameters: a mapping, or pairs where a name repeats (``_include`` twice)."""

_MAX_PAGES = 10_000  # a guard against servers whose next links go round in circles
_DEFAULT_HEADERS = {
    "Accept": FHIR_JSON,
    "Accept-Encoding": "gzip, deflate",  # large Bundles compress well over a WAN
    "User-Agent": f"fhir-coder/{__version__}",  # EHR operators ask integrations to say who
}


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


def _default_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    from httpx_aiohttp import AiohttpTransport  # noqa: PLC0415 - aiohttp loads only when used

    return AiohttpTransport(limits=limits)


def _redact(url: httpx.URL | str) -> str:
    """``url`` without its query string, which may carry patient identifiers."""
    return str(httpx.URL(str(url)).copy_with(query=None))


class FhirClient:
    """A FHIR R4 client for one server base URL.

    Use it as an async context manager so its connection pool is closed::

        async with FhirClient("https://ehr.example/fhir", auth=BearerAuth(token)) as fhir:
            encounter = await fhir.read("Encounter", "123")

    ``auth`` is any ``httpx.Auth`` flow (see :mod:`adapters.fhir.auth`); ``retry`` says how
    throttling and dropped connections are retried; ``limits`` sizes the connection pool of
    the default transport. ``round_trips`` counts the HTTP requests made, so callers can
    report the cost of gathering an encounter.
    """

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        retry: RetryPolicy | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._base = httpx.URL(self.base_url + "/")
        self._base_text = self.base_url + "/"
        self.round_trips = 0
        self.retry = retry if retry is not None else RetryPolicy()
        self._transport = transport if transport is not None else _default_transport(limits)
        self._headers = {**_DEFAULT_HEADERS, **(headers or {})}
        self._auth = auth
        self._timeout = {"timeout": timeout.as_dict()}
        self._metadata: dict[str, Any] | None = None
        self._metadata_read: asyncio.Task[dict[str, Any]] | None = None
        self._owns_transport = True

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
        """Close the connection pool (unless it is borrowed: :meth:`with_auth`)."""
        if self._owns_transport:
            await self._transport.aclose()

    def with_auth(
        self,
        auth: httpx.Auth | None,
        *,
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
    ) -> FhirClient:
        """A client for the same server over the same connection pool, with other credentials.

        For a request made on someone else's authority, such as a CDS Hooks call's
        ``fhirAuthorization``: the borrowed pool stays open when the new client is dropped.
        """
        other = FhirClient(
            self.base_url,
            transport=self._transport,
            timeout=timeout or httpx.Timeout(**self._timeout["timeout"]),
            headers=self._headers,
            auth=auth,
            retry=retry or self.retry,
        )
        other._owns_transport = False
        return other

    def __repr__(self) -> str:
        return f"FhirClient({self.base_url!r})"

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: QueryParams | None = None,
        json_body: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        resend_on_drop: bool = True,
    ) -> tuple[httpx.Response, dict[str, Any] | None]:
        """Send one request, retried per :attr:`retry`; the response and its FHIR body.

        429, 503 and connection failures are retried when the request is idempotent (see
        :func:`adapters.fhir.retry.is_idempotent`), waiting what the server asks or an
        exponential, jittered back-off, within the policy's time budget. ``idempotent``
        overrides the guess from the method and URL (a batch of reads is safe to repeat).
        ``resend_on_drop`` false keeps a request that the server may have carried out from
        being sent again when its answer is lost (a conditional create, which HAPI and
        Azure do not run atomically: the caller looks for what it made first).

        Raises :class:`FhirTransportError` when no answer came, :class:`NotFhirError` when
        the answer is not FHIR JSON, and :class:`FhirResponseError` (or
        :class:`FhirNotFoundError`) for error statuses.
        """
        content = orjson.dumps(json_body) if json_body is not None else None
        send_headers = dict(headers or {})
        if content is not None:
            send_headers["Content-Type"] = FHIR_JSON
        may_retry = is_idempotent(method, url, send_headers) if idempotent is None else idempotent
        target = url if "://" in url else self._base_text + url
        sendable: list[tuple[str, str | int | float | bool | None]] | None = None
        if params is not None:
            sendable = list(params.items() if isinstance(params, Mapping) else params)
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            self._count_trip()
            request = httpx.Request(
                method,
                target,
                params=sendable,
                content=content,
                headers={**self._headers, **send_headers},
                extensions=self._timeout,
            )
            try:
                response = await self._send(request)
            except httpx.TransportError as exc:
                failure = _transport_failure(exc, _redact(target))
                resend = may_retry and resend_on_drop
                delay = self._retry_delay(attempt, waited, None) if resend else None
                if delay is None:
                    raise failure from exc
            else:
                if response.status_code not in RETRY_STATUSES or not may_retry:
                    break
                delay = self._retry_delay(attempt, waited, server_delay(response.headers))
                if delay is None:
                    break
            waited += delay
            await self.retry.sleep(delay)
        body = _parse_body(response)
        if response.status_code >= 400:
            raise _error_for(response, body)
        return response, body

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """One exchange through the auth flow (a token fetched or refreshed on a 401)."""
        if self._auth is None:
            return await self._exchange(request)
        flow = self._auth.async_auth_flow(request)
        try:
            request = await flow.__anext__()
            while True:
                try:
                    response = await self._exchange(request)
                except httpx.TransportError as exc:
                    # the flow learns that its request failed (a token request: the
                    # renewal others wait on ends with this error); it re-raises it
                    request = await flow.athrow(exc)
                    continue
                try:
                    request = await flow.asend(response)
                except StopAsyncIteration:
                    return response
        finally:
            await flow.aclose()

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        response = await self._transport.handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    def same_origin(self, url: str) -> bool:
        """Whether ``url`` (absolute, or relative to the base) is on this client's server."""
        target = httpx.URL(url if "://" in url else self._base_text + url)
        return (target.scheme, target.host, target.port) == (
            self._base.scheme,
            self._base.host,
            self._base.port,
        )

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        send_auth: bool = True,
    ) -> AsyncIterator[httpx.Response]:
        """One exchange whose body is left unread: the caller streams or reads it.

        For what is not a FHIR resource: Bulk Data status answers (empty, or a manifest
        that is plain JSON) and NDJSON files of any size. Not retried: the caller knows
        whether a repeat is safe (a download resumes from the bytes it has). The auth flow
        runs as for :meth:`request`; ``send_auth`` false sends no credentials (a file on
        another origin that needs none). Counts as a round trip; a failed connection is a
        :class:`FhirTransportError`.
        """
        target = url if "://" in url else self._base_text + url
        request = httpx.Request(
            method,
            target,
            headers={**self._headers, **(headers or {})},
            extensions=self._timeout,
        )
        self._count_trip()
        flow = self._auth.async_auth_flow(request) if send_auth and self._auth else None
        response: httpx.Response | None = None
        try:
            if flow is not None:
                request = await flow.__anext__()
            while True:
                response = await self._transport.handle_async_request(request)
                response.request = request
                if flow is None:
                    break
                try:
                    following = await flow.asend(response)
                except StopAsyncIteration:
                    break
                await response.aread()  # a token exchange or a 401: small, and done with
                await response.aclose()
                response, request = None, following
            yield response
        except httpx.TransportError as exc:
            raise _transport_failure(exc, _redact(target)) from exc
        finally:
            if response is not None:
                await response.aclose()
            if flow is not None:
                await flow.aclose()

    async def exchange(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None
    ) -> tuple[httpx.Response, Any]:
        """:meth:`stream` read whole: the response and its JSON body (None when empty).

        Error statuses raise as :meth:`request` does (with the OperationOutcome when the
        server sent one); a body that is not JSON is a :class:`NotFhirError`.
        """
        async with self.stream(method, url, headers=headers) as response:
            await response.aread()
        body: Any = None
        if response.content:
            try:
                body = orjson.loads(response.content)
            except orjson.JSONDecodeError as exc:
                where = _redact(response.request.url)
                raise NotFhirError(
                    f"{where} answered HTTP {response.status_code} with a body that is not JSON",
                    url=where,
                ) from exc
        if response.status_code >= 400:
            raise _error_for(response, body if isinstance(body, dict) else None)
        return response, body

    def _count_trip(self) -> None:
        self.round_trips += 1
        tally = _round_trips.get()
        if tally is not None:
            tally.count += 1

    def _retry_delay(self, attempt: int, waited: float, asked: float | None) -> float | None:
        """Seconds to wait before the next try, or None when the policy says stop."""
        if attempt >= self.retry.attempts:
            return None
        delay = asked if asked is not None else self.retry.backoff(attempt)
        if waited + delay > self.retry.budget:
            return None
        return delay

    async def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        """``GET [base]/{type}/{id}``."""
        _, body = await self.request("GET", f"{resource_type}/{resource_id}")
        return _expect(body, resource_type, f"{self.base_url}/{resource_type}/{resource_id}")

    async def metadata(self) -> dict[str, Any]:
        """The server's CapabilityStatement, read once per client and kept.

        Callers that ask while it is being read share that one read, without a lock held
        across it: if it fails, they all get its error at once (and a later call reads
        again), rather than each trying in turn, one timeout after another.
        """
        if self._metadata is not None:
            return self._metadata
        read = self._metadata_read
        if read is None:
            read = asyncio.get_running_loop().create_task(self._read_metadata())
            self._metadata_read = read
            read.add_done_callback(self._metadata_settled)
        return await asyncio.shield(read)

    async def _read_metadata(self) -> dict[str, Any]:
        _, body = await self.request("GET", "metadata")
        self._metadata = _expect(body, "CapabilityStatement", f"{self.base_url}/metadata")
        return self._metadata

    def _metadata_settled(self, read: asyncio.Task[dict[str, Any]]) -> None:
        self._metadata_read = None
        if not read.cancelled():
            read.exception()  # retrieved here: every caller may have given up

    async def capabilities(self) -> ServerCapabilities:
        """What the CapabilityStatement declares, as plain answers."""
        return read_capabilities(await self.metadata())

    async def update(
        self, resource: dict[str, Any], *, if_match: str | None = None
    ) -> tuple[int, dict[str, Any] | None]:
        """``PUT [base]/{type}/{id}``: returns the status (200 updated, 201 created) and body."""
        headers = {"If-Match": if_match} if if_match else None
        path = f"{resource['resourceType']}/{resource['id']}"
        response, body = await self.request("PUT", path, json_body=resource, headers=headers)
        return response.status_code, body

    async def pages(
        self,
        query: Query | str,
        params: QueryParams | None = None,
        *,
        warnings: list[Issue] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every searchset Bundle of a search, following ``next`` links exactly as given.

        A next link is resolved against the base URL when relative and refused when it
        points at another origin (a proxy that rewrites links wrongly, or worse). A 410
        on a later page (an expired cursor, as HAPI's ``_getpages`` gives) restarts the
        search once; a next link seen before ends in an error, not a loop.
        ``OperationOutcome`` entries are appended to ``warnings`` as issues.
        """
        resource_type, first = _first_request(query, params)
        where = f"{self.base_url}/{resource_type}"
        restarted = False
        seen: set[str] = set()
        url: str | None = resource_type
        query_params: QueryParams | None = first
        pages = 0
        while url is not None:
            pages += 1
            if pages > _MAX_PAGES:
                raise FhirError(
                    f"more than {_MAX_PAGES} pages from {where}: the next links look circular",
                    url=where,
                )
            try:
                _, body = await self.request("GET", url, params=query_params)
            except FhirNotFoundError as exc:
                if exc.status_code != 410 or query_params is not None or restarted:
                    raise
                restarted, seen, pages = True, set(), 0
                url, query_params = resource_type, first
                continue
            bundle = _expect(body, "Bundle", where)
            if warnings is not None:
                warnings.extend(outcome_warnings(bundle, where))
            yield bundle
            url, query_params = self._next_link(bundle), None
            if url is not None:
                if url in seen:
                    raise FhirError(
                        f"{where}: the server's next link points back at a page already read",
                        url=where,
                    )
                seen.add(url)

    async def search(
        self,
        query: Query | str,
        params: QueryParams | None = None,
        *,
        warnings: list[Issue] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every matching resource, page after page (see :meth:`pages`).

        Only entries of the searched type whose ``search.mode`` is not ``outcome`` or
        ``include`` are yielded: the server's remarks go to ``warnings``, never into data.
        """
        resource_type = query.resource_type if isinstance(query, Query) else query
        async for bundle in self.pages(query, params, warnings=warnings):
            for resource in matches(bundle, resource_type):
                yield resource

    async def search_all(
        self,
        query: Query | str,
        params: QueryParams | None = None,
        *,
        warnings: list[Issue] | None = None,
    ) -> list[dict[str, Any]]:
        """Every matching resource as a list."""
        return [r async for r in self.search(query, params, warnings=warnings)]

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
            if isinstance(link, dict) and link.get("relation") == "next" and link.get("url"):
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


def _first_request(
    query: Query | str, params: QueryParams | None
) -> tuple[str, QueryParams | None]:
    if isinstance(query, Query):
        extra = list(params.items() if isinstance(params, Mapping) else params or [])
        return query.resource_type, [*query.params, *extra] or None
    return query, params


def matches(bundle: dict[str, Any], resource_type: str) -> Iterator[dict[str, Any]]:
    """The entries of a searchset that are matches of ``resource_type``."""
    for entry in bundle.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            continue
        if (entry.get("search") or {}).get("mode") in ("outcome", "include"):
            continue
        if resource.get("resourceType") == resource_type:
            yield resource


def outcome_warnings(bundle: dict[str, Any], where: str) -> list[Issue]:
    """The OperationOutcome entries of a searchset, as warnings about the search.

    Epic puts "no results" and "content invalid" remarks beside real entries; they are
    the server's words about the search, shown to the user, never read as data.
    """
    found: list[Issue] = []
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "OperationOutcome":
            continue
        for raw in resource.get("issue") or []:
            if isinstance(raw, dict):
                said = issue_from_json(raw)
                found.append(
                    Issue(
                        Severity.WARNING
                        if said.severity.blocks or said.severity is Severity.WARNING
                        else Severity.INFORMATION,
                        said.code,
                        f"the server said about {_redact(where)}: {said.message}",
                        rule="READ-SEARCH-OUTCOME",
                        source=_redact(where),
                    )
                )
    return found


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
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and "json" not in content_type:
        where = _redact(response.request.url)
        raise NotFhirError(
            f"{where} answered HTTP {response.status_code} with {content_type}, not FHIR JSON",
            url=where,
        )
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        where = _redact(response.request.url)
        raise NotFhirError(
            f"{where} answered HTTP {response.status_code} with a body that is not JSON",
            url=where,
        ) from exc
    if not isinstance(body, dict) or "resourceType" not in body:
        where = _redact(response.request.url)
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
