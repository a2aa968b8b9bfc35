"""The durable job ledger: one row per encounter version to process, in a SQLite file.

Triggers (notifications, CDS Hooks, polling, ``fhir-coder run``) only *enqueue*; workers
*claim* jobs and record how each ended. Because the ledger is a file, a worker that dies
loses nothing: its ``running`` job is claimed again once its lease expires, and a run that
was interrupted resumes without redoing what is done.

A job is keyed by (source, encounter id, versionId). Enqueueing is idempotent: the same
version again is a duplicate, an older version of an encounter already done (or queued) at
a newer one is stale; both are recorded in ``skips`` and not queued. A version of ``""``
means "the current one" (a notification without payload): it is coalesced with any job
of the encounter still waiting. Errors are stored typed (:mod:`adapters.jobs.failures`):
the error's class, the HTTP status and the OperationOutcome's issue codes, never a
server's text, which may echo patient data.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from adapters.jobs.work_sqlite import SqliteWorkItems

__all__ = ["DEFAULT_JOBS_DB", "Enqueued", "Job", "JobLedger", "JobState"]

DEFAULT_JOBS_DB: Final = Path("fhir-coder-data") / "jobs.sqlite3"

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    encounter_id TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT '',
    claim_id TEXT NOT NULL DEFAULT '',
    trigger TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    not_before REAL NOT NULL DEFAULT 0,
    lease_until REAL NOT NULL DEFAULT 0,
    patient TEXT NOT NULL DEFAULT '',
    fence INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_key ON jobs (source, encounter_id, version)
    WHERE version != '';
DROP INDEX IF EXISTS jobs_ready;
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (state, id);
CREATE INDEX IF NOT EXISTS jobs_encounter ON jobs (source, encounter_id);
CREATE TABLE IF NOT EXISTS skips (
    source TEXT NOT NULL,
    encounter_id TEXT NOT NULL,
    version TEXT NOT NULL,
    reason TEXT NOT NULL,
    trigger TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated REAL NOT NULL
);
"""


class JobState(StrEnum):
    """Where a job stands."""

    QUEUED = "queued"  # waiting (perhaps until ``not_before``, after a failure)
    RUNNING = "running"  # claimed by a worker until ``lease_until``
    DONE = "done"  # the Claim is written (or built, or the job was superseded)
    HELD = "held"  # processed; no Claim could go out (see the outcome)
    FAILED = "failed"  # an error retrying cannot fix (the encounter is gone...)
    PARKED = "parked"  # failed too often: waits for ``fhir-coder jobs retry``


_WAITING = (JobState.QUEUED.value, JobState.RUNNING.value)


class Enqueued(StrEnum):
    """What became of an enqueue."""

    QUEUED = "queued"
    COALESCED = "coalesced"  # the encounter already waits: the same job covers it
    DUPLICATE = "duplicate"  # this version is known already
    STALE = "stale"  # a newer version of the encounter is done or queued


@dataclass(frozen=True, slots=True)
class Job:
    """One row of the ledger."""

    id: int
    source: str
    encounter_id: str
    version: str
    state: JobState
    attempts: int
    last_error: str
    outcome: str
    claim_id: str
    trigger: str
    created: float
    updated: float
    not_before: float
    lease_until: float
    patient: str = ""  # the Encounter's subject id when the trigger said it (a gathering hint)
    fence: int = 0  # raised by every claim: the claim's owner proves itself with it


def _order(version: str) -> int | None:
    """A version's rank when it is a number (HAPI, the sandbox); opaque ones have none."""
    return int(version) if version.isdigit() else None


def _newer_or_same(known: str, version: str) -> bool:
    """Whether ``known`` is ``version`` or comes after it."""
    if known == version:
        return True
    a, b = _order(known), _order(version)
    return a is not None and b is not None and a >= b


class JobLedger:
    """The jobs of every trigger, shared by every process that opens the same file."""

    def __init__(self, path: Path = DEFAULT_JOBS_DB) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {row["name"] for row in self._db.execute("PRAGMA table_info(jobs)")}
        if "patient" not in columns:  # a ledger file written before the column existed
            self._db.execute("ALTER TABLE jobs ADD COLUMN patient TEXT NOT NULL DEFAULT ''")
        if "fence" not in columns:  # before claims had owners
            self._db.execute("ALTER TABLE jobs ADD COLUMN fence INTEGER NOT NULL DEFAULT 0")
        self._lock = threading.Lock()
        # the work items of encounters that need a person, in the same file and transactions
        self.work = SqliteWorkItems(self._db, self._lock)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction under SQLite's write lock (``BEGIN IMMEDIATE``): claims are atomic."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def enqueue(
        self,
        source: str,
        encounter_id: str,
        version: str = "",
        *,
        trigger: str = "",
        record_skip: bool = True,
        patient: str = "",
    ) -> Enqueued:
        """Queue the encounter at ``version`` ("" for whatever is current) unless it is known.

        ``record_skip`` false keeps expected repeats (a poll's overlap window) out of ``skips``.
        ``patient`` is the Encounter's subject id when the trigger carried it: gathering can
        then ask for the patient and their Coverage in its first round.
        """
        now = time.time()
        with self._write() as db:
            rows = db.execute(
                "SELECT id, version, state FROM jobs WHERE source = ? AND encounter_id = ?",
                (source, encounter_id),
            ).fetchall()
            verdict = self._verdict(rows, version)
            if verdict is not None:
                if not record_skip:
                    return verdict
                db.execute(
                    "INSERT INTO skips VALUES (?, ?, ?, ?, ?, ?)",
                    (source, encounter_id, version, verdict.value, trigger, now),
                )
                return verdict
            if version:  # a newer version supersedes what still waits for an older one
                for row in rows:
                    if row["state"] == JobState.QUEUED.value:
                        db.execute(
                            "UPDATE jobs SET state = ?, outcome = 'superseded', updated = ? "
                            "WHERE id = ?",
                            (JobState.DONE.value, now, row["id"]),
                        )
            db.execute(
                "INSERT INTO jobs (source, encounter_id, version, state, trigger, created, "
                "updated, patient) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (source, encounter_id, version, JobState.QUEUED.value, trigger, now, now, patient),
            )
            return Enqueued.QUEUED

    @staticmethod
    def _verdict(rows: list[sqlite3.Row], version: str) -> Enqueued | None:
        if not version:
            waiting = any(row["state"] == JobState.QUEUED.value for row in rows)
            return Enqueued.COALESCED if waiting else None
        if any(row["version"] == version for row in rows):
            return Enqueued.DUPLICATE
        live = (JobState.QUEUED.value, JobState.RUNNING.value, JobState.DONE.value)
        known = [row["version"] for row in rows if row["version"] and row["state"] in live]
        if any(_newer_or_same(k, version) for k in known):
            return Enqueued.STALE
        return None

    def claim(self, *, lease_seconds: float = 60.0, source: str | None = None) -> Job | None:
        """Take the oldest ready job (or one whose worker's lease ran out) for this worker."""
        now = time.time()
        mine, params = ("AND source = ?", [source]) if source is not None else ("", [])
        with self._write() as db:
            # two walks of the (state, id) index, each stopping at its first match: one
            # query with OR sorted every waiting job, each claim, so a backlog of n jobs
            # cost n squared (4 ms a claim with 20,000 queued)
            found = [
                db.execute(
                    f"SELECT id FROM jobs WHERE state = ? AND {column} {mine} "  # noqa: S608
                    "ORDER BY id LIMIT 1",
                    [state.value, now, *params],
                ).fetchone()
                for state, column in (
                    (JobState.QUEUED, "not_before <= ?"),
                    (JobState.RUNNING, "lease_until < ?"),
                )
            ]
            ids = [int(row["id"]) for row in found if row is not None]
            if not ids:
                return None
            job_id = min(ids)
            db.execute(
                "UPDATE jobs SET state = ?, attempts = attempts + 1, lease_until = ?, "
                "updated = ?, fence = fence + 1 WHERE id = ?",
                (JobState.RUNNING.value, now + lease_seconds, now, job_id),
            )
            return self._get(db, job_id)

    def extend(self, job_id: int, *, lease_seconds: float, fence: int | None = None) -> bool:
        """Renew a running job's lease: its worker is alive and still at it.

        ``fence`` (the claimed job's): False when another worker claimed it since, its
        lease having run out; the later owner's lease stands.
        """
        with self._write() as db:
            return _fenced(
                db,
                "UPDATE jobs SET lease_until = ? WHERE id = ? AND state = ?",
                [time.time() + lease_seconds, job_id, JobState.RUNNING.value],
                fence,
            )

    def settle_version(self, job: Job, version: str) -> bool:
        """Give a version-less job the version read from the server; False if already done."""
        if job.version or not version:
            return True
        with self._write() as db:
            rows = db.execute(
                "SELECT version, state FROM jobs WHERE source = ? AND encounter_id = ? AND id != ?",
                (job.source, job.encounter_id, job.id),
            ).fetchall()
            done = [r["version"] for r in rows if r["state"] == JobState.DONE.value]
            if any(_newer_or_same(k, version) for k in done):
                self._set(db, job.id, JobState.DONE, outcome="duplicate")
                return False
            if any(r["version"] == version for r in rows):
                self._set(db, job.id, JobState.DONE, outcome="coalesced")
                return False
            db.execute("UPDATE jobs SET version = ? WHERE id = ?", (version, job.id))
            return True

    def correct_version(self, job: Job, processed: str) -> bool:
        """Record that ``job`` was processed at ``processed``, the version the server had.

        A trigger's version is only a hint: a forged or mistaken ``versionId`` (say 999999)
        kept on a done job would make every real later version look stale forever. The
        job takes the version the server really had; when another row already holds it,
        the job keeps none, so it ranks against nothing. True when the hint was wrong.
        """
        if not processed or processed == job.version:
            return False
        with self._write() as db:
            clash = db.execute(
                "SELECT 1 FROM jobs WHERE source = ? AND encounter_id = ? AND version = ? "
                "AND id != ?",
                (job.source, job.encounter_id, processed, job.id),
            ).fetchone()
            db.execute(
                "UPDATE jobs SET version = ? WHERE id = ?", ("" if clash else processed, job.id)
            )
        return True

    def finish(
        self,
        job_id: int,
        state: JobState,
        *,
        outcome: str = "",
        claim_id: str = "",
        error: str = "",
        fence: int | None = None,
    ) -> bool:
        """Record how a job ended (done, held, failed or parked).

        ``fence`` (the claimed job's): False, and nothing recorded, when another worker
        claimed the job since (this one's lease ran out): the later owner records it.
        """
        with self._write() as db:
            return self._set(
                db, job_id, state, outcome=outcome, claim_id=claim_id, error=error, fence=fence
            )

    def retry_later(
        self,
        job_id: int,
        *,
        delay: float,
        error: str,
        attempt: bool = True,
        fence: int | None = None,
    ) -> bool:
        """Put a failed job back in the queue, not before ``delay`` seconds from now.

        ``attempt`` false gives back the attempt its claim counted: the job was not tried
        (another writer held its Claim, ``busy``), so waiting must not park it. ``fence``
        as for :meth:`finish`.
        """
        now = time.time()
        with self._write() as db:
            return _fenced(
                db,
                "UPDATE jobs SET state = ?, not_before = ?, lease_until = 0, last_error = ?, "
                "updated = ?, attempts = MAX(attempts - ?, 0) WHERE id = ?",
                [JobState.QUEUED.value, now + delay, error, now, 0 if attempt else 1, job_id],
                fence,
            )

    def release(self, job_id: int, *, fence: int | None = None) -> bool:
        """Hand a running job back untried (a graceful stop): queued at once, no attempt."""
        now = time.time()
        with self._write() as db:
            return _fenced(
                db,
                "UPDATE jobs SET state = ?, not_before = 0, lease_until = 0, updated = ?, "
                "attempts = MAX(attempts - 1, 0) WHERE id = ? AND state = ?",
                [JobState.QUEUED.value, now, job_id, JobState.RUNNING.value],
                fence,
            )

    def retry(self, job_id: int | None = None) -> int:
        """Queue parked and failed jobs again (one, or all); how many were."""
        now = time.time()
        states = (JobState.PARKED.value, JobState.FAILED.value)
        with self._write() as db:
            sql = (
                "UPDATE jobs SET state = ?, attempts = 0, not_before = 0, lease_until = 0, "
                "updated = ? WHERE state IN (?, ?)"
            )
            params: list[object] = [JobState.QUEUED.value, now, *states]
            if job_id is not None:
                sql += " AND id = ?"
                params.append(job_id)
            return db.execute(sql, params).rowcount

    @staticmethod
    def _set(
        db: sqlite3.Connection,
        job_id: int,
        state: JobState,
        *,
        outcome: str = "",
        claim_id: str = "",
        error: str = "",
        fence: int | None = None,
    ) -> bool:
        return _fenced(
            db,
            "UPDATE jobs SET state = ?, outcome = ?, claim_id = ?, last_error = ?, "
            "lease_until = 0, updated = ? WHERE id = ?",
            [state.value, outcome, claim_id, error, time.time(), job_id],
            fence,
        )

    @staticmethod
    def _get(db: sqlite3.Connection, job_id: int) -> Job | None:
        row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row is not None else None

    def get(self, job_id: int) -> Job | None:
        """One job by its number."""
        with self._lock:
            return self._get(self._db, job_id)

    def jobs(self, *, state: JobState | None = None, limit: int = 1000) -> list[Job]:
        """Jobs, oldest first, of one state or all."""
        with self._lock:
            if state is None:
                rows = self._db.execute(
                    "SELECT * FROM jobs ORDER BY id LIMIT ?", (limit,)
                ).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM jobs WHERE state = ? ORDER BY id LIMIT ?", (state.value, limit)
                ).fetchall()
        return [_job(row) for row in rows]

    def counts(self) -> dict[JobState, int]:
        """How many jobs are in each state."""
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        found = {JobState(row[0]): int(row[1]) for row in rows}
        return {state: found.get(state, 0) for state in JobState}

    def pending(self, source: str | None = None) -> int:
        """How many jobs wait or run (all sources, or one)."""
        sql = "SELECT COUNT(*) FROM jobs WHERE state IN (?, ?)"
        params: list[object] = list(_WAITING)
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        with self._lock:
            return int(self._db.execute(sql, params).fetchone()[0])

    def next_ready_in(self) -> float | None:
        """Seconds until the next waiting job may be claimed (None when nothing waits)."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(CASE WHEN state = ? THEN not_before ELSE lease_until END) "
                "FROM jobs WHERE state IN (?, ?)",
                (JobState.QUEUED.value, *_WAITING),
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return max(0.0, float(row[0]) - time.time())

    def skips(self) -> list[tuple[str, str, str, str]]:
        """The notifications recorded and not queued: (encounter, version, reason, trigger)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT encounter_id, version, reason, trigger FROM skips ORDER BY rowid"
            ).fetchall()
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def checkpoint(self, name: str) -> str | None:
        """A stored checkpoint (the polling watermark), or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM checkpoints WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else str(row[0])

    def set_checkpoint(self, name: str, value: str) -> None:
        """Store a checkpoint."""
        with self._write() as db:
            db.execute(
                "INSERT INTO checkpoints VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "value = excluded.value, updated = excluded.updated",
                (name, value, time.time()),
            )


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=int(row["id"]),
        source=str(row["source"]),
        encounter_id=str(row["encounter_id"]),
        version=str(row["version"]),
        state=JobState(row["state"]),
        attempts=int(row["attempts"]),
        last_error=str(row["last_error"]),
        outcome=str(row["outcome"]),
        claim_id=str(row["claim_id"]),
        trigger=str(row["trigger"]),
        created=float(row["created"]),
        updated=float(row["updated"]),
        not_before=float(row["not_before"]),
        lease_until=float(row["lease_until"]),
        patient=str(row["patient"]),
        fence=int(row["fence"]),
    )


def _fenced(db: sqlite3.Connection, sql: str, params: list[object], fence: int | None) -> bool:
    """Update one job, for the claim ``fence`` names only (None: any); whether it did."""
    if fence is not None:
        sql += " AND fence = ?"
        params = [*params, fence]
    return db.execute(sql, params).rowcount == 1
