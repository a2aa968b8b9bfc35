"""The local ledger of written Claims: what was written where, and who is writing now.

Conditional create is not atomic on HAPI or Azure, and an NDJSON folder has no
conditional create at all, so exactly-once cannot rest on the destination alone. The
ledger (SQLite, one row per destination and encounter) records each Claim written: its
id on the destination, the version to send in ``If-Match``, a hash of its content (an
unchanged encounter is not written again) and whether it was submitted (a submitted
claim is replaced, never updated).

A row is *reserved* before writing, under SQLite's write lock, so two runs sharing the
ledger never write the same encounter at once. A reservation has an owner: each
:meth:`ClaimLedger.reserve` raises the row's *fence*, a number that only grows, and
:meth:`~ClaimLedger.record`, :meth:`~ClaimLedger.release` and :meth:`~ClaimLedger.renew`
act only for the fence they were given. A writer whose reservation lapsed (a write slower
than the lease, a process frozen) and was taken over therefore cannot end the new
owner's reservation or record over it: :class:`ReservationLostError`. A reservation
lapses after ``lease_seconds`` unless renewed, so a crashed run does not block for ever;
the writer renews it while its write is in flight.

The ledger lives beside the job ledger (``fhir-coder-data/claims.sqlite3``) for every
command: after a restart a write to a Claim id the ledger knows goes with ``If-Match``
on the version written, and one it does not know reads the destination first
(:mod:`adapters.writeback.claim_writer`).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Self

from fhir_coder.errors import FhirCoderError

__all__ = [
    "DEFAULT_CLAIMS_DB",
    "ClaimLedger",
    "LedgerEntry",
    "Reservation",
    "ReservationLostError",
]

DEFAULT_CLAIMS_DB: Final = Path("fhir-coder-data") / "claims.sqlite3"
"""Where the Claim ledger lives unless configured: beside the job ledger."""

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS claims (
    destination TEXT NOT NULL,
    encounter_key TEXT NOT NULL,
    claim_id TEXT NOT NULL DEFAULT '',
    server_id TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL DEFAULT '',
    revision INTEGER NOT NULL DEFAULT 0,
    submitted INTEGER NOT NULL DEFAULT 0,
    task_open INTEGER NOT NULL DEFAULT 0,
    written INTEGER NOT NULL DEFAULT 0,
    replaces TEXT NOT NULL DEFAULT '',
    lease_until REAL NOT NULL DEFAULT 0,
    fence INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (destination, encounter_key)
)
"""


class ReservationLostError(FhirCoderError):
    """A writer's reservation lapsed, and another writer holds the encounter now.

    Whatever this writer sent may have landed; the new owner (or the next attempt) reads
    the destination and finds it, so the job is retried rather than failed.
    """


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """What the ledger knows of one encounter's Claim on one destination."""

    encounter_key: str
    claim_id: str = ""
    server_id: str = ""  # the id the destination gave the Claim (= claim_id for PUT)
    version: str = ""
    content_hash: str = ""
    revision: int = 0
    submitted: bool = False
    task_open: bool = False
    written: bool = False
    replaces: str = ""  # the destination id of the submitted Claim this one replaces


@dataclass(frozen=True, slots=True)
class Reservation:
    """A held reservation: what is known of the encounter, and the fence that proves it."""

    entry: LedgerEntry
    fence: int


_ENTRY_COLUMNS = (
    "claim_id, server_id, version, content_hash, revision, submitted, task_open, written, replaces"
)
"""The columns a :class:`LedgerEntry` is read from, in :func:`_entry_of`'s order."""


def _entry_of(encounter_key: str, row: tuple[Any, ...]) -> LedgerEntry:
    return LedgerEntry(
        encounter_key,
        claim_id=row[0],
        server_id=row[1],
        version=row[2],
        content_hash=row[3],
        revision=row[4],
        submitted=bool(row[5]),
        task_open=bool(row[6]),
        written=bool(row[7]),
        replaces=row[8],
    )


class ClaimLedger:
    """A SQLite ledger of Claims written, shared by every run that points at the same file.

    ``path`` None keeps the ledger in memory (one process only: tests and the Python API;
    the commands always use a file, :data:`DEFAULT_CLAIMS_DB` unless configured).
    """

    def __init__(self, path: Path | None = None, *, lease_seconds: float = 120.0) -> None:
        self.path = path
        self.lease_seconds = lease_seconds
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(path) if path is not None else ":memory:",
            timeout=30.0,
            isolation_level=None,
            check_same_thread=False,
        )
        self._lock = threading.Lock()
        with self._lock:
            if path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL: a commit survives the process being killed (the crash the
                # ledger guards against) without an fsync per write; as the job ledger
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(claims)")}
            if "fence" not in columns:  # a ledger file written before reservations had owners
                self._db.execute("ALTER TABLE claims ADD COLUMN fence INTEGER NOT NULL DEFAULT 0")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def reserve(self, destination: str, encounter_key: str) -> Reservation | None:
        """Reserve ``encounter_key`` for writing; None when another writer holds it.

        None means another run holds an unexpired reservation: it is writing this
        encounter's Claim now, and this run must leave it alone (and come back later).
        """
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    f"SELECT {_ENTRY_COLUMNS}, lease_until, fence FROM claims"  # noqa: S608
                    " WHERE destination = ? AND encounter_key = ?",
                    (destination, encounter_key),
                ).fetchone()
                if row is not None and row[9] > now:
                    self._db.execute("ROLLBACK")
                    return None
                fence = (row[10] if row is not None else 0) + 1
                self._db.execute(
                    "INSERT INTO claims (destination, encounter_key, lease_until, fence)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (destination, encounter_key) DO UPDATE"
                    " SET lease_until = excluded.lease_until, fence = excluded.fence",
                    (destination, encounter_key, now + self.lease_seconds, fence),
                )
                self._db.execute("COMMIT")
            except sqlite3.Error:
                self._db.execute("ROLLBACK")
                raise
        entry = LedgerEntry(encounter_key) if row is None else _entry_of(encounter_key, row)
        return Reservation(entry, fence)

    def renew(self, destination: str, encounter_key: str, fence: int) -> bool:
        """Extend a held reservation by ``lease_seconds``; False when it was taken over."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE claims SET lease_until = ?"
                " WHERE destination = ? AND encounter_key = ? AND fence = ?",
                (time.time() + self.lease_seconds, destination, encounter_key, fence),
            )
            return cursor.rowcount == 1

    def release(self, destination: str, encounter_key: str, fence: int) -> bool:
        """Give up a reservation without recording a write (nothing changed, or it failed).

        False when the reservation was no longer this writer's: the new owner keeps it.
        """
        with self._lock:
            cursor = self._db.execute(
                "UPDATE claims SET lease_until = 0"
                " WHERE destination = ? AND encounter_key = ? AND fence = ?",
                (destination, encounter_key, fence),
            )
            return cursor.rowcount == 1

    def record(self, destination: str, entry: LedgerEntry, fence: int) -> None:
        """Record a completed write and end the reservation ``fence`` proves.

        Raises :class:`ReservationLostError` when another writer took the reservation
        over meanwhile: its view of the destination is newer, so this one is not recorded.
        """
        with self._lock:
            cursor = self._db.execute(
                "UPDATE claims SET claim_id = ?, server_id = ?, version = ?, content_hash = ?,"
                " revision = ?, submitted = ?, task_open = ?, replaces = ?, written = 1,"
                " lease_until = 0"
                " WHERE destination = ? AND encounter_key = ? AND fence = ?",
                (
                    entry.claim_id,
                    entry.server_id,
                    entry.version,
                    entry.content_hash,
                    entry.revision,
                    int(entry.submitted),
                    int(entry.task_open),
                    entry.replaces,
                    destination,
                    entry.encounter_key,
                    fence,
                ),
            )
            lost = cursor.rowcount != 1
        if lost:
            raise ReservationLostError(
                f"the reservation of {entry.encounter_key} on {destination} was taken over "
                "by another writer before this write was recorded"
            )

    def mark_submitted(self, destination: str, encounter_key: str) -> bool:
        """Record that the encounter's current Claim was submitted to the payer.

        Called by whatever submits claims (the X12 837 writer, a clearinghouse hand-off).
        From then on a recoded encounter gets a replacement Claim. False when the ledger
        has no written Claim for the encounter.
        """
        with self._lock:
            cursor = self._db.execute(
                "UPDATE claims SET submitted = 1"
                " WHERE destination = ? AND encounter_key = ? AND written = 1",
                (destination, encounter_key),
            )
            return cursor.rowcount == 1

    def entry(self, destination: str, encounter_key: str) -> LedgerEntry | None:
        """The recorded write for ``encounter_key``, or None."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM claims"  # noqa: S608 - fixed text
                " WHERE destination = ? AND encounter_key = ? AND written = 1",
                (destination, encounter_key),
            ).fetchone()
        return None if row is None else _entry_of(encounter_key, row)
