"""Polling for finished encounters by ``_lastUpdated``, with an overlap window and a checkpoint.

A resource can become visible after resources updated later than it (a transaction that
commits late, a clock that drifts between nodes), so each poll asks again for the last
``overlap`` seconds before the checkpoint; the ledger drops what it has seen (same id and
versionId). The checkpoint (the latest ``meta.lastUpdated`` seen) is kept in the ledger's
file, so a restarted watcher goes on where it stopped.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from adapters.fhir.client import FhirClient
from adapters.fhir.references import subject_patient_id
from adapters.fhir.search import Query
from adapters.jobs.ledger import Enqueued, JobLedger

__all__ = ["PollResult", "checkpoint_name", "poll_once"]


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll found."""

    seen: int
    queued: int
    checkpoint: str | None


def checkpoint_name(source: str) -> str:
    """The ledger checkpoint that holds a source's polling watermark."""
    return f"watch:{source}"


def _instant(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _format(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def poll_once(
    fhir: FhirClient,
    ledger: JobLedger,
    source: str,
    *,
    overlap_seconds: float = 120.0,
    since: str | None = None,
    trigger: str = "poll",
) -> PollResult:
    """Queue every finished encounter updated since the checkpoint (less the overlap)."""
    name = checkpoint_name(source)
    stored = await asyncio.to_thread(ledger.checkpoint, name) or since
    query = Query("Encounter").where(status="finished", _sort="_lastUpdated").limit(200)
    query = query.elements(["id", "meta", "subject"])
    latest = _instant(stored) if stored else None
    if latest is not None:
        query = query.where(
            _lastUpdated=f"gt{_format(latest - timedelta(seconds=overlap_seconds))}"
        )
    seen = queued = 0
    async for encounter in fhir.search(query):
        seen += 1
        meta = encounter.get("meta") or {}
        said = await asyncio.to_thread(  # the ledger's lock and disk, off the event loop
            ledger.enqueue,
            source,
            str(encounter["id"]),
            str(meta.get("versionId") or ""),
            trigger=trigger,
            record_skip=False,
            patient=subject_patient_id(encounter),
        )
        queued += said is Enqueued.QUEUED
        updated = _instant(str(meta.get("lastUpdated") or ""))
        if updated is not None and (latest is None or updated > latest):
            latest = updated
    checkpoint = _format(latest) if latest is not None else None
    if checkpoint is not None and checkpoint != await asyncio.to_thread(ledger.checkpoint, name):
        await asyncio.to_thread(ledger.set_checkpoint, name, checkpoint)
    return PollResult(seen, queued, checkpoint)
