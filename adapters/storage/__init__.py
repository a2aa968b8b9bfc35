"""Where the ledgers keep their rows: an embedded SQLite file, or a shared PostgreSQL database.

One small interface (:class:`~adapters.storage.store.Store`: transactions, the database's
clock, a lock per key, wake-up notifications, versioned migrations) under the job ledger
(``adapters/jobs``) and the Claim ledger (``adapters/writeback``), so each ledger is written
once and runs on both. Its own room because write-back may not import ``jobs``. Imports
nothing of ours but the core's errors; psycopg only when a PostgreSQL URL is opened.
"""

from adapters.storage.store import Row, Store, Tx
from adapters.storage.targets import describe, is_postgres_url, open_store

__all__ = ["Row", "Store", "Tx", "describe", "is_postgres_url", "open_store"]
