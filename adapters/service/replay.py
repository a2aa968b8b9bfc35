"""The CDS Hooks JWTs already used (their ``jti``), shared by every ``serve`` on one ledger.

Two ``serve`` processes behind one address share a job ledger; a JWT replayed to the
other one must be refused as well. So each ``(iss, jti)`` is kept, until its token expires,
in a small SQLite file beside the job ledger (``cds-seen.sqlite3``, WAL): the check and
the record are one ``BEGIN IMMEDIATE`` transaction, so two processes given the same JWT at
the same moment accept it once. Only a hash of the pair is stored. The SQLite call runs on a
worker thread: another process holding the file's lock must not stall the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["SeenTokens"]

_SCHEMA = "CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, until REAL NOT NULL)"
_PRUNE_EVERY = 256


class SeenTokens:
    """Which ``(issuer, jti)`` pairs were used, and until when; in ``path`` or in memory."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            path or ":memory:", isolation_level=None, check_same_thread=False, timeout=10.0
        )
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()
        self._since_prune = 0

    async def first_use(self, issuer: str, jti: str, *, until: float, now: float) -> bool:
        """Record the pair until ``until``; False when it was recorded already (a replay)."""
        key = hashlib.sha256(f"{issuer}\x00{jti}".encode()).hexdigest()
        return await asyncio.to_thread(self._first_use, key, until, now)

    def _first_use(self, key: str, until: float, now: float) -> bool:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT until FROM seen WHERE key = ?", (key,)).fetchone()
                if row is not None and float(row[0]) > now:
                    self._db.execute("ROLLBACK")
                    return False
                self._db.execute("INSERT OR REPLACE INTO seen VALUES (?, ?)", (key, until))
                self._since_prune += 1
                if self._since_prune >= _PRUNE_EVERY:  # expired pairs can never be replays
                    self._since_prune = 0
                    self._db.execute("DELETE FROM seen WHERE until <= ?", (now,))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return True

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
