"""The sandbox's HTTP face: FHIR R4 REST routes over a :class:`~sandbox.store.Store`.

Routes are thin: they read the request, call :mod:`sandbox.operations`,
:mod:`sandbox.search` or :mod:`sandbox.bundles`, and set the FHIR headers. They are
dispatched by :class:`~sandbox.routing.FhirRoutes`, a plain ASGI layer inside the FastAPI
app (FastAPI's own routing cost as much as a read); FastAPI keeps the lifespan, the
middleware and the answers for unknown paths. Every error, including unknown routes and
unexpected failures, leaves as an OperationOutcome built with :mod:`fhir_coder.outcome`,
so clients can rely on one error shape. Handlers are async and call the store
synchronously: a request holds the event loop only for its SQLite work, which keeps the
store's locking trivial. Writes run in a shared transaction (group commit) and are
answered only once it is committed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from fhir_coder.errors import ConfigurationError
from fhir_coder.outcome import IssueCode
from sandbox import operations
from sandbox.auth import AuthConfig, TokenService
from sandbox.auth_http import (
    AuthMiddleware,
    authorize,
    may_read,
    smart_configuration,
    token_endpoint,
)
from sandbox.bulk_export import ExportJobs
from sandbox.bundles import process_bundle
from sandbox.capability import capability_statement
from sandbox.clock import http_date, now_instant
from sandbox.conditional import (
    conditional_reference_types,
    conditional_update,
    create_if_none_exist,
)
from sandbox.export_routes import export_routes
from sandbox.faults import FaultConfig, FaultMiddleware
from sandbox.history import history_bundle
from sandbox.limits import BodyLimit
from sandbox.payer import PayerRules
from sandbox.payer_routes import payer_routes
from sandbox.problems import FhirRequestError, problem
from sandbox.reference_check import unresolved_issues
from sandbox.routing import FhirRoutes, Route, method_not_allowed, outcome_response
from sandbox.search import CURSOR_TTL_SECONDS, parse_search, run_search
from sandbox.store import Store, StoredResource
from sandbox.subscriptions import SubscriptionNotifier
from sandbox.topics import is_encounter_complete, notification_bundle
from sandbox.wire import FhirResponse, fhir_base_url, prefers_strict, read_json_body

__all__ = ["DEFAULT_MAX_BODY_BYTES", "create_app"]

_T = TypeVar("_T")

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
"""Bodies above this many bytes get a 413, on every route (:mod:`sandbox.limits`); a
transaction of a few thousand resources, or the largest Synthea patient (1.4 MB), fits."""


def _normalise_base(base_path: str) -> str:
    stripped = base_path.strip().strip("/")
    return f"/{stripped}" if stripped else ""


def _resource_response(
    stored: StoredResource,
    *,
    status: int = 200,
    fhir_base: str | None = None,
) -> FhirResponse:
    """A stored resource with its ETag and Last-Modified; a Location when ``fhir_base``."""
    headers = {"ETag": stored.etag, "Last-Modified": http_date(stored.last_updated)}
    if fhir_base is not None:
        headers["Location"] = f"{fhir_base}/{stored.reference}/_history/{stored.version_id}"
    return FhirResponse(stored.json, status_code=status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    """Make every error an OperationOutcome, whatever raised it."""

    async def on_fhir_error(_: Request, exc: Exception) -> FhirResponse:
        if not isinstance(exc, FhirRequestError):  # pragma: no cover - registered for it only
            raise exc
        return outcome_response(exc)

    async def on_http_error(request: Request, exc: Exception) -> FhirResponse:
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        if status == 404:
            error = problem(404, IssueCode.NOT_FOUND, f"No FHIR route at {request.url.path}")
        elif status == 405:
            error = method_not_allowed(request.method, request.url.path)
        else:
            error = problem(status, IssueCode.PROCESSING, f"HTTP error {status}")
        headers = getattr(exc, "headers", None) or {}
        return FhirResponse(error.outcome(), status_code=status, headers=dict(headers))

    async def on_invalid_request(_: Request, __: Exception) -> FhirResponse:
        return outcome_response(problem(400, IssueCode.INVALID, "The request is malformed"))

    async def on_unexpected(_: Request, __: Exception) -> FhirResponse:
        # No details: they may hold resource content, and the log is where they belong.
        return outcome_response(problem(500, IssueCode.EXCEPTION, "Internal server error"))

    app.add_exception_handler(FhirRequestError, on_fhir_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(Exception, on_unexpected)


def _bundle_permissions(body: object) -> list[tuple[str, str]]:
    """The (resource type, SMART letter) each entry of a Bundle needs.

    Anything that searches needs the search scope of the type it searches: a conditional
    reference (``Practitioner?identifier=...``, resolved by a search), a conditional
    create (``ifNoneExist``) or a conditional update or delete (``PUT Type?search``).
    """
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        return []
    needed: list[tuple[str, str]] = []
    for entry in body["entry"]:
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict):
            continue
        method = str(request.get("method", "")).upper()
        url, conditional, _ = str(request.get("url", "")).partition("?")
        path = url.strip("/").split("/")
        letter = {"POST": "c", "PUT": "u", "DELETE": "d", "PATCH": "u"}.get(method)
        if letter is None:
            letter = "r" if len(path) > 1 else "s"
        kind = path[-2] if len(path) >= 2 and path[-2] != "_history" else path[0]
        needed.append((kind, letter))
        if letter != "s" and (conditional or request.get("ifNoneExist")):
            needed.append((kind, "s"))
        resource = entry.get("resource")
        needed += [(target, "s") for target in conditional_reference_types(resource)]
    return needed


def _routes(  # noqa: C901, PLR0915 - one closure per route
    store: Store,
    base: str,
    max_body_bytes: int,
    cursor_ttl_seconds: float,
    notifier: SubscriptionNotifier,
) -> list[Route]:
    """The FHIR routes, closed over the store they serve."""
    started = now_instant()

    @cache
    def capability(fhir_base: str) -> dict[str, Any]:
        return capability_statement(fhir_base, date=started)

    async def metadata(request: Request) -> FhirResponse:
        return FhirResponse(capability(fhir_base_url(request, base)))

    async def transaction(request: Request) -> FhirResponse:
        body = await read_json_body(request, limit=max_body_bytes)
        for resource_type, letter in _bundle_permissions(body):
            authorize(request, resource_type, letter)
        fhir_base = fhir_base_url(request, base)
        strict = prefers_strict(request)

        def run() -> dict[str, Any]:
            return process_bundle(store, body, fhir_base=fhir_base, strict=strict)

        # a batch commits entry by entry (each may fail alone); a transaction as one write
        return FhirResponse(await committed(run) if body.get("type") == "transaction" else run())

    async def search(resource_type: str, request: Request) -> FhirResponse:
        operations.check_type(resource_type)
        authorize(request, resource_type, "s")
        fhir_base = fhir_base_url(request, base)
        parsed = parse_search(
            resource_type,
            request.query_params.multi_items(),
            fhir_base=fhir_base,
            strict=prefers_strict(request),
            cursor_ttl_seconds=cursor_ttl_seconds,
        )
        for inclusion in parsed.inclusions:  # a type named outright: refused outright
            named = inclusion.source_type if inclusion.reverse else inclusion.target_type
            if named is not None:
                authorize(request, named, "r")
        readable = may_read(request)
        return FhirResponse(run_search(store, parsed, fhir_base=fhir_base, may_read=readable))

    async def committed(work: Callable[[], _T]) -> _T:
        """``work()`` in a shared transaction; its result once the commit is done."""
        with store.shared_transaction() as done:
            result = work()
        await done
        return result

    def check_references(request: Request, body: dict[str, Any], resource_type: str) -> None:
        """Under ``Prefer: handling=strict``, refuse references that name nothing here."""
        if prefers_strict(request):
            issues = unresolved_issues(store, body, root=resource_type)
            if issues:
                raise FhirRequestError(422, *issues)

    async def create(resource_type: str, request: Request) -> FhirResponse:
        operations.check_type(resource_type)
        authorize(request, resource_type, "c")
        body = await read_json_body(request, limit=max_body_bytes)
        fhir_base = fhir_base_url(request, base)
        condition = request.headers.get("if-none-exist")
        if condition:  # the condition is a search
            authorize(request, resource_type, "s")

        def write() -> tuple[StoredResource, bool]:
            check_references(request, body, resource_type)
            if condition:
                return create_if_none_exist(
                    store, resource_type, body, condition.lstrip("?"), fhir_base=fhir_base
                )
            return operations.create(store, resource_type, body), True

        stored, created = await committed(write)
        if not created:
            return _resource_response(stored)
        return _resource_response(stored, status=201, fhir_base=fhir_base)

    async def conditional_put(resource_type: str, request: Request) -> FhirResponse:
        operations.check_type(resource_type)
        authorize(request, resource_type, "u")
        authorize(request, resource_type, "s")  # which resource is updated is a search
        query = request.url.query
        if not query:
            raise problem(
                405, IssueCode.NOT_SUPPORTED, "PUT needs Type/id, or Type?search to be conditional"
            )
        body = await read_json_body(request, limit=max_body_bytes)
        fhir_base = fhir_base_url(request, base)
        stored, created = await committed(
            lambda: conditional_update(store, resource_type, body, query, fhir_base=fhir_base)
        )
        if created:
            return _resource_response(stored, status=201, fhir_base=fhir_base)
        return _resource_response(stored)

    def topic_subscription(subscription_id: str, request: Request) -> dict[str, Any]:
        authorize(request, "Subscription", "r")
        subscription = operations.read(store, "Subscription", subscription_id).resource
        if not is_encounter_complete(subscription):
            raise problem(
                400,
                IssueCode.NOT_SUPPORTED,
                f"Subscription/{subscription_id} is not a topic-based (backport) subscription",
            )
        return subscription

    async def subscription_status(subscription_id: str, request: Request) -> FhirResponse:
        subscription = topic_subscription(subscription_id, request)
        total = notifier.topics.count(subscription_id)
        bundle = notification_bundle(subscription, kind="query-status", total=total, events=[])
        return FhirResponse(bundle)

    async def subscription_events(subscription_id: str, request: Request) -> FhirResponse:
        subscription = topic_subscription(subscription_id, request)
        total = notifier.topics.count(subscription_id)
        try:
            since = int(request.query_params.get("eventsSinceNumber", "1"))
            until = int(request.query_params.get("eventsUntilNumber", str(total)))
        except ValueError as exc:
            raise problem(400, IssueCode.INVALID, "event numbers must be integers") from exc
        events = notifier.topics.between(subscription_id, since, until)
        focus: dict[str, dict[str, Any]] = {}
        readable = may_read(request)
        for event in events:
            kind, _, focus_id = event.focus.partition("/")
            if not readable(kind):  # the event is told; the resource only to who may read it
                continue
            found = store.read(kind, focus_id)
            if found is not None:
                focus[event.focus] = found.resource
        bundle = notification_bundle(
            subscription, kind="query-event", total=total, events=events, focus=focus
        )
        return FhirResponse(bundle)

    async def delete(resource_type: str, resource_id: str, request: Request) -> Response:
        authorize(request, resource_type, "d")
        await committed(lambda: operations.delete(store, resource_type, resource_id))
        return Response(status_code=204)

    async def instance_history(
        resource_type: str, resource_id: str, request: Request
    ) -> FhirResponse:
        authorize(request, resource_type, "r")
        if not store.is_deleted(resource_type, resource_id):
            operations.read(store, resource_type, resource_id)  # a 404 for an unknown one
        versions = store.history(resource_type, resource_id)
        return FhirResponse(history_bundle(versions, fhir_base=fhir_base_url(request, base)))

    async def type_history(resource_type: str, request: Request) -> FhirResponse:
        operations.check_type(resource_type)
        authorize(request, resource_type, "s")
        versions = store.history(resource_type)
        return FhirResponse(history_bundle(versions, fhir_base=fhir_base_url(request, base)))

    async def read(resource_type: str, resource_id: str, request: Request) -> FhirResponse:
        authorize(request, resource_type, "r")
        return _resource_response(operations.read(store, resource_type, resource_id))

    async def vread(
        resource_type: str, resource_id: str, version_id: str, request: Request
    ) -> FhirResponse:
        authorize(request, resource_type, "r")
        return _resource_response(operations.vread(store, resource_type, resource_id, version_id))

    async def update(resource_type: str, resource_id: str, request: Request) -> FhirResponse:
        operations.check_type(resource_type)
        authorize(request, resource_type, "u")
        if_match = operations.parse_if_match(request.headers.get("if-match"))
        body = await read_json_body(request, limit=max_body_bytes)

        def write() -> tuple[StoredResource, bool]:
            check_references(request, body, resource_type)
            return operations.update(store, resource_type, resource_id, body, if_match=if_match)

        stored, created = await committed(write)
        if created:
            return _resource_response(stored, status=201, fhir_base=fhir_base_url(request, base))
        return _resource_response(stored)

    return [
        Route("GET", "/metadata", metadata),
        Route("POST", "/", transaction),
        Route("GET", "/{resource_type}", search),
        Route("POST", "/{resource_type}", create),
        Route("PUT", "/{resource_type}", conditional_put),
        Route("GET", "/{resource_type}/_history", type_history),
        Route("GET", "/Subscription/{subscription_id}/$status", subscription_status),
        Route("GET", "/Subscription/{subscription_id}/$events", subscription_events),
        Route("GET", "/{resource_type}/{resource_id}", read),
        Route("PUT", "/{resource_type}/{resource_id}", update),
        Route("DELETE", "/{resource_type}/{resource_id}", delete),
        Route("GET", "/{resource_type}/{resource_id}/_history", instance_history),
        Route("GET", "/{resource_type}/{resource_id}/_history/{version_id}", vread),
    ]


def _auth_routes(service: TokenService, token_url: str) -> list[Route]:
    document = orjson.dumps(smart_configuration(token_url, service))

    async def discovery(request: Request) -> Response:  # noqa: ARG001 - the routes' signature
        return Response(document, media_type="application/json")

    async def token(request: Request) -> Response:
        return await token_endpoint(request, token_url, service)

    return [
        Route("GET", "/.well-known/smart-configuration", discovery),
        Route("POST", "/auth/token", token),
    ]


def _token_url(auth: AuthConfig | None, public_url: str | None, base: str) -> str:
    """Where the token endpoint is, as configured: the audience of client assertions."""
    if auth is not None and auth.token_url:
        return auth.token_url
    if public_url:
        return f"{public_url.rstrip('/')}/auth/token"
    if auth is not None and auth.clients:
        raise ConfigurationError(
            "a sandbox with SMART clients needs its public URL (create_app(public_url=...)) "
            "or token_url in its auth configuration: the audience of their assertions"
        )
    return f"http://localhost{base}/auth/token"  # no client can get a token anyway


def create_app(  # noqa: PLR0913 - keyword-only options, each with its default
    db_path: Path,
    *,
    base_path: str = "/fhir",
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    auth: AuthConfig | None = None,
    faults: FaultConfig | None = None,
    cursor_ttl_seconds: float = CURSOR_TTL_SECONDS,
    export_retry_after: int = 1,
    payer: PayerRules | None = None,
    public_url: str | None = None,
) -> FastAPI:
    """A FHIR R4 server over the SQLite file ``db_path`` (created when missing).

    The routes live under ``base_path`` (``/fhir`` gives ``http://host/fhir/Patient``).
    ``auth`` turns on bearer tokens and SMART backend clients (see :mod:`sandbox.auth`),
    ``faults`` injected latency and failures (see :mod:`sandbox.faults`). Paging links
    older than ``cursor_ttl_seconds`` are answered 410 Gone. Bulk Data ``$export`` jobs
    (:mod:`sandbox.bulk_export`) write their files beside the database and ask pollers to
    come back after ``export_retry_after`` seconds. ``payer`` adds a payer that adjudicates
    Claims by those rules (``Claim/$submit``, ``$submit-x12``: :mod:`sandbox.payer`).
    ``public_url`` is the FHIR base clients reach the server at: SMART clients' assertions
    must name ``{public_url}/auth/token`` (or ``auth.token_url``) as their audience.
    The store opens now, so the app works under ``httpx.ASGITransport`` (which runs no
    lifespan); it closes when a server running the app shuts down.
    """
    store = Store(db_path)
    base = _normalise_base(base_path)

    notifier = SubscriptionNotifier(store)
    exports = ExportJobs(
        store, db_path.parent / f"{db_path.stem}-exports", retry_after=export_retry_after
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await exports.aclose()
            await notifier.aclose()
            store.close()

    app = FastAPI(
        title="fhir-coder sandbox",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.notifier = notifier
    app.state.exports = exports
    routes = _routes(store, base, max_body_bytes, cursor_ttl_seconds, notifier)
    routes += export_routes(exports, base, requires_token=auth is not None)
    if payer is not None:
        routes += payer_routes(store, payer, max_body_bytes=max_body_bytes)
    service = TokenService(auth) if auth is not None else None
    if service is not None:
        routes += _auth_routes(service, _token_url(auth, public_url, base))
    app.add_middleware(FhirRoutes, base=base, routes=routes)  # innermost: after auth, faults
    if service is not None:
        app.add_middleware(AuthMiddleware, service=service, base=base)
    if faults is not None and faults.active:
        app.add_middleware(FaultMiddleware, config=faults)  # faults before auth
    app.add_middleware(BodyLimit, limit=max_body_bytes)  # outermost: before anything reads
    _install_error_handlers(app)
    return app
