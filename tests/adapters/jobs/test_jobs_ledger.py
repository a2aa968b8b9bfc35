"""The durable job ledger: idempotent enqueue, atomic claims, leases, parking, checkpoints."""

import sqlite3
import threading
import time

from adapters.jobs import Enqueued, JobLedger, JobState

SRC = "ehr"


def test_enqueue_is_idempotent_per_version(tmp_path):
    with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
        assert ledger.enqueue(SRC, "e1", "1") is Enqueued.QUEUED
        assert ledger.enqueue(SRC, "e1", "1") is Enqueued.DUPLICATE
        assert ledger.enqueue("other", "e1", "1") is Enqueued.QUEUED
        assert ledger.pending(SRC) == 1
        assert [s[2] for s in ledger.skips()] == ["duplicate"]


def test_an_older_version_after_a_newer_one_is_recorded_and_skipped(tmp_path):
    with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
        ledger.enqueue(SRC, "e1", "3")
        job = ledger.claim()
        ledger.finish(job.id, JobState.DONE, outcome="written")
        assert ledger.enqueue(SRC, "e1", "2", trigger="rest-hook") is Enqueued.STALE
        assert ledger.skips() == [("e1", "2", "stale", "rest-hook")]
        assert ledger.pending() == 0
        assert ledger.enqueue(SRC, "e1", "4") is Enqueued.QUEUED


def test_a_newer_version_supersedes_a_queued_older_one(tmp_path):
    with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
        ledger.enqueue(SRC, "e1", "1")
        ledger.enqueue(SRC, "e1", "2")
        assert ledger.pending() == 1
        assert ledger.claim().version == "2"
        assert ledger.jobs()[0].outcome == "superseded"


def test_version_less_notifications_coalesce_while_one_waits(tmp_path):
    with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
        assert ledger.enqueue(SRC, "e1") is Enqueued.QUEUED
        assert ledger.enqueue(SRC, "e1") is Enqueued.COALESCED
        job = ledger.claim()
        assert ledger.settle_version(job, "5") is True
        ledger.finish(job.id, JobState.DONE)
        ledger.enqueue(SRC, "e1")
        again = ledger.claim()
        assert ledger.settle_version(again, "5") is False  # already done at version 5
        assert ledger.get(again.id).outcome == "duplicate"


def test_concurrent_claims_never_take_the_same_job(tmp_path):
    path = tmp_path / "jobs.sqlite3"
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


def test_a_running_job_is_claimed_again_after_its_lease_expires(tmp_path):
    with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
        ledger.enqueue(SRC, "e1", "1")
        first = ledger.claim(lease_seconds=0.05)
        assert ledger.claim(lease_seconds=0.05) is None  # leased
        time.sleep(0.08)
        second = ledger.claim()
        assert second.id == first.id
        assert second.attempts == 2


def test_retry_later_waits_and_retry_requeues_parked_jobs(tmp_path):
    with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
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


def test_checkpoints_survive_reopening(tmp_path):
    path = tmp_path / "jobs.sqlite3"
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
        ledger._db.set_trace_callback(statements.append)
        ledger.enqueue(SRC, "e7", "2")
        ledger.enqueue(SRC, "e7", "2")  # a duplicate: recorded as a skip
        job = ledger.claim(source=SRC)
        assert job is not None
        ledger.extend(job.id, lease_seconds=60)
        ledger.finish(job.id, JobState.DONE, outcome="written")
        ledger.pending(SRC)
        ledger._db.set_trace_callback(None)
        lookups = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "UPDATE"))]
        assert len(lookups) >= 6
        for statement in lookups:
            plan = " | ".join(
                str(row[3]) for row in ledger._db.execute(f"EXPLAIN QUERY PLAN {statement}")
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


def test_a_worker_whose_lease_ran_out_cannot_record_over_the_job_taken_over(tmp_path):
    with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
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
