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

The ledger lives in a SQLite file or, for several machines, in a PostgreSQL database
(``postgresql://...``, by default the job ledger's): :mod:`adapters.storage` holds what
differs; a reservation is atomic per encounter there too (an advisory lock on its key) and
its lease is read from the database's clock. A change of schema is a numbered file in both
``schema/sqlite`` and ``schema/postgresql``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Self

from adapters.storage import Row, Store, open_store
from fhir_coder.errors import FhirCoderError

__all__ = [
    "CLAIMS_SCHEMA",
    "DEFAULT_CLAIMS_DB",
    "ClaimLedger",
    "LedgerEntry",
    "Reservation",
    "ReservationLostError",
]

DEFAULT_CLAIMS_DB: Final = Path("fhir-coder-data") / "claims.sqlite3"
"""Where the Claim ledger lives unless configured: beside the job ledger."""

CLAIMS_SCHEMA: Final = Path(__file__).parent / "schema"
"""The numbered migrations of the Claim ledger, one folder per backend."""


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
    source_version: str = ""  # the Encounter's versionId the written Claim was coded from


@dataclass(frozen=True, slots=True)
class Reservation:
    """A held reservation: what is known of the encounter, and the fence that proves it."""

    entry: LedgerEntry
    fence: int


_ENTRY_COLUMNS = (
    "claim_id, server_id, version, content_hash, revision, submitted, task_open, written, replaces,"
    " source_version"
)
"""The columns a :class:`LedgerEntry` is read from, in :func:`_entry_of`'s order."""


def _entry_of(encounter_key: str, row: Row) -> LedgerEntry:
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
        source_version=row[9],
    )


class ClaimLedger:
    """A ledger of Claims written, shared by every run that points at the same file or database.

    ``target`` None keeps the ledger in memory (one process only: tests and the Python API;
    the commands always use a file, :data:`DEFAULT_CLAIMS_DB` unless configured); a path is
    a SQLite file; a ``postgresql://`` URL a database migrated by ``fhir-coder jobs migrate``.
    """

    def __init__(
        self, target: Path | str | None = None, *, lease_seconds: float = 120.0, pool_size: int = 4
    ) -> None:
        self.target = target
        self.lease_seconds = lease_seconds
        self._store: Store = open_store(target, pool_size=pool_size)
        try:
            self._store.check("claims", CLAIMS_SCHEMA)
            if self._store.dialect == "sqlite":
                self._add_fence_column()
        except BaseException:
            self._store.close()
            raise

    def _add_fence_column(self) -> None:
        """A ledger file written before reservations had owners gets its fence column."""
        with self._store.read() as db:
            columns = {row[1] for row in db.all("PRAGMA table_info(claims)")}
        if "fence" in columns:
            return
        with self._store.write() as db:  # looked at again under the lock: others open it too
            columns = {row[1] for row in db.all("PRAGMA table_info(claims)")}
            if "fence" not in columns:
                db.run("ALTER TABLE claims ADD COLUMN fence INTEGER NOT NULL DEFAULT 0")

    @staticmethod
    def migrate(target: Path | str) -> list[str]:
        """Apply the Claim ledger's migrations not applied yet at ``target``; their names."""
        with open_store(target, pool_size=1) as store:
            return store.migrate("claims", CLAIMS_SCHEMA)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database."""
        self._store.close()

    def reserve(self, destination: str, encounter_key: str) -> Reservation | None:
        """Reserve ``encounter_key`` for writing; None when another writer holds it.

        None means another run holds an unexpired reservation: it is writing this
        encounter's Claim now, and this run must leave it alone (and come back later).
        """
        with self._store.write(_key(destination, encounter_key)) as db:
            now = db.now()
            row = db.one(
                f"SELECT {_ENTRY_COLUMNS}, lease_until, fence FROM claims"  # noqa: S608
                " WHERE destination = ? AND encounter_key = ?",
                (destination, encounter_key),
            )
            if row is not None and row[10] > now:
                return None
            fence = (int(row[11]) if row is not None else 0) + 1
            db.run(
                "INSERT INTO claims (destination, encounter_key, lease_until, fence)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (destination, encounter_key) DO UPDATE"
                " SET lease_until = excluded.lease_until, fence = excluded.fence",
                (destination, encounter_key, now + self.lease_seconds, fence),
            )
        entry = LedgerEntry(encounter_key) if row is None else _entry_of(encounter_key, row)
        return Reservation(entry, fence)

    def renew(self, destination: str, encounter_key: str, fence: int) -> bool:
        """Extend a held reservation by ``lease_seconds``; False when it was taken over."""
        with self._store.write() as db:
            changed = db.run(
                "UPDATE claims SET lease_until = ?"
                " WHERE destination = ? AND encounter_key = ? AND fence = ?",
                (db.now() + self.lease_seconds, destination, encounter_key, fence),
            )
        return changed == 1

    def release(self, destination: str, encounter_key: str, fence: int) -> bool:
        """Give up a reservation without recording a write (nothing changed, or it failed).

        False when the reservation was no longer this writer's: the new owner keeps it.
        """
        with self._store.write() as db:
            changed = db.run(
                "UPDATE claims SET lease_until = 0"
                " WHERE destination = ? AND encounter_key = ? AND fence = ?",
                (destination, encounter_key, fence),
            )
        return changed == 1

    def record(self, destination: str, entry: LedgerEntry, fence: int) -> None:
        """Record a completed write and end the reservation ``fence`` proves.

        Raises :class:`ReservationLostError` when another writer took the reservation
        over meanwhile: its view of the destination is newer, so this one is not recorded.
        """
        with self._store.write() as db:
            changed = db.run(
                "UPDATE claims SET claim_id = ?, server_id = ?, version = ?, content_hash = ?,"
                " revision = ?, submitted = ?, task_open = ?, replaces = ?, source_version = ?,"
                " written = 1, lease_until = 0"
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
                    entry.source_version,
                    destination,
                    entry.encounter_key,
                    fence,
                ),
            )
        if changed != 1:
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
        with self._store.write() as db:
            changed = db.run(
                "UPDATE claims SET submitted = 1"
                " WHERE destination = ? AND encounter_key = ? AND written = 1",
                (destination, encounter_key),
            )
        return changed == 1

    def unmark_submitted(self, destination: str, encounter_key: str) -> bool:
        """Undo :meth:`mark_submitted`: the payer never received the Claim after all.

        Called when the interchange that carried it was rejected whole (an X12 TA1): the
        Claim is not submitted, so a recoded encounter updates it rather than replacing it.
        False when there was nothing to undo.
        """
        with self._store.write() as db:
            changed = db.run(
                "UPDATE claims SET submitted = 0"
                " WHERE destination = ? AND encounter_key = ? AND written = 1 AND submitted = 1",
                (destination, encounter_key),
            )
        return changed == 1

    def entry(self, destination: str, encounter_key: str) -> LedgerEntry | None:
        """The recorded write for ``encounter_key``, or None."""
        with self._store.read() as db:
            row = db.one(
                f"SELECT {_ENTRY_COLUMNS} FROM claims"  # noqa: S608 - fixed text
                " WHERE destination = ? AND encounter_key = ? AND written = 1",
                (destination, encounter_key),
            )
        return None if row is None else _entry_of(encounter_key, row)


def _key(destination: str, encounter_key: str) -> str:
    """The lock that makes a reservation atomic (the same key on every machine)."""
    return f"claims:{destination}\x1f{encounter_key}"
