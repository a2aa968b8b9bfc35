"""Medicare's own screening codes (G0442, G0444, G0472, G0475...) by the Coverage's payer type."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from codesets import default_registry
from codesets.crosswalks import CrosswalkRegistry
from fhir_coder.coding import CodingPolicy, code_encounter
from fhir_coder.model import (
    CodedEncounter,
    Coding,
    CoverageRef,
    Encounter,
    EncounterClass,
    PatientFacts,
    Procedure,
    SourceRef,
)
from fhir_coder.systems import CPT, HCPCS, SNOMED, SOPT

PHQ9 = "715252007"  # depression screening using the PHQ-9: 96127, or Medicare's G0444
HCV = "413107006"  # hepatitis C screening: 86803 (assumed test), or Medicare's G0472
AUDIT_C = "763302001"  # alcohol screening by AUDIT-C: 96160, or Medicare's G0442


@pytest.fixture(scope="module")
def crosswalks():
    return CrosswalkRegistry(snomed_map="", conceptmaps=[])


def visit(
    concept: str,
    sopt: str = "",
    payer_id: str = "",
    klass: EncounterClass = EncounterClass.AMBULATORY,
    day: date = date(2026, 2, 3),
) -> Encounter:
    types = (Coding(SOPT, sopt),) if sopt else ()
    coverage = CoverageRef(
        "Coverage/c1",
        "active",
        "Organization/o1",
        "A payer whose name says nothing",
        types=types,
        payer_identifiers=(payer_id,) if payer_id else (),
    )
    return Encounter(
        id="v1",
        reference="Encounter/v1",
        status="finished",
        encounter_class=klass,
        patient=PatientFacts("Patient/p1", "female", date(1950, 4, 1)),
        period_start=datetime(day.year, day.month, day.day, 9, tzinfo=UTC),
        procedures=(
            Procedure(
                SourceRef("Procedure/s1"),
                (Coding(SNOMED, concept, "as sent"),),
                status="completed",
                performed=day,
            ),
        ),
        coverages=(coverage,),
    )


def code(encounter: Encounter, crosswalks, policy: CodingPolicy | None = None) -> CodedEncounter:
    return code_encounter(
        encounter, default_registry(), crosswalks=crosswalks, policy=policy or CodingPolicy()
    )


def lines(coded: CodedEncounter) -> list[tuple[str, str, bool]]:
    return [(line.system, line.code, line.needs_review) for line in coded.procedures]


def rules(coded: CodedEncounter) -> set[str]:
    return {issue.rule for issue in coded.issues if issue.source == "Procedure/s1"}


@pytest.mark.parametrize(
    ("concept", "g_code"), [(PHQ9, "G0444"), (HCV, "G0472"), (AUDIT_C, "G0442")]
)
def test_medicare_by_its_coverage_type_gets_medicare_s_own_code(crosswalks, concept, g_code):
    coded = code(visit(concept, sopt="1"), crosswalks)
    assert lines(coded) == [(HCPCS, g_code, False)]
    assert "SERVICE-PAYER-TYPE-UNKNOWN" not in rules(coded)


def test_medicare_advantage_is_medicare_and_medicaid_is_not(crosswalks):
    assert lines(code(visit(PHQ9, sopt="111"), crosswalks)) == [(HCPCS, "G0444", False)]
    assert lines(code(visit(PHQ9, sopt="2"), crosswalks)) == [(CPT, "96127", False)]


def test_another_payer_gets_the_cpt_code_and_no_payer_finding(crosswalks):
    coded = code(visit(PHQ9, sopt="5"), crosswalks)
    assert lines(coded) == [(CPT, "96127", False)]
    assert rules(coded) <= {"CODESET-UNVERIFIED"}  # no CPT file here: the code is unverified


def test_a_payer_of_unknown_type_bills_the_cpt_code_for_review_naming_medicare_s(crosswalks):
    coded = code(visit(PHQ9), crosswalks)
    assert lines(coded) == [(CPT, "96127", True)]
    [finding] = [i for i in coded.issues if i.rule == "SERVICE-PAYER-TYPE-UNKNOWN"]
    assert "G0444" in finding.message
    assert "G0444" in finding.fix
    assert "Coverage.type" in finding.expression


def test_the_configured_medicare_payers_decide_when_the_type_is_absent(crosswalks):
    medicare = CodingPolicy(medicare_payers=frozenset({"12502"}))
    assert lines(code(visit(HCV, payer_id="12502"), crosswalks, medicare)) == [
        (HCPCS, "G0472", False)
    ]
    other = code(visit(HCV, payer_id="99999"), crosswalks, medicare)
    assert [c for _, c, _ in lines(other)] == ["86803"]
    assert "SERVICE-PAYER-TYPE-UNKNOWN" not in rules(other)


def test_an_assumption_beside_the_payer_keeps_its_own_review(crosswalks):
    # HIV screening: Medicare's G0475 assumes a combination assay, as 87389 does for others
    coded = code(visit("171121004", sopt="1"), crosswalks)
    assert lines(coded) == [(HCPCS, "G0475", True)]
    assert "SERVICE-CODE-UNCONFIRMED" in rules(coded)


def test_no_coverage_is_no_medicare(crosswalks):
    encounter = visit(PHQ9)
    bare = Encounter(**{**{f: getattr(encounter, f) for f in encounter.__slots__}, "coverages": ()})
    assert lines(code(bare, crosswalks)) == [(CPT, "96127", False)]


@pytest.mark.parametrize(
    ("concept", "cpt"),
    [(AUDIT_C, "96160"), (PHQ9, "96127"), (HCV, "86803"), ("171122006", "87340")],
)
def test_a_screening_medicare_covers_only_in_primary_care_is_not_its_g_code_in_an_ed(
    crosswalks, concept, cpt
):
    # Hand review, seed 2026120720: G0442 was billed for an AUDIT-C in an emergency
    # department. NCDs 210.8 (alcohol), 210.9 (depression), 210.13 (hepatitis C) and 210.6
    # (hepatitis B) cover the screening only in a primary care setting, and an emergency
    # department is not one: the code for every payer answers there.
    emergency = code(visit(concept, sopt="1", klass=EncounterClass.EMERGENCY), crosswalks)
    assert [(system, c) for system, c, _ in lines(emergency)] == [(CPT, cpt)]
    home = code(visit(concept, sopt="1", klass=EncounterClass.HOME), crosswalks)
    assert [system for system, _, _ in lines(home)] == [HCPCS]


def test_hiv_screening_is_medicare_s_code_in_any_setting(crosswalks):
    # NCD 210.7 has no primary care setting condition
    coded = code(visit("171121004", sopt="1", klass=EncounterClass.EMERGENCY), crosswalks)
    assert lines(coded) == [(HCPCS, "G0475", True)]


def test_the_sdoh_assessment_is_never_g0136_whatever_the_date(crosswalks):
    # Hand review, seed 2026120720: G0136 was billed for a visit of 2023. G0136 was Medicare's
    # SDOH risk assessment from 2024 to 2025 only (CY2026 PFS final rule, CMS-1832-F, made it a
    # physical activity and nutrition assessment): the CPT code, for review, on any date.
    for day in (date(2023, 5, 8), date(2024, 6, 3), date(2026, 2, 3)):
        coded = code(visit("710824005", sopt="1", day=day), crosswalks)
        assert lines(coded) == [(CPT, "96160", True)]
