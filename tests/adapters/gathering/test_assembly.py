"""Putting an encounter together: which Coverage may pay for it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.coding_setup import default_coding
from adapters.gathering.bundle_source import encounters_in_bundle
from adapters.processing import code_and_build

CREATED = datetime(2026, 1, 16, 8, 0, tzinfo=UTC)


def _coverage(cid: str, period: dict[str, str] | None, order: int | None = None) -> dict[str, Any]:
    coverage: dict[str, Any] = {
        "resourceType": "Coverage",
        "id": cid,
        "status": "active",
        "beneficiary": {"reference": "Patient/p1"},
        "payor": [{"reference": f"Organization/{cid}-payer", "display": f"Payer {cid}"}],
    }
    if period is not None:
        coverage["period"] = period
    if order is not None:
        coverage["order"] = order
    return coverage


def _bundle(*coverages: dict[str, Any], end: str = "2026-01-15T09:30:00Z") -> dict[str, Any]:
    resources = [
        {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": {"reference": "Patient/p1"},
            "period": {"start": "2026-01-15T09:00:00Z", "end": end},
            "participant": [{"individual": {"reference": "Practitioner/dr1"}}],
            "serviceProvider": {"reference": "Organization/clinic"},
        },
        {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1960-05-17"},
        {
            "resourceType": "Condition",
            "id": "c1",
            "category": [{"coding": [{"code": "encounter-diagnosis"}]}],
            "verificationStatus": {"coding": [{"code": "confirmed"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I10"}]},
            "encounter": {"reference": "Encounter/e1"},
            "subject": {"reference": "Patient/p1"},
        },
        *coverages,
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def _in_force(bundle: dict[str, Any]) -> tuple[list[str], list[str]]:
    (encounter,) = encounters_in_bundle(bundle, source_id="test")
    left_out = [i.source for i in encounter.read_issues if i.rule == "COVERAGE-NOT-IN-FORCE"]
    return [c.reference for c in encounter.coverages], left_out


@pytest.mark.parametrize(
    ("period", "kept"),
    [
        (None, True),  # no period: nothing to judge by
        ({"start": "2020-01-01"}, True),
        ({"start": "2020-01-01", "end": "2026-01-15"}, True),  # the last day counts
        ({"end": "2026-01"}, True),  # a month's precision ends on its last day
        ({"end": "2025"}, False),
        ({"start": "2020-01-01", "end": "2025-12-31"}, False),  # terminated before
        ({"start": "2026-02-01"}, False),  # not yet in force
        ({"start": "2026-01-15T00:00:00-05:00"}, True),
    ],
)
def test_a_coverage_is_kept_only_when_its_period_meets_the_encounter(period, kept):
    covered, left_out = _in_force(_bundle(_coverage("cov", period)))
    assert covered == (["Coverage/cov"] if kept else [])
    assert left_out == ([] if kept else ["Coverage/cov"])


def test_a_stay_is_covered_by_a_coverage_that_ends_during_it():
    ended = _coverage("old", {"end": "2026-01-16"})
    assert _in_force(_bundle(ended, end="2026-01-19T10:00:00Z")) == (["Coverage/old"], [])


def test_the_payer_in_force_is_billed_and_the_terminated_one_is_reported():
    terminated = _coverage("old", {"start": "2019-01-01", "end": "2025-12-31"}, order=1)
    current = _coverage("new", {"start": "2026-01-01"}, order=2)
    (encounter,) = encounters_in_bundle(_bundle(terminated, current), source_id="test")
    processed = code_and_build(encounter, default_coding(), created=CREATED)
    assert processed.claim is not None, processed.issues
    assert processed.claim["insurer"]["reference"] == "Organization/new-payer"
    assert [i["coverage"]["reference"] for i in processed.claim["insurance"]] == ["Coverage/new"]
    [finding] = [i for i in processed.issues if i.rule == "COVERAGE-NOT-IN-FORCE"]
    assert "Coverage/old was not in force during the encounter (2026-01-15;" in finding.message


def test_an_encounter_whose_only_coverage_has_ended_gets_no_claim_and_says_why():
    (encounter,) = encounters_in_bundle(
        _bundle(_coverage("old", {"end": "2025-12-31"})), source_id="test"
    )
    processed = code_and_build(encounter, default_coding(), created=CREATED)
    assert processed.claim is None
    rules = {i.rule for i in processed.issues}
    assert "COVERAGE-NOT-IN-FORCE" in rules
    assert any("overage" in i.message for i in processed.issues if i.severity.blocks)


def test_the_encounters_reason_is_read_codes_and_conditions():
    bundle = _bundle(_coverage("cov", None))
    encounter_resource = bundle["entry"][0]["resource"]
    encounter_resource["reasonCode"] = [
        {"coding": [{"system": "http://snomed.info/sct", "code": "271737000", "display": "Anemia"}]}
    ]
    encounter_resource["reasonReference"] = [
        {"reference": "http://ehr.test/fhir/Condition/c1/_history/2"},
        {"reference": "Observation/o1"},  # not a Condition: left out with a note
    ]
    (encounter,) = encounters_in_bundle(bundle, source_id="test")
    assert [(c.system, c.code) for c in encounter.reason_codes] == [
        ("http://snomed.info/sct", "271737000")
    ]
    assert encounter.reason_references == ("Condition/c1",)
    [note] = [i for i in encounter.read_issues if "Observation/o1" in i.message]
    assert note.expression == ("Encounter.reasonReference",)
    assert note.source == "Encounter/e1"


def test_codings_dropped_from_admit_source_and_priority_are_among_the_read_issues():
    """Every reader's dropped codings reach read_issues, the last ones read included."""
    bundle = _bundle(_coverage("cov", None))
    encounter_resource = bundle["entry"][0]["resource"]
    encounter_resource["hospitalization"] = {"admitSource": {"coding": [{"system": "urn:x"}]}}
    encounter_resource["priority"] = {"coding": [{"display": "urgent, no code"}]}
    (encounter,) = encounters_in_bundle(bundle, source_id="test")
    expressions = {e for i in encounter.read_issues for e in i.expression}
    assert "Encounter.hospitalization.admitSource" in expressions
    assert "Encounter.priority" in expressions
