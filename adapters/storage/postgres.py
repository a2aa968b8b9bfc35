"""The shared backend: a PostgreSQL database that the processes of many machines use at once.

psycopg 3 with its connection pool. Claims lock their row with ``FOR UPDATE SKIP LOCKED``
(a worker never waits for another's claim); a check-then-insert takes a transaction-scoped
advisory lock on its key (an encounter, a Claim), so unrelated writes run in parallel;
leases are compared with the database's clock, never a machine's (clocks drift); a
transaction that queues work sends ``NOTIFY``, and every process ``LISTEN``s on an async
connection of its own to wake its idle workers (a hint: they always ask the ledger again).
Migrations are applied by ``fhir-coder jobs migrate`` and only checked at start-up: with
many machines, one operator decides when the schema changes.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import psycopg
from psycopg import sql as pgsql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import RowMaker
from psycopg_pool import ConnectionPool, PoolTimeout

from adapters.storage.store import Row, Store, ordered_migrations
from fhir_coder.errors import ConfigurationError

__all__ = ["PostgresStore", "describe_url"]

_CONNECT_TIMEOUT = (
    10  # seconds to reach the server; a ledger that cannot be reached stops the command
)
_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER NOT"
    " NULL, name TEXT NOT NULL, applied DOUBLE PRECISION NOT NULL,"
    " PRIMARY KEY (component, version))"
)
_RELISTEN_SECONDS = 1.0


def describe_url(url: str) -> str:
    """``postgresql://user@host:port/db`` of ``url``: no password, no other parameters."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(an unreadable URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


class PgRow:
    """A row read by column name or position, as ``sqlite3.Row`` is."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str, /) -> Any:  # noqa: ANN401 - a column holds any type
        return self._values[self._index[key] if isinstance(key, str) else key]


def _rows(cursor: psycopg.Cursor[Any]) -> RowMaker[PgRow]:
    index = {column.name: n for n, column in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(values, index)

    return make


@functools.lru_cache(maxsize=512)
def _placeholders(sql: str) -> bytes:
    """The ledgers' ``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s").encode()


class _Tx:
    """Statements on one pooled connection."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def _execute(self, sql: str, params: Sequence[object]) -> psycopg.Cursor[PgRow]:
        cursor = self._conn.cursor(row_factory=_rows)
        if params:
            return cursor.execute(_placeholders(sql), params)
        return cursor.execute(sql.encode())

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        return self._execute(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return list(self._execute(sql, params).fetchall())

    def run(self, sql: str, params: Sequence[object] = ()) -> int:
        return self._execute(sql, params).rowcount

    def many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        if rows:  # psycopg pipelines executemany: one round trip for the lot
            self._conn.cursor().executemany(_placeholders(sql), rows)

    def now(self) -> float:
        row = self.one("SELECT extract(epoch FROM clock_timestamp())::float8")
        return float(row[0]) if row is not None else 0.0


class PostgresStore(Store):
    """A pool of connections to one PostgreSQL database."""

    dialect = "postgresql"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    shared = True
    fixed_join = "JOIN"

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        self.url = url
        self.where = describe_url(url)
        self._own_backends: set[int] = set()
        try:  # one direct connection first: its error says why (no such database, auth...)
            psycopg.connect(url, connect_timeout=_CONNECT_TIMEOUT).close()
        except psycopg.Error as exc:
            raise ConfigurationError(
                f"cannot open the ledger database {self.where}: {exc}"
            ) from exc
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            open=False,
            kwargs={"autocommit": True, "connect_timeout": _CONNECT_TIMEOUT},
            configure=self._configure,
            name="fhir-coder-ledger",
        )
        try:
            self._pool.open(wait=True, timeout=2 * _CONNECT_TIMEOUT)
        except PoolTimeout as exc:
            self._pool.close()
            raise ConfigurationError(f"cannot open the ledger database {self.where}") from exc

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        """Remember the pool's server processes: their own notifications are not news."""
        self._own_backends.add(conn.info.backend_pid)

    @contextmanager
    def write(self, *keys: str) -> Iterator[_Tx]:
        """A transaction holding an advisory lock per key (see :meth:`Store.write`)."""
        with self._pool.connection() as conn, conn.transaction():
            tx = _Tx(conn)
            for key in sorted(set(keys)):  # one order everywhere: no deadlock between keys
                tx.one("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (key,))
            yield tx

    @contextmanager
    def read(self) -> Iterator[_Tx]:
        """Statements in autocommit on a pooled connection."""
        with self._pool.connection() as conn:
            yield _Tx(conn)

    def notify(self, tx: object, channel: str, payload: str) -> None:
        """``pg_notify`` inside ``tx``: delivered when it commits, never if it rolls back."""
        cast("_Tx", tx).one("SELECT pg_notify(?, ?)", (channel, payload))

    async def listen(self, channel: str, heard: Callable[[str], None]) -> None:
        """``LISTEN`` on a connection of its own; notifications of this process left out."""
        listen = pgsql.SQL("LISTEN {}").format(pgsql.Identifier(channel))
        while True:  # a dropped connection is opened again; workers poll meanwhile
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT
                ) as conn:
                    await conn.execute(listen)
                    heard("")  # anything queued while nobody listened
                    async for note in conn.notifies():
                        if note.pid not in self._own_backends:
                            heard(note.payload)
            except psycopg.OperationalError:
                await asyncio.sleep(_RELISTEN_SECONDS)

    def migrate(self, component: str, folder: Path) -> list[str]:
        """Every missing migration and its record, in one transaction (DDL is transactional)."""
        done: list[str] = []
        with self._pool.connection() as conn, conn.transaction():
            # two machines migrating at once: the second waits, then finds nothing to do
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('fhir-coder:migrate', 0))")
            conn.execute(_MIGRATIONS_TABLE)
            applied = {
                int(row[0])
                for row in conn.execute(
                    "SELECT version FROM schema_migrations WHERE component = %s", (component,)
                )
            }
            for number, name, text in ordered_migrations(folder / self.dialect):
                if number in applied:
                    continue
                conn.execute(text.encode())  # our own files, several statements
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (%s, %s, %s, extract(epoch FROM now()))",
                    (component, number, name),
                )
                done.append(name)
        return done

    def check(self, component: str, folder: Path) -> None:
        """Refuse a schema older (run the migrate command) or newer (upgrade) than this code."""
        numbers = [number for number, _, _ in ordered_migrations(folder / self.dialect)]
        wanted = max(numbers, default=0)
        with self._pool.connection() as conn:
            exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
            row = (
                conn.execute(
                    "SELECT coalesce(max(version), 0) FROM schema_migrations WHERE component = %s",
                    (component,),
                ).fetchone()
                if exists and exists[0]
                else None
            )
        have = int(row[0]) if row is not None else 0
        if have < wanted:
            raise ConfigurationError(
                f"the {component} ledger in {self.where} is at schema version {have}, this"
                f" fhir-coder needs {wanted}: run `fhir-coder jobs migrate --jobs-db URL` first"
            )
        if have > wanted:
            raise ConfigurationError(
                f"the {component} ledger in {self.where} is at schema version {have}, newer than"
                f" this fhir-coder knows ({wanted}): upgrade fhir-coder on this machine"
            )

    def close(self) -> None:
        """Close the pool's connections."""
        self._pool.close()
