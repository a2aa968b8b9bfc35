"""The interface both backends implement (:mod:`.targets` picks one by its target).

The ledgers
write their SQL once, with ``?`` placeholders (the PostgreSQL backend turns them into
psycopg's), and ask the store for what differs: how a transaction takes its lock, the
clock leases are compared with, the clause that claims a row without waiting for others
(``FOR UPDATE SKIP LOCKED``), and how other processes are told that work arrived.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol, Self

__all__ = ["Row", "Store", "Tx", "ordered_migrations"]


class Row(Protocol):
    """A result row, read by column name or position (``sqlite3.Row`` is one)."""

    def __getitem__(self, key: int | str, /) -> Any: ...  # noqa: ANN401 - any column type


class Tx(Protocol):
    """One open transaction."""

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        """The first row of a query, or None."""

    def all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Every row of a query."""

    def run(self, sql: str, params: Sequence[object] = ()) -> int:
        """Execute a statement; the number of rows it changed."""

    def many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        """Execute one statement for each of ``rows`` (batched: one round trip, not one each)."""

    def now(self) -> float:
        """The database's clock in seconds since the epoch (leases are compared with it)."""


class Store(abc.ABC):
    """A database the ledgers share, with what differs between SQLite and PostgreSQL."""

    dialect: str
    """``sqlite`` or ``postgresql``: the folder of migrations that applies."""
    skip_locked: str
    """Appended to a claiming ``SELECT``: ``FOR UPDATE SKIP LOCKED`` where rows lock."""
    shared: bool
    """Whether several machines can use it (then leases matter across machines)."""
    fixed_join: str
    """A join the planner must take in the order written: SQLite's ``CROSS JOIN``; ``JOIN``
    where the planner is trusted (PostgreSQL, whose ``CROSS JOIN`` takes no ``ON``)."""

    @abc.abstractmethod
    def write(self, *keys: str) -> AbstractContextManager[Tx]:
        """A write transaction, serialised with every other one that names one of ``keys``.

        SQLite takes its single write lock (``BEGIN IMMEDIATE``) whatever the keys;
        PostgreSQL takes a transaction-scoped advisory lock per key, so a check-then-insert
        (is this encounter version known? is this Claim reserved?) is atomic per key while
        unrelated writes go on in parallel.
        """

    @abc.abstractmethod
    def read(self) -> AbstractContextManager[Tx]:
        """A read-only look (one consistent snapshot)."""

    @abc.abstractmethod
    def notify(self, tx: Tx, channel: str, payload: str) -> None:
        """Tell listeners of ``channel`` (in other processes) once ``tx`` commits."""

    @abc.abstractmethod
    async def listen(self, channel: str, heard: Callable[[str], None]) -> None:
        """Call ``heard(payload)`` for each notification of another process, until cancelled.

        A hint only: a listener always asks the ledger again. SQLite has no such channel
        and returns at once (its workers poll).
        """

    @abc.abstractmethod
    def migrate(self, component: str, folder: Path) -> list[str]:
        """Apply the numbered SQL files of ``folder/<dialect>`` not applied yet; their names."""

    @abc.abstractmethod
    def check(self, component: str, folder: Path) -> None:
        """Raise ConfigurationError unless every migration of ``folder`` is applied."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def ordered_migrations(folder: Path) -> Iterator[tuple[int, str, str]]:
    """``(number, name, sql)`` of each ``NNN_name.sql`` in ``folder``, in order.

    Two files with one number (two changes made side by side) are refused: the second
    would never be applied where the first was.
    """
    found: dict[int, tuple[int, str, str]] = {}
    for path in folder.glob("*.sql"):
        number, _, _ = path.stem.partition("_")
        if not number.isdigit():
            continue
        if int(number) in found:
            other = found[int(number)][1]
            raise ValueError(f"two migrations numbered {number} in {folder}: {other}, {path.stem}")
        found[int(number)] = (int(number), path.stem, path.read_text(encoding="utf-8"))
    yield from (found[number] for number in sorted(found))
