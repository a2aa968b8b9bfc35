from datetime import UTC, date, datetime

from fhir.resources.R4B.claim import Claim

from fhir_coder.claim import FINDINGS_EXTENSION, build_claim, claim_id_for, diagnosis_codes
from fhir_coder.coding import code_encounter
from fhir_coder.model import Coding, CodingMethod, EncounterClass, Procedure, SourceRef
from fhir_coder.systems import CPT, ICD10CM, ICD10PCS
from fhir_coder.validation import claim_can_be_built, validate

from .conftest import condition, office_visit

CREATED = datetime(2026, 1, 16, 8, 0, tzinfo=UTC)


def claim_for(encounter, codes):
    coded = code_encounter(encounter, codes)
    issues = coded.issues + validate(coded)
    assert claim_can_be_built(issues), issues
    return build_claim(coded, issues, created=CREATED)


def test_office_visit_claim_is_valid_r4_and_carries_the_coded_diagnoses(codes):
    visit = office_visit(
        condition("htn", (ICD10CM, "I10"), listed_rank=2),
        condition("dm", (ICD10CM, "E119"), listed_rank=1),
        procedures=(
            Procedure(
                SourceRef("Procedure/p1", "1"), (Coding(CPT, "99213"),), performed=date(2026, 1, 15)
            ),
        ),
    )
    claim = claim_for(visit, codes)
    Claim.model_validate(claim)
    assert claim["status"] == "active"
    assert claim["type"]["coding"][0]["code"] == "professional"
    assert diagnosis_codes(claim) == ["E11.9", "I10"]
    assert claim["diagnosis"][0]["type"][0]["coding"][0]["code"] == "principal"
    assert claim["insurance"] == [
        {"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/c1"}}
    ]
    assert claim["insurer"]["reference"] == "Organization/payer"
    assert claim["provider"]["reference"] == "Organization/clinic"
    assert claim["careTeam"][0]["provider"]["reference"] == "Practitioner/dr1"
    [item] = claim["item"]
    assert item["productOrService"]["coding"][0] == {"system": CPT, "code": "99213"}
    assert item["diagnosisSequence"] == [1, 2]
    assert item["encounter"] == [{"reference": "Encounter/visit-1"}]
    assert claim["billablePeriod"]["start"].startswith("2026-01-15")


def test_claim_id_is_stable_per_encounter_and_server_and_fits_fhir_ids(codes):
    visit = office_visit(condition("dm", (ICD10CM, "E11.9")))
    same = office_visit(condition("htn", (ICD10CM, "I10")))
    elsewhere = office_visit(source_id="http://other.test/fhir")
    assert claim_id_for(visit) == claim_id_for(same)
    assert claim_id_for(visit) != claim_id_for(elsewhere)
    assert len(claim_id_for(visit)) <= 64
    claim = claim_for(visit, codes)
    assert claim["id"] == claim["identifier"][0]["value"] == claim_id_for(visit)


def test_claim_with_a_blocking_finding_is_a_draft(codes):
    visit = office_visit(condition("ok", (ICD10CM, "I10")), condition("bad", (ICD10CM, "E11")))
    claim = claim_for(visit, codes)
    assert claim["status"] == "draft"
    assert diagnosis_codes(claim) == ["I10"]
    Claim.model_validate(claim)
    [findings] = claim["contained"]
    assert claim["extension"] == [
        {"url": FINDINGS_EXTENSION, "valueReference": {"reference": "#findings"}}
    ]
    rules = [i["details"]["coding"][0]["code"] for i in findings["issue"]]
    assert rules == ["ICD10CM-NOT-BILLABLE"]
    assert all(i["severity"] == "error" for i in findings["issue"])


def test_inpatient_claim_is_institutional_with_icd10pcs_procedures(codes):
    stay = office_visit(
        condition("dm", (ICD10CM, "E11.9")),
        encounter_class=EncounterClass.INPATIENT,
        procedures=(
            Procedure(
                SourceRef("Procedure/p1"),
                (Coding(ICD10PCS, "0DTJ4ZZ"),),
                performed=date(2026, 1, 15),
            ),
        ),
    )
    coded = code_encounter(stay, codes)
    assert coded.procedures[0].release == "unverified"
    assert coded.procedures[0].method is CodingMethod.AS_CODED
    claim = build_claim(coded, coded.issues, created=CREATED)
    Claim.model_validate(claim)
    assert claim["type"]["coding"][0]["code"] == "institutional"
    assert claim["procedure"][0]["procedureCodeableConcept"]["coding"][0]["code"] == "0DTJ4ZZ"
    assert "item" not in claim


def test_structural_gaps_hold_the_claim_back(codes):
    visit = office_visit(condition("dm", (ICD10CM, "E11.9")), coverages=(), providers=())
    coded = code_encounter(visit, codes)
    found = {issue.rule for issue in validate(coded)}
    assert found == {"CLAIM-MISSING-COVERAGE", "CLAIM-MISSING-PROVIDER"}
    assert not claim_can_be_built(validate(coded))


def test_unfinished_encounter_is_an_error_but_still_a_draft_claim(codes):
    visit = office_visit(condition("dm", (ICD10CM, "E11.9")), status="in-progress")
    coded = code_encounter(visit, codes)
    issues = coded.issues + validate(coded)
    assert "ENCOUNTER-NOT-FINISHED" in {i.rule for i in issues}
    assert build_claim(coded, issues, created=CREATED)["status"] == "draft"


def test_no_codable_diagnosis_holds_the_claim_back(codes):
    coded = code_encounter(office_visit(condition("x", (ICD10CM, "E11"))), codes)
    assert not claim_can_be_built(coded.issues + validate(coded))
