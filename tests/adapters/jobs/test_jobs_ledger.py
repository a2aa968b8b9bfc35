"""The durable job ledger: idempotent enqueue, atomic claims, leases, parking, checkpoints.

One contract, two backends: every test taking ``ledger_db`` runs on a SQLite file and on a
PostgreSQL database (``tests/postgres.py``); the last ones are about SQLite files only.
"""

import asyncio
import contextlib
import sqlite3
import threading
import time

import pytest

from adapters.jobs import Enqueued, JobLedger, JobState
from adapters.storage.postgres import PostgresStore
from adapters.storage.store import ordered_migrations
from fhir_coder.errors import ConfigurationError
from tests.postgres import drop_database, fresh_database

SRC = "ehr"


def test_enqueue_is_idempotent_per_version(ledger_db):
    with JobLedger(ledger_db) as ledger:
        assert ledger.enqueue(SRC, "e1", "1") is Enqueued.QUEUED
        assert ledger.enqueue(SRC, "e1", "1") is Enqueued.DUPLICATE
        assert ledger.enqueue("other", "e1", "1") is Enqueued.QUEUED
        assert ledger.pending(SRC) == 1
        assert [s[2] for s in ledger.skips()] == ["duplicate"]


def test_an_older_version_after_a_newer_one_is_recorded_and_skipped(ledger_db):
    with JobLedger(ledger_db) as ledger:
        ledger.enqueue(SRC, "e1", "3")
        job = ledger.claim()
        ledger.finish(job.id, JobState.DONE, outcome="written")
        assert ledger.enqueue(SRC, "e1", "2", trigger="rest-hook") is Enqueued.STALE
        assert ledger.skips() == [("e1", "2", "stale", "rest-hook")]
        assert ledger.pending() == 0
        assert ledger.enqueue(SRC, "e1", "4") is Enqueued.QUEUED


def test_a_newer_version_supersedes_a_queued_older_one(ledger_db):
    with JobLedger(ledger_db) as ledger:
        ledger.enqueue(SRC, "e1", "1")
        ledger.enqueue(SRC, "e1", "2")
        assert ledger.pending() == 1
        assert ledger.claim().version == "2"
        assert ledger.jobs()[0].outcome == "superseded"


def test_version_less_notifications_coalesce_while_one_waits(ledger_db):
    with JobLedger(ledger_db) as ledger:
        assert ledger.enqueue(SRC, "e1") is Enqueued.QUEUED
        assert ledger.enqueue(SRC, "e1") is Enqueued.COALESCED
        job = ledger.claim()
        assert ledger.settle_version(job, "5") is True
        ledger.finish(job.id, JobState.DONE)
        ledger.enqueue(SRC, "e1")
        again = ledger.claim()
        assert ledger.settle_version(again, "5") is False  # already done at version 5
        assert ledger.get(again.id).outcome == "duplicate"


def test_concurrent_claims_never_take_the_same_job(ledger_db):
    path = ledger_db
    with JobLedger(path) as ledger:
        for n in range(200):
            ledger.enqueue(SRC, f"e{n}", "1")
    taken: list[int] = []
    lock = threading.Lock()

    def worker():
        with JobLedger(path) as own:  # one connection per worker, as processes have
            while (job := own.claim()) is not None:
                with lock:
                    taken.append(job.id)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == sorted(set(taken))
    assert len(taken) == 200


def test_a_running_job_is_claimed_again_after_its_lease_expires(ledger_db):
    with JobLedger(ledger_db) as ledger:
        ledger.enqueue(SRC, "e1", "1")
        first = ledger.claim(lease_seconds=0.05)
        assert ledger.claim(lease_seconds=0.05) is None  # leased
        time.sleep(0.08)
        with JobLedger(ledger_db) as other:  # another process takes it over
            other.owner = "other-host:2"
            second = other.claim()
        assert second.id == first.id
        assert second.attempts == 2
        assert first.claimed_by == ledger.owner
        assert second.claimed_by == "other-host:2"


def test_retry_later_waits_and_retry_requeues_parked_jobs(ledger_db):
    with JobLedger(ledger_db) as ledger:
        ledger.enqueue(SRC, "e1", "1")
        job = ledger.claim()
        ledger.retry_later(job.id, delay=60, error="FhirTransportError: no answer")
        assert ledger.claim() is None
        assert 59 < ledger.next_ready_in() <= 60
        job = ledger.get(job.id)
        ledger.finish(job.id, JobState.PARKED, error="5 attempts; last: boom")
        assert ledger.counts()[JobState.PARKED] == 1
        assert ledger.retry() == 1
        again = ledger.claim()
        assert again.id == job.id
        assert again.attempts == 1


def test_checkpoints_survive_reopening(ledger_db):
    path = ledger_db
    with JobLedger(path) as ledger:
        assert ledger.checkpoint("watch:ehr") is None
        ledger.set_checkpoint("watch:ehr", "2026-01-01T00:00:00Z")
        ledger.set_checkpoint("watch:ehr", "2026-01-02T00:00:00Z")
    with JobLedger(path) as ledger:
        assert ledger.checkpoint("watch:ehr") == "2026-01-02T00:00:00Z"


def test_no_statement_of_a_jobs_life_scans_the_whole_table(tmp_path):
    """Years of jobs must not slow a notification down: every lookup goes through an index.

    And no lookup sorts what it found: the oldest ready job is the first one an index
    walk meets (a sort made each claim cost the whole backlog, so a run went quadratic).
    """
    with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
        for number in range(50):
            ledger.enqueue(SRC, f"e{number}", "1")
        statements: list[str] = []
        ledger._store.connection.set_trace_callback(statements.append)
        ledger.enqueue(SRC, "e7", "2")
        ledger.enqueue(SRC, "e7", "2")  # a duplicate: recorded as a skip
        job = ledger.claim(source=SRC)
        assert job is not None
        ledger.extend(job.id, lease_seconds=60)
        ledger.finish(job.id, JobState.DONE, outcome="written")
        ledger.pending(SRC)
        ledger._store.connection.set_trace_callback(None)
        lookups = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "UPDATE"))]
        assert len(lookups) >= 6
        for statement in lookups:
            plan = " | ".join(
                str(row[3])
                for row in ledger._store.connection.execute(f"EXPLAIN QUERY PLAN {statement}")
            )
            assert "SCAN jobs" not in plan, f"{statement} -> {plan}"
            assert "TEMP B-TREE" not in plan, f"{statement} -> {plan}"


def test_a_ledger_file_from_before_the_patient_hint_opens_and_keeps_its_jobs(tmp_path):
    path = tmp_path / "jobs.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, "
            "encounter_id TEXT NOT NULL, version TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, "
            "attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '', "
            "outcome TEXT NOT NULL DEFAULT '', claim_id TEXT NOT NULL DEFAULT '', "
            "trigger TEXT NOT NULL DEFAULT '', created REAL NOT NULL, updated REAL NOT NULL, "
            "not_before REAL NOT NULL DEFAULT 0, lease_until REAL NOT NULL DEFAULT 0)"
        )
        old.execute(
            "INSERT INTO jobs (source, encounter_id, version, state, created, updated) "
            "VALUES ('ehr', 'e1', '1', 'queued', 1, 1)"
        )
    with JobLedger(path) as ledger:
        assert ledger.enqueue(SRC, "e2", "1", patient="p2") is Enqueued.QUEUED
        first, second = ledger.claim(source=SRC), ledger.claim(source=SRC)
    assert (first.encounter_id, first.patient) == ("e1", "")
    assert (second.encounter_id, second.patient) == ("e2", "p2")


def test_a_worker_whose_lease_ran_out_cannot_record_over_the_job_taken_over(ledger_db):
    with JobLedger(ledger_db) as ledger:
        ledger.enqueue("sb", "enc-1", "1")
        slow = ledger.claim(lease_seconds=-1)  # its lease runs out at once
        taker = ledger.claim(lease_seconds=60)
        assert (slow.id, taker.id) == (taker.id, slow.id)
        assert taker.fence > slow.fence
        assert not ledger.extend(slow.id, lease_seconds=60, fence=slow.fence)
        assert not ledger.finish(slow.id, JobState.FAILED, error="late", fence=slow.fence)
        assert not ledger.retry_later(slow.id, delay=0, error="late", fence=slow.fence)
        assert not ledger.release(slow.id, fence=slow.fence)
        assert ledger.get(taker.id).state is JobState.RUNNING
        assert ledger.finish(taker.id, JobState.DONE, outcome="written", fence=taker.fence)
        assert ledger.get(taker.id).state is JobState.DONE


def test_version_less_notifications_racing_on_many_connections_queue_one_job(ledger_db):
    """The check-then-insert of an enqueue is atomic per encounter on both backends."""
    verdicts: list[Enqueued] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def notify():
        with JobLedger(ledger_db) as own:
            barrier.wait()
            for _ in range(5):
                said = own.enqueue(SRC, "e1")
                with lock:
                    verdicts.append(said)

    threads = [threading.Thread(target=notify) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with JobLedger(ledger_db) as ledger:
        assert verdicts.count(Enqueued.QUEUED) == 1
        assert verdicts.count(Enqueued.COALESCED) == 29
        assert ledger.pending() == 1


def test_a_postgresql_ledger_must_be_migrated_first_and_says_how(postgres_server):
    url = fresh_database(postgres_server)
    try:
        with pytest.raises(ConfigurationError, match=r"schema version 0.*fhir-coder jobs migrate"):
            JobLedger(url)
        assert JobLedger.migrate(url) == [
            "001_jobs",
            "002_work_items",
            "003_claimed_by",
            "004_seen_tokens",
        ]
        assert JobLedger.migrate(url) == []  # applied once
        with JobLedger(url) as ledger:
            assert ledger.enqueue(SRC, "e1", "1") is Enqueued.QUEUED
        with PostgresStore(url) as store, store.write() as db:  # a newer fhir-coder migrated
            db.run("INSERT INTO schema_migrations VALUES ('jobs', 99, '099_later', 0)")
        with pytest.raises(ConfigurationError, match="newer than this fhir-coder"):
            JobLedger(url)
    finally:
        drop_database(postgres_server, url)


def test_an_unreachable_postgresql_ledger_is_one_clear_error_without_the_password():
    with pytest.raises(ConfigurationError) as caught:
        JobLedger("postgresql://coder:s3cret@127.0.0.1:1/jobs?connect_timeout=2")
    assert "postgresql://coder@127.0.0.1:1/jobs" in str(caught.value)
    assert "s3cret" not in str(caught.value)


async def test_postgresql_wakes_the_workers_of_other_processes(postgres_url):
    """NOTIFY on enqueue (and on ``jobs retry``), heard by other ledgers, not by the sender."""
    heard: list[str] = []
    arrived = asyncio.Event()

    def hear(payload: str) -> None:
        heard.append(payload)
        arrived.set()

    with JobLedger(postgres_url) as listener, JobLedger(postgres_url) as other:
        task = asyncio.create_task(listener.listen(hear))
        await asyncio.wait_for(arrived.wait(), 10)  # listening (an empty first call)
        arrived.clear()
        listener.enqueue(SRC, "mine", "1")  # its own: not news
        other.enqueue(SRC, "e1", "1")
        await asyncio.wait_for(arrived.wait(), 10)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert heard == ["", SRC]


def test_two_migrations_of_one_number_are_refused(tmp_path):
    (tmp_path / "003_a.sql").write_text("SELECT 1;")
    (tmp_path / "003_b.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match="two migrations numbered 003"):
        list(ordered_migrations(tmp_path))


async def test_sqlite_has_nothing_to_listen_to(tmp_path):
    with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
        await asyncio.wait_for(ledger.listen(lambda _: None), 1)  # returns at once


@pytest.mark.parametrize("round_", range(20))
def test_processes_opening_a_new_ledger_file_at_once_all_get_it(tmp_path, round_):
    """The first opens race to create the file and its schema: each must find it made, none fail.

    Switching a new file to WAL answered ``database is locked`` without waiting about once
    in forty rounds of this race, so it is run twenty times.
    """
    path = tmp_path / "jobs.sqlite3"
    failures: list[BaseException] = []
    barrier = threading.Barrier(8)

    def open_it(n):
        barrier.wait()
        try:
            with JobLedger(path) as own:
                own.enqueue(SRC, f"e{n}", "1")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            failures.append(exc)

    threads = [threading.Thread(target=open_it, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with JobLedger(path) as ledger:
        assert ledger.pending() == 8
