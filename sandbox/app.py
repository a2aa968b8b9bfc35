"""The sandbox's HTTP face: FHIR R4 REST routes over a :class:`~sandbox.store.Store`.

Routes are thin: they read the request, call :mod:`sandbox.operations`,
:mod:`sandbox.search` or :mod:`sandbox.bundles`, and set the FHIR headers. Every error,
including unknown routes and unexpected failures, leaves as an OperationOutcome built with
:mod:`fhir_coder.outcome`, so clients can rely on one error shape. Handlers are async and
call the store synchronously: a request holds the event loop only for the few
milliseconds of its SQLite work, which keeps the store's locking trivial.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from fhir_coder.outcome import IssueCode
from sandbox import operations
from sandbox.bundles import process_bundle
from sandbox.capability import capability_statement
from sandbox.clock import http_date, now_instant
from sandbox.problems import FhirRequestError, problem
from sandbox.search import parse_search, run_search
from sandbox.store import Store, StoredResource
from sandbox.wire import FhirResponse, fhir_base_url, prefers_strict, read_json_body

__all__ = ["DEFAULT_MAX_BODY_BYTES", "create_app"]

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
"""Bodies above this many bytes get a 413; a transaction of a few thousand resources fits."""


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


def _error_response(error: FhirRequestError) -> FhirResponse:
    return FhirResponse(error.outcome(), status_code=error.status, headers=error.headers)


def _install_error_handlers(app: FastAPI) -> None:
    """Make every error an OperationOutcome, whatever raised it."""

    async def on_fhir_error(_: Request, exc: Exception) -> FhirResponse:
        if not isinstance(exc, FhirRequestError):  # pragma: no cover - registered for it only
            raise exc
        return _error_response(exc)

    async def on_http_error(request: Request, exc: Exception) -> FhirResponse:
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        if status == 404:
            error = problem(404, IssueCode.NOT_FOUND, f"No FHIR route at {request.url.path}")
        elif status == 405:
            error = problem(
                405,
                IssueCode.NOT_SUPPORTED,
                f"{request.method} is not supported on {request.url.path}",
            )
        else:
            error = problem(status, IssueCode.PROCESSING, f"HTTP error {status}")
        headers = getattr(exc, "headers", None) or {}
        return FhirResponse(error.outcome(), status_code=status, headers=dict(headers))

    async def on_invalid_request(_: Request, __: Exception) -> FhirResponse:
        return _error_response(problem(400, IssueCode.INVALID, "The request is malformed"))

    async def on_unexpected(_: Request, __: Exception) -> FhirResponse:
        # No details: they may hold resource content, and the log is where they belong.
        return _error_response(problem(500, IssueCode.EXCEPTION, "Internal server error"))

    app.add_exception_handler(FhirRequestError, on_fhir_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(Exception, on_unexpected)


def _routes(store: Store, base: str, max_body_bytes: int) -> APIRouter:  # noqa: C901 - one closure per route
    """The FHIR routes, closed over the store they serve."""
    router = APIRouter()
    started = now_instant()

    @cache
    def capability(fhir_base: str) -> dict[str, Any]:
        return capability_statement(fhir_base, date=started)

    async def metadata(request: Request) -> FhirResponse:
        return FhirResponse(capability(fhir_base_url(request, base)))

    async def transaction(request: Request) -> FhirResponse:
        body = await read_json_body(request, limit=max_body_bytes)
        return FhirResponse(process_bundle(store, body, fhir_base=fhir_base_url(request, base)))

    async def search(resource_type: str, request: Request) -> FhirResponse:
        operations.check_type(resource_type)
        fhir_base = fhir_base_url(request, base)
        parsed = parse_search(
            resource_type,
            request.query_params.multi_items(),
            fhir_base=fhir_base,
            strict=prefers_strict(request),
        )
        return FhirResponse(run_search(store, parsed, fhir_base=fhir_base))

    async def create(resource_type: str, request: Request) -> FhirResponse:
        operations.check_type(resource_type)
        body = await read_json_body(request, limit=max_body_bytes)
        stored = operations.create(store, resource_type, body)
        return _resource_response(stored, status=201, fhir_base=fhir_base_url(request, base))

    async def read(resource_type: str, resource_id: str) -> FhirResponse:
        return _resource_response(operations.read(store, resource_type, resource_id))

    async def vread(resource_type: str, resource_id: str, version_id: str) -> FhirResponse:
        return _resource_response(operations.vread(store, resource_type, resource_id, version_id))

    async def update(resource_type: str, resource_id: str, request: Request) -> FhirResponse:
        operations.check_type(resource_type)
        if_match = operations.parse_if_match(request.headers.get("if-match"))
        body = await read_json_body(request, limit=max_body_bytes)
        stored, created = operations.update(
            store, resource_type, resource_id, body, if_match=if_match
        )
        if created:
            return _resource_response(stored, status=201, fhir_base=fhir_base_url(request, base))
        return _resource_response(stored)

    def add(path: str, endpoint: Any, method: str) -> None:  # noqa: ANN401 - any route function
        router.add_api_route(base + path, endpoint, methods=[method], include_in_schema=False)

    add("/metadata", metadata, "GET")
    add("/", transaction, "POST")
    if base:
        add("", transaction, "POST")
    add("/{resource_type}", search, "GET")
    add("/{resource_type}", create, "POST")
    add("/{resource_type}/{resource_id}", read, "GET")
    add("/{resource_type}/{resource_id}", update, "PUT")
    add("/{resource_type}/{resource_id}/_history/{version_id}", vread, "GET")
    return router


def create_app(
    db_path: Path,
    *,
    base_path: str = "/fhir",
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """A FHIR R4 server over the SQLite file ``db_path`` (created when missing).

    The routes live under ``base_path`` (``/fhir`` gives ``http://host/fhir/Patient``).
    The store opens now, so the app works under ``httpx.ASGITransport`` (which runs no
    lifespan); it closes when a server running the app shuts down.
    """
    store = Store(db_path)
    base = _normalise_base(base_path)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()

    app = FastAPI(
        title="fhir-coder sandbox",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.store = store
    app.include_router(_routes(store, base, max_body_bytes))
    _install_error_handlers(app)
    return app
