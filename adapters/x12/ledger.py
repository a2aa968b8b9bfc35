"""The submission ledger: what went to the payer, what came back, and each Claim's history.

A SQLite file (``fhir-coder-data/x12.sqlite3`` by default) or, when several machines share
the work, a PostgreSQL database (``postgresql://...``, migrated by ``fhir-coder jobs
migrate``), through :mod:`adapters.storage` as the job and Claim ledgers are; the schema
is numbered files in ``schema/sqlite`` and ``schema/postgresql``. It holds the interchange
control numbers (never reused), one row per submitted Claim (its patient control number is
how an 835 or 277CA finds it), every status the Claim passed through with when and why,
every remittance line as the payer sent it, and each interchange handed off with where its
hand-off stands. Each intake is one transaction: a file is recorded whole or not at all,
and a file read twice records nothing the second time.

A Claim is taken for sending by one upsert that only succeeds where the Claim was never
sent or its sending did not reach the payer (:meth:`SubmissionLedger.take_for_sending`):
a second machine inserting the same Claim waits for the first's commit and finds it
taken. Other writes that must not interleave name a key
(:meth:`SubmissionLedger.transaction`): an intake's digest while it is recorded, an
interchange while its hand-off is finished. SQLite serialises every write anyway;
PostgreSQL takes an advisory lock per key, so unrelated work runs in parallel.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Self

from adapters.storage import Row, Store, Tx, open_store

__all__ = [
    "DEFAULT_X12_DB",
    "RESUBMITTABLE",
    "X12_SCHEMA",
    "ClaimEvent",
    "HandoffRow",
    "RemitLineRow",
    "Submission",
    "SubmissionLedger",
]

DEFAULT_X12_DB: Final = Path("fhir-coder-data") / "x12.sqlite3"
X12_SCHEMA: Final = Path(__file__).parent / "schema"
"""The numbered migrations of the submission ledger, one folder per backend."""
_COUNTER_LIMIT: Final = 999_999_999  # ISA13 has nine digits
_CHUNK: Final = 500  # values per IN (...) list: SQLite allows 32,766 parameters, keep it small
RESUBMITTABLE: Final = ("rejected", "not-submitted")
"""Statuses a Claim may be sent again from: a 999/277CA rejection (fix and resend), or a
hand-off that did not happen (a TA1 rejection, a refused or abandoned hand-off)."""


@dataclass(frozen=True, slots=True)
class Submission:
    """One Claim as it was sent."""

    claim_id: str
    pcn: str
    base_id: str
    destination: str
    kind: str
    frequency: str
    charge: str
    interchange: int
    corrects: str = ""
    batch: str = ""  # GS06:ST02 of the transaction set it went in (what a 999 names)
    encounter: str = ""  # Encounter/id of the Claim's lines
    detail: dict[str, Any] = field(default_factory=dict)  # codes as sent: diagnoses, lines
    payer_claim_number: str = ""
    status: str = "submitted"
    submitted_at: float = 0.0


@dataclass(frozen=True, slots=True)
class ClaimEvent:
    """One step of a Claim's history."""

    claim_id: str
    at: float
    status: str
    source: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RemitLineRow:
    """One remittance line (or line adjustment) as recorded."""

    claim_id: str
    pcn: str
    claim_status: str
    line: int
    procedure: str
    charge: str
    paid: str
    group_code: str
    carc: str
    amount: str
    rarcs: tuple[str, ...]
    outcome: str


@dataclass(frozen=True, slots=True)
class HandoffRow:
    """One interchange handed off, or on its way: where it goes and where that stands."""

    control: int
    destination: str
    method: str
    name: str
    staged: str
    digest: str
    host: str
    pid: int
    state: str  # reserved | staged | sent | released
    claims: int
    lease_until: float
    detail: dict[str, Any] = field(default_factory=dict)


_HANDOFF_COLUMNS: Final = (
    "control, destination, method, name, staged, digest, host, pid, state, claims, lease_until,"
    " detail"
)


def _handoff(row: Row) -> HandoffRow:
    return HandoffRow(
        int(row[0]),
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        int(row[7]),
        row[8],
        int(row[9]),
        float(row[10]),
        json.loads(row[11]),
    )


_SUBMISSION_COLUMNS: Final = (
    "claim_id, pcn, base_id, destination, kind, frequency, charge, interchange, corrects,"
    " payer_claim_number, status, submitted_at, batch, encounter, detail"
)


_SUBMISSION_COLUMNS_LIGHT: Final = _SUBMISSION_COLUMNS.replace(" detail", " '{}'")


def _submission_values(submission: Submission) -> tuple[object, ...]:
    return (
        submission.claim_id,
        submission.pcn,
        submission.base_id,
        submission.destination,
        submission.kind,
        submission.frequency,
        submission.charge,
        submission.interchange,
        submission.corrects,
        submission.payer_claim_number,
        submission.status,
        submission.submitted_at,
        submission.batch,
        submission.encounter,
        json.dumps(submission.detail, sort_keys=True),
    )


def _submission(row: Row | Sequence[Any]) -> Submission:
    return Submission(
        claim_id=row[0],
        pcn=row[1],
        base_id=row[2],
        destination=row[3],
        kind=row[4],
        frequency=row[5],
        charge=row[6],
        interchange=row[7],
        corrects=row[8],
        payer_claim_number=row[9],
        status=row[10],
        submitted_at=row[11],
        batch=row[12],
        encounter=row[13],
        detail=json.loads(row[14]),
    )


class SubmissionLedger:
    """The ledger of submissions, statuses and remittances.

    ``target`` None keeps it in memory (one process: tests and the Python API); a path is
    a SQLite file (migrated when opened); a ``postgresql://`` URL a database migrated by
    ``fhir-coder jobs migrate`` (checked when opened).
    """

    def __init__(self, target: Path | str | None = None, *, pool_size: int = 4) -> None:
        self.target = target
        self.path = None if target is None or isinstance(target, str) else Path(target)
        self._store: Store = open_store(target, pool_size=pool_size)
        try:
            self._store.check("x12", X12_SCHEMA)
        except BaseException:
            self._store.close()
            raise

    @staticmethod
    def migrate(target: Path | str) -> list[str]:
        """Apply the submission ledger's migrations not applied yet at ``target``; their names."""
        with open_store(target, pool_size=1) as store:
            return store.migrate("x12", X12_SCHEMA)

    @property
    def shared(self) -> bool:
        """Whether several machines may use this ledger at once (PostgreSQL)."""
        return self._store.shared

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database."""
        self._store.close()

    def transaction(self, *keys: str) -> AbstractContextManager[Tx]:
        """One write transaction, all of it or none, serialised with others naming ``keys``."""
        return self._store.write(*keys)

    def read(self) -> AbstractContextManager[Tx]:
        """A read-only look at the ledger."""
        return self._store.read()

    def next_control_number(self, name: str = "interchange") -> int:
        """The next interchange control number (1, 2, ...), never handed out twice."""
        with self.transaction(f"x12:counter:{name}") as db:
            return self.take_number(db, name)

    @staticmethod
    def take_number(db: Tx, name: str = "interchange") -> int:
        """:meth:`next_control_number` inside a transaction already open."""
        row = db.one(
            "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE"
            " SET value = CASE WHEN counters.value >= ? THEN 1"
            " ELSE counters.value + 1 END RETURNING value",
            (name, _COUNTER_LIMIT),
        )
        return int(row[0]) if row is not None else 1

    @staticmethod
    def add_event(
        db: Tx,
        claim_id: str,
        status: str,
        source: str,
        detail: dict[str, Any] | None = None,
        *,
        at: float | None = None,
        set_status: bool = True,
    ) -> None:
        """Record a step of ``claim_id``'s history (inside a :meth:`transaction`)."""
        db.run(
            "INSERT INTO events (claim_id, at, status, source, detail) VALUES (?, ?, ?, ?, ?)",
            (claim_id, at or time.time(), status, source, json.dumps(detail or {}, sort_keys=True)),
        )
        if set_status:
            db.run("UPDATE submissions SET status = ? WHERE claim_id = ?", (status, claim_id))

    @staticmethod
    def add_events(db: Tx, events: Sequence[tuple[str, str, str, dict[str, Any], float]]) -> None:
        """Record many steps ``(claim id, status, source, detail, at)`` at once.

        The status of each Claim becomes its last one here.
        """
        db.many(
            "INSERT INTO events (claim_id, at, status, source, detail) VALUES (?, ?, ?, ?, ?)",
            [
                (claim_id, at, status, source, json.dumps(detail, sort_keys=True))
                for claim_id, status, source, detail, at in events
            ],
        )
        db.many(
            "UPDATE submissions SET status = ? WHERE claim_id = ?",
            [(status, claim_id) for claim_id, status, _, _, _ in events],
        )

    def submissions_by(self, column: str, values: Sequence[str]) -> dict[str, Submission]:
        """The submissions whose ``column`` (``claim_id`` or ``pcn``) is one of ``values``."""
        if column not in ("claim_id", "pcn"):
            raise ValueError(column)
        found: dict[str, Submission] = {}
        wanted = list(dict.fromkeys(values))
        with self._store.read() as db:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = ", ".join("?" for _ in chunk)
                for row in db.all(
                    f"SELECT {_SUBMISSION_COLUMNS} FROM submissions"  # noqa: S608 - fixed text
                    f" WHERE {column} IN ({marks})",
                    chunk,
                ):
                    submission = _submission(row)
                    found[getattr(submission, column)] = submission
        return found

    @staticmethod
    def add_submission(db: Tx, submission: Submission) -> None:
        """Record ``submission`` (inside a :meth:`transaction`); a resubmission replaces it."""
        db.run(
            f"INSERT INTO submissions ({_SUBMISSION_COLUMNS})"  # noqa: S608 - fixed text
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (claim_id) DO UPDATE SET interchange = excluded.interchange,"
            " status = excluded.status, submitted_at = excluded.submitted_at,"
            " charge = excluded.charge, batch = excluded.batch, detail = excluded.detail,"
            " destination = excluded.destination",
            _submission_values(submission),
        )

    @staticmethod
    def take_for_sending(db: Tx, submissions: Sequence[Submission], control: int) -> set[str]:
        """Record ``submissions`` (status ``sending`` in interchange ``control``) unless taken.

        The ids of those this transaction has: Claims never sent, or whose last sending did
        not reach the payer (:data:`RESUBMITTABLE`). Atomic on both backends: a second
        machine inserting the same Claim waits for the first's commit, then finds it taken.
        One batch, in Claim id order: two machines taking overlapping sets lock their rows
        in the same order, so neither waits on the other in a circle.
        """
        resubmittable = ", ".join(f"'{status}'" for status in RESUBMITTABLE)
        db.many(
            f"INSERT INTO submissions ({_SUBMISSION_COLUMNS})"  # noqa: S608 - fixed text
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (claim_id) DO UPDATE SET interchange = excluded.interchange,"
            " status = excluded.status, submitted_at = excluded.submitted_at,"
            " charge = excluded.charge, batch = excluded.batch, detail = excluded.detail,"
            " destination = excluded.destination"
            f" WHERE submissions.status IN ({resubmittable})",
            [_submission_values(s) for s in sorted(submissions, key=lambda s: s.claim_id)],
        )
        rows = db.all(
            "SELECT claim_id FROM submissions WHERE interchange = ? AND status = 'sending'",
            (control,),
        )
        return {str(row[0]) for row in rows}

    @staticmethod
    def in_interchange(
        db: Tx, control: int, status: str | None = None, *, detail: bool = True
    ) -> list[Submission]:
        """The submissions that went (or are going) in interchange ``control``.

        ``detail`` False leaves the codes as sent out (``{}``): cheaper, for bookkeeping.
        """
        columns = _SUBMISSION_COLUMNS if detail else _SUBMISSION_COLUMNS_LIGHT
        rows = db.all(
            f"SELECT {columns} FROM submissions WHERE interchange = ?"  # noqa: S608
            + (" AND status = ?" if status is not None else "")
            + " ORDER BY claim_id",
            (control, status) if status is not None else (control,),
        )
        return [_submission(row) for row in rows]

    @staticmethod
    def add_handoff(db: Tx, row: HandoffRow) -> None:
        """Record an interchange on its way (inside a :meth:`transaction`)."""
        now = db.now()
        db.run(
            "INSERT INTO interchanges (control, destination, method, name, staged, digest, host,"
            " pid, state, claims, created, updated, lease_until, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.control,
                row.destination,
                row.method,
                row.name,
                row.staged,
                row.digest,
                row.host,
                row.pid,
                row.state,
                row.claims,
                now,
                now,
                row.lease_until,
                json.dumps(row.detail, sort_keys=True),
            ),
        )

    @staticmethod
    def handoff_in(db: Tx, control: int) -> HandoffRow | None:
        """Interchange ``control``'s hand-off, read inside a transaction."""
        row = db.one(
            f"SELECT {_HANDOFF_COLUMNS} FROM interchanges WHERE control = ?",  # noqa: S608
            (control,),
        )
        return None if row is None else _handoff(row)

    @staticmethod
    def set_handoff(db: Tx, control: int, **values: object) -> None:
        """Change columns of interchange ``control``'s hand-off (names are ours, not input)."""
        names = sorted(values)
        assignments = ", ".join(f"{name} = ?" for name in names)
        db.run(
            f"UPDATE interchanges SET {assignments}, updated = ? WHERE control = ?",  # noqa: S608
            (*(values[name] for name in names), db.now(), control),
        )

    def handoffs(self, *states: str) -> list[HandoffRow]:
        """The hand-offs in ``states`` (every one when none is named), oldest first."""
        where = f" WHERE state IN ({', '.join('?' for _ in states)})" if states else ""
        with self._store.read() as db:
            rows = db.all(
                f"SELECT {_HANDOFF_COLUMNS} FROM interchanges{where} ORDER BY control",  # noqa: S608
                states,
            )
        return [_handoff(row) for row in rows]

    def handoff(self, control: int) -> HandoffRow | None:
        """Interchange ``control``'s hand-off, or None."""
        with self._store.read() as db:
            return self.handoff_in(db, control)

    @staticmethod
    def submission_in(db: Tx, claim_id: str) -> Submission | None:
        """:meth:`submission` inside a transaction already open."""
        row = db.one(
            f"SELECT {_SUBMISSION_COLUMNS} FROM submissions WHERE claim_id = ?",  # noqa: S608
            (claim_id,),
        )
        return None if row is None else _submission(row)

    def submission(self, claim_id: str) -> Submission | None:
        """The submission of ``claim_id``, or None."""
        with self._store.read() as db:
            return self.submission_in(db, claim_id)

    def by_pcn(self, pcn: str) -> Submission | None:
        """The submission whose patient control number is ``pcn``, or None."""
        with self._store.read() as db:
            row = db.one(
                f"SELECT {_SUBMISSION_COLUMNS} FROM submissions WHERE pcn = ?",  # noqa: S608
                (pcn,),
            )
        return None if row is None else _submission(row)

    def in_batch(self, batch: str) -> list[Submission]:
        """The submissions that went in transaction set ``batch`` (GS06:ST02)."""
        with self._store.read() as db:
            rows = db.all(
                f"SELECT {_SUBMISSION_COLUMNS} FROM submissions WHERE batch = ?",  # noqa: S608
                (batch,),
            )
        return [_submission(row) for row in rows]

    def submissions(self) -> list[Submission]:
        """Every submission, oldest first."""
        with self._store.read() as db:
            rows = db.all(
                f"SELECT {_SUBMISSION_COLUMNS} FROM submissions ORDER BY submitted_at, claim_id"  # noqa: S608
            )
        return [_submission(row) for row in rows]

    def payer_claim_number(self, claim_id: str) -> str | None:
        """The payer's number for a submitted Claim ("" if none yet; None: never sent)."""
        found = self.submission(claim_id)
        return None if found is None else found.payer_claim_number

    def history(self, claim_id: str) -> list[ClaimEvent]:
        """Every step of ``claim_id``'s history, in order."""
        with self._store.read() as db:
            rows = db.all(
                "SELECT claim_id, at, status, source, detail FROM events"
                " WHERE claim_id = ? ORDER BY id",
                (claim_id,),
            )
        return [ClaimEvent(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    def remit_lines(self, claim_id: str) -> list[RemitLineRow]:
        """Every remittance line recorded for ``claim_id``, in the order received."""
        with self._store.read() as db:
            rows = db.all(
                "SELECT claim_id, pcn, claim_status, line, procedure, charge, paid, group_code,"
                " carc, amount, rarcs, outcome FROM remit_lines WHERE claim_id = ? ORDER BY id",
                (claim_id,),
            )
        return [
            RemitLineRow(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                r[8],
                r[9],
                tuple(x for x in r[10].split(",") if x),
                r[11],
            )
            for r in rows
        ]

    def count(self, table: str) -> int:
        """Rows in ``table`` (for reports and tests)."""
        if table not in (
            "submissions",
            "events",
            "remit_lines",
            "unmatched",
            "intakes",
            "provider_adjustments",
            "interchanges",
            "interchange_acks",
        ):
            raise ValueError(table)
        with self._store.read() as db:
            row = db.one(f"SELECT count(*) FROM {table}")  # noqa: S608 - a listed name
        return int(row[0]) if row is not None else 0
