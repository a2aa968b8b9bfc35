"""Conditional references of every search form the sandbox's loader answers, from an export."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from adapters.bulk import ExportIndex, IndexReport, encounters_from_ndjson, export_index
from adapters.bulk.export_search import SearchRefused, matches, parse_criteria

NPI = "http://hl7.org/fhir/sid/us-npi"

PATIENTS = [
    {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-03-04",
     "name": [{"family": "Müller", "given": ["Anna"]}],
     "identifier": [{"system": "urn:mrn", "value": "M1"}]},
    {"resourceType": "Patient", "id": "p2", "gender": "male", "birthDate": "1970-03-04",
     "name": [{"family": "Mullins", "given": ["Bo"]}],
     "identifier": [{"system": "urn:other", "value": "M1"}]},
]  # fmt: skip
PRACTITIONERS = [
    {"resourceType": "Practitioner", "id": "dr1", "name": [{"family": "Osler", "given": ["W"]}],
     "identifier": [{"system": NPI, "value": "1234567893"}]},
    {"resourceType": "Practitioner", "id": "dr2", "name": [{"family": "Oslo", "given": ["X"]}],
     "identifier": [{"system": NPI, "value": "1245319599"}]},
]  # fmt: skip
ORGANIZATIONS = [
    {"resourceType": "Organization", "id": "o1", "name": "General Hospital", "alias": ["GH"]},
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("name=mul", {"p1", "p2"}),  # starts with, any name part, case and accents ignored
        ("family=muller", {"p1"}),  # "Müller" without its accent
        ("family:exact=Müller", {"p1"}),
        ("family:exact=muller", set()),
        ("given=an&birthdate=1970-03-04", {"p1"}),
        ("birthdate=1970-03", {"p1", "p2"}),  # the month covers the day
        ("birthdate=gt1970-03-04", set()),
        ("birthdate=ge1970", {"p1", "p2"}),
        ("gender=male", {"p2"}),
        ("identifier=M1", {"p1", "p2"}),  # any system
        ("identifier=urn:mrn|M1", {"p1"}),
        ("identifier=urn:other|", {"p2"}),  # anything in that system
        ("identifier=|M1", set()),  # no system at all
        ("identifier=urn:mrn|M1,urn:other|M1", {"p1", "p2"}),  # commas: either
        ("_id=p2,p9", {"p2"}),
    ],
)
def test_each_search_form_matches_as_fhir_search_does(query, expected):
    criteria = parse_criteria("Patient", query)
    assert {p["id"] for p in PATIENTS if matches(p, criteria, "")} == expected


def test_references_and_codes_match_by_id_type_and_system():
    condition = {
        "resourceType": "Condition", "id": "c1",
        "subject": {"reference": "https://ehr.example/fhir/Patient/p1"},
        "encounter": {"reference": "Encounter/e1/_history/2"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
        "onsetPeriod": {"start": "2020-01-01", "end": "2020-02-01"},
    }  # fmt: skip
    base = "https://ehr.example/fhir"
    for query, expected in [
        ("patient=p1", True),
        ("patient=Patient/p1", True),
        ("subject=Patient/p2", False),
        ("encounter=e1&code=http://snomed.info/sct|44054006", True),
        ("code=44054006", True),
        ("code=http://loinc.org|44054006", False),
        ("onset-date=2020-01-15", False),  # eq: the whole period inside the day
        ("onset-date=ap2020-01-15", True),
        ("onset-date=sa2019-12-31", True),
    ]:
        assert matches(condition, parse_criteria("Condition", query), base) is expected, query


@pytest.mark.parametrize(
    ("kind", "query", "why"),
    [
        ("Patient", "address-city=Boston", "'address-city' is not answered"),
        ("Patient", "name:contains=ul", "modifier :contains"),
        ("Patient", "birthdate=yesterday", "not a FHIR date"),
        ("Patient", "gender=", "has no value"),
        ("Patient", "", "no criteria"),
        ("Basic", "identifier=x", "Basic resources is not answered"),
    ],
)
def test_a_search_an_export_cannot_answer_says_why(kind, query, why):
    with pytest.raises(SearchRefused, match=why):
        parse_criteria(kind, query)


def _write(folder: Path, kind: str, resources: list[dict]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{kind}.ndjson").write_bytes(b"\n".join(orjson.dumps(r) for r in resources))


def _encounter(number: int, **fields: object) -> dict:
    period = {"start": "2024-05-01T10:00:00Z"}
    return {"resourceType": "Encounter", "id": f"e{number}", "status": "finished",
            "class": {"code": "AMB"}, "period": period, **fields}  # fmt: skip


def test_an_export_resolves_searches_by_name_and_reports_the_rest_per_resource(tmp_path):
    folder = tmp_path / "export"
    _write(folder, "Patient", PATIENTS)
    _write(folder, "Practitioner", PRACTITIONERS)
    _write(folder, "Organization", ORGANIZATIONS)
    _write(folder, "Encounter", [
        _encounter(1, subject={"reference": "Patient?family:exact=Müller&birthdate=1970-03-04"},
                   participant=[{"individual": {"reference": "Practitioner?family=osler"}}],
                   serviceProvider={"reference": "Organization?name=general"}),
        _encounter(2, subject={"reference": "Patient/p2"},
                   participant=[{"individual": {"reference": "Practitioner?family=osl"}}],
                   serviceProvider={"reference": "Organization?address-city=Boston"}),
    ])  # fmt: skip
    report = IndexReport()
    items = {
        i.encounter_id: i for i in encounters_from_ndjson([folder], source_id="ehr", report=report)
    }
    first = items["e1"].encounter
    assert first is not None
    assert first.patient.reference == "Patient/p1"
    assert {(p.role, p.reference, p.npi) for p in first.providers} == {
        ("performer", "Practitioner/dr1", "1234567893"),
        ("service-provider", "Organization/o1", ""),
    }
    # Nothing dropped: each reference that cannot be followed is listed on its resource,
    # with the reason, and the encounter says so too.
    assert {(u.resource, u.field, u.reason.split(": ", 1)[-1]) for u in report.unresolved} == {
        ("Encounter/e2", "Encounter.participant.individual",
         "Practitioner?family=osl matches 2 Practitioner resources, not one"),
        ("Encounter/e2", "Encounter.serviceProvider",
         ("the search parameter 'address-city' is not answered from an export "
          "(for Organization: _id, identifier, name)")),
    }  # fmt: skip
    second = items["e2"].encounter
    assert second is not None
    assert sum(i.rule == "READ-UNRESOLVED-REFERENCE" for i in second.read_issues) == 2


def test_a_search_that_would_read_a_whole_large_type_is_refused_with_the_reason(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(export_index, "SCAN_LIMIT", 1)
    folder = tmp_path / "export"
    _write(folder, "Patient", PATIENTS)
    by_name = {"reference": "Patient?family=Mullins"}
    by_identifier = {"reference": "Patient?identifier=urn:other|M1"}
    _write(
        folder, "Encounter", [_encounter(1, subject=by_name), _encounter(2, subject=by_identifier)]
    )
    with ExportIndex() as index:
        report = index.finish(index.add([folder / "Patient.ndjson", folder / "Encounter.ndjson"]))
        assert index.resolve_search("Patient?identifier=urn:other|M1") == "Patient/p2"
    (refused,) = report.unresolved
    assert refused.resource == "Encounter/e1"
    assert "would read every one of the export's 2 Patient resources" in refused.reason
