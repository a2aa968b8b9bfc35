"""WAL checkpoints on a thread of their own, so requests rarely wait for one.

A commit in WAL mode appends pages to the ``-wal`` file; a checkpoint copies them back into
the database file and fsyncs it. SQLite's automatic checkpoint runs inside the commit that
crosses its threshold, and on a small write those took more time than the write itself
(~60 ms every few hundred transactions, ~0.2 ms a transaction). Here a thread with its own
connection runs a ``PASSIVE`` checkpoint (it never blocks the writer, and SQLite releases
the GIL while it copies) every :data:`COMMITS_PER_CHECKPOINT` commits. The store's own
automatic checkpoint stays as the backstop, and finds little left to copy; it is also
what lets the WAL start over from its beginning. Durability is unchanged: a commit is in
the WAL either way.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

__all__ = ["COMMITS_PER_CHECKPOINT", "Checkpointer"]

COMMITS_PER_CHECKPOINT = 300
"""About 9,000 WAL frames (~35 MB) for small transactions, under the store's own threshold."""


class Checkpointer:
    """Checkpoints the WAL of ``path`` on a daemon thread when told enough commits happened."""

    def __init__(self, path: Path, *, every: int = COMMITS_PER_CHECKPOINT) -> None:
        self._path = path
        self._every = every
        self._commits = 0
        self._wake = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="sandbox-wal", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """Count a commit; wake the thread once enough have piled up."""
        self._commits += 1
        if self._commits >= self._every:
            self._commits = 0
            self._wake.set()

    def close(self) -> None:
        """Stop the thread (after the checkpoint under way, if any)."""
        self._stopped = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:  # pragma: no cover - the store's own checkpoints still run
            return
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopped:
                    return
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # pragma: no cover - the next wake-up tries again
                    continue
        finally:
            db.close()
