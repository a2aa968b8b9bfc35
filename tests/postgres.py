"""PostgreSQL for the tests: the server ``.ci/run`` started, or a throwaway cluster of our own.

``FHIR_CODER_TEST_POSTGRES_URL`` names a server (``.ci/run`` exports it); without it, a
cluster is started in a temporary folder for the session when Debian's binaries are on the
machine (``tests/postgres_cluster.py``); without those, PostgreSQL tests skip and say why.
Each test gets a database of its own, with the ledgers' migrations applied.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from adapters.jobs.ledger import JobLedger
from adapters.writeback.claim_ledger import ClaimLedger
from adapters.x12.ledger import SubmissionLedger
from tests import postgres_cluster

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server on loopback (its ``postgres`` database), or skip."""
    url = os.environ.get(postgres_cluster.URL_ENV)
    if url:
        yield url
        return
    if postgres_cluster.binaries() is None:
        pytest.skip(
            f"PostgreSQL is not installed (no initdb/pg_ctl) and {postgres_cluster.URL_ENV} "
            "is not set: install Debian's postgresql package, or run .ci/run"
        )
    folder = Path(tempfile.mkdtemp(prefix="fhir-coder-test-pg-"))
    try:
        url = postgres_cluster.start(folder)
    except Exception as exc:  # noqa: BLE001 - any failure to start is reported whole
        postgres_cluster.stop(folder)
        pytest.fail(f"the PostgreSQL binaries are there but a test cluster did not start: {exc}")
    try:
        yield url
    finally:
        postgres_cluster.stop(folder)


def fresh_database(server: str, *, template: str = "template1") -> str:
    """A new database on ``server`` (empty, or a copy of ``template``); its URL."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    return _as_url(server, name)


def _as_url(server: str, dbname: str) -> str:
    parts = conninfo_to_dict(server)
    user = parts.get("user", "")
    return f"postgresql://{user}@{parts.get('host', '')}:{parts.get('port', '')}/{dbname}"


def drop_database(server: str, url: str) -> None:
    """Drop a database made by :func:`fresh_database` (its connections ended first)."""
    name = str(conninfo_to_dict(url)["dbname"])
    with psycopg.connect(server, autocommit=True) as admin:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        admin.execute(drop.format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def migrated_template(postgres_server: str) -> Iterator[str]:
    """A database with the ledgers migrated, copied for each test (faster than migrating)."""
    url = fresh_database(postgres_server)
    JobLedger.migrate(url)
    ClaimLedger.migrate(url)
    SubmissionLedger.migrate(url)
    yield str(conninfo_to_dict(url)["dbname"])
    drop_database(postgres_server, url)


@pytest.fixture
def postgres_url(postgres_server: str, migrated_template: str) -> Iterator[str]:
    """A database of this test's own, the ledgers migrated."""
    url = fresh_database(postgres_server, template=migrated_template)
    yield url
    drop_database(postgres_server, url)


@pytest.fixture(params=BACKENDS)
def ledger_db(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a ledger lives, once per backend: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "ledger.sqlite3"
    url: str = request.getfixturevalue("postgres_url")
    return url
