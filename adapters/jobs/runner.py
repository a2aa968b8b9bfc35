"""One source server's jobs from start to finish: the client, the pipeline, the pool.

``fhir-coder run``, ``watch`` and ``serve`` all process through this: the FHIR client and
the write-back are opened once, the workers claim the ledger's jobs of that source.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from adapters.coding_setup import default_coding
from adapters.fhir.auth import DEFAULT_SMART_SCOPE, build_auth
from adapters.fhir.client import FhirClient
from adapters.jobs.ledger import Job, JobLedger, JobState
from adapters.jobs.workers import WorkerPool, WorkerSettings
from adapters.pipeline import EncounterResult, Gatherer, Pipeline
from adapters.settings import TriggerSettings
from adapters.warm_up import settle_heap, warm_up
from adapters.writeback.claim_writer import ClaimWriter
from fhir_coder.claim import ClaimOptions
from fhir_coder.errors import ConfigurationError

__all__ = ["encounter_version", "open_pool", "source_client"]


def encounter_version(resource: dict[str, Any]) -> str:
    """The ``meta.versionId`` of a resource, or "" when the server gave none."""
    return str((resource.get("meta") or {}).get("versionId") or "")


def source_client(
    settings: TriggerSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    default_scope: str = DEFAULT_SMART_SCOPE,
) -> FhirClient:
    """A client for the configured server, with the authentication its settings describe.

    A bearer token, basic authentication, or SMART Backend Services (tokens renewed before
    they expire and on a 401, for as long as the client lives); ``default_scope`` is asked
    for unless ``smart_scope`` is set.
    """
    if not settings.server:
        raise ConfigurationError("no FHIR server: pass --server or set FHIR_CODER_SERVER")
    auth = build_auth(
        settings.source_auth(default_scope=default_scope),
        fhir_base_url=settings.server,
        allow_insecure_http=settings.allow_insecure_http,
    )
    return FhirClient(settings.server, transport=transport, auth=auth)


@asynccontextmanager
async def open_pool(  # noqa: PLR0913 - keyword-only parts of one pool, each optional
    ledger: JobLedger,
    source: FhirClient | None,
    source_key: str,
    *,
    settings: WorkerSettings | None = None,
    writer: ClaimWriter | None = None,
    source_id: str | None = None,
    claim_options: ClaimOptions | None = None,
    on_result: Callable[[Job, EncounterResult | None, JobState], None] | None = None,
    gatherer: Gatherer | None = None,
) -> AsyncIterator[WorkerPool]:
    """A started pipeline over ``source`` and a pool that works the ledger's jobs of it.

    ``gatherer`` assembles the encounters instead of the source server (an export's
    index: ``run --from-ndjson``); ``source`` may then be None.
    """
    pipeline = Pipeline(
        source,
        default_coding(),
        source_id=source_id,
        writer=writer,
        claim_options=claim_options,
        gatherer=gatherer,
    )
    await pipeline.start()
    warm_up(pipeline.coding, scrubber=pipeline.scrubber, options=pipeline.claim_options)
    settle_heap()
    yield WorkerPool(ledger, pipeline, source_key, settings, on_result=on_result)
