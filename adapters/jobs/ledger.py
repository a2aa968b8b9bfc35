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

The rows live in a SQLite file (the embedded default) or a PostgreSQL database shared by
several machines (``--jobs-db postgresql://...``): :mod:`adapters.storage` holds what
differs, the SQL here is written once, and ``tests/adapters/jobs/test_jobs_ledger.py`` runs
on both. A change of schema is a new numbered file in both ``schema/sqlite`` and
``schema/postgresql`` (SQLite applies it on open; PostgreSQL by ``fhir-coder jobs migrate``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from adapters.jobs.work_store import WorkItems
from adapters.storage import Row, Store, Tx, open_store

__all__ = ["DEFAULT_JOBS_DB", "JOBS_SCHEMA", "Enqueued", "Job", "JobLedger", "JobState"]

DEFAULT_JOBS_DB: Final = Path("fhir-coder-data") / "jobs.sqlite3"
JOBS_SCHEMA: Final = Path(__file__).parent / "schema"
"""The numbered migrations of the job ledger, one folder per backend."""
_CHANNEL: Final = "fhir_coder_jobs"
"""Where a PostgreSQL ledger announces new jobs (the payload: their source)."""


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
    claimed_by: str = ""  # host:pid of the process that last claimed it


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
    """The jobs of every trigger, shared by every process that opens the same file or database.

    ``target`` is a SQLite file (created and brought up to date on open) or a
    ``postgresql://`` URL (its schema applied by ``fhir-coder jobs migrate``, checked here);
    ``pool_size`` bounds this process's connections to PostgreSQL. Jobs this ledger
    claims are marked ``claimed_by`` its ``owner`` (host:pid).
    """

    def __init__(self, target: Path | str = DEFAULT_JOBS_DB, *, pool_size: int = 4) -> None:
        self.target = target
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._store: Store = open_store(target, pool_size=pool_size)
        try:
            if self._store.dialect == "sqlite":
                self._add_legacy_columns()
            self._store.check("jobs", JOBS_SCHEMA)
            # the work items of encounters that need a person, in the same database
            self.work = WorkItems(self._store)
        except BaseException:
            self._store.close()
            raise

    @property
    def store(self) -> Store:
        """The database under this ledger, for rows kept beside the jobs (CDS Hooks JWTs used).

        It stays open as long as the ledger does.
        """
        return self._store

    def _add_legacy_columns(self) -> None:
        """A file written before a column existed gets it (then the migrations apply as usual).

        The jobs' patient hint and the work events' outbox flag came before schema versions.
        """
        with self._store.read() as db:
            if not _legacy_gaps(db):
                return
        with self._store.write() as db:  # looked at again under the lock: others open it too
            for table, column, kind in _legacy_gaps(db):
                db.run(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    @staticmethod
    def migrate(target: Path | str) -> list[str]:
        """Apply the job ledger's migrations not applied yet at ``target``; their names."""
        with open_store(target, pool_size=1) as store:
            return store.migrate("jobs", JOBS_SCHEMA)

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
        """Close the file or the connections."""
        self._store.close()

    async def listen(self, heard: Callable[[str], None]) -> None:
        """Call ``heard(source)`` when another process queues jobs, until cancelled.

        PostgreSQL only (``LISTEN``); on SQLite it returns at once and workers poll.
        """
        await self._store.listen(_CHANNEL, heard)

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
        with self._store.write(_key(source, encounter_id)) as db:
            now = db.now()
            rows = db.all(
                "SELECT id, version, state FROM jobs WHERE source = ? AND encounter_id = ?",
                (source, encounter_id),
            )
            verdict = self._verdict(rows, version)
            if verdict is not None:
                if not record_skip:
                    return verdict
                db.run(
                    "INSERT INTO skips (source, encounter_id, version, reason, trigger, at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (source, encounter_id, version, verdict.value, trigger, now),
                )
                return verdict
            if version:  # a newer version supersedes what still waits for an older one
                for row in rows:
                    if row["state"] == JobState.QUEUED.value:
                        db.run(
                            "UPDATE jobs SET state = ?, outcome = 'superseded', updated = ? "
                            "WHERE id = ?",
                            (JobState.DONE.value, now, row["id"]),
                        )
            db.run(
                "INSERT INTO jobs (source, encounter_id, version, state, trigger, created, "
                "updated, patient) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (source, encounter_id, version, JobState.QUEUED.value, trigger, now, now, patient),
            )
            self._store.notify(db, _CHANNEL, source)
            return Enqueued.QUEUED

    @staticmethod
    def _verdict(rows: Sequence[Row], version: str) -> Enqueued | None:
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
        """Take the oldest ready job (or one whose worker's lease ran out) for this worker.

        SQLite's write lock keeps every other claimer out; on PostgreSQL each candidate
        row is locked ``FOR UPDATE SKIP LOCKED``, so claimers on many machines pass each
        other by instead of waiting.
        """
        mine, params = ("AND source = ?", [source]) if source is not None else ("", [])
        with self._store.write() as db:
            now = db.now()
            # two walks of the (state, id) index, each stopping at its first match: one
            # query with OR sorted every waiting job, each claim, so a backlog of n jobs
            # cost n squared (4 ms a claim with 20,000 queued)
            found = [
                db.one(
                    f"SELECT id FROM jobs WHERE state = ? AND {column} {mine} "  # noqa: S608
                    f"ORDER BY id LIMIT 1{self._store.skip_locked}",
                    [state.value, now, *params],
                )
                for state, column in (
                    (JobState.QUEUED, "not_before <= ?"),
                    (JobState.RUNNING, "lease_until < ?"),
                )
            ]
            ids = [int(row["id"]) for row in found if row is not None]
            if not ids:
                return None
            job_id = min(ids)
            db.run(
                "UPDATE jobs SET state = ?, attempts = attempts + 1, lease_until = ?, "
                "updated = ?, claimed_by = ?, fence = fence + 1 WHERE id = ?",
                (JobState.RUNNING.value, now + lease_seconds, now, self.owner, job_id),
            )
            return self._get(db, job_id)

    def extend(self, job_id: int, *, lease_seconds: float, fence: int | None = None) -> bool:
        """Renew a running job's lease: its worker is alive and still at it.

        ``fence`` (the claimed job's): False when another worker claimed it since, its
        lease having run out; the later owner's lease stands.
        """
        with self._store.write() as db:
            return _fenced(
                db,
                "UPDATE jobs SET lease_until = ? WHERE id = ? AND state = ?",
                [db.now() + lease_seconds, job_id, JobState.RUNNING.value],
                fence,
            )

    def settle_version(self, job: Job, version: str) -> bool:
        """Give a version-less job the version read from the server; False if already done."""
        if job.version or not version:
            return True
        with self._store.write(_key(job.source, job.encounter_id)) as db:
            rows = db.all(
                "SELECT version, state FROM jobs WHERE source = ? AND encounter_id = ? AND id != ?",
                (job.source, job.encounter_id, job.id),
            )
            done = [r["version"] for r in rows if r["state"] == JobState.DONE.value]
            if any(_newer_or_same(k, version) for k in done):
                self._set(db, job.id, JobState.DONE, outcome="duplicate")
                return False
            if any(r["version"] == version for r in rows):
                self._set(db, job.id, JobState.DONE, outcome="coalesced")
                return False
            db.run("UPDATE jobs SET version = ? WHERE id = ?", (version, job.id))
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
        with self._store.write(_key(job.source, job.encounter_id)) as db:
            clash = db.one(
                "SELECT 1 FROM jobs WHERE source = ? AND encounter_id = ? AND version = ? "
                "AND id != ?",
                (job.source, job.encounter_id, processed, job.id),
            )
            db.run("UPDATE jobs SET version = ? WHERE id = ?", ("" if clash else processed, job.id))
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
        with self._store.write() as db:
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
        given_back = 0 if attempt else 1
        with self._store.write() as db:
            now = db.now()
            return _fenced(
                db,
                # CASE, not SQLite's two-argument MAX (PostgreSQL calls it GREATEST)
                "UPDATE jobs SET state = ?, not_before = ?, lease_until = 0, last_error = ?, "
                "updated = ?, attempts = CASE WHEN attempts > ? THEN attempts - ? ELSE 0 END "
                "WHERE id = ?",
                [JobState.QUEUED.value, now + delay, error, now, given_back, given_back, job_id],
                fence,
            )

    def release(self, job_id: int, *, fence: int | None = None) -> bool:
        """Hand a running job back untried (a graceful stop): queued at once, no attempt."""
        with self._store.write() as db:
            released = _fenced(
                db,
                "UPDATE jobs SET state = ?, not_before = 0, lease_until = 0, updated = ?, "
                "attempts = CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END "
                "WHERE id = ? AND state = ?",
                [JobState.QUEUED.value, db.now(), job_id, JobState.RUNNING.value],
                fence,
            )
            if released:
                self._store.notify(db, _CHANNEL, "")
            return released

    def retry(self, job_id: int | None = None) -> int:
        """Queue parked and failed jobs again (one, or all); how many were."""
        states = (JobState.PARKED.value, JobState.FAILED.value)
        with self._store.write() as db:
            sql = (
                "UPDATE jobs SET state = ?, attempts = 0, not_before = 0, lease_until = 0, "
                "updated = ? WHERE state IN (?, ?)"
            )
            params: list[object] = [JobState.QUEUED.value, db.now(), *states]
            if job_id is not None:
                sql += " AND id = ?"
                params.append(job_id)
            count = db.run(sql, params)
            if count:
                self._store.notify(db, _CHANNEL, "")
            return count

    @staticmethod
    def _set(
        db: Tx,
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
            [state.value, outcome, claim_id, error, db.now(), job_id],
            fence,
        )

    @staticmethod
    def _get(db: Tx, job_id: int) -> Job | None:
        row = db.one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _job(row) if row is not None else None

    def get(self, job_id: int) -> Job | None:
        """One job by its number."""
        with self._store.read() as db:
            return self._get(db, job_id)

    def jobs(self, *, state: JobState | None = None, limit: int = 1000) -> list[Job]:
        """Jobs, oldest first, of one state or all."""
        with self._store.read() as db:
            if state is None:
                rows = db.all("SELECT * FROM jobs ORDER BY id LIMIT ?", (limit,))
            else:
                rows = db.all(
                    "SELECT * FROM jobs WHERE state = ? ORDER BY id LIMIT ?", (state.value, limit)
                )
        return [_job(row) for row in rows]

    def counts(self) -> dict[JobState, int]:
        """How many jobs are in each state."""
        with self._store.read() as db:
            rows = db.all("SELECT state, COUNT(*) FROM jobs GROUP BY state")
        found = {JobState(row[0]): int(row[1]) for row in rows}
        return {state: found.get(state, 0) for state in JobState}

    def pending(self, source: str | None = None) -> int:
        """How many jobs wait or run (all sources, or one)."""
        sql = "SELECT COUNT(*) FROM jobs WHERE state IN (?, ?)"
        params: list[object] = list(_WAITING)
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        with self._store.read() as db:
            row = db.one(sql, params)
        return int(row[0]) if row is not None else 0

    def next_ready_in(self) -> float | None:
        """Seconds until the next waiting job may be claimed (None when nothing waits)."""
        with self._store.read() as db:
            row = db.one(
                "SELECT MIN(CASE WHEN state = ? THEN not_before ELSE lease_until END) "
                "FROM jobs WHERE state IN (?, ?)",
                (JobState.QUEUED.value, *_WAITING),
            )
            if row is None or row[0] is None:
                return None
            return max(0.0, float(row[0]) - db.now())

    def skips(self) -> list[tuple[str, str, str, str]]:
        """The notifications recorded and not queued: (encounter, version, reason, trigger)."""
        with self._store.read() as db:
            rows = db.all("SELECT encounter_id, version, reason, trigger FROM skips ORDER BY rowid")
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def checkpoint(self, name: str) -> str | None:
        """A stored checkpoint (the polling watermark), or None."""
        with self._store.read() as db:
            row = db.one("SELECT value FROM checkpoints WHERE name = ?", (name,))
        return None if row is None else str(row[0])

    def set_checkpoint(self, name: str, value: str) -> None:
        """Store a checkpoint."""
        with self._store.write(f"checkpoint:{name}") as db:
            db.run(
                "INSERT INTO checkpoints VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "value = excluded.value, updated = excluded.updated",
                (name, value, db.now()),
            )


_LEGACY_COLUMNS: Final = (
    ("jobs", "patient", "TEXT NOT NULL DEFAULT ''"),
    ("jobs", "fence", "INTEGER NOT NULL DEFAULT 0"),
    ("work_events", "sent", "INTEGER NOT NULL DEFAULT 0"),
)


def _legacy_gaps(db: Tx) -> list[tuple[str, str, str]]:
    """The columns of :data:`_LEGACY_COLUMNS` a SQLite file has the table of but not the column."""
    gaps = []
    for table, column, kind in _LEGACY_COLUMNS:
        columns = {row["name"] for row in db.all(f"PRAGMA table_info({table})")}
        if columns and column not in columns:
            gaps.append((table, column, kind))
    return gaps


def _key(source: str, encounter_id: str) -> str:
    """The lock that makes a check-then-insert on one encounter's jobs atomic."""
    return f"jobs:{source}\x1f{encounter_id}"


def _job(row: Row) -> Job:
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
        claimed_by=str(row["claimed_by"]),
        fence=int(row["fence"]),
    )


def _fenced(db: Tx, sql: str, params: list[object], fence: int | None) -> bool:
    """Update one job, for the claim ``fence`` names only (None: any); whether it did."""
    if fence is not None:
        sql += " AND fence = ?"
        params = [*params, fence]
    return db.run(sql, params) == 1
