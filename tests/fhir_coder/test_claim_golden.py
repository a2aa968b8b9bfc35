"""Golden Claims: an office visit, an emergency visit with procedures, an inpatient stay with a DRG.

Each Claim is compared with its file under ``golden/`` element by element, validated with
``fhir.resources.R4B`` and read back through the scrubber's structure and pointer edits.
Set ``FHIR_CODER_UPDATE_GOLDEN=1`` to rewrite the files after a deliberate change, then
review the diff.
"""

import json
import os
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fhir.resources.R4B.claim import Claim

from adapters.claim_input import read_claim
from codesets.drg import MsdrgGrouper
from fhir_coder.claim import ClaimOptions, build_claim
from fhir_coder.claim_parts import FeeSchedule
from fhir_coder.coding import code_encounter
from fhir_coder.model import (
    CodedLine,
    Coding,
    CodingMethod,
    EncounterClass,
    PatientFacts,
    Procedure,
    Provider,
    SourceRef,
)
from fhir_coder.systems import CPT, HCPCS, ICD10CM, ICD10PCS
from fhir_coder.validation import claim_can_be_built, validate
from fhir_coder.validation.structure import pointer_edits, structure_edits

from .conftest import condition, office_visit

GOLDEN = Path(__file__).parent / "golden"
CREATED = datetime(2026, 1, 20, 8, 0, tzinfo=UTC)
PROVIDERS = (
    Provider("Practitioner/dr1", "attender", "Dr One", npi="1234567893"),
    Provider("Organization/clinic", "service-provider", "Clinic", npi="1497758544"),
)
# Made-up charges for the test only: no fee schedule ships with fhir-coder.
FEES = FeeSchedule(
    {
        ("99284", ""): Decimal("310.00"),
        ("12001", ""): Decimal("185.50"),
        ("J1885", ""): Decimal("4.25"),
    },
    name="test-fees",
)


@pytest.fixture(scope="module")
def grouper():
    with MsdrgGrouper() as grouper:
        yield grouper


def procedure(pid, system, code, day=date(2026, 1, 15)):
    return Procedure(SourceRef(f"Procedure/{pid}", "2"), (Coding(system, code),), performed=day)


def built(encounter, codes, options=None):
    coded = code_encounter(encounter, codes)
    issues = coded.issues + validate(coded)
    assert claim_can_be_built(issues), issues
    return coded, issues, build_claim(coded, issues, created=CREATED, options=options)


def check_against_golden(name, claim):
    Claim.model_validate(claim)
    form = read_claim(claim, None, label=name)
    problems = [i for i in structure_edits(form) + pointer_edits(form) if i.severity.blocks]
    assert problems == []
    path = GOLDEN / f"{name}.json"
    text = json.dumps(claim, indent=2, sort_keys=True) + "\n"
    if os.environ.get("FHIR_CODER_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert json.loads(path.read_text()) == claim, f"{name} differs from {path}"


def test_office_visit(codes):
    visit = office_visit(
        condition("dm", (ICD10CM, "E11.9"), listed_rank=1),
        condition("htn", (ICD10CM, "I10"), listed_rank=2),
        procedures=(procedure("em", CPT, "99213"),),
        providers=PROVIDERS,
    )
    _, _, claim = built(visit, codes)
    check_against_golden("office_visit", claim)
    [item] = claim["item"]
    assert item["locationCodeableConcept"]["coding"][0]["code"] == "11"
    assert claim["careTeam"][0]["provider"]["identifier"]["value"] == "1234567893"
    assert "total" not in claim  # no fee schedule configured
    assert "unitPrice" not in item


def test_emergency_visit_with_procedures_priced_from_a_fee_schedule(codes):
    visit = office_visit(
        condition("asthma", (ICD10CM, "J45.909"), listed_rank=1),
        condition("htn", (ICD10CM, "I10"), listed_rank=2),
        encounter_class=EncounterClass.EMERGENCY,
        id="er-1",
        reference="Encounter/er-1",
        procedures=(
            procedure("em", CPT, "99284"),
            procedure("repair", CPT, "12001"),
            procedure("drug", HCPCS, "J1885"),
        ),
        providers=PROVIDERS,
    )
    _, _, claim = built(visit, codes, ClaimOptions(fee_schedule=FEES))
    check_against_golden("emergency_visit", claim)
    assert [i["locationCodeableConcept"]["coding"][0]["code"] for i in claim["item"]] == ["23"] * 3
    assert claim["total"] == {"value": 499.75, "currency": "USD"}


def test_inpatient_stay_with_a_drg_poa_and_revenue_lines(codes, grouper):
    admitted = datetime(2026, 1, 12, 22, 0, tzinfo=UTC)
    stay = office_visit(
        replace(condition("bronchitis", (ICD10CM, "J20.9"), listed_rank=1), onset=None),
        # Known before the stay: present on admission.
        replace(condition("dm", (ICD10CM, "E11.9"), listed_rank=2), onset=date(2019, 3, 1)),
        # Began two days into the stay: not present on admission.
        replace(condition("htn", (ICD10CM, "I10"), listed_rank=3), onset=date(2026, 1, 14)),
        encounter_class=EncounterClass.INPATIENT,
        id="stay-1",
        reference="Encounter/stay-1",
        period_start=admitted,
        period_end=datetime(2026, 1, 16, 11, 0, tzinfo=UTC),
        patient=PatientFacts("Patient/p1", "male", date(1950, 2, 1)),
        procedures=(procedure("bronchoscopy", ICD10PCS, "0BJ08ZZ", date(2026, 1, 13)),),
        providers=PROVIDERS,
        discharge_disposition="home",
        discharge_disposition_system="http://terminology.hl7.org/CodeSystem/discharge-disposition",
        priority=(Coding("http://terminology.hl7.org/CodeSystem/v3-ActPriority", "EM"),),
        admit_source=(Coding("http://terminology.hl7.org/CodeSystem/admit-source", "hosp-trans"),),
    )
    coded = code_encounter(stay, codes)
    # A room-and-board charge line, as a chargemaster would add it (coding adds none).
    room = CodedLine(
        CPT, "99223", "", SourceRef("Encounter/stay-1"), None, CodingMethod.TABLE, 1.0, "test"
    )
    coded = replace(coded, procedures=(*coded.procedures, room))
    issues = coded.issues + validate(coded)
    claim = build_claim(coded, issues, created=CREATED, options=ClaimOptions(drg=grouper))
    check_against_golden("inpatient_stay", claim)
    principal = claim["diagnosis"][0]
    assert principal["packageCode"]["coding"][0]["code"] == "203"
    assert principal["packageCode"]["text"] == "MS-DRG v43.0"
    assert [d["onAdmission"]["coding"][0]["code"] for d in claim["diagnosis"]] == ["U", "Y", "N"]
    assert claim["procedure"][0]["date"] == "2026-01-13"
    assert claim["item"][0]["revenue"]["coding"][0]["code"] == "0100"
    assert claim["type"]["coding"][0]["code"] == "institutional"
    # UB-04 FL 14, 15 and 17 as CARIN BB categories with NUBC codes.
    assert [
        (
            info["category"]["coding"][0]["code"],
            info["code"]["coding"][0]["system"],
            info["code"]["coding"][0]["code"],
        )
        for info in claim["supportingInfo"]
    ] == [
        ("admtype", "https://www.nubc.org/CodeSystem/PriorityTypeOfAdmitOrVisit", "1"),
        ("pointoforigin", "https://www.nubc.org/CodeSystem/PointOfOrigin", "4"),
        ("discharge-status", "https://www.nubc.org/CodeSystem/PatDischargeStatus", "01"),
    ]
