"""The export's index: bounded in what it holds whatever the population (issue 18)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson

from adapters.bulk import ExportIndex, export_index
from adapters.bulk.export_index import ENCOUNTER_ROWS


def _write(folder: Path, kind: str, resources: list[dict[str, object]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in resources) + b"\n")
    return path


def _encounter(number: int, patient: str, **extra: object) -> dict[str, object]:
    return {"resourceType": "Encounter", "id": f"e{number}", "status": "finished",
            "subject": {"reference": patient}, **extra}  # fmt: skip


def test_encounters_are_walked_patient_by_patient_from_an_index_not_sorted(tmp_path):
    # Sorting every Encounter held them in SQLite's sorter (16 MiB at 100,000 encounters,
    # growing with the population); walking an index holds one page at a time.
    patients = [{"resourceType": "Patient", "id": f"p{n}"} for n in range(3)]
    encounters = [_encounter(n, f"Patient/p{(n * 2) % 3}") for n in range(9)]
    encounters[4]["status"] = "planned"
    files = [_write(tmp_path, "Patient", patients), _write(tmp_path, "Encounter", encounters)]
    with ExportIndex(tmp_path / "index.sqlite3") as index:
        index.finish(index.add(files))
        walked = [(row[0], row[2]) for row in index.encounters("finished")]
        every = [row[0] for row in index.encounters(None)]
    # Patient by patient, each patient's in the export's order; the planned one left out.
    assert walked == [
        ("e0", "p0"), ("e3", "p0"), ("e6", "p0"),
        ("e2", "p1"), ("e5", "p1"), ("e8", "p1"),
        ("e1", "p2"), ("e7", "p2"),
    ]  # fmt: skip
    assert every == ["e0", "e3", "e6", "e2", "e5", "e8", "e1", "e4", "e7"]
    db = sqlite3.connect(tmp_path / "index.sqlite3")
    for where, params in (("AND status = ?", ("finished",)), ("", ())):
        plan = " | ".join(
            row[3]
            for row in db.execute(
                "EXPLAIN QUERY PLAN " + ENCOUNTER_ROWS.format(where=where), params
            )
        )
        assert "TEMP B-TREE" not in plan, plan
        assert "res_encounter" in plan, plan
    db.close()


def test_the_report_lists_the_first_unresolved_references_and_counts_them_all(
    tmp_path, monkeypatch
):
    # A practitioners file missing from the export: every encounter names someone who is
    # not there. The report counts each, lists a few; the index still finds every one.
    monkeypatch.setattr(export_index, "REPORT_KEPT", 3)
    nobody = {"individual": {"reference": "Practitioner?identifier=urn:npi|404"}}
    files = [
        _write(tmp_path, "Patient", [{"resourceType": "Patient", "id": "p1"}]),
        _write(tmp_path, "Encounter",
               [_encounter(n, "Patient/p1", participant=[nobody]) for n in range(7)]),
        _write(tmp_path, "Condition", [{"resourceType": "Condition", "id": "c1",
                                        "encounter": {"reference": "Encounter/gone"}}]),
        _write(tmp_path, "Procedure", ["not json"]),  # type: ignore[list-item]
    ]  # fmt: skip
    with ExportIndex() as index:
        report = index.finish(index.add(files))
        every = list(index.unresolved())
    assert report.unresolved_count == 8
    assert report.unresolved == every[:3]
    assert {u.resource for u in every} == {"Condition/c1", *(f"Encounter/e{n}" for n in range(7))}
    assert report.problem_count == 1
    assert report.problems == ["Procedure.ndjson:1: not a FHIR resource; line skipped"]


def test_conditional_owners_are_resolved_a_batch_at_a_time_and_none_is_missed(
    tmp_path, monkeypatch
):
    # Conditions filed under their encounter by identifier, more than one batch of them,
    # some of which match nothing: each batch starts after the last one's last owner.
    monkeypatch.setattr(export_index, "_RESOLVE_BATCH", 3)
    encounters = [
        _encounter(n, "Patient/p1", identifier=[{"system": "urn:csn", "value": f"v{n}"}])
        for n in range(8)
    ]
    conditions = [
        {"resourceType": "Condition", "id": f"c{n}",
         "encounter": {"reference": f"Encounter?identifier=urn:csn|v{n}"}}
        for n in range(11)  # c8, c9 and c10 name encounters not in the export
    ]  # fmt: skip
    files = [
        _write(tmp_path, "Condition", conditions),
        _write(tmp_path, "Encounter", encounters),
        _write(tmp_path, "Patient", [{"resourceType": "Patient", "id": "p1"}]),
    ]
    with ExportIndex() as index:
        report = index.finish(index.add(files))
        for n in range(8):
            assert [c["id"] for c in index.owned(f"Encounter/e{n}", "Condition")] == [f"c{n}"]
    assert sorted(u.resource for u in report.unresolved) == [
        "Condition/c10",
        "Condition/c8",
        "Condition/c9",
    ]
