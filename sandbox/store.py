"""Resources kept as JSON in one SQLite file, with versions, history and search indexes.

SQLite (WAL mode) gives the sandbox durability across restarts and real all-or-nothing
transactions for transaction Bundles. One connection is shared behind a re-entrant lock:
FastAPI runs the sandbox's async handlers on one event-loop thread, and the lock keeps the
store correct for any other thread (tests, the seeder) too. Every SQL statement is a
constant; user values travel only as bound parameters.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from uuid import uuid4

import orjson

from sandbox.clock import now_instant
from sandbox.criteria import (
    Criterion,
    Cursor,
    IdCriterion,
    ReferenceMatch,
    TokenCriterion,
    TokenMatch,
)
from sandbox.indexing import index_rows

__all__ = [
    "AlreadyExistsError",
    "SearchPage",
    "Store",
    "StoreError",
    "StoredResource",
    "VersionConflictError",
]

_SCHEMA_VERSION = 1

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
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    param TEXT NOT NULL,
    system TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS token_lookup ON token_index (type, param, value, system);
CREATE INDEX IF NOT EXISTS token_owner ON token_index (type, id);
CREATE TABLE IF NOT EXISTS reference_index (
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    param TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reference_lookup
    ON reference_index (type, param, target_id, target_type);
CREATE INDEX IF NOT EXISTS reference_owner ON reference_index (type, id);
"""

# Fragments of the search query. They are constants: only their number depends on the
# request, and every value they compare against is a bound parameter.
_CODED_SUBQUERY = (
    "r.id IN (SELECT t.id FROM token_index t WHERE t.type = ? AND t.param = ? AND ({}))"
)
_CODED_BOTH = "(t.value = ? AND t.system = ?)"
_CODED_VALUE = "t.value = ?"
_CODED_SYSTEM = "t.system = ?"
_REFERENCE_SUBQUERY = (
    "r.id IN (SELECT x.id FROM reference_index x WHERE x.type = ? AND x.param = ? AND ({}))"
)
_REFERENCE_TYPED = "(x.target_id = ? AND x.target_type = ?)"
_REFERENCE_ANY = "x.target_id = ?"
_ID_IN = "r.id IN (SELECT value FROM json_each(?))"
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


class Store:
    """A FHIR resource store over one SQLite file; see the module docstring."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._depth = 0
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def close(self) -> None:
        """Close the connection; the store cannot be used afterwards."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the enclosed reads and writes as one SQLite transaction: all or nothing.

        Nested uses join the outer transaction. Hold it only around synchronous code: the
        lock it takes is not released while the block runs.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    # Reads

    def resource_count(self) -> int:
        """How many resources (current versions) the store holds, of every type."""
        with self._lock:
            (count,) = self._db.execute("SELECT count(*) FROM resources").fetchone()
        return int(count)

    def read(self, resource_type: str, resource_id: str) -> StoredResource | None:
        """The current version of ``resource_type/resource_id``, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT version_id, last_updated, json FROM resources WHERE type = ? AND id = ?",
                (resource_type, resource_id),
            ).fetchone()
        if row is None:
            return None
        return StoredResource(resource_type, resource_id, row[0], row[1], row[2])

    def read_version(
        self, resource_type: str, resource_id: str, version_id: int
    ) -> StoredResource | None:
        """Version ``version_id`` of ``resource_type/resource_id``, or None."""
        with self._lock:
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
            if self.read(resource_type, new_id) is not None:
                raise AlreadyExistsError(f"{resource_type}/{new_id} already exists")
            return self._write(resource_type, new_id, resource, 1, insert=True)

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
                return self._write(resource_type, resource_id, resource, 1, insert=True), True
            stored = self._write(
                resource_type, resource_id, resource, current.version_id + 1, insert=False
            )
            return stored, False

    def _write(
        self,
        resource_type: str,
        resource_id: str,
        resource: dict[str, Any],
        version_id: int,
        *,
        insert: bool,
    ) -> StoredResource:
        last_updated = now_instant()
        body = _with_meta(resource, resource_id, version_id, last_updated)
        data = orjson.dumps(body)
        key = (resource_type, resource_id)
        if insert:
            self._db.execute(
                "INSERT INTO resources (type, id, version_id, last_updated, json) "
                "VALUES (?, ?, ?, ?, ?)",
                (*key, version_id, last_updated, data),
            )
        else:
            self._db.execute(
                "UPDATE resources SET version_id = ?, last_updated = ?, json = ? "
                "WHERE type = ? AND id = ?",
                (version_id, last_updated, data, *key),
            )
        self._db.execute(
            "INSERT INTO history (type, id, version_id, last_updated, json) VALUES (?, ?, ?, ?, ?)",
            (*key, version_id, last_updated, data),
        )
        self._db.execute("DELETE FROM token_index WHERE type = ? AND id = ?", key)
        self._db.execute("DELETE FROM reference_index WHERE type = ? AND id = ?", key)
        rows = index_rows(resource_type, body)
        self._db.executemany(
            "INSERT INTO token_index (type, id, param, system, value) VALUES (?, ?, ?, ?, ?)",
            [(*key, row.param, row.system, row.value) for row in rows.tokens],
        )
        self._db.executemany(
            "INSERT INTO reference_index (type, id, param, target_type, target_id) "
            "VALUES (?, ?, ?, ?, ?)",
            [(*key, row.param, row.target_type, row.target_id) for row in rows.references],
        )
        return StoredResource(resource_type, resource_id, version_id, last_updated, data)

    # Search

    def search(
        self,
        resource_type: str,
        criteria: Sequence[Criterion],
        *,
        count: int,
        cursor: Cursor | None = None,
    ) -> SearchPage:
        """One page of the resources of ``resource_type`` that meet every criterion.

        Results come in the order resources were first created, which updates do not
        change, so paging by position (a sequence cursor, not an offset) never repeats or
        skips a resource while others are being written.
        """
        where, args = _where(resource_type, criteria)
        with self._lock:
            (total,) = self._db.execute(
                "SELECT count(*) FROM resources r WHERE " + where,  # noqa: S608 - constant fragments
                args,
            ).fetchone()
            if count == 0:
                return SearchPage((), int(total), None, None, has_next=False, has_previous=False)
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
        rows = rows[:count]
        if backwards:
            rows.reverse()
        resources = tuple(StoredResource(*row[1:]) for row in rows)
        seqs = [int(row[0]) for row in rows]
        came_from_before = cursor is not None and cursor.after is not None
        return SearchPage(
            resources=resources,
            total=int(total),
            first_seq=seqs[0] if seqs else None,
            last_seq=seqs[-1] if seqs else None,
            has_next=True if backwards else more,
            has_previous=more if backwards else came_from_before,
        )

    def explain_search(self, resource_type: str, criteria: Sequence[Criterion]) -> list[str]:
        """SQLite's query plan for a first page of the search: tests check it uses indexes."""
        where, args = _where(resource_type, criteria)
        with self._lock:
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


def _where(resource_type: str, criteria: Sequence[Criterion]) -> tuple[str, list[Any]]:
    """The WHERE clause of a search and its bound arguments."""
    clauses = ["r.type = ?"]
    args: list[Any] = [resource_type]
    for criterion in criteria:
        if isinstance(criterion, IdCriterion):
            clauses.append(_ID_IN)
            args.append(orjson.dumps(list(criterion.ids)).decode())
            continue
        if not criterion.matches:
            clauses.append(_NOTHING)
            continue
        parts: list[tuple[str, list[Any]]]
        if isinstance(criterion, TokenCriterion):
            subquery = _CODED_SUBQUERY
            parts = [_token_sql(match) for match in criterion.matches]
        else:
            subquery = _REFERENCE_SUBQUERY
            parts = [_reference_sql(match) for match in criterion.matches]
        clauses.append(subquery.format(" OR ".join(sql for sql, _ in parts)))
        args.extend([resource_type, criterion.param])
        for _, values in parts:
            args.extend(values)
    return " AND ".join(clauses), args
