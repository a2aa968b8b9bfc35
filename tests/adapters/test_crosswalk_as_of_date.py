"""A crosswalk target CMS created after the date of service: the code it came from is coded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.coding_setup import default_coding
from adapters.gathering.bundle_source import encounters_in_bundle
from adapters.processing import code_and_build

CREATED = datetime(2026, 1, 16, 8, 0, tzinfo=UTC)
METABOLIC_SYNDROME = "237602007"  # curated to E88.810, a code of FY2024 (E88.81 before)


def _visit(day: str, concept: str) -> dict[str, Any]:
    resources = [
        {
            "resourceType": "Encounter",
            "id": "e1",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": {"reference": "Patient/p1"},
            "period": {"start": f"{day}T09:00:00Z", "end": f"{day}T09:30:00Z"},
            "participant": [{"individual": {"reference": "Practitioner/dr1"}}],
            "serviceProvider": {"reference": "Organization/clinic"},
        },
        {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1960-05-17"},
        {
            "resourceType": "Condition",
            "id": "c1",
            "category": [{"coding": [{"code": "encounter-diagnosis"}]}],
            "verificationStatus": {"coding": [{"code": "confirmed"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": concept}]},
            "encounter": {"reference": "Encounter/e1"},
            "subject": {"reference": "Patient/p1"},
        },
        {
            "resourceType": "Coverage",
            "id": "cov",
            "status": "active",
            "beneficiary": {"reference": "Patient/p1"},
            "payor": [{"reference": "Organization/payer", "display": "Payer"}],
        },
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


@pytest.mark.parametrize(
    ("day", "code", "noted"),
    [
        ("2023-09-30", "E88.81", True),  # FY2023: E88.81 billable, E88.810 not yet made
        ("2023-10-01", "E88.810", False),  # FY2024: the subdivision in force
        ("2026-01-15", "E88.810", False),
    ],
)
def test_a_target_subdivided_later_is_coded_as_the_code_in_force_then(day, code, noted):
    (encounter,) = encounters_in_bundle(_visit(day, METABOLIC_SYNDROME), source_id="test")
    processed = code_and_build(encounter, default_coding(), created=CREATED)
    assert processed.claim is not None
    [diagnosis] = processed.claim["diagnosis"]
    assert diagnosis["diagnosisCodeableConcept"]["coding"][0]["code"] == code
    notes = [i for i in processed.issues if i.rule == "DX-CODE-AS-OF-DATE"]
    assert bool(notes) is noted
    if noted:
        assert "E88.810" in notes[0].message
        assert "E88.81," in notes[0].message
