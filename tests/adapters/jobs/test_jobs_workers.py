"""Workers over a real sandbox (in process): every job ends, failures retry then park."""

import asyncio
import sqlite3
import time

import httpx
import pytest

from adapters.fhir.client import FhirClient
from adapters.fhir.retry import RetryPolicy
from adapters.jobs import Enqueued, JobLedger, JobState, WorkerSettings
from adapters.jobs.runner import encounter_version
from adapters.jobs.workers import WorkerPool
from adapters.pipeline import Pipeline
from adapters.writeback.claim_ledger import ClaimLedger
from adapters.writeback.claim_writer import ClaimWriter
from adapters.writeback.destinations import FhirDestination
from sandbox.app import create_app
from sandbox.faults import FaultConfig
from sandbox.seed import seed_store

BASE = "http://sandbox.test/fhir"
FAST = WorkerSettings(concurrency=4, retry_base_seconds=0.01, max_attempts=3)


async def _no_wait(_: float) -> None:
    await asyncio.sleep(0)


async def enqueue_finished(fhir, ledger, source="sb") -> int:
    n = 0
    async for encounter in fhir.search("Encounter", {"status": "finished", "_count": "200"}):
        said = ledger.enqueue(source, encounter["id"], encounter_version(encounter))
        n += said is Enqueued.QUEUED
    return n


@pytest.fixture
def faulty_app(tmp_path):
    def build(faults):
        app = create_app(tmp_path / "sandbox.sqlite3", faults=faults)
        seed_store(app.state.store)
        return app

    return build


async def test_the_pool_codes_every_queued_encounter_once(seeded_app, coding, tmp_path):
    transport = httpx.ASGITransport(app=seeded_app)
    async with FhirClient(BASE, transport=transport) as fhir:
        with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
            queued = await enqueue_finished(fhir, ledger)
            pool = WorkerPool(ledger, Pipeline(fhir, coding), "sb", FAST)
            await pool.drain()
            counts = ledger.counts()
            assert counts[JobState.DONE] + counts[JobState.HELD] == queued
            assert counts[JobState.DONE] == await fhir.count("Claim")
            assert await enqueue_finished(fhir, ledger) == 0  # nothing is redone


async def test_with_a_fifth_of_requests_throttled_every_encounter_is_coded_once(
    faulty_app, coding, tmp_path
):
    app = faulty_app(FaultConfig(rate=0.2, kinds=("429", "503"), seed=3))
    retry = RetryPolicy(attempts=6, sleep=_no_wait)
    transport = httpx.ASGITransport(app=app)
    async with FhirClient(BASE, transport=transport, retry=retry) as fhir:
        with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
            queued = await enqueue_finished(fhir, ledger)
            pool = WorkerPool(ledger, Pipeline(fhir, coding), "sb", FAST)
            await pool.drain()
            counts = ledger.counts()
    assert counts[JobState.FAILED] == counts[JobState.PARKED] == 0
    assert counts[JobState.DONE] + counts[JobState.HELD] == queued
    found = app.state.store.search("Claim", (), count=500)
    claims = [stored.resource for stored in found.resources]
    assert len(claims) == counts[JobState.DONE]
    assert {c["meta"]["versionId"] for c in claims} == {"1"}  # none written twice
    app.state.store.close()


async def test_a_server_that_keeps_failing_parks_the_job_with_the_reason(
    faulty_app, coding, tmp_path
):
    app = faulty_app(FaultConfig(paths=("/fhir",), kinds=("503",)))
    transport = httpx.ASGITransport(app=app)
    async with FhirClient(BASE, transport=transport, retry=RetryPolicy.none()) as fhir:
        with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
            ledger.enqueue("sb", "enc-0001-1", "1")
            await WorkerPool(ledger, Pipeline(fhir, coding), "sb", FAST).drain()
            parked = ledger.jobs(state=JobState.PARKED)
    assert [job.encounter_id for job in parked] == ["enc-0001-1"]
    assert parked[0].attempts == FAST.max_attempts
    assert parked[0].last_error == (
        "3 attempts; last: FhirResponseError status=503 issues=exception"
    )  # typed: the server's own words ("Injected fault...") may echo patient data
    assert "?" not in parked[0].last_error  # no query string, which may name the patient
    app.state.store.close()


async def test_an_encounter_that_does_not_exist_fails_without_retrying(
    seeded_app, coding, tmp_path
):
    transport = httpx.ASGITransport(app=seeded_app)
    async with FhirClient(BASE, transport=transport) as fhir:
        with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
            ledger.enqueue("sb", "no-such-encounter", "1")
            await WorkerPool(ledger, Pipeline(fhir, coding), "sb", FAST).drain()
            failed = ledger.jobs(state=JobState.FAILED)
    assert [(job.encounter_id, job.attempts) for job in failed] == [("no-such-encounter", 1)]
    assert failed[0].last_error.startswith("FhirNotFoundError")


async def test_a_job_left_running_by_a_dead_worker_is_finished_by_another(
    seeded_app, coding, tmp_path
):
    transport = httpx.ASGITransport(app=seeded_app)
    async with FhirClient(BASE, transport=transport) as fhir:
        with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
            ledger.enqueue("sb", "enc-0001-1", "1")
            assert ledger.claim(lease_seconds=0.1) is not None  # and then the worker died
            pool = WorkerPool(ledger, Pipeline(fhir, coding), "sb", FAST)
            started = time.monotonic()
            await pool.drain()
            job = ledger.jobs()[0]
    assert job.state in (JobState.DONE, JobState.HELD)
    assert job.attempts == 2
    assert time.monotonic() - started < 5


async def test_a_version_less_job_reads_the_version_and_skips_one_already_done(
    seeded_app, coding, tmp_path
):
    transport = httpx.ASGITransport(app=seeded_app)
    async with FhirClient(BASE, transport=transport) as fhir:
        with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
            ledger.enqueue("sb", "enc-0001-1", "1")
            pool = WorkerPool(ledger, Pipeline(fhir, coding), "sb", FAST)
            await pool.drain()
            ledger.enqueue("sb", "enc-0001-1")  # a POST without payload: "look again"
            await pool.drain()
            outcomes = [job.outcome for job in ledger.jobs()]
    assert outcomes[1] == "duplicate"
    assert pool.tally.done == 1


class SlowPipeline:
    """A pipeline whose encounters take longer than the lease (the real one, delayed)."""

    def __init__(self, real, delay):
        self.real, self.delay, self.source = real, delay, real.source
        self.coding = real.coding  # the workers suggest codes for work items with it
        self.started = asyncio.Event()

    async def process(self, encounter_id, *, patient_hint=""):
        self.started.set()
        await asyncio.sleep(self.delay)
        return await self.real.process(encounter_id, patient_hint=patient_hint)


async def test_a_slow_encounter_keeps_its_lease_and_is_processed_once(seeded_app, coding, tmp_path):
    transport = httpx.ASGITransport(app=seeded_app)
    async with FhirClient(BASE, transport=transport) as fhir:
        with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
            ledger.enqueue("sb", "enc-0001-1", "1")
            settings = WorkerSettings(concurrency=3, lease_seconds=0.15)
            slow = SlowPipeline(Pipeline(fhir, coding), delay=0.6)
            pool = WorkerPool(ledger, slow, "sb", settings)
            await pool.drain()
            job = ledger.jobs()[0]
    assert job.attempts == 1  # the other two workers never took it up
    assert pool.tally.done == 1


async def test_the_rate_limit_spaces_encounters(seeded_app, coding, tmp_path):
    transport = httpx.ASGITransport(app=seeded_app)
    async with FhirClient(BASE, transport=transport) as fhir:
        with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
            for encounter_id in ("enc-0001-1", "enc-0002-1", "enc-0003-1", "enc-0004-1"):
                ledger.enqueue("sb", encounter_id, "1")
            settings = WorkerSettings(concurrency=4, rate_per_second=10, burst=1)
            pool = WorkerPool(ledger, Pipeline(fhir, coding), "sb", settings)
            started = time.monotonic()
            await pool.drain()
            elapsed = time.monotonic() - started
    assert elapsed >= 0.3  # four encounters at ten a second, one at a time: three waits
    assert ledger_ended(tmp_path) == 4


def ledger_ended(tmp_path):
    with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
        counts = ledger.counts()
    return counts[JobState.DONE] + counts[JobState.HELD]


async def test_a_forged_version_does_not_stop_the_encounter_being_recoded(
    asgi_fhir, coding, tmp_path
):
    # a trigger claims version 999999 of an encounter the server holds at its real version
    encounter = await asgi_fhir.read("Encounter", "enc-0001-1")
    real = encounter_version(encounter)
    with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
        assert ledger.enqueue("sb", "enc-0001-1", "999999") is Enqueued.QUEUED
        pool = WorkerPool(ledger, Pipeline(asgi_fhir, coding), "sb", FAST)
        await pool.drain()
        versions = {job.version for job in ledger.jobs() if job.encounter_id == "enc-0001-1"}
        assert "999999" not in versions  # the hint gave way to what the server had
        assert real in versions
        # the biller's real edit comes later: it is queued and coded, not "stale"
        _, updated = await asgi_fhir.update({**encounter, "status": "finished"})
        newer = encounter_version(updated or {})
        assert int(newer) > int(real)
        assert ledger.enqueue("sb", "enc-0001-1", newer) is Enqueued.QUEUED
        await pool.drain()
        done = {
            j.version for j in ledger.jobs(state=JobState.DONE) if j.encounter_id == "enc-0001-1"
        }
        assert newer in done


async def test_an_unexpected_error_is_recorded_on_its_job_and_the_workers_go_on(
    seeded_app, coding, tmp_path
):
    """A Claim ledger that fails (a real SQLite error) costs its jobs, not the pool."""
    transport = httpx.ASGITransport(app=seeded_app)
    async with FhirClient(BASE, transport=transport) as fhir:
        with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
            ledger.enqueue("sb", "enc-0001-1", "1")
            broken = ClaimLedger(tmp_path / "claims.sqlite3")
            broken.close()  # every reserve now raises sqlite3.ProgrammingError
            bad = Pipeline(fhir, coding, writer=ClaimWriter(FhirDestination(fhir), ledger=broken))
            await WorkerPool(ledger, bad, "sb", FAST).drain()
            [parked] = ledger.jobs(state=JobState.PARKED)
            assert parked.last_error == "3 attempts; last: ProgrammingError"
            ledger.enqueue("sb", "enc-0002-1", "1")  # the same pool shape, a working ledger
            await WorkerPool(ledger, Pipeline(fhir, coding), "sb", FAST).drain()
            assert ledger.jobs()[-1].state in (JobState.DONE, JobState.HELD)


class FlakyLedger(JobLedger):
    """A job ledger whose first claims fail (a locked or failing disk, on demand)."""

    failures = 3

    def claim(self, **kwargs):
        if self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return super().claim(**kwargs)


async def test_a_worker_that_dies_is_restarted_and_readiness_says_so_meanwhile(
    seeded_app, coding, tmp_path
):
    transport = httpx.ASGITransport(app=seeded_app)
    async with FhirClient(BASE, transport=transport) as fhir:
        with FlakyLedger(tmp_path / "jobs.sqlite3") as ledger:
            ledger.enqueue("sb", "enc-0001-1", "1")
            settings = WorkerSettings(concurrency=1, idle_poll_seconds=0.05)
            pool = WorkerPool(ledger, Pipeline(fhir, coding), "sb", settings)
            stop = asyncio.Event()
            serving = asyncio.create_task(pool.serve(stop))
            seen_down = False
            for _ in range(400):
                await asyncio.sleep(0.01)
                seen_down |= not pool.ready
                if ledger.pending() == 0:
                    break
            ready_after = pool.ready
            stop.set()
            await serving
            state = ledger.jobs()[0].state
    assert seen_down
    assert ready_after
    assert state in (JobState.DONE, JobState.HELD)


async def test_meeting_another_writers_reservation_is_not_an_attempt(seeded_app, coding, tmp_path):
    transport = httpx.ASGITransport(app=seeded_app)
    claims = tmp_path / "claims.sqlite3"
    async with FhirClient(BASE, transport=transport) as fhir:
        with JobLedger(tmp_path / "jobs.sqlite3") as ledger, ClaimLedger(claims) as rival:
            first = await Pipeline(fhir, coding).process("enc-0001-1")
            held = rival.reserve(fhir.base_url, first.claim["id"])  # another process writes it
            ledger.enqueue("sb", "enc-0001-1", "1")
            writer = ClaimWriter(FhirDestination(fhir), ledger=ClaimLedger(claims))
            pool = WorkerPool(ledger, Pipeline(fhir, coding, writer=writer), "sb", FAST)
            for _ in range(FAST.max_attempts + 3):
                await pool.run_once()
                await asyncio.sleep(0.02)
            [job] = ledger.jobs()
            assert (job.state, job.attempts) == (JobState.QUEUED, 0)  # busy, and not parked
            rival.release(fhir.base_url, first.claim["id"], held.fence)
            await pool.drain()
            assert ledger.jobs()[0].state is JobState.DONE


async def test_a_graceful_stop_hands_jobs_in_flight_back_untried(seeded_app, coding, tmp_path):
    transport = httpx.ASGITransport(app=seeded_app)
    async with FhirClient(BASE, transport=transport) as fhir:
        with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
            ledger.enqueue("sb", "enc-0001-1", "1")
            settings = WorkerSettings(concurrency=1, grace_seconds=0.1)
            slow = SlowPipeline(Pipeline(fhir, coding), delay=30)
            pool = WorkerPool(ledger, slow, "sb", settings)
            stop = asyncio.Event()
            serving = asyncio.create_task(pool.serve(stop))
            await asyncio.wait_for(slow.started.wait(), 5)
            stop.set()
            await asyncio.wait_for(serving, 5)
            [job] = ledger.jobs()
    assert (job.state, job.attempts, job.lease_until) == (JobState.QUEUED, 0, 0)
