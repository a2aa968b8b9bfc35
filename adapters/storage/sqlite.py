"""The embedded backend: one SQLite file (WAL) shared by the processes of one machine.

Every write transaction takes SQLite's single write lock (``BEGIN IMMEDIATE``), so a
check-then-write is atomic whatever keys it names; the clock is the machine's, which every
process on it shares. Migrations are applied when the file is opened: one machine has
nothing to coordinate, and the embedded default needs no set-up command.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from adapters.storage.store import Row, Store, ordered_migrations

__all__ = ["SqliteStore"]

_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER NOT"
    " NULL, name TEXT NOT NULL, applied REAL NOT NULL, PRIMARY KEY (component, version))"
)


def _statements(script: str) -> Iterator[str]:
    """The statements of a migration file, one by one (``executescript`` would commit)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""


class _Tx:
    """A transaction on the store's one connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        row: Row | None = self._db.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return list(self._db.execute(sql, params).fetchall())

    def run(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._db.execute(sql, params).rowcount

    def many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        self._db.executemany(sql, rows)

    def now(self) -> float:
        return time.time()


_OPEN_TIMEOUT = 30.0  # the same patience as every statement's busy timeout


def _switch_to_wal(connection: sqlite3.Connection) -> None:
    """Put the file in WAL mode, waiting out other processes that open it at the same moment.

    Changing the journal mode needs the file to itself, and SQLite answers ``database is
    locked`` at once, without its busy handler, when another connection is opening a new
    file at the same moment; so the switch is retried until the busy timeout's deadline.
    """
    deadline = time.monotonic() + _OPEN_TIMEOUT
    pause = 0.001
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        else:
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


class SqliteStore(Store):
    """A SQLite file (or memory, for one run), one connection behind a lock."""

    dialect = "sqlite"
    skip_locked = ""  # BEGIN IMMEDIATE already keeps every other writer out
    shared = False
    fixed_join = "CROSS JOIN"

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(
            str(path) if path is not None else ":memory:",
            isolation_level=None,
            check_same_thread=False,
            timeout=30.0,
        )
        self.connection.row_factory = sqlite3.Row
        if path is not None:
            _switch_to_wal(self.connection)
            # WAL + NORMAL: a commit survives the process being killed (the crash the
            # ledgers guard against) without an fsync per write
            self.connection.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.Lock()
        self._tx = _Tx(self.connection)

    @contextmanager
    def write(self, *keys: str) -> Iterator[_Tx]:  # noqa: ARG002 - one lock for every key
        """``BEGIN IMMEDIATE``: the file's one write lock, whatever the keys."""
        with self._lock:
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._tx
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[_Tx]:
        """Statements on the one connection, in autocommit."""
        with self._lock:
            yield self._tx

    def notify(self, tx: object, channel: str, payload: str) -> None:
        """Nothing: the processes of one machine poll the file (and ring their own bells)."""

    async def listen(self, channel: str, heard: Callable[[str], None]) -> None:
        """Nothing to listen to: returns at once."""

    def migrate(self, component: str, folder: Path) -> list[str]:
        """Each missing migration and its record, in one transaction under the write lock.

        Processes opening a new file at once race here: the lock is taken before the
        applied versions are read, so the second finds the first's work done.
        """
        migrations = list(ordered_migrations(folder / self.dialect))
        with self._lock:
            if {number for number, _, _ in migrations} <= self._applied(component):
                return []  # the common case: nothing to do, no write lock taken
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                self.connection.execute(_MIGRATIONS_TABLE)
                applied = self._applied(component)
                done = []
                for number, name, sql in migrations:
                    if number in applied:
                        continue
                    for statement in _statements(sql):
                        self.connection.execute(statement)
                    self.connection.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                        (component, number, name, time.time()),
                    )
                    done.append(name)
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")
        return done

    def _applied(self, component: str) -> set[int]:
        try:
            rows = self.connection.execute(
                "SELECT version FROM schema_migrations WHERE component = ?", (component,)
            ).fetchall()
        except sqlite3.OperationalError:  # no such table: a new file, or one from before
            return set()
        return {int(row[0]) for row in rows}

    def check(self, component: str, folder: Path) -> None:
        """Bring the file up to date: SQLite migrates itself."""
        self.migrate(component, folder)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self.connection.close()
