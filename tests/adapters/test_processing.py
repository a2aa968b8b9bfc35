"""``code_and_build``: its findings and Claims are those of the scrubber on the Claim JSON.

The pipeline scrubs the form laid out from the coded lines; ``fhir-coder validate`` scrubs
any Claim read from its JSON. Over the generated corpus both must find the same things,
so a Claim checked in the pipeline and the same Claim validated later agree.
"""

from datetime import UTC, date, datetime

from adapters.gathering.bundle_source import encounters_in_bundle
from adapters.processing import Processed, code_and_build, facility_findings
from adapters.scrubbing import default_scrubber, scrub_claim_json
from fhir_coder.claim import build_claim
from fhir_coder.model import (
    Coding,
    CoverageRef,
    Diagnosis,
    Encounter,
    EncounterClass,
    PatientFacts,
    Procedure,
    Provider,
    SourceRef,
)
from fhir_coder.outcome import has_errors
from fhir_coder.systems import CPT, ICD10CM, SNOMED
from fhir_coder.validation import Scrubber, claim_can_be_built, validate
from sandbox.seed import build_seed_bundle

CREATED = datetime(2026, 11, 22, tzinfo=UTC)


def assert_validate_agrees(processed: Processed, scrubber: Scrubber) -> None:
    """The pipeline's findings and Claim are those of ``validate`` on the built Claim JSON."""
    coded = processed.coded
    before = coded.issues + validate(coded) + facility_findings(coded, None)
    built = build_claim(coded, before, created=CREATED)
    facts = coded.encounter.patient
    patient = {"resourceType": "Patient", "gender": facts.sex}
    if facts.birth_date is not None:
        patient["birthDate"] = facts.birth_date.isoformat()
    found = scrub_claim_json(built, scrubber, patient=patient, label=f"Claim/{built['id']}")
    assert processed.issues == before + found, coded.encounter.reference
    expected = build_claim(coded, before + found, created=CREATED) if has_errors(found) else built
    assert processed.claim == expected


def test_the_pipeline_scrub_finds_what_validate_finds_on_the_built_claim(coding):
    scrubber = default_scrubber(codesets=coding.codesets, notes=coding.notes)
    encounters = encounters_in_bundle(build_seed_bundle(seed=3, patients=60), source_id="seed")
    # The seed's category headers come with a SNOMED CT concept that completes them; a header
    # sent alone stays a coder's task, so one such visit gives a draft to compare.
    encounters.append(office_visit(diagnoses=(listed("dx1", "I10", 1), listed("dx2", "E03", 2))))
    drafts = scrubbed = 0
    for encounter in encounters:
        processed = code_and_build(encounter, coding, created=CREATED, scrubber=scrubber)
        coded = processed.coded
        before = coded.issues + validate(coded)
        if not claim_can_be_built(before):
            assert processed.claim is None
            continue
        assert_validate_agrees(processed, scrubber)
        scrubbed += 1
        drafts += processed.claim["status"] == "draft"
    assert scrubbed > 100
    assert drafts > 0


WOMAN_OF_1960 = PatientFacts("Patient/p1", "female", date(1960, 5, 17))


def listed(cid: str, code: str, rank: int, *, system: str = ICD10CM) -> Diagnosis:
    """A confirmed encounter diagnosis, listed on the encounter at ``rank``."""
    return Diagnosis(
        SourceRef(f"Condition/{cid}"),
        (Coding(system, code),),
        category=("encounter-diagnosis",),
        verification="confirmed",
        listed_on_encounter=True,
        rank=rank,
    )


def office_visit(
    *,
    diagnoses: tuple[Diagnosis, ...],
    procedures: tuple[Procedure, ...] = (),
    patient: PatientFacts = WOMAN_OF_1960,
) -> Encounter:
    """A covered half-hour office visit on 2026-01-15 with these diagnoses and procedures."""
    return Encounter(
        id="e1",
        reference="Encounter/e1",
        status="finished",
        encounter_class=EncounterClass.AMBULATORY,
        patient=patient,
        source_id="test",
        period_start=datetime(2026, 1, 15, 9, 0, tzinfo=UTC),
        period_end=datetime(2026, 1, 15, 9, 30, tzinfo=UTC),
        diagnoses=diagnoses,
        procedures=procedures,
        coverages=(CoverageRef("Coverage/c1", "active", "Organization/payer", "Payer"),),
        providers=(
            Provider("Practitioner/dr1", "attender", "Dr One"),
            Provider("Organization/clinic", "service-provider", "Clinic"),
        ),
    )


def code_and_scrub(encounter: Encounter, coding) -> tuple[Processed, Scrubber]:
    scrubber = default_scrubber(codesets=coding.codesets, notes=coding.notes)
    processed = code_and_build(encounter, coding, created=CREATED, scrubber=scrubber)
    assert processed.claim is not None, processed.issues
    return processed, scrubber


def _pointers(claim: dict) -> dict[str, list[int]]:
    """Each service line's code and its diagnosis pointers."""
    return {
        item["productOrService"]["coding"][0]["code"]: item["diagnosisSequence"]
        for item in claim["item"]
    }


def test_a_snomed_reason_code_points_at_the_condition_that_carries_the_concept(coding):
    """US Core and Epic Procedures often give the reason as a SNOMED CT reasonCode only.

    The Conditions here are SNOMED-only too (as Synthea's are), coded through the crosswalk.
    """

    def problem(cid: str, snomed: str, rank: int) -> Diagnosis:
        return listed(cid, snomed, rank, system=SNOMED)

    def procedure(pid: str, code: str, *reasons: str) -> Procedure:
        return Procedure(
            SourceRef(f"Procedure/{pid}"),
            (Coding(CPT, code),),
            status="completed",
            performed=date(2026, 1, 15),
            reason_codes=tuple(Coding(SNOMED, r) for r in reasons),
        )

    encounter = office_visit(
        diagnoses=(
            problem("dm", "44054006", 1),  # E11.9
            problem("htn", "38341003", 2),  # I10
            problem("pharyngitis", "195662009", 3),  # J02.9
            problem("bronchitis", "10509002", 4),  # J20.9
            problem("pneumonia", "233604007", 5),  # J18.9
        ),
        procedures=(
            procedure("xray", "71046", "233604007"),  # pneumonia: the fifth diagnosis
            procedure("strep", "87880", "195662009", "10509002"),
            procedure("ekg", "93000", "22298006"),  # a concept no Condition carries
        ),
    )
    processed, scrubber = code_and_scrub(encounter, coding)
    codes = [
        d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in processed.claim["diagnosis"]
    ]
    assert codes == ["E11.9", "I10", "J02.9", "J20.9", "J18.9"]
    pointers = _pointers(processed.claim)
    assert pointers["71046"] == [5]
    assert pointers["87880"] == [3, 4]
    assert pointers["93000"] == [1, 2, 3, 4]  # no Condition carries it: the first four
    assert_validate_agrees(processed, scrubber)


def test_lines_point_at_their_reasons_in_the_pipeline_as_in_validate(coding):
    reason = listed

    def procedure(pid: str, code: str, references=(), codes=()) -> Procedure:
        return Procedure(
            SourceRef(f"Procedure/{pid}"),
            (Coding(CPT, code),),
            status="completed",
            performed=date(2026, 1, 15),
            reason_references=references,
            reason_codes=codes,
        )

    encounter = office_visit(
        diagnoses=(
            reason("dm", "E11.9", 1),
            reason("htn", "I10", 2),
            reason("bronchitis", "J20.9", 3),
            reason("asthma", "J45.909", 4),
            # Chest pain is not routinely part of bronchitis or asthma: it stays coded
            # (a cough would be left off as integral to them, Guidelines I.B.5).
            reason("chest-pain", "R07.89", 5),
        ),
        procedures=(
            procedure("neb", "94640", references=("Condition/asthma",)),
            procedure("xray", "71046", codes=(Coding(ICD10CM, "R07.89"),)),
        ),
    )
    processed, scrubber = code_and_scrub(encounter, coding)
    pointers = _pointers(processed.claim)
    assert pointers["94640"] == [4]
    assert pointers["71046"] == [5]  # a fifth diagnosis, never pointed at before
    assert_validate_agrees(processed, scrubber)
