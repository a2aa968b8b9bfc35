"""The scrubber's form laid out from the coded encounter is the form read back from the Claim.

The pipeline scrubs :func:`fhir_coder.claim_form.claim_form` instead of re-reading its own
Claim JSON; these tests hold the two equal, over the generated corpus and over the
elements the corpus does not exercise (prices, modifiers, NPI-only providers, several
coverages, unknown patient facts).
"""

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from adapters.claim_input import read_claim
from adapters.coding_setup import default_coding
from adapters.gathering.bundle_source import encounters_in_bundle
from fhir_coder.claim import ClaimOptions, build_claim
from fhir_coder.claim_form import claim_form
from fhir_coder.claim_parts import FeeSchedule
from fhir_coder.coding import code_encounter
from fhir_coder.model import (
    CodedEncounter,
    Coding,
    CoverageRef,
    EncounterClass,
    PatientFacts,
    Procedure,
    Provider,
    SourceRef,
)
from fhir_coder.outcome import Severity
from fhir_coder.systems import CPT, HCPCS, ICD10CM, ICD10PCS
from fhir_coder.validation import Scrubber, claim_can_be_built, validate
from sandbox.seed import build_seed_bundle

from .conftest import condition, office_visit

CREATED = datetime(2026, 11, 22, 7, 30, tzinfo=UTC)
FEES = ClaimOptions(
    fee_schedule=FeeSchedule(
        {
            ("99213", ""): Decimal("92.17"),
            ("20610", "LT"): Decimal("61.333333333333333"),
            ("20610", ""): Decimal("55.10"),
        }
    )
)


def read_back(coded: CodedEncounter, options: ClaimOptions | None = None):
    """``read_claim`` of the built Claim, with the Patient the pipeline knows."""
    issues = coded.issues + validate(coded)
    assert claim_can_be_built(issues), issues
    claim = build_claim(coded, issues, created=CREATED, options=options)
    facts = coded.encounter.patient
    patient = {"resourceType": "Patient", "gender": facts.sex}
    if facts.birth_date is not None:
        patient["birthDate"] = facts.birth_date.isoformat()
    return read_claim(claim, patient, label=f"Claim/{claim['id']}")


def test_forms_of_the_generated_corpus_equal_their_claims_read_back():
    coding = default_coding()
    bundle = build_seed_bundle(seed=5, patients=80)
    encounters = encounters_in_bundle(bundle, source_id="http://ehr.test/fhir")
    compared = inpatient = 0
    for encounter in encounters:
        coded = coding.code(encounter)
        if not claim_can_be_built(coded.issues + validate(coded)):
            continue
        assert claim_form(coded, created=CREATED) == read_back(coded), encounter.reference
        compared += 1
        inpatient += encounter.encounter_class.is_inpatient
    assert compared > 150
    assert inpatient > 10


@pytest.mark.parametrize(
    "patient",
    [
        PatientFacts("Patient/p1", "female", date(1960, 5, 17)),
        PatientFacts("Patient/p1", "unknown", None),
        PatientFacts("Patient/p1", "male", date(2027, 1, 1)),  # born after the service
        PatientFacts("", "other", date(1990, 2, 28)),
    ],
)
def test_priced_lines_modifiers_and_patient_facts_are_laid_out_as_read(codes, patient):
    knee = Procedure(
        SourceRef("Procedure/inj", "2"),
        (Coding(CPT, " 20610 "),),
        performed=date(2026, 1, 14),
        body_sites=(Coding("http://snomed.info/sct", "7771000", "Left"),),
    )
    visit = office_visit(
        condition("dm", (ICD10CM, "E11.9"), listed_rank=1),
        condition("htn", (ICD10CM, "I10")),
        condition("bronchitis", (ICD10CM, "J20.9")),
        condition("asthma", (ICD10CM, "J45.909")),
        condition("remission", (ICD10CM, "E11.A")),
        procedures=(knee, knee, Procedure(SourceRef("Procedure/v"), (Coding(HCPCS, "G0008"),))),
        patient=patient,
        coverages=(
            CoverageRef("Coverage/b", "active", "", "", order=2),
            CoverageRef("Coverage/a", "active", "Organization/payer", "Acme", order=None),
            CoverageRef("Coverage/c", "active", "Organization/other", "", order=1),
        ),
        providers=(Provider("", "performer", "", npi="1234567893"),),
    )
    coded = code_encounter(visit, codes)
    assert any(line.modifiers for line in coded.procedures)
    for options in (None, FEES):
        form = claim_form(coded, created=CREATED, options=options)
        assert form == read_back(coded, options)
    assert claim_form(coded, created=CREATED, options=FEES).total is None  # G0008 unpriced
    priced = replace(coded, procedures=coded.procedures[:1])
    form = claim_form(priced, created=CREATED, options=FEES)
    assert form == read_back(priced, FEES)
    assert form.total is not None


def test_inpatient_form_carries_poa_and_icd10pcs_procedures_as_read(codes):
    stay = office_visit(
        condition("bronchitis", (ICD10CM, "J20.9"), listed_rank=1),
        condition("dm", (ICD10CM, "E11.9")),
        encounter_class=EncounterClass.INPATIENT,
        period_start=datetime(2026, 1, 10, 22, 0),  # noqa: DTZ001 - no zone: the Claim keeps the date
        period_end=date(2026, 1, 15),
        procedures=(
            Procedure(
                SourceRef("Procedure/pcs"),
                (Coding(ICD10PCS, "0DTJ4ZZ"),),
                performed=date(2026, 1, 11),
            ),
        ),
    )
    coded = code_encounter(stay, codes)
    form = claim_form(coded, created=CREATED)
    assert form == read_back(coded)
    assert form.institutional
    assert all(entry.poa for entry in form.diagnoses)


def test_the_diagnoses_the_builder_marks_poa_u_are_listed_for_a_coder(codes):
    """POA ``U`` is the builder's honest "not known": the scrub of the Claim says so once."""
    known = replace(condition("dm", (ICD10CM, "E11.9")), onset=date(2019, 4, 2))
    stay = office_visit(
        condition("bronchitis", (ICD10CM, "J20.9"), listed_rank=1),  # no onset: U
        known,  # onset years before admission: Y
        replace(condition("htn", (ICD10CM, "I10")), recorded=date(2026, 1, 10)),  # same day: U
        encounter_class=EncounterClass.INPATIENT,
        period_start=datetime(2026, 1, 10, 22, 0, tzinfo=UTC),
        period_end=datetime(2026, 1, 15, 10, 0, tzinfo=UTC),
    )
    coded = code_encounter(stay, codes)
    form = claim_form(coded, created=CREATED)
    assert form == read_back(coded)
    assert [entry.poa for entry in form.diagnoses] == ["U", "Y", "U"]
    (found,) = [
        issue
        for issue in Scrubber(codesets=codes).scrub(form)
        if issue.rule == "POA-DOCUMENTATION-INSUFFICIENT"
    ]
    assert found.severity is Severity.WARNING
    assert found.message.startswith(
        "diagnoses 1 (J20.9), 3 (I10) are marked present on admission U"
    )
    assert found.expression == (
        "Claim.diagnosis[0].onAdmission",
        "Claim.diagnosis[2].onAdmission",
    )
