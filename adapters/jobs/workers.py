"""Workers: claim jobs from the ledger and put each encounter through the pipeline.

Concurrency is bounded (``concurrency`` encounters at once) and each source server has
its own :class:`~adapters.jobs.rate.RateLimit`. A failure the server may get over (no
answer, 429/5xx) puts the job back with an exponential delay; after ``max_attempts``
tries it is parked with the reason. A job whose worker died is claimed again when its
lease runs out, and counts as an attempt, so a poison encounter that kills workers ends
parked too. A worker renews the lease of the job it is processing, so only a worker that
stopped loses its job.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.jobs.doorbell import Doorbell
from adapters.jobs.ledger import Job, JobLedger, JobState
from adapters.jobs.options import WorkerSettings
from adapters.jobs.rate import RateLimit
from adapters.jobs.work_capture import record_outcome
from adapters.pipeline import EncounterResult, Outcome, Pipeline
from fhir_coder.errors import (
    CodingError,
    FhirError,
    FhirNotFoundError,
    FhirResponseError,
    FhirTransportError,
)

__all__ = ["WorkerPool", "WorkerSettings", "error_text"]

_log = logging.getLogger(__name__)


def error_text(error: BaseException) -> str:
    """What the ledger keeps of an error: its class and message (no PHI, no query strings)."""
    return f"{type(error).__name__}: {error}"


def _retryable(error: FhirError | CodingError) -> bool:
    if isinstance(error, FhirNotFoundError):
        return False
    if isinstance(error, FhirTransportError):
        return True
    if isinstance(error, FhirResponseError):
        return error.status_code in (408, 429) or error.status_code >= 500
    return False


@dataclass(slots=True)
class Tally:
    """What the pool has done, for progress lines and metrics."""

    done: int = 0
    held: int = 0
    failed: int = 0
    retried: int = 0
    latencies: list[float] = field(default_factory=list)


class WorkerPool:
    """Runs the ledger's jobs of one source through one pipeline."""

    def __init__(
        self,
        ledger: JobLedger,
        pipeline: Pipeline,
        source: str,
        settings: WorkerSettings | None = None,
        *,
        on_result: Callable[[Job, EncounterResult | None, JobState], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.pipeline = pipeline
        self.source = source
        self.settings = settings or WorkerSettings()
        self.rate = RateLimit(self.settings.rate_per_second, burst=self.settings.burst)
        self.on_result = on_result
        self.tally = Tally()
        self.wake = Doorbell()

    async def run_once(self) -> bool:
        """Claim and process one job; False when none was ready."""
        job = self.ledger.claim(lease_seconds=self.settings.lease_seconds, source=self.source)
        if job is None:
            return False
        await self._process(job)
        return True

    async def _process(self, job: Job) -> None:
        if job.attempts > self.settings.max_attempts:
            reason = job.last_error or "the worker stopped while processing it"
            self.ledger.finish(job.id, JobState.PARKED, outcome="parked", error=reason)
            self._report(job, None, JobState.PARKED)
            return
        if not job.version:
            version = await self._current_version(job)
            if version is None or not self.ledger.settle_version(job, version):
                if version is not None:
                    self._report(job, None, JobState.DONE)
                return
            job = dataclasses.replace(job, version=version)
        await self.rate.acquire()
        renewing = asyncio.create_task(self._keep_lease(job))
        try:
            result = await self.pipeline.process(job.encounter_id, patient_hint=job.patient)
        finally:
            renewing.cancel()
        self._record(job, result)

    async def _keep_lease(self, job: Job) -> None:
        """Renew the lease every third of it, so a slow encounter is not taken up twice."""
        lease = self.settings.lease_seconds
        while True:
            await asyncio.sleep(lease / 3)
            self.ledger.extend(job.id, lease_seconds=lease)

    async def _current_version(self, job: Job) -> str | None:
        """The Encounter's versionId now (for a notification that named none)."""
        source = self.pipeline.source
        if source is None:  # encounters from files always carry their version
            self.ledger.finish(job.id, JobState.FAILED, outcome="failed", error="no version")
            self._report(job, None, JobState.FAILED)
            return None
        try:
            encounter = await source.read("Encounter", job.encounter_id)
        except FhirError as exc:
            self._failed(job, exc)
            return None
        return str((encounter.get("meta") or {}).get("versionId") or "")

    def _check_version(self, job: Job, result: EncounterResult) -> None:
        """Hold the job's version (a trigger's hint) to the version the server really had.

        When they differ, notifications skipped as stale against the hint may have been
        real: a version-less job makes a worker read the current version once more (and
        drop it at once when that version is done).
        """
        processed = result.coded.encounter.version_id if result.coded is not None else None
        if processed and self.ledger.correct_version(job, processed):
            _log.warning("a trigger's versionId was not the server's; checking for newer ones")
            self.ledger.enqueue(job.source, job.encounter_id, "", trigger="version-check")
            self.wake.ring()

    def _record(self, job: Job, result: EncounterResult) -> None:
        self._check_version(job, result)
        # the work item first: a job is finished only once what a person needs is kept
        record_outcome(self.ledger.work, job, result, self.pipeline.coding)
        claim_id = str((result.claim or {}).get("id", ""))
        if result.outcome in (Outcome.WRITTEN, Outcome.BUILT):
            self.ledger.finish(
                job.id, JobState.DONE, outcome=result.outcome.value, claim_id=claim_id
            )
            self.tally.done += 1
            self.tally.latencies.append(time.time() - job.created)
            self._report(job, result, JobState.DONE)
        elif result.outcome is Outcome.HELD:
            self.ledger.finish(job.id, JobState.HELD, outcome="held")
            self.tally.held += 1
            self._report(job, result, JobState.HELD)
        elif result.outcome is Outcome.BUSY:
            self.ledger.retry_later(job.id, delay=self.settings.retry_base_seconds, error="busy")
            self.tally.retried += 1
        elif result.error is not None:
            self._failed(job, result.error)

    def _failed(self, job: Job, error: FhirError | CodingError) -> None:
        text = error_text(error)
        if not _retryable(error):
            self.ledger.finish(job.id, JobState.FAILED, outcome="failed", error=text)
            self.tally.failed += 1
            self._report(job, None, JobState.FAILED)
        elif job.attempts >= self.settings.max_attempts:
            reason = f"{job.attempts} attempts; last: {text}"
            self.ledger.finish(job.id, JobState.PARKED, outcome="parked", error=reason)
            self.tally.failed += 1
            self._report(job, None, JobState.PARKED)
        else:
            delay = min(
                self.settings.retry_max_seconds,
                self.settings.retry_base_seconds * 2 ** (job.attempts - 1),
            )
            self.ledger.retry_later(job.id, delay=delay, error=text)
            self.tally.retried += 1

    def _report(self, job: Job, result: EncounterResult | None, state: JobState) -> None:
        if self.on_result is not None:
            self.on_result(job, result, state)

    async def drain(self) -> None:
        """Process until nothing waits for this source (delayed retries included)."""
        await asyncio.gather(
            *(self._worker(stop_when_empty=True) for _ in range(self.settings.concurrency))
        )

    async def serve(self, stop: asyncio.Event) -> None:
        """Process jobs as they come until ``stop`` is set."""
        workers = [
            asyncio.create_task(self._worker(stop_when_empty=False, stop=stop))
            for _ in range(self.settings.concurrency)
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()

    async def _worker(self, *, stop_when_empty: bool, stop: asyncio.Event | None = None) -> None:
        while stop is None or not stop.is_set():
            if await self.run_once():
                continue
            if stop_when_empty and self.ledger.pending(self.source) == 0:
                return
            wait = self.ledger.next_ready_in()
            pause = self.settings.idle_poll_seconds if wait is None else min(wait, 1.0)
            await self.wake.wait(max(0.01, pause))
