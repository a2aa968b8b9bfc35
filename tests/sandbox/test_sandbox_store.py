"""The SQLite store on its own: versions, history, transactions, threads, restarts."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from sandbox.clock import now_instant
from sandbox.criteria import ReferenceCriterion, ReferenceMatch, TokenCriterion, TokenMatch
from sandbox.indexing import index_rows
from sandbox.references import split_reference
from sandbox.store import AlreadyExistsError, Store, VersionConflictError


def patient(resource_id: str, **extra: object) -> dict[str, object]:
    return {"resourceType": "Patient", "id": resource_id, **extra}


def test_versions_and_history(tmp_path: Path):
    with Store(tmp_path / "db.sqlite3") as store:
        first, created = store.update("p1", patient("p1", gender="male"))
        second, created_again = store.update("p1", patient("p1", gender="female"))

        assert created
        assert not created_again
        assert (first.version_id, second.version_id) == (1, 2)
        assert second.resource["meta"]["versionId"] == "2"
        old = store.read_version("Patient", "p1", 1)
        assert old is not None
        assert old.resource["gender"] == "male"
        assert store.read_version("Patient", "p1", 3) is None
        with pytest.raises(VersionConflictError):
            store.update("p1", patient("p1"), if_match=1)
        with pytest.raises(AlreadyExistsError):
            store.create(patient("p1"), resource_id="p1")


def test_client_meta_is_kept_but_version_and_time_are_the_servers(tmp_path: Path):
    with Store(tmp_path / "db.sqlite3") as store:
        stored = store.create(
            patient("x", meta={"versionId": "9", "profile": ["http://example.org/p"]})
        )
        meta = stored.resource["meta"]
        assert meta["versionId"] == "1"
        assert meta["profile"] == ["http://example.org/p"]
        assert list(stored.resource)[:3] == ["resourceType", "id", "meta"]


def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path):
    with Store(tmp_path / "db.sqlite3") as store:
        store.update("p1", patient("p1"))

        def write_then_fail() -> None:
            with store.transaction():
                store.update("p1", patient("p1", active=True))
                store.create(patient("new"), resource_id="p2")
                raise RuntimeError

        with pytest.raises(RuntimeError):
            write_then_fail()
        current = store.read("Patient", "p1")
        assert current is not None
        assert current.version_id == 1
        assert store.read("Patient", "p2") is None
        assert store.read_version("Patient", "p1", 2) is None
        assert store.resource_count() == 1


def test_data_survives_reopening(tmp_path: Path):
    path = tmp_path / "nested" / "db.sqlite3"
    with Store(path) as store:
        store.update("p1", patient("p1"))
    with Store(path) as reopened:
        stored = reopened.read("Patient", "p1")
        assert stored is not None
        assert stored.version_id == 1
        assert reopened.resource_count() == 1


def test_concurrent_writers_from_threads_lose_no_update(tmp_path: Path):
    with Store(tmp_path / "db.sqlite3") as store:
        store.update("shared", patient("shared"))

        def write(worker: int) -> None:
            for n in range(20):
                store.update("shared", patient("shared", active=bool(n % 2)))
                store.create(patient("x"), resource_id=f"w{worker}-{n}")

        threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        shared = store.read("Patient", "shared")
        assert shared is not None
        assert shared.version_id == 81
        assert store.resource_count() == 81


def test_reindexing_on_update_drops_old_values(tmp_path: Path):
    with Store(tmp_path / "db.sqlite3") as store:
        encounter = {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"}}
        store.update("e1", encounter | {"id": "e1", "subject": {"reference": "Patient/a"}})
        store.update("e1", encounter | {"id": "e1", "subject": {"reference": "Patient/b"}})

        def found(target: str) -> int:
            criterion = ReferenceCriterion("patient", (ReferenceMatch("Patient", target),))
            return store.search("Encounter", [criterion], count=10).total

        assert (found("a"), found("b")) == (0, 1)


def test_reference_forms():
    assert split_reference("Patient/1") == ("Patient", "1")
    assert split_reference("Patient/1/_history/3") == ("Patient", "1")
    assert split_reference("https://host/fhir/Patient/1") == ("Patient", "1")
    assert split_reference("https://host/fhir/Patient/1/_history/2") == ("Patient", "1")
    assert split_reference("#contained") is None
    assert split_reference("urn:uuid:0e1d7b5e-0000-4000-8000-000000000000") is None
    assert (
        split_reference("Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|1234567893") is None
    )
    assert split_reference("Frobnicator/1") is None


def test_index_rows_follow_the_parameter_table():
    claim = {
        "resourceType": "Claim",
        "status": "active",
        "patient": {"reference": "Patient/p"},
        "item": [{"encounter": [{"reference": "Encounter/e1"}, {"reference": "Encounter/e2"}]}],
        "identifier": [{"system": "s", "value": "v"}],
    }
    rows = index_rows("Claim", claim)
    assert {(r.param, r.system, r.value) for r in rows.tokens} == {
        ("status", "", "active"),
        ("identifier", "s", "v"),
    }
    assert {(r.param, r.target_id) for r in rows.references} == {
        ("patient", "p"),
        ("encounter", "e1"),
        ("encounter", "e2"),
    }
    # patient only indexes references to Patients
    group_subject = {"resourceType": "Encounter", "subject": {"reference": "Group/g"}}
    assert {r.param for r in index_rows("Encounter", group_subject).references} == {"subject"}


def test_a_file_of_the_previous_schema_is_reindexed_on_open(tmp_path: Path):
    """Version 2 kept index rows by (type, id); version 3 by seq. Old files keep working."""
    path = tmp_path / "v2.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE resources (seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL,
            id TEXT NOT NULL, version_id INTEGER NOT NULL, last_updated TEXT NOT NULL,
            json BLOB NOT NULL, UNIQUE (type, id));
        CREATE TABLE token_index (type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
            system TEXT NOT NULL, value TEXT NOT NULL);
        CREATE INDEX token_owner ON token_index (type, id);
        PRAGMA user_version = 2;
        """
    )
    encounter = {"resourceType": "Encounter", "id": "e1", "status": "finished"}
    db.execute(
        "INSERT INTO resources (type, id, version_id, last_updated, json) VALUES (?, ?, ?, ?, ?)",
        ("Encounter", "e1", 1, "2026-01-01T00:00:00.000Z", orjson.dumps(encounter)),
    )
    db.execute("INSERT INTO token_index VALUES ('Encounter', 'e1', 'status', '', 'finished')")
    db.commit()
    db.close()

    with Store(path) as store:
        finished = TokenCriterion("status", (TokenMatch(None, "finished"),))
        found = store.search("Encounter", [finished], count=10)
        store.update("e1", {**encounter, "status": "cancelled"})
        after = store.search("Encounter", [finished], count=10)

    assert [stored.resource_id for stored in found.resources] == ["e1"]
    assert after.total == 0


def test_the_clock_is_now_to_the_millisecond_though_formatted_once_per_millisecond():
    def formatted() -> str:
        return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    for _ in range(2000):
        before, instant, after = formatted(), now_instant(), formatted()
        assert before <= instant <= after
