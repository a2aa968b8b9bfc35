"""The service as a FastAPI app: routes, metrics, and the workers run beside them.

:func:`create_service` takes what it needs already built (ledger, FHIR client, worker
pool), so tests give it the sandbox through ``httpx.ASGITransport`` and the CLI gives it
real connections. The workers start and stop with the app's lifespan; under
``ASGITransport`` (which runs no lifespan) the caller drives them.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse

from adapters.fhir.client import FhirClient
from adapters.jobs.polling import checkpoint_name
from adapters.jobs.workers import WorkerPool
from adapters.service.cds import SERVICE_ID, cds_router
from adapters.service.cds_auth import CdsGate, CdsVerifier
from adapters.service.intake import Intake
from adapters.service.jwks import KeySets
from adapters.service.limits import BodyLimit
from adapters.service.metrics import ServiceMetrics
from adapters.service.notifications import notification_router
from adapters.service.replay import SeenTokens
from adapters.service.security import TokenCheck
from adapters.settings import TriggerSettings
from fhir_coder import __version__

__all__ = ["create_service"]


def create_service(
    settings: TriggerSettings,
    pool: WorkerPool,
    *,
    fhir: FhirClient | None = None,
    run_workers: bool = True,
    service_url: str | None = None,
    key_sets: KeySets | None = None,
) -> FastAPI:
    """The app over ``pool`` (its ledger, its source); ``fhir`` for re-queries and recovery.

    ``service_url`` is where the service is reached when ``settings.public_url`` does not
    say (``serve`` passes the address it bound): CDS Hooks JWTs must name its CDS service
    URL as their ``aud``. ``key_sets`` fetches the CDS issuers' JWK Sets (default: over
    the network, within ``allow_insecure_http``).
    """
    ledger = pool.ledger
    metrics = ServiceMetrics(ledger)
    previous = pool.on_result

    def ended(*args: Any) -> None:  # noqa: ANN401 - passed through to the workers' callbacks
        metrics.job_ended(*args)
        if previous is not None:
            previous(*args)

    pool.on_result = ended
    intake = Intake(
        ledger,
        pool.source,
        metrics,
        fhir=fhir,
        wake=pool.wake,
        overlap_seconds=settings.overlap_seconds,
    )
    base = (settings.public_url or service_url or f"http://{settings.host}:{settings.port}").rstrip(
        "/"
    )
    verifier = CdsVerifier(
        settings.cds_issuers,
        audience=f"{base}/cds-services/{SERVICE_ID}",
        allow_unsigned=settings.cds_allow_unsigned,
        key_sets=key_sets or KeySets(allow_insecure_http=settings.allow_insecure_http),
        seen=SeenTokens(ledger.store),
    )
    stop = asyncio.Event()
    running: list[asyncio.Task[None]] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        name = checkpoint_name(pool.source)
        if ledger.checkpoint(name) is None:  # a first re-query looks back no further than now
            ledger.set_checkpoint(name, datetime.now(UTC).isoformat())
        if run_workers:
            running.append(asyncio.create_task(pool.serve(stop)))
        try:
            yield
        finally:
            stop.set()
            pool.wake.ring_all()
            for task in running:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await intake.aclose()
            await verifier.aclose()

    app = FastAPI(
        title="fhir-coder service",
        version=__version__,
        description="Encounter-close triggers: Subscriptions, CDS Hooks; health and metrics.",
        lifespan=lifespan,
    )
    app.state.intake = intake
    app.state.metrics = metrics
    app.state.pool = pool
    check = TokenCheck(settings.notify_header, settings.notify_token)
    app.include_router(notification_router(intake, check))
    app.include_router(cds_router(intake, server=settings.server, fhir=fhir))
    # a CDS call that cannot prove its caller is refused before its body is parsed...
    app.add_middleware(CdsGate, verifier=verifier, path=f"/cds-services/{SERVICE_ID}")
    # ...and, outermost, any body over the limit before it is even read in full
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> JSONResponse:
        """Ready when the ledger answers and, if the workers run here, they are running."""
        return await _readiness(pool, running if run_workers else None)

    @app.get("/metrics", tags=["health"])
    async def prometheus() -> Response:
        """Prometheus metrics."""
        text = await asyncio.to_thread(metrics.render)  # the queue depth is a ledger query
        return Response(text, media_type="text/plain; version=0.0.4")

    return app


async def _readiness(pool: WorkerPool, running: list[asyncio.Task[None]] | None) -> JSONResponse:
    """``/readyz``: every worker at work and the ledger answering.

    A worker dead and waiting for its restart makes the service not ready; ``running`` is
    None when the workers run elsewhere.
    """
    workers_ok = running is None or (pool.ready and any(not t.done() for t in running))
    try:
        depth: int | None = await asyncio.to_thread(pool.ledger.pending)
    except sqlite3.Error:  # the ledger does not answer: nothing can be queued or done
        depth = None
    ok = workers_ok and depth is not None
    return JSONResponse(
        {"status": "ready" if ok else "not ready", "queue_depth": depth},
        status_code=200 if ok else 503,
    )
