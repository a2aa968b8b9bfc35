"""Workers: claim jobs from the ledger and put each encounter through the pipeline.

Concurrency is bounded (``concurrency`` encounters at once) and each source server has
its own :class:`~adapters.jobs.rate.RateLimit`. A failure the server may get over (no
answer, 429/5xx) puts the job back with an exponential delay; after ``max_attempts``
tries it is parked with the reason. A job whose worker died is claimed again when its
lease runs out, and counts as an attempt, so a poison encounter that kills workers ends
parked too. A worker renews the lease of the job it is processing, so only a worker that
stopped loses its job. Meeting another writer's reservation of the Claim (``busy``) is
not an attempt: the job waits and comes back.

Workers survive anything. One catch-all per job records whatever went wrong, typed
(:mod:`adapters.jobs.failures`: never a server's text), and retries or parks the job; a
worker that dies all the same (the ledger itself failing) is restarted by its
supervisor after a growing pause, and :attr:`WorkerPool.ready` is false meanwhile
(``serve``'s ``/readyz``). A graceful stop lets each worker finish its job for
``grace_seconds``, then hands the jobs still running back to the queue, untried.
The ledger's SQLite calls run in threads, off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.jobs.doorbell import Doorbell
from adapters.jobs.failures import describe, is_conflict, retryable
from adapters.jobs.ledger import Job, JobLedger, JobState
from adapters.jobs.options import WorkerSettings
from adapters.jobs.rate import RateLimit
from adapters.jobs.work_capture import record_outcome
from adapters.pipeline import EncounterResult, Outcome, Pipeline
from fhir_coder.errors import FhirError

__all__ = ["WorkerPool", "WorkerSettings", "error_text"]

_log = logging.getLogger(__name__)
_RESTART_MAX_SECONDS = 30.0


async def _until(event: asyncio.Event) -> None:
    await event.wait()


async def _all(tasks: list[asyncio.Task[None]]) -> None:
    await asyncio.gather(*tasks)


def error_text(error: BaseException) -> str:
    """What the ledger keeps of an error: typed, no server text (see :func:`describe`)."""
    return describe(error)


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
        self._serving = False
        self._down = 0  # workers dead and waiting to be restarted

    @property
    def ready(self) -> bool:
        """Whether every worker is at work: none dead and waiting to be restarted."""
        return self._serving and self._down == 0

    async def run_once(self) -> bool:
        """Claim and process one job; False when none was ready.

        Whatever the job raises is recorded on it (retried or parked); a cancellation
        (a stop past its grace) hands the job back to the queue untried.
        """
        job = await asyncio.to_thread(
            self.ledger.claim, lease_seconds=self.settings.lease_seconds, source=self.source
        )
        if job is None:
            return False
        try:
            await self._process(job)
        except asyncio.CancelledError:
            self.ledger.release(job.id, fence=job.fence)  # on the way out: quick, done now
            raise
        except Exception as exc:  # noqa: BLE001 - no job's failure, whatever it is, ends a worker
            _log.warning("job %d failed: %s", job.id, describe(exc))
            self._after(job, None, await asyncio.to_thread(self._failed, job, exc))
        return True

    async def _process(self, job: Job) -> None:
        if job.attempts > self.settings.max_attempts:
            reason = job.last_error or "the worker stopped while processing it"
            parked = await asyncio.to_thread(
                self.ledger.finish,
                job.id,
                JobState.PARKED,
                outcome="parked",
                error=reason,
                fence=job.fence,
            )
            self._after(job, None, JobState.PARKED if parked else None)
            return
        if not job.version:
            version = await self._current_version(job)
            if version is None:
                return
            if not await asyncio.to_thread(self.ledger.settle_version, job, version):
                self._report(job, None, JobState.DONE)
                return
            job = dataclasses.replace(job, version=version)
        await self.rate.acquire()
        renewing = asyncio.create_task(self._keep_lease(job))
        try:
            result = await self.pipeline.process(job.encounter_id, patient_hint=job.patient)
        finally:
            renewing.cancel()
        state, wake = await asyncio.to_thread(self._record, job, result)
        if wake:
            self.wake.ring()
        self._after(job, result, state)

    async def _keep_lease(self, job: Job) -> None:
        """Renew the lease every third of it, so a slow encounter is not taken up twice."""
        lease = self.settings.lease_seconds
        while True:
            await asyncio.sleep(lease / 3)
            try:
                await asyncio.to_thread(
                    self.ledger.extend, job.id, lease_seconds=lease, fence=job.fence
                )
            except Exception as exc:  # noqa: BLE001 - tried again next third; the job goes on
                _log.warning("could not renew the lease of job %d: %s", job.id, describe(exc))

    async def _current_version(self, job: Job) -> str | None:
        """The Encounter's versionId now (for a notification that named none)."""
        source = self.pipeline.source
        if source is None:  # encounters from files always carry their version
            failed = await asyncio.to_thread(
                self.ledger.finish,
                job.id,
                JobState.FAILED,
                outcome="failed",
                error="no version",
                fence=job.fence,
            )
            self._after(job, None, JobState.FAILED if failed else None)
            return None
        try:
            encounter = await source.read("Encounter", job.encounter_id)
        except FhirError as exc:
            self._after(job, None, await asyncio.to_thread(self._failed, job, exc))
            return None
        return str((encounter.get("meta") or {}).get("versionId") or "")

    def _check_version(self, job: Job, result: EncounterResult) -> bool:
        """Hold the job's version (a trigger's hint) to the version the server really had.

        When they differ, notifications skipped as stale against the hint may have been
        real: a version-less job makes a worker read the current version once more (and
        drop it at once when that version is done). True when such a job was queued.
        """
        processed = result.coded.encounter.version_id if result.coded is not None else None
        if processed and self.ledger.correct_version(job, processed):
            _log.warning("a trigger's versionId was not the server's; checking for newer ones")
            self.ledger.enqueue(job.source, job.encounter_id, "", trigger="version-check")
            return True
        return False

    def _record(self, job: Job, result: EncounterResult) -> tuple[JobState | None, bool]:
        """Settle the job in the ledger (in a thread); its state (None: retried) and a wake."""
        wake = self._check_version(job, result)
        # the work item first: a job is finished only once what a person needs is kept
        record_outcome(self.ledger.work, job, result, self.pipeline.coding)
        claim_id = str((result.claim or {}).get("id", ""))
        mine = job.fence  # a job another worker took over (a lapsed lease) is theirs to record
        if result.outcome in (Outcome.WRITTEN, Outcome.BUILT):
            done = self.ledger.finish(
                job.id, JobState.DONE, outcome=result.outcome.value, claim_id=claim_id, fence=mine
            )
            return (JobState.DONE if done else None), wake
        if result.outcome is Outcome.HELD:
            held = self.ledger.finish(job.id, JobState.HELD, outcome="held", fence=mine)
            return (JobState.HELD if held else None), wake
        if result.outcome is Outcome.BUSY:  # another writer has the Claim now: not an attempt
            delay = self.settings.retry_base_seconds
            self.ledger.retry_later(job.id, delay=delay, error="busy", attempt=False, fence=mine)
            return None, wake
        if result.error is not None:
            return self._failed(job, result.error), wake
        return None, wake  # pragma: no cover - a failed result always carries its error

    def _failed(self, job: Job, error: BaseException) -> JobState | None:
        """Record a failure (in a thread): failed, parked, or None when retried later."""
        text, mine = describe(error), job.fence
        if is_conflict(error) or not retryable(error):  # a conflict is left for a person
            outcome = "conflict" if is_conflict(error) else "failed"
            failed = self.ledger.finish(
                job.id, JobState.FAILED, outcome=outcome, error=text, fence=mine
            )
            return JobState.FAILED if failed else None
        if job.attempts >= self.settings.max_attempts:
            reason = f"{job.attempts} attempts; last: {text}"
            parked = self.ledger.finish(
                job.id, JobState.PARKED, outcome="parked", error=reason, fence=mine
            )
            return JobState.PARKED if parked else None
        delay = min(
            self.settings.retry_max_seconds,
            self.settings.retry_base_seconds * 2 ** (job.attempts - 1),
        )
        self.ledger.retry_later(job.id, delay=delay, error=text, fence=mine)
        return None

    def _after(self, job: Job, result: EncounterResult | None, state: JobState | None) -> None:
        """Count what became of a job and tell whoever listens (on the event loop)."""
        if state is None:
            self.tally.retried += 1
            return
        if state is JobState.DONE:
            self.tally.done += 1
            self.tally.latencies.append(time.time() - job.created)
        elif state is JobState.HELD:
            self.tally.held += 1
        else:
            self.tally.failed += 1
            result = None
        self._report(job, result, state)

    def _report(self, job: Job, result: EncounterResult | None, state: JobState) -> None:
        if self.on_result is not None:
            self.on_result(job, result, state)

    async def drain(self, stop: asyncio.Event | None = None) -> None:
        """Process until nothing waits for this source (delayed retries included).

        ``stop`` ends it early, gracefully: each worker finishes its job (for
        ``grace_seconds`` at most; the rest are handed back to the queue).
        """
        await self._supervise(stop_when_empty=True, stop=stop or asyncio.Event())

    async def serve(self, stop: asyncio.Event) -> None:
        """Process jobs as they come until ``stop`` is set (then as :meth:`drain` stops).

        On a PostgreSQL ledger, jobs queued by other processes (other machines' ``serve``,
        ``jobs retry``) wake an idle worker at once through ``LISTEN``; on SQLite they are
        found by the idle poll.
        """
        listening = asyncio.create_task(self.ledger.listen(self._heard))
        try:
            await self._supervise(stop_when_empty=False, stop=stop)
        finally:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening

    def _heard(self, source: str) -> None:
        """Another process queued a job of ``source`` ("" for any): wake an idle worker."""
        if not source:
            self.wake.ring_all()
        elif source == self.source:
            self.wake.ring()

    async def _supervise(self, *, stop_when_empty: bool, stop: asyncio.Event) -> None:
        workers = [
            asyncio.create_task(self._supervised(stop_when_empty=stop_when_empty, stop=stop))
            for _ in range(self.settings.concurrency)
        ]
        self._serving = True
        stopping = asyncio.create_task(_until(stop))
        working = asyncio.create_task(_all(workers))
        try:
            await asyncio.wait([working, stopping], return_when=asyncio.FIRST_COMPLETED)
            if not working.done():  # stopped: jobs in flight get their grace, then go back
                self.wake.ring_all()
                await asyncio.wait([working], timeout=self.settings.grace_seconds)
        finally:
            self._serving = False
            stopping.cancel()
            working.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _supervised(self, *, stop_when_empty: bool, stop: asyncio.Event) -> None:
        """One worker, started again whenever it dies, after a pause that grows."""
        pause = min(0.5, self.settings.idle_poll_seconds)
        while not stop.is_set():
            try:
                await self._worker(stop_when_empty=stop_when_empty, stop=stop)
            except Exception as exc:  # noqa: BLE001 - a dead worker is restarted, never lost
                self._down += 1
                _log.error("a worker stopped (%s); restarting it in %.1f s", describe(exc), pause)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
                pause = min(pause * 2, _RESTART_MAX_SECONDS)
                self._down -= 1
            else:
                return

    async def _worker(self, *, stop_when_empty: bool, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if await self.run_once():
                continue
            if stop_when_empty and await asyncio.to_thread(self.ledger.pending, self.source) == 0:
                return
            wait = await asyncio.to_thread(self.ledger.next_ready_in)
            pause = self.settings.idle_poll_seconds if wait is None else min(wait, 1.0)
            await self.wake.wait(max(0.01, pause))
