"""The encounter's reason (Encounter.reasonCode / reasonReference) as a coder uses it.

Inpatient: the admitting diagnosis (UB-04 FL 69, 837I HI*ABJ); the principal only as a
proposal a coder confirms (Guidelines Section II). Outpatient professional: evidence,
never a diagnosis (Section IV).
"""

from dataclasses import replace
from datetime import UTC, datetime

from adapters.claim_input import read_claim
from fhir_coder.claim import ClaimOptions, build_claim
from fhir_coder.claim_form import claim_form
from fhir_coder.coding import code_encounter
from fhir_coder.coding.admission import PRINCIPAL_FROM_REASON, REASON_NOT_CODED
from fhir_coder.errors import ReleaseNotAvailableError
from fhir_coder.model import Coding, CodingMethod, DiagnosisRole, EncounterClass
from fhir_coder.outcome import Severity
from fhir_coder.ports import Translation
from fhir_coder.systems import CPT, ICD10CM, SNOMED
from fhir_coder.validation import validate
from fhir_coder.validation.mce import mce_claim

from .conftest import TableCrosswalk, condition, office_visit

CREATED = datetime(2026, 1, 20, 8, 0, tzinfo=UTC)
ASTHMA = Translation(
    ICD10CM, "J45909", "Unspecified asthma", "curated:195967001", "curated 2026-11"
)
CROSSWALK = TableCrosswalk({("195967001", ICD10CM): (ASTHMA,)})
ASTHMA_REASON = (Coding(SNOMED, "195967001", "Asthma"),)


def stay(*diagnoses, **changes):
    base = {
        "encounter_class": EncounterClass.INPATIENT,
        "id": "stay-9",
        "reference": "Encounter/stay-9",
        "period_start": datetime(2026, 1, 12, 22, 0, tzinfo=UTC),
        "period_end": datetime(2026, 1, 16, 11, 0, tzinfo=UTC),
    }
    return office_visit(*diagnoses, **(base | changes))


def roles(coded):
    return [(line.code, line.role) for line in coded.diagnoses]


def rules(coded):
    return [issue.rule for issue in coded.issues]


def test_a_stays_reason_code_is_its_admitting_diagnosis_through_the_crosswalk(codes):
    encounter = stay(condition("htn", (ICD10CM, "I10"), listed_rank=1), reason_codes=ASTHMA_REASON)
    coded = code_encounter(encounter, codes, crosswalks=CROSSWALK)
    assert roles(coded) == [("I10", DiagnosisRole.PRINCIPAL), ("J45909", DiagnosisRole.ADMITTING)]
    admitting = coded.diagnoses[1]
    assert admitting.method is CodingMethod.CROSSWALK
    assert admitting.source.reference == "Encounter/stay-9"
    assert not admitting.needs_review
    assert PRINCIPAL_FROM_REASON not in rules(coded)
    claim = build_claim(coded, (), created=CREATED)
    assert claim["status"] == "active"
    entries = [
        (d["type"][0]["coding"][0]["code"], d["onAdmission"]["coding"][0]["code"])
        for d in claim["diagnosis"]
    ]
    # the reason for admission was present when the admission was ordered: POA Y
    assert entries == [("principal", "U"), ("admitting", "Y")]


def test_a_reason_reference_makes_that_condition_the_admitting_diagnosis(codes):
    encounter = stay(
        condition("htn", (ICD10CM, "I10"), listed_rank=1),
        condition("dm", (ICD10CM, "E11.9"), listed_rank=2),
        reason_references=("Condition/dm",),
    )
    coded = code_encounter(encounter, codes)
    assert roles(coded) == [
        ("I10", DiagnosisRole.PRINCIPAL),
        ("E119", DiagnosisRole.SECONDARY),
        ("E119", DiagnosisRole.ADMITTING),
    ]
    assert coded.diagnoses[2].source.reference == "Condition/dm"


def test_a_reason_reference_to_a_condition_not_coded_is_said_not_guessed(codes):
    encounter = stay(
        condition("htn", (ICD10CM, "I10"), listed_rank=1), reason_references=("Condition/gone",)
    )
    coded = code_encounter(encounter, codes)
    assert roles(coded) == [("I10", DiagnosisRole.PRINCIPAL)]
    [note] = [i for i in coded.issues if i.rule == "DX-REASON-REFERENCE-NOT-CODED"]
    assert "Condition/gone" in note.message
    assert note.severity is Severity.INFORMATION


def test_a_stay_with_only_its_reason_gets_a_proposed_principal_a_coder_must_confirm(codes):
    encounter = stay(reason_codes=ASTHMA_REASON)
    coded = code_encounter(encounter, codes, crosswalks=CROSSWALK)
    assert roles(coded) == [
        ("J45909", DiagnosisRole.PRINCIPAL),
        ("J45909", DiagnosisRole.ADMITTING),
    ]
    principal = coded.diagnoses[0]
    assert principal.needs_review  # never finalised automatically
    [finding] = [i for i in coded.issues if i.rule == PRINCIPAL_FROM_REASON]
    assert finding.severity is Severity.ERROR  # blocks: the Claim is a draft
    assert "reason for admission" in finding.message
    assert "Section II" in finding.message
    assert finding.source == "Encounter/stay-9"
    issues = coded.issues + validate(coded)
    assert "CLAIM-NO-DIAGNOSIS" not in [i.rule for i in issues]
    claim = build_claim(coded, issues, created=CREATED)
    assert claim["status"] == "draft"
    [outcome] = claim["contained"]
    assert PRINCIPAL_FROM_REASON in str(outcome)


def test_the_admitting_diagnosis_is_no_secondary_for_editors_nor_pointed_at(codes):
    encounter = stay(reason_codes=ASTHMA_REASON)
    coded = code_encounter(encounter, codes, crosswalks=CROSSWALK)
    visit_line = replace(coded.diagnoses[0], system=CPT, code="99223", role=None)
    coded = replace(coded, procedures=(visit_line,))
    claim = build_claim(coded, (), created=CREATED)
    # the line points at the principal only, not at the admitting diagnosis
    assert claim["item"][0]["diagnosisSequence"] == [1]
    patient = {"resourceType": "Patient", "gender": "female", "birthDate": "1960-05-17"}
    form = read_claim(claim, patient, label=f"Claim/{claim['id']}")
    assert claim_form(coded, created=CREATED) == form
    built = mce_claim(form, encounter.period_end.date())
    assert built is not None
    # the MCE sees the principal and no secondary equal to it (DUPLICATE_OF_PDX)
    assert (built[0].principal, built[0].secondary) == ("J45909", ())


def test_an_outpatient_reason_is_evidence_not_a_diagnosis(codes):
    visit = office_visit(condition("htn", (ICD10CM, "I10")), reason_codes=ASTHMA_REASON)
    coded = code_encounter(visit, codes, crosswalks=CROSSWALK)
    assert roles(coded) == [("I10", DiagnosisRole.PRINCIPAL)]
    [note] = [i for i in coded.issues if i.rule == REASON_NOT_CODED]
    assert note.severity is Severity.INFORMATION
    assert "195967001 Asthma" in note.message
    assert "Section IV" in note.message


def test_an_outpatient_visit_with_only_a_reason_still_has_no_diagnosis(codes):
    visit = office_visit(reason_codes=ASTHMA_REASON, encounter_class=EncounterClass.EMERGENCY)
    coded = code_encounter(visit, codes, crosswalks=CROSSWALK)
    assert coded.diagnoses == ()
    assert REASON_NOT_CODED in rules(coded)
    assert "CLAIM-NO-DIAGNOSIS" in [i.rule for i in validate(coded)]


def test_an_encounter_without_a_reason_is_coded_as_before(codes):
    coded = code_encounter(stay(condition("htn", (ICD10CM, "I10"))), codes)
    assert roles(coded) == [("I10", DiagnosisRole.PRINCIPAL)]
    assert not {REASON_NOT_CODED, PRINCIPAL_FROM_REASON} & set(rules(coded))


class NoRelease:
    """A grouper with no MS-DRG release for the discharge (Synthea's decades-old stays)."""

    def group(self, claim):
        raise ReleaseNotAvailableError("MS-DRG", claim.discharge.isoformat(), "400..440")


def test_a_stay_no_drg_release_covers_is_built_without_a_drg(codes):
    coded = code_encounter(stay(reason_codes=ASTHMA_REASON), codes, crosswalks=CROSSWALK)
    claim = build_claim(coded, (), created=CREATED, options=ClaimOptions(drg=NoRelease()))
    assert [d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in claim["diagnosis"]] == [
        "J45.909",
        "J45.909",
    ]
    assert not any("packageCode" in d for d in claim["diagnosis"])


class Recording:
    def __init__(self):
        self.seen = []

    def group(self, claim):
        self.seen.append(claim)


def test_the_grouper_is_given_no_admitting_diagnosis_as_a_secondary(codes):
    encounter = stay(condition("htn", (ICD10CM, "I10"), listed_rank=1), reason_codes=ASTHMA_REASON)
    coded = code_encounter(encounter, codes, crosswalks=CROSSWALK)
    grouper = Recording()
    build_claim(coded, (), created=CREATED, options=ClaimOptions(drg=grouper))
    [seen] = grouper.seen
    assert (seen.principal, seen.secondary) == ("I10", ())
