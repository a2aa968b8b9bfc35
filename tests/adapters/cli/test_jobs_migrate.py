"""``fhir-coder jobs migrate``: the ledgers' schema on PostgreSQL, applied once, then checked."""

from adapters.cli.main import main
from tests.postgres import drop_database, fresh_database


def test_migrate_applies_both_ledgers_once_and_the_triggers_refuse_an_old_schema(
    postgres_server, tmp_path, capsys
):
    url = fresh_database(postgres_server)
    try:
        argv = ["run", "--server", "http://127.0.0.1:9/fhir", "--jobs-db", url, "--quiet"]
        assert main(argv) == 8  # not migrated: one line, before any server is asked
        said = capsys.readouterr().err
        assert "schema version 0" in said
        assert "fhir-coder jobs migrate" in said
        assert main(["jobs", "migrate", "--jobs-db", url]) == 0
        assert (
            "applied 001_jobs, 002_work_items, 003_claimed_by, 004_seen_tokens, 001_claims"
            in capsys.readouterr().out
        )
        assert main(["jobs", "migrate", "--jobs-db", url]) == 0
        assert "up to date" in capsys.readouterr().out
        assert main(["jobs", "list", "--jobs-db", url, "--json"]) == 0
        assert capsys.readouterr().out.strip() == "[]"
    finally:
        drop_database(postgres_server, url)


def test_migrate_creates_a_sqlite_ledger_too(tmp_path, capsys):
    path = tmp_path / "jobs.sqlite3"
    assert main(["jobs", "migrate", "--jobs-db", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: applied 001_jobs")
    assert main(["jobs", "list", "--jobs-db", str(path)]) == 0
