"""Resources kept as JSON in one SQLite file, with versions, history and search indexes.

SQLite (WAL mode) gives the sandbox durability across restarts and real all-or-nothing
transactions for transaction Bundles. One connection is shared behind a re-entrant lock:
FastAPI runs the sandbox's async handlers on one event-loop thread, and the lock keeps the
store correct for any other thread (tests, the seeder) too. Every SQL statement is a
constant; user values travel only as bound parameters.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from uuid import uuid4

import orjson

from sandbox.checkpoint import Checkpointer
from sandbox.clock import now_instant
from sandbox.criteria import (
    Criterion,
    Cursor,
    DateCriterion,
    DateMatch,
    IdCriterion,
    ReferenceCriterion,
    ReferenceMatch,
    SortKey,
    StringMatch,
    TokenCriterion,
    TokenMatch,
)
from sandbox.indexing import index_rows
from sandbox.searchparams import ParamKind, params_for

__all__ = [
    "GROUP_COMMIT_LIMIT",
    "AlreadyExistsError",
    "SearchPage",
    "Store",
    "StoreError",
    "StoredResource",
    "VersionConflictError",
]

_SCHEMA_VERSION = 5  # 5: Observation and DocumentReference searchable (re-indexed)
"""4: ``identifier`` indexed on every type that has one (files of version 3 are re-indexed).

3: index rows name their resource by ``seq``, and each index table is clustered by it.

Rows of one write then land on the last page of each table instead of on a random page of
an owner index per table (a write's commit copies every page it touched to the WAL: 29
pages for a Patient and an Encounter before, 22 after). Older files are re-indexed.
"""
_INDEX_TABLES = ("token_index", "reference_index", "date_index", "string_index")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version_id INTEGER NOT NULL,
    last_updated TEXT NOT NULL,
    json BLOB NOT NULL,
    UNIQUE (type, id)
);
CREATE TABLE IF NOT EXISTS history (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    version_id INTEGER NOT NULL,
    last_updated TEXT NOT NULL,
    json BLOB NOT NULL,
    PRIMARY KEY (type, id, version_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS token_index (
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    param TEXT NOT NULL,
    system TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (seq, param, value, system)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS token_lookup ON token_index (type, param, value, system);
CREATE TABLE IF NOT EXISTS reference_index (
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    param TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    PRIMARY KEY (seq, param, target_id, target_type)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reference_lookup
    ON reference_index (type, param, target_id, target_type);
CREATE TABLE IF NOT EXISTS date_index (
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    param TEXT NOT NULL,
    low TEXT NOT NULL,
    high TEXT NOT NULL,
    PRIMARY KEY (seq, param, low, high)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS date_lookup ON date_index (type, param, low, high);
CREATE TABLE IF NOT EXISTS string_index (
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    param TEXT NOT NULL,
    folded TEXT NOT NULL,
    exact TEXT NOT NULL,
    PRIMARY KEY (seq, param, folded, exact)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS string_lookup ON string_index (type, param, folded);
"""

_INSERT_CODED = "INSERT INTO token_index (seq, type, param, system, value) VALUES (?, ?, ?, ?, ?)"
_INSERT_REFERENCE = (
    "INSERT INTO reference_index (seq, type, param, target_type, target_id) VALUES (?, ?, ?, ?, ?)"
)
_INSERT_DATE = "INSERT INTO date_index (seq, type, param, low, high) VALUES (?, ?, ?, ?, ?)"
_INSERT_STRING = "INSERT INTO string_index (seq, type, param, folded, exact) VALUES (?, ?, ?, ?, ?)"

# Fragments of the search query. They are constants: only their number depends on the
# request, and every value they compare against is a bound parameter.
_CODED_SUBQUERY = (
    "r.seq IN (SELECT t.seq FROM token_index t WHERE t.type = ? AND t.param = ? AND ({}))"
)
_CODED_BOTH = "(t.value = ? AND t.system = ?)"
_CODED_VALUE = "t.value = ?"
_CODED_SYSTEM = "t.system = ?"
_REFERENCE_SUBQUERY = (
    "r.seq IN (SELECT x.seq FROM reference_index x WHERE x.type = ? AND x.param = ? AND ({}))"
)
_REFERENCE_TYPED = "(x.target_id = ? AND x.target_type = ?)"
_REFERENCE_ANY = "x.target_id = ?"
_DATE_SUBQUERY = (
    "r.seq IN (SELECT d.seq FROM date_index d WHERE d.type = ? AND d.param = ? AND ({}))"
)
# How a resource's range [low, high] meets a search value's range [?, ?], per prefix. Each
# takes the search value's low then high (unused ones compare with a tautology).
_DATE_TESTS = {
    "eq": "(d.low >= ? AND d.high <= ?)",
    "ne": "NOT (d.low >= ? AND d.high <= ?)",
    "gt": "(? IS NOT NULL AND d.high > ?)",
    "lt": "(d.low < ? AND ? IS NOT NULL)",
    "ge": "(d.high >= ? AND ? IS NOT NULL)",
    "le": "(? IS NOT NULL AND d.low <= ?)",
    "sa": "(? IS NOT NULL AND d.low > ?)",
    "eb": "(d.high < ? AND ? IS NOT NULL)",
    "ap": "(d.high >= ? AND d.low <= ?)",
}
_LAST_UPDATED_TESTS = {
    prefix: test.replace("d.low", "r.last_updated").replace("d.high", "r.last_updated")
    for prefix, test in _DATE_TESTS.items()
}
_STRING_SUBQUERY = (
    "r.seq IN (SELECT s.seq FROM string_index s WHERE s.type = ? AND s.param = ? AND ({}))"
)
_STRING_PREFIX = "(s.folded >= ? AND s.folded < ?)"
_STRING_EXACT = "s.exact = ?"
_STRING_CONTAINS = "instr(s.folded, ?) > 0"
_SORT_DATE_ASC = "(SELECT min(d.low) FROM date_index d WHERE d.seq = r.seq AND d.param = ?)"
_SORT_DATE_DESC = "(SELECT max(d.high) FROM date_index d WHERE d.seq = r.seq AND d.param = ?)"
_SORT_STRING = "(SELECT min(s.folded) FROM string_index s WHERE s.seq = r.seq AND s.param = ?)"
_ID_IN = "r.id IN (SELECT value FROM json_each(?))"
_BY_SEQ = "r.seq IN ("
_NOTHING = "0"
# The unary + keeps SQLite from walking the rowid (seq) range instead of the indexes.
_AFTER = "+r.seq > ?"
_BEFORE = "+r.seq < ?"


class StoreError(Exception):
    """A write the store refuses."""


class VersionConflictError(StoreError):
    """An ``If-Match`` version that is not the current one (HTTP 412)."""

    def __init__(self, reference: str, expected: int, current: int | None) -> None:
        now = "it does not exist" if current is None else f"the current version is {current}"
        super().__init__(f"{reference}: version {expected} was expected but {now}")
        self.expected = expected
        self.current = current


class AlreadyExistsError(StoreError):
    """A create with an id that is already taken (HTTP 409)."""


@dataclass(frozen=True, slots=True)
class StoredResource:
    """One version of a resource as stored: ``json`` is the exact bytes served."""

    resource_type: str
    resource_id: str
    version_id: int
    last_updated: str
    json: bytes

    @property
    def resource(self) -> dict[str, Any]:
        """The resource as a fresh dict (callers may change it freely)."""
        parsed: dict[str, Any] = orjson.loads(self.json)
        return parsed

    @property
    def fragment(self) -> orjson.Fragment:
        """The stored bytes, for splicing into a response Bundle without parsing them again."""
        return orjson.Fragment(self.json)

    @property
    def reference(self) -> str:
        """``Type/id``."""
        return f"{self.resource_type}/{self.resource_id}"

    @property
    def etag(self) -> str:
        """The weak ETag of this version, ``W/"3"``."""
        return f'W/"{self.version_id}"'


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of a search: the resources, in a stable order, and where the page sits."""

    resources: tuple[StoredResource, ...]
    total: int
    first_seq: int | None
    last_seq: int | None
    has_next: bool
    has_previous: bool
    offset: int | None = None  # where a sorted page starts


def _with_meta(
    resource: dict[str, Any],
    resource_id: str,
    version_id: int,
    last_updated: str,
) -> dict[str, Any]:
    """``resource`` with the server's id and meta, keys ordered the way servers show them."""
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version_id)
    meta["lastUpdated"] = last_updated
    head = {"resourceType": resource["resourceType"], "id": resource_id, "meta": meta}
    rest = {k: v for k, v in resource.items() if k not in head}
    return head | rest


GROUP_COMMIT_LIMIT = 4
"""Writers a shared commit waits for at most: the fourth commits at once, the next opens a
new group. A group of every write of a busy turn (16 transactions at a time) kept all its
answers until the last one had been written, and the client idled meanwhile: 2-entry
transactions at concurrency 16 went 967-1,094 -> 1,227-1,236 a second with this limit,
creates unchanged (benchmarks/sandbox_throughput.py, 2026-11-22)."""


class _Group:
    """The writers waiting on one shared commit, and the loop they wait on."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.thread = threading.get_ident()
        self.waiters: list[asyncio.Future[None]] = []

    def settle(self, error: BaseException | None) -> None:
        """Wake every waiter with the commit's outcome (from any thread)."""
        if threading.get_ident() == self.thread:
            _wake(self.waiters, error)
        elif not self.loop.is_closed():
            self.loop.call_soon_threadsafe(_wake, self.waiters, error)


def _wake(waiters: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for waiter in waiters:
        if waiter.done():  # its request was cancelled meanwhile
            continue
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)


class Store:
    """A FHIR resource store over one SQLite file; see the module docstring."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        self._written: list[StoredResource] = []
        self._group: _Group | None = None
        self._changes: dict[str, int] = {}
        self._listeners: list[Callable[[list[StoredResource]], None]] = []
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        # Savepoints (shared_transaction) need statement journals: in memory, not temp files.
        self._db.execute("PRAGMA temp_store = MEMORY")
        self._db.execute("PRAGMA cache_size = -65536")  # 64 MB: the pages in use stay read
        # Checkpoint the WAL every ~40 MB instead of every 4 MB: each checkpoint fsyncs, and
        # at the default they took a third of a small transaction's time. Durability is the
        # same (a commit is in the WAL either way). Most of the copying is done before that
        # by a thread of its own (sandbox.checkpoint).
        self._db.execute("PRAGMA wal_autocheckpoint = 10000")
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._checkpointer = Checkpointer(path)
        (found_version,) = self._db.execute("PRAGMA user_version").fetchone()
        if 0 < int(found_version) < _SCHEMA_VERSION:  # older index tables: rebuilt below
            for table in _INDEX_TABLES:
                self._db.execute(f"DROP TABLE IF EXISTS {table}")
        self._db.executescript(_SCHEMA)
        if 0 < int(found_version) < _SCHEMA_VERSION:
            self._reindex_all()
        self._db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def close(self) -> None:
        """Close the connection; the store cannot be used afterwards."""
        with self._lock:
            self._commit_group()
            self._checkpointer.close()
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the enclosed reads and writes as one SQLite transaction: all or nothing.

        Nested uses join the outer transaction. Hold it only around synchronous code: the
        lock it takes is not released while the block runs. A shared commit still pending
        (:meth:`shared_transaction`) is made first.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._commit_group()
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            self._written = []
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
                self._checkpointer.committed()
                written, self._written = self._written, []
                for listener in self._listeners:
                    listener(written)
            finally:
                self._depth = 0
                self._written = []

    @contextmanager
    def shared_transaction(self) -> Iterator[asyncio.Future[None]]:
        """Like :meth:`transaction`, with the commit shared by this loop turn's writes.

        It yields a future that the commit completes (group commit). The block runs at once
        inside a savepoint (a failure undoes this block only); the commit runs after every
        request ready in this turn has had its go (or once :data:`GROUP_COMMIT_LIMIT` have
        joined), so concurrent writers pay for one commit instead of one each. Answer the
        client only after awaiting the future: it raises if the commit failed. Reads, and
        plain transactions, commit a pending group first, so nobody reads uncommitted data.
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._depth:
                raise RuntimeError("a shared transaction cannot be nested")
            if self._group is None:
                self._db.execute("BEGIN IMMEDIATE")
                self._written = []
                self._group = _Group(loop)
                loop.call_soon(self._commit_group)
            group = self._group
            committed = loop.create_future()
            group.waiters.append(committed)
            mark = len(self._written)
            self._db.execute("SAVEPOINT request")
            self._depth = 1
            try:
                yield committed
            except BaseException:
                self._db.execute("ROLLBACK TO request")
                self._db.execute("RELEASE request")
                del self._written[mark:]
                group.waiters.remove(committed)
                raise
            else:
                self._db.execute("RELEASE request")
                if len(group.waiters) >= GROUP_COMMIT_LIMIT:
                    self._depth = 0
                    self._commit_group()
            finally:
                self._depth = 0

    def _commit_group(self) -> None:
        """Commit the pending shared transaction, if any, and wake its writers."""
        with self._lock:
            group = self._group
            if group is None or self._depth:
                return
            self._group = None
            written, self._written = self._written, []
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                group.settle(exc)
                return
            self._checkpointer.committed()
            group.settle(None)
            for listener in self._listeners:
                listener(written)

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """The lock, for a read; a pending shared commit is made first (no dirty reads)."""
        with self._lock:
            if self._group is not None and not self._depth:
                self._commit_group()
            yield

    def add_write_listener(self, listener: Callable[[list[StoredResource]], None]) -> None:
        """Call ``listener`` after each commit with the versions it wrote (not deletions).

        It runs on the writing thread with the store's lock held: it must be quick and must
        not write (the subscription notifier only schedules its deliveries).
        """
        self._listeners.append(listener)

    # Reads

    def resource_count(self) -> int:
        """How many resources (current versions) the store holds, of every type."""
        with self._reading():
            (count,) = self._db.execute("SELECT count(*) FROM resources").fetchone()
        return int(count)

    def resource_types(self) -> set[str]:
        """The types of which the store holds a resource (current or deleted)."""
        with self._reading():
            rows = self._db.execute("SELECT DISTINCT type FROM resources").fetchall()
        return {str(row[0]) for row in rows}

    def read(self, resource_type: str, resource_id: str) -> StoredResource | None:
        """The current version of ``resource_type/resource_id``, or None."""
        with self._reading():
            row = self._db.execute(
                "SELECT version_id, last_updated, json FROM resources WHERE type = ? AND id = ?",
                (resource_type, resource_id),
            ).fetchone()
        if row is None:
            return None
        return StoredResource(resource_type, resource_id, row[0], row[1], row[2])

    def existing(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these ``(type, id)`` exist: one query for a resource's references."""
        if not keys:
            return set()
        with self._reading():
            rows = self._db.execute(
                "SELECT r.type, r.id FROM resources r WHERE (r.type, r.id) IN "
                "(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') "
                "FROM json_each(?))",
                (orjson.dumps(list(keys)).decode(),),
            ).fetchall()
        return {(str(row[0]), str(row[1])) for row in rows}

    def read_version(
        self, resource_type: str, resource_id: str, version_id: int
    ) -> StoredResource | None:
        """Version ``version_id`` of ``resource_type/resource_id``, or None."""
        with self._reading():
            row = self._db.execute(
                "SELECT last_updated, json FROM history "
                "WHERE type = ? AND id = ? AND version_id = ?",
                (resource_type, resource_id, version_id),
            ).fetchone()
        if row is None:
            return None
        return StoredResource(resource_type, resource_id, version_id, row[0], row[1])

    # Writes

    def create(
        self,
        resource: dict[str, Any],
        *,
        resource_id: str | None = None,
    ) -> StoredResource:
        """Store ``resource`` as version 1 under a new id (``resource_id`` or a fresh UUID).

        Raises :class:`AlreadyExistsError` when ``resource_id`` is taken.
        """
        resource_type = str(resource["resourceType"])
        new_id = resource_id or str(uuid4())
        with self.transaction():
            try:  # the UNIQUE constraints answer, without a read first
                return self._write(resource_type, new_id, resource, 1, insert=True)
            except sqlite3.IntegrityError as exc:
                raise AlreadyExistsError(f"{resource_type}/{new_id} already exists") from exc

    def update(
        self,
        resource_id: str,
        resource: dict[str, Any],
        *,
        if_match: int | None = None,
    ) -> tuple[StoredResource, bool]:
        """Store ``resource`` as the next version of its id; create it if it does not exist.

        Returns the stored version and whether it was created. Raises
        :class:`VersionConflictError` when ``if_match`` is not the current version.
        """
        resource_type = str(resource["resourceType"])
        with self.transaction():
            current = self.read(resource_type, resource_id)
            current_version = current.version_id if current else None
            if if_match is not None and if_match != current_version:
                raise VersionConflictError(
                    f"{resource_type}/{resource_id}", if_match, current_version
                )
            if current is None:
                first = self._last_version(resource_type, resource_id) + 1  # after a delete
                return self._write(resource_type, resource_id, resource, first, insert=True), True
            stored = self._write(
                resource_type, resource_id, resource, current.version_id + 1, insert=False
            )
            return stored, False

    def delete(self, resource_type: str, resource_id: str) -> int | None:
        """Delete the resource, keeping its history; the deletion's version, None if absent.

        The deletion is recorded as a history version with empty content (a tombstone), so a
        later read can say 410 Gone and a later update continues the version numbers.
        """
        key = (resource_type, resource_id)
        with self.transaction():
            current = self.read(resource_type, resource_id)
            if current is None:
                return None
            version_id = current.version_id + 1
            self._changes[resource_type] = self._changes.get(resource_type, 0) + 1
            (seq,) = self._db.execute(
                "DELETE FROM resources WHERE type = ? AND id = ? RETURNING seq", key
            ).fetchone()
            self._unindex(seq)
            self._db.execute(
                "INSERT INTO history (type, id, version_id, last_updated, json) "
                "VALUES (?, ?, ?, ?, ?)",
                (*key, version_id, now_instant(), b""),
            )
            return version_id

    def is_deleted(self, resource_type: str, resource_id: str) -> bool:
        """Whether the resource existed and its latest version is a deletion."""
        with self._reading():
            row = self._db.execute(
                "SELECT length(json) FROM history WHERE type = ? AND id = ? "
                "ORDER BY version_id DESC LIMIT 1",
                (resource_type, resource_id),
            ).fetchone()
        return row is not None and row[0] == 0

    def history(
        self, resource_type: str, resource_id: str | None = None, *, count: int = 100
    ) -> list[StoredResource]:
        """Versions of one resource (or of every resource of the type), newest first.

        A deletion comes back with empty ``json``.
        """
        with self._reading():
            if resource_id is None:
                rows = self._db.execute(
                    "SELECT id, version_id, last_updated, json FROM history WHERE type = ? "
                    "ORDER BY last_updated DESC, id DESC, version_id DESC LIMIT ?",
                    (resource_type, count),
                ).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT id, version_id, last_updated, json FROM history "
                    "WHERE type = ? AND id = ? ORDER BY version_id DESC LIMIT ?",
                    (resource_type, resource_id, count),
                ).fetchall()
        return [StoredResource(resource_type, row[0], row[1], row[2], row[3]) for row in rows]

    def changes(self, resource_type: str) -> int:
        """Grows whenever this store writes or deletes a resource of the type (for caches)."""
        return self._changes.get(resource_type, 0)

    def _last_version(self, resource_type: str, resource_id: str) -> int:
        row = self._db.execute(
            "SELECT max(version_id) FROM history WHERE type = ? AND id = ?",
            (resource_type, resource_id),
        ).fetchone()
        return int(row[0] or 0)

    def _write(
        self,
        resource_type: str,
        resource_id: str,
        resource: dict[str, Any],
        version_id: int,
        *,
        insert: bool,
    ) -> StoredResource:
        self._changes[resource_type] = self._changes.get(resource_type, 0) + 1
        last_updated = now_instant()
        body = _with_meta(resource, resource_id, version_id, last_updated)
        data = orjson.dumps(body)
        key = (resource_type, resource_id)
        if insert:
            (seq,) = self._db.execute(
                "INSERT INTO resources (type, id, version_id, last_updated, json) "
                "VALUES (?, ?, ?, ?, ?) RETURNING seq",
                (*key, version_id, last_updated, data),
            ).fetchone()
        else:
            (seq,) = self._db.execute(
                "UPDATE resources SET version_id = ?, last_updated = ?, json = ? "
                "WHERE type = ? AND id = ? RETURNING seq",
                (version_id, last_updated, data, *key),
            ).fetchone()
        self._db.execute(
            "INSERT INTO history (type, id, version_id, last_updated, json) VALUES (?, ?, ?, ?, ?)",
            (*key, version_id, last_updated, data),
        )
        # A first version (not a re-creation after a delete) has no index rows to clear.
        self._index(seq, resource_type, body, fresh=insert)
        stored = StoredResource(resource_type, resource_id, version_id, last_updated, data)
        self._written.append(stored)
        return stored

    def _unindex(self, seq: int) -> None:
        self._db.execute("DELETE FROM token_index WHERE seq = ?", (seq,))
        self._db.execute("DELETE FROM reference_index WHERE seq = ?", (seq,))
        self._db.execute("DELETE FROM date_index WHERE seq = ?", (seq,))
        self._db.execute("DELETE FROM string_index WHERE seq = ?", (seq,))

    def _index(
        self, seq: int, resource_type: str, body: dict[str, Any], *, fresh: bool = False
    ) -> None:
        """Write the index rows of the resource at ``seq``; ``fresh``: it has none yet."""
        key = (seq, resource_type)
        if not fresh:
            self._unindex(seq)
        rows = index_rows(resource_type, body)
        inserts = (
            (_INSERT_CODED, [(*key, r.param, r.system, r.value) for r in rows.tokens]),
            (
                _INSERT_REFERENCE,
                [(*key, r.param, r.target_type, r.target_id) for r in rows.references],
            ),
            (_INSERT_DATE, [(*key, r.param, r.low, r.high) for r in rows.dates]),
            (_INSERT_STRING, [(*key, r.param, r.folded, r.exact) for r in rows.strings]),
        )
        for sql, values in inserts:
            if values:  # an empty executemany still costs a statement
                self._db.executemany(sql, values)

    def _reindex_all(self) -> None:
        """Rebuild every index row: a file written by an older sandbox lacks some tables' rows."""
        with self.transaction():
            rows = self._db.execute("SELECT seq, type, json FROM resources").fetchall()
            for seq, resource_type, data in rows:
                self._index(seq, resource_type, orjson.loads(data), fresh=True)

    # Search

    def search(
        self,
        resource_type: str,
        criteria: Sequence[Criterion],
        *,
        count: int,
        cursor: Cursor | None = None,
        sort: Sequence[SortKey] = (),
    ) -> SearchPage:
        """One page of the resources of ``resource_type`` that meet every criterion.

        Results come in the order resources were first created, which updates do not
        change, so paging by position (a sequence cursor, not an offset) never repeats or
        skips a resource while others are being written.
        """
        where, args = _where(resource_type, criteria)
        with self._reading():
            if count == 0 or sort:
                total = self._count(where, args)
                if count == 0:
                    return SearchPage((), total, None, None, has_next=False, has_previous=False)
                return self._sorted_page(resource_type, where, args, total, count, cursor, sort)
            backwards = cursor is not None and cursor.before is not None
            page_where, page_args = where, list(args)
            if cursor is not None and cursor.after is not None:
                page_where += " AND " + _AFTER
                page_args.append(cursor.after)
            if cursor is not None and cursor.before is not None:
                page_where += " AND " + _BEFORE
                page_args.append(cursor.before)
            order = "DESC" if backwards else "ASC"
            rows = self._db.execute(
                "SELECT r.seq, r.type, r.id, r.version_id, r.last_updated, r.json "
                "FROM resources r WHERE " + page_where + " ORDER BY r.seq " + order + " LIMIT ?",
                [*page_args, count + 1],
            ).fetchall()
            more = len(rows) > count
            # A first page that holds every match is its own total: no count query.
            total = len(rows) if cursor is None and not more else self._count(where, args)
        rows = rows[:count]
        if backwards:
            rows.reverse()
        resources = tuple(StoredResource(*row[1:]) for row in rows)
        seqs = [int(row[0]) for row in rows]
        came_from_before = cursor is not None and cursor.after is not None
        return SearchPage(
            resources=resources,
            total=total,
            first_seq=seqs[0] if seqs else None,
            last_seq=seqs[-1] if seqs else None,
            has_next=True if backwards else more,
            has_previous=more if backwards else came_from_before,
        )

    def _count(self, where: str, args: list[Any]) -> int:
        (total,) = self._db.execute(
            "SELECT count(*) FROM resources r WHERE " + where,  # noqa: S608 - constant fragments
            args,
        ).fetchone()
        return int(total)

    def _sorted_page(
        self,
        resource_type: str,
        where: str,
        args: list[Any],
        total: int,
        count: int,
        cursor: Cursor | None,
        sort: Sequence[SortKey],
    ) -> SearchPage:
        """A page of a sorted search, by offset: the order is not the sequence order."""
        offset = cursor.offset if cursor is not None and cursor.offset is not None else 0
        order, order_args = _order_by(resource_type, sort)
        rows = self._db.execute(
            "SELECT r.type, r.id, r.version_id, r.last_updated, r.json "
            "FROM resources r WHERE " + where + " ORDER BY " + order + " LIMIT ? OFFSET ?",
            [*args, *order_args, count + 1, offset],
        ).fetchall()
        return SearchPage(
            resources=tuple(StoredResource(*row) for row in rows[:count]),
            total=total,
            first_seq=None,
            last_seq=None,
            has_next=len(rows) > count,
            has_previous=offset > 0,
            offset=offset,
        )

    def included(
        self, resource_type: str, ids: Sequence[str], param: str, target_type: str | None
    ) -> list[StoredResource]:
        """``_include``: what the ``param`` references of these resources point to."""
        with self._reading():
            rows = self._db.execute(
                "SELECT r.type, r.id, r.version_id, r.last_updated, r.json FROM resources r "
                "WHERE (r.type, r.id) IN (SELECT x.target_type, x.target_id FROM reference_index x "
                "WHERE x.type = ? AND x.param = ? AND x.seq IN (SELECT o.seq FROM resources o "
                "WHERE o.type = ? AND o.id IN (SELECT value FROM json_each(?))) "
                "AND (? IS NULL OR x.target_type = ?)) ORDER BY r.seq",
                (
                    resource_type,
                    param,
                    resource_type,
                    orjson.dumps(list(ids)).decode(),
                    target_type,
                    target_type,
                ),
            ).fetchall()
        return [StoredResource(*row) for row in rows]

    def revincluded(
        self, source_type: str, param: str, target_type: str, ids: Sequence[str]
    ) -> list[StoredResource]:
        """``_revinclude``: resources of ``source_type`` whose ``param`` points to these."""
        with self._reading():
            rows = self._db.execute(
                "SELECT r.type, r.id, r.version_id, r.last_updated, r.json FROM resources r "
                "WHERE r.type = ? AND r.seq IN (SELECT x.seq FROM reference_index x "
                "WHERE x.type = ? AND x.param = ? AND x.target_type = ? "
                "AND x.target_id IN (SELECT value FROM json_each(?))) ORDER BY r.seq",
                (source_type, source_type, param, target_type, orjson.dumps(list(ids)).decode()),
            ).fetchall()
        return [StoredResource(*row) for row in rows]

    def explain_search(self, resource_type: str, criteria: Sequence[Criterion]) -> list[str]:
        """SQLite's query plan for a first page of the search: tests check it uses indexes."""
        where, args = _where(resource_type, criteria)
        with self._reading():
            rows = self._db.execute(
                "EXPLAIN QUERY PLAN SELECT r.seq, r.json FROM resources r WHERE "  # noqa: S608
                + where
                + " ORDER BY r.seq LIMIT ?",
                [*args, 1],
            ).fetchall()
        return [str(row[-1]) for row in rows]


def _token_sql(match: TokenMatch) -> tuple[str, list[Any]]:
    if match.system is not None and match.value is not None:
        return _CODED_BOTH, [match.value, match.system]
    if match.value is not None:
        return _CODED_VALUE, [match.value]
    return _CODED_SYSTEM, [match.system]


def _reference_sql(match: ReferenceMatch) -> tuple[str, list[Any]]:
    if match.target_type is not None:
        return _REFERENCE_TYPED, [match.target_id, match.target_type]
    return _REFERENCE_ANY, [match.target_id]


def _date_sql(match: DateMatch, tests: dict[str, str]) -> tuple[str, list[Any]]:
    return tests[match.prefix], [match.low, match.high]


def _string_sql(match: StringMatch) -> tuple[str, list[Any]]:
    if match.exact:
        return _STRING_EXACT, [match.value]
    if match.contains:
        return _STRING_CONTAINS, [match.value]
    return _STRING_PREFIX, [match.value, match.value + "\U0010ffff"]


def _criterion_sql(resource_type: str, criterion: Criterion) -> tuple[str, list[Any]]:
    """One criterion's clause and arguments."""
    if isinstance(criterion, IdCriterion):
        return _ID_IN, [orjson.dumps(list(criterion.ids)).decode()]
    if not criterion.matches:
        return _NOTHING, []
    if isinstance(criterion, DateCriterion) and criterion.param == "_lastUpdated":
        parts = [_date_sql(match, _LAST_UPDATED_TESTS) for match in criterion.matches]
        clause = "(" + " OR ".join(sql for sql, _ in parts) + ")"
        return clause, [value for _, values in parts for value in values]
    subquery: str
    parts_any: list[tuple[str, list[Any]]]
    if isinstance(criterion, TokenCriterion):
        subquery, parts_any = _CODED_SUBQUERY, [_token_sql(m) for m in criterion.matches]
    elif isinstance(criterion, ReferenceCriterion):
        subquery, parts_any = _REFERENCE_SUBQUERY, [_reference_sql(m) for m in criterion.matches]
    elif isinstance(criterion, DateCriterion):
        subquery = _DATE_SUBQUERY
        parts_any = [_date_sql(m, _DATE_TESTS) for m in criterion.matches]
    else:
        subquery, parts_any = _STRING_SUBQUERY, [_string_sql(m) for m in criterion.matches]
    args: list[Any] = [resource_type, criterion.param]
    for _, values in parts_any:
        args.extend(values)
    return subquery.format(" OR ".join(sql for sql, _ in parts_any)), args


def _where(resource_type: str, criteria: Sequence[Criterion]) -> tuple[str, list[Any]]:
    """The WHERE clause of a search and its bound arguments."""
    clauses: list[str] = []
    args: list[Any] = [resource_type]
    for criterion in criteria:
        clause, values = _criterion_sql(resource_type, criterion)
        clauses.append(clause)
        args.extend(values)
    # When an index table names the rows (by seq), the "+" keeps SQLite from walking every
    # resource of the type instead of looking those rows up.
    by_seq = any(clause.startswith(_BY_SEQ) for clause in clauses)
    return " AND ".join(["+r.type = ?" if by_seq else "r.type = ?", *clauses]), args


def _order_by(resource_type: str, sort: Sequence[SortKey]) -> tuple[str, list[Any]]:
    """The ORDER BY of a sorted search (ties keep the creation order)."""
    params = params_for(resource_type)
    terms: list[str] = []
    args: list[Any] = []
    for key in sort:
        direction = " DESC" if key.descending else " ASC"
        if key.param == "_lastUpdated":
            terms.append("r.last_updated" + direction)
        elif key.param == "_id":
            terms.append("r.id" + direction)
        elif key.param in params and params[key.param].kind is ParamKind.DATE:
            terms.append((_SORT_DATE_DESC if key.descending else _SORT_DATE_ASC) + direction)
            args.append(key.param)
        else:
            terms.append(_SORT_STRING + direction)
            args.append(key.param)
    terms.append("r.seq ASC")
    return ", ".join(terms), args
