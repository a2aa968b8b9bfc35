"""The submission ledger: what went to the payer, what came back, and each Claim's history.

SQLite, one file (``fhir-coder-data/x12.sqlite3`` by default), shared by every command of
the ``x12`` family. It holds the interchange control numbers (never reused), one row per
submitted Claim (its patient control number is how an 835 or 277CA finds it), every
status the Claim passed through with when and why, and every remittance line as the payer
sent it. Each intake is one transaction: a file is recorded whole or not at all, and a
file read twice records nothing the second time.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Self

__all__ = [
    "DEFAULT_X12_DB",
    "ClaimEvent",
    "RemitLineRow",
    "Submission",
    "SubmissionLedger",
]

DEFAULT_X12_DB: Final = Path("fhir-coder-data") / "x12.sqlite3"

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    claim_id TEXT PRIMARY KEY,
    pcn TEXT NOT NULL UNIQUE,
    base_id TEXT NOT NULL,
    destination TEXT NOT NULL,
    kind TEXT NOT NULL,
    frequency TEXT NOT NULL,
    corrects TEXT NOT NULL DEFAULT '',
    charge TEXT NOT NULL,
    interchange INTEGER NOT NULL,
    batch TEXT NOT NULL DEFAULT '',
    encounter TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}',
    payer_claim_number TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    submitted_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    claim_id TEXT NOT NULL,
    at REAL NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_claim ON events (claim_id, id);
CREATE TABLE IF NOT EXISTS intakes (digest TEXT PRIMARY KEY, name TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS remit_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    intake TEXT NOT NULL,
    claim_id TEXT NOT NULL,
    pcn TEXT NOT NULL,
    claim_status TEXT NOT NULL,
    line INTEGER NOT NULL,
    procedure TEXT NOT NULL,
    charge TEXT NOT NULL,
    paid TEXT NOT NULL,
    group_code TEXT NOT NULL DEFAULT '',
    carc TEXT NOT NULL DEFAULT '',
    amount TEXT NOT NULL DEFAULT '',
    rarcs TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS remit_claim ON remit_lines (claim_id);
CREATE TABLE IF NOT EXISTS unmatched (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    intake TEXT NOT NULL,
    pcn TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS provider_adjustments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    intake TEXT NOT NULL,
    provider TEXT NOT NULL,
    period TEXT NOT NULL,
    reason TEXT NOT NULL,
    reference TEXT NOT NULL,
    amount TEXT NOT NULL
);
"""


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


_SUBMISSION_COLUMNS: Final = (
    "claim_id, pcn, base_id, destination, kind, frequency, charge, interchange, corrects,"
    " payer_claim_number, status, submitted_at, batch, encounter, detail"
)


def _submission(row: Sequence[Any]) -> Submission:
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
    """The SQLite ledger of submissions, statuses and remittances (``path`` None: in memory)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
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
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under SQLite's write lock: all of it, or none."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def next_control_number(self, name: str = "interchange") -> int:
        """The next interchange control number (1, 2, ...), never handed out twice."""
        with self.transaction() as db:
            row = db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
            value = (row[0] if row else 0) + 1
            if value > 999_999_999:
                value = 1
            db.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )
        return value

    @staticmethod
    def add_event(
        db: sqlite3.Connection,
        claim_id: str,
        status: str,
        source: str,
        detail: dict[str, Any] | None = None,
        *,
        at: float | None = None,
        set_status: bool = True,
    ) -> None:
        """Record a step of ``claim_id``'s history (inside a :meth:`transaction`)."""
        db.execute(
            "INSERT INTO events (claim_id, at, status, source, detail) VALUES (?, ?, ?, ?, ?)",
            (claim_id, at or time.time(), status, source, json.dumps(detail or {}, sort_keys=True)),
        )
        if set_status:
            db.execute("UPDATE submissions SET status = ? WHERE claim_id = ?", (status, claim_id))

    @staticmethod
    def add_submission(db: sqlite3.Connection, submission: Submission) -> None:
        """Record ``submission`` and its first event (inside a :meth:`transaction`)."""
        db.execute(
            f"INSERT INTO submissions ({_SUBMISSION_COLUMNS})"  # noqa: S608 - fixed text
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (claim_id) DO UPDATE SET interchange = excluded.interchange,"
            " status = excluded.status, submitted_at = excluded.submitted_at,"
            " charge = excluded.charge, batch = excluded.batch",
            (
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
            ),
        )

    def submission(self, claim_id: str) -> Submission | None:
        """The submission of ``claim_id``, or None."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_SUBMISSION_COLUMNS} FROM submissions WHERE claim_id = ?",  # noqa: S608
                (claim_id,),
            ).fetchone()
        return None if row is None else _submission(row)

    def by_pcn(self, pcn: str) -> Submission | None:
        """The submission whose patient control number is ``pcn``, or None."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_SUBMISSION_COLUMNS} FROM submissions WHERE pcn = ?",  # noqa: S608
                (pcn,),
            ).fetchone()
        return None if row is None else _submission(row)

    def in_batch(self, batch: str) -> list[Submission]:
        """The submissions that went in transaction set ``batch`` (GS06:ST02)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_SUBMISSION_COLUMNS} FROM submissions WHERE batch = ?",  # noqa: S608
                (batch,),
            ).fetchall()
        return [_submission(row) for row in rows]

    def submissions(self) -> list[Submission]:
        """Every submission, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_SUBMISSION_COLUMNS} FROM submissions ORDER BY submitted_at, claim_id"  # noqa: S608
            ).fetchall()
        return [_submission(row) for row in rows]

    def payer_claim_number(self, claim_id: str) -> str | None:
        """The payer's number for a submitted Claim ("" if none yet; None: never sent)."""
        found = self.submission(claim_id)
        return None if found is None else found.payer_claim_number

    def history(self, claim_id: str) -> list[ClaimEvent]:
        """Every step of ``claim_id``'s history, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT claim_id, at, status, source, detail FROM events"
                " WHERE claim_id = ? ORDER BY id",
                (claim_id,),
            ).fetchall()
        return [ClaimEvent(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    def remit_lines(self, claim_id: str) -> list[RemitLineRow]:
        """Every remittance line recorded for ``claim_id``, in the order received."""
        with self._lock:
            rows = self._db.execute(
                "SELECT claim_id, pcn, claim_status, line, procedure, charge, paid, group_code,"
                " carc, amount, rarcs, outcome FROM remit_lines WHERE claim_id = ? ORDER BY id",
                (claim_id,),
            ).fetchall()
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
        ):
            raise ValueError(table)
        with self._lock:
            return int(self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
