"""Which backend a target names: a path (SQLite, the embedded default) or a PostgreSQL URL."""

from __future__ import annotations

from pathlib import Path

from adapters.storage.store import Store

__all__ = ["describe", "is_postgres_url", "open_store"]

_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: str | Path | None) -> bool:
    """Whether ``target`` names a PostgreSQL database rather than a file."""
    return isinstance(target, str) and target.startswith(_SCHEMES)


def describe(target: str | Path | None) -> str:
    """``target`` fit for messages and logs: a URL without its password or parameters."""
    if target is None:
        return "memory"
    if not is_postgres_url(target):
        return str(target)
    from adapters.storage.postgres import describe_url  # noqa: PLC0415 - psycopg when needed

    return describe_url(str(target))


def open_store(target: str | Path | None, *, pool_size: int = 4) -> Store:
    """The store ``target`` names: a ``postgresql://`` URL, a SQLite file, or None (memory).

    ``pool_size`` bounds the PostgreSQL connections this process keeps.
    """
    if is_postgres_url(target):
        from adapters.storage.postgres import PostgresStore  # noqa: PLC0415

        return PostgresStore(str(target), pool_size=pool_size)
    from adapters.storage.sqlite import SqliteStore  # noqa: PLC0415

    return SqliteStore(None if target is None else Path(target))
