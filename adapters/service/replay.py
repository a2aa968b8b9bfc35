"""The CDS Hooks JWTs already used (their ``jti``), shared by every ``serve`` on one ledger.

Several ``serve`` processes, on one machine or several, share a job ledger; a JWT replayed
to another one must be refused as well. So each ``(iss, jti)`` is kept, until its token
expires, in the job ledger's own database (``seen_tokens``: the SQLite file, or PostgreSQL
when machines share work). The check and the record are one write transaction serialised
on the pair's key (SQLite's write lock; a PostgreSQL advisory lock), so two processes given
the same JWT at the same moment accept it once. Only a hash of the pair is stored. The
database call runs on a worker thread: another process holding a lock must not stall the
event loop.
"""

from __future__ import annotations

import asyncio
import hashlib

from adapters.jobs.ledger import JOBS_SCHEMA
from adapters.storage import Store, open_store

__all__ = ["SeenTokens"]

_PRUNE_EVERY = 256


class SeenTokens:
    """Which ``(issuer, jti)`` pairs were used, and until when, in ``store`` (or in memory).

    ``store`` is the job ledger's (:attr:`adapters.jobs.JobLedger.store`), which it keeps
    open; without one, a private in-memory database (one process, tests).
    """

    def __init__(self, store: Store | None = None) -> None:
        self._owned = store is None
        if store is None:
            store = open_store(None)
            store.migrate("jobs", JOBS_SCHEMA)
        self._store = store
        self._since_prune = 0

    async def first_use(self, issuer: str, jti: str, *, until: float, now: float) -> bool:
        """Record the pair until ``until``; False when it was recorded already (a replay)."""
        key = hashlib.sha256(f"{issuer}\x00{jti}".encode()).hexdigest()
        return await asyncio.to_thread(self._first_use, key, until, now)

    def _first_use(self, key: str, until: float, now: float) -> bool:
        with self._store.write(f"cds-jti:{key}") as db:
            row = db.one("SELECT until FROM seen_tokens WHERE key = ?", (key,))
            if row is not None and float(row[0]) > now:
                return False
            if row is None:
                db.run("INSERT INTO seen_tokens (key, until) VALUES (?, ?)", (key, until))
            else:  # expired: the same jti may come again once its token is long dead
                db.run("UPDATE seen_tokens SET until = ? WHERE key = ?", (until, key))
            self._since_prune += 1
            if self._since_prune >= _PRUNE_EVERY:  # expired pairs can never be replays
                self._since_prune = 0
                db.run("DELETE FROM seen_tokens WHERE until <= ?", (now,))
        return True

    def close(self) -> None:
        """Close the in-memory database this object opened (a ledger's store is the ledger's)."""
        if self._owned:
            self._store.close()
