"""What a stay charges beside its ICD-10-PCS procedures: vaccines and laboratory tests.

With the real code sets and curated crosswalk; the chargemaster is the test's own.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from codesets import default_registry
from codesets.crosswalks import CrosswalkRegistry
from fhir_coder.claim import ClaimOptions, build_claim
from fhir_coder.claim_parts import AccommodationRate, FeeSchedule
from fhir_coder.coding import code_encounter
from fhir_coder.facility import facility_charges
from fhir_coder.model import (
    CodedEncounter,
    Coding,
    CoverageRef,
    Encounter,
    EncounterClass,
    Immunization,
    PatientFacts,
    Procedure,
    Provider,
    SourceRef,
)
from fhir_coder.systems import CPT, CVX, SNOMED, SOPT

CREATED = datetime(2026, 1, 20, 8, tzinfo=UTC)
FLU, PNEUMO, HEP_B, TDAP = "140", "33", "43", "115"  # CVX: 90656, 90732, 90746, 90715


@pytest.fixture(scope="module")
def crosswalks():
    return CrosswalkRegistry(snomed_map="", conceptmaps=[])


def stay(*, vaccines=(), procedures=(), sopt: str | None = "5") -> Encounter:
    types = (Coding(SOPT, sopt),) if sopt else ()
    return Encounter(
        id="s1",
        reference="Encounter/s1",
        status="finished",
        encounter_class=EncounterClass.INPATIENT,
        patient=PatientFacts("Patient/p1", "female", date(1948, 6, 1)),
        period_start=datetime(2026, 1, 12, 9, tzinfo=UTC),
        period_end=datetime(2026, 1, 15, 10, tzinfo=UTC),
        coverages=(CoverageRef("Coverage/c1", "active", "Organization/o1", "A plan", types=types),),
        providers=(Provider("Organization/h1", "service-provider"),),
        immunizations=tuple(
            Immunization(
                SourceRef(f"Immunization/i{n}"),
                (Coding(CVX, cvx),),
                status="completed",
                occurred=date(2026, 1, 14),
            )
            for n, cvx in enumerate(vaccines, start=1)
        ),
        procedures=tuple(
            Procedure(
                SourceRef(f"Procedure/p{n}"),
                (Coding(SNOMED, concept),),
                status="completed",
                performed=date(2026, 1, 13),
            )
            for n, concept in enumerate(procedures, start=1)
        ),
    )


def code(encounter: Encounter, crosswalks) -> CodedEncounter:
    return code_encounter(encounter, default_registry(), crosswalks=crosswalks)


def findings(coded: CodedEncounter) -> dict[str, str]:
    return {i.source: i.rule for i in coded.issues if i.source and "/" in i.source}


def test_a_vaccine_on_a_stay_is_a_charge_not_a_cpt_line_or_a_coders_task(crosswalks):
    coded = code(stay(vaccines=(TDAP, FLU)), crosswalks)
    assert not [line for line in coded.procedures if line.system == CPT]
    assert [(line.code, line.source.reference) for line in coded.charges] == [
        ("90715", "Immunization/i1"),
        ("90656", "Immunization/i2"),
    ]
    assert findings(coded)["Immunization/i1"] == "VACCINE-CHARGED-ON-STAY"
    assert not any(r.startswith("NEEDS-CODER") for r in findings(coded).values())


def test_medicare_s_influenza_and_pneumococcal_vaccines_go_to_their_own_part_b_claim(
    crosswalks,
):
    coded = code(stay(vaccines=(FLU, PNEUMO, TDAP), sopt="1"), crosswalks)
    assert [line.code for line in coded.charges] == ["90715"]  # Part A: the stay's drug
    notes = {i.source: i for i in coded.issues if i.rule == "PROC-NOT-BILLED"}
    assert set(notes) == {"Immunization/i1", "Immunization/i2"}
    assert "12X" in notes["Immunization/i1"].message
    assert "G0008" in notes["Immunization/i1"].message
    assert "G0009" in notes["Immunization/i2"].message


def test_what_the_payer_s_type_decides_and_nobody_states_stays_with_a_coder(crosswalks):
    coded = code(stay(vaccines=(FLU, TDAP), sopt=None), crosswalks)
    assert findings(coded)["Immunization/i1"] == "NEEDS-CODER-INPATIENT-VACCINE"
    assert findings(coded)["Immunization/i2"] == "VACCINE-CHARGED-ON-STAY"
    hep_b = code(stay(vaccines=(HEP_B,), sopt="1"), crosswalks)
    assert findings(hep_b)["Immunization/i1"] == "NEEDS-CODER-INPATIENT-VACCINE"
    assert code(stay(vaccines=(HEP_B,)), crosswalks).charges  # another payer: charged


def test_a_laboratory_test_on_a_stay_is_charged_by_its_test_code(crosswalks):
    # blood culture 87040; an examination (no laboratory code) is part of the stay
    coded = code(stay(procedures=("30088009", "25656009")), crosswalks)
    assert not coded.procedures
    [charge] = coded.charges
    assert (charge.system, charge.code, charge.source.reference) == (CPT, "87040", "Procedure/p1")
    note = next(i for i in coded.issues if i.source == "Procedure/p1")
    assert note.rule == "PROC-NOT-BILLED"
    assert "laboratory revenue lines (NUBC 030X)" in note.message


def test_a_test_of_no_stated_kind_is_not_charged_by_a_guessed_code(crosswalks):
    coded = code(stay(procedures=("15220000",)), crosswalks)  # "Laboratory test"
    assert not coded.charges
    assert findings(coded)["Procedure/p1"] == "PROC-NOT-BILLED"


def test_the_chargemaster_prices_them_and_a_test_without_its_revenue_code_takes_0300(
    crosswalks,
):
    coded = code(stay(vaccines=(TDAP,), procedures=("30088009",)), crosswalks)
    schedule = FeeSchedule(
        prices={("87040", ""): Decimal("48.00"), ("90715", ""): Decimal("61.00")},
        name="cdm.csv",
        revenue_codes={"90715": "0636"},  # the vaccine's row names its revenue code
        accommodations=(AccommodationRate("0120", Decimal("1850.00")),),
    )
    charged = facility_charges(coded, schedule)
    assert not charged.issues
    assert sorted((line.revenue, line.unit_price) for line in charged.lines) == [
        ("0120", Decimal("1850.00")),
        ("0300", Decimal("48.00")),
        ("0636", Decimal("61.00")),
    ]
    claim = build_claim(coded, (), created=CREATED, options=ClaimOptions(fee_schedule=schedule))
    assert claim["total"]["value"] == 3 * 1850.0 + 48.0 + 61.0
    unpriced = facility_charges(coded, FeeSchedule(name="cdm.csv", revenue_codes={"x": "0250"}))
    assert sorted(i.source for i in unpriced.issues if i.rule == "ANCILLARY-NOT-CHARGED") == [
        "Immunization/i1",
        "Procedure/p1",
    ]
