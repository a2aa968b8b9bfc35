"""Vaccines billed as product and administration, with the real code sets and crosswalks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from codesets import default_registry
from codesets.crosswalks import CrosswalkRegistry
from fhir_coder.coding import CodingPolicy, code_encounter
from fhir_coder.model import (
    Coding,
    CoverageRef,
    Diagnosis,
    DiagnosisRole,
    Encounter,
    EncounterClass,
    Immunization,
    PatientFacts,
    SourceRef,
)
from fhir_coder.systems import CPT, CVX, HCPCS, ICD10CM, SOPT


@pytest.fixture(scope="module")
def crosswalks():
    return CrosswalkRegistry(snomed_map="", conceptmaps=[])


def _visit(
    born: date, *vaccines: str, payer: str = "Acme Health", sopt: str | None = "5", **changes
) -> Encounter:
    """A visit for ``vaccines``; the Coverage's type is Source of Payment Typology ``sopt``
    (5: private health insurance; 1: Medicare; None: no type)."""
    types = (Coding(SOPT, sopt),) if sopt else ()
    base: dict[str, object] = {
        "id": "v1",
        "reference": "Encounter/v1",
        "status": "finished",
        "encounter_class": EncounterClass.AMBULATORY,
        "patient": PatientFacts("Patient/p1", "female", born),
        "period_start": datetime(2026, 1, 15, 9, tzinfo=UTC),
        "period_end": datetime(2026, 1, 15, 10, tzinfo=UTC),
        "coverages": (CoverageRef("Coverage/c1", "active", "Organization/o1", payer, types=types),),
        "immunizations": tuple(
            Immunization(
                SourceRef(f"Immunization/i{n}"),
                (Coding(CVX, cvx),),
                status="completed",
                occurred=date(2026, 1, 15),
            )
            for n, cvx in enumerate(vaccines, start=1)
        ),
    }
    base.update(changes)
    return Encounter(**base)  # type: ignore[arg-type]


def _lines(coded):
    return [(line.system, line.code, line.units, line.needs_review) for line in coded.procedures]


def test_an_adult_gets_the_products_then_90471_and_90472(crosswalks):
    coded = code_encounter(
        _visit(date(1980, 1, 1), "140", "113"), default_registry(), crosswalks=crosswalks
    )
    assert _lines(coded) == [
        (CPT, "90656", 1, False),
        (CPT, "90714", 1, False),
        (CPT, "90471", 1, False),
        (CPT, "90472", 1, False),
    ]
    flu = coded.procedures[0]
    assert flu.source.reference == "Immunization/i1"
    assert "curated CVX to CPT" in flu.rule


def test_medicare_administers_influenza_under_g0008_and_others_under_90471(crosswalks):
    coded = code_encounter(
        _visit(date(1950, 1, 1), "140", "33", "121", payer="CMS", sopt="1"),
        default_registry(),
        crosswalks=crosswalks,
    )
    assert [code for _, code, _, _ in _lines(coded)] == [
        "90656",
        "90732",
        "90736",
        "G0008",
        "G0009",
        "90471",
    ]
    assert coded.procedures[3].system == HCPCS


def test_a_child_gets_90460_and_a_90461_per_further_component_for_review(crosswalks):
    coded = code_encounter(
        _visit(date(2025, 3, 1), "20", "10", "119"), default_registry(), crosswalks=crosswalks
    )
    lines = _lines(coded)
    assert lines[:3] == [
        (CPT, "90700", 1, False),
        (CPT, "90713", 1, False),
        (CPT, "90681", 1, False),
    ]
    # three vaccines counselled; DTaP's two further components
    assert (CPT, "90460", 3, True) in lines
    assert (CPT, "90461", 2, True) in lines
    assert "VACCINE-COUNSELLING-UNCONFIRMED" in {i.rule for i in coded.issues}


def test_by_mouth_only_is_90473(crosswalks):
    coded = code_encounter(
        _visit(date(1990, 1, 1), "119"), default_registry(), crosswalks=crosswalks
    )
    assert [code for _, code, _, _ in _lines(coded)] == ["90681", "90473"]


def test_what_is_not_billed_says_why(crosswalks):
    visit = _visit(date(1980, 1, 1), "208", "77777", "998")
    not_done = Immunization(SourceRef("Immunization/i9"), (Coding(CVX, "140"),), status="not-done")
    coded = code_encounter(
        Encounter(**{**_as_dict(visit), "immunizations": (*visit.immunizations, not_done)}),
        default_registry(),
        crosswalks=crosswalks,
    )
    assert coded.procedures == ()
    by_source = {i.source: i.rule for i in coded.issues}
    assert by_source["Immunization/i1"] == "NEEDS-CODER-VACCINE"  # COVID-19: dose and date decide
    assert by_source["Immunization/i2"] == "NEEDS-CODER-VACCINE"  # not a CVX code the map knows
    assert by_source["Immunization/i3"] == "PROC-NOT-BILLED"  # CVX 998: no vaccine given
    assert by_source["Immunization/i9"] == "VACCINE-NOT-GIVEN"


def _as_dict(encounter: Encounter) -> dict[str, object]:
    return {name: getattr(encounter, name) for name in Encounter.__dataclass_fields__}


def _admin(coded) -> list[tuple[str, bool]]:
    return [(line.code, line.needs_review) for line in coded.procedures[1:]]


def test_medicare_advantage_is_medicare_by_its_payer_type(crosswalks):
    # SOPT 111 (Medicare HMO) is Medicare; 2 (Medicaid) is not, whatever the payer's name.
    advantage = _visit(date(1950, 1, 1), "140", payer="Lakeshore Senior", sopt="111")
    medicaid = _visit(date(1950, 1, 1), "140", payer="Medicare and Medicaid plan", sopt="2")
    registry = default_registry()
    assert _admin(code_encounter(advantage, registry, crosswalks=crosswalks)) == [("G0008", False)]
    assert _admin(code_encounter(medicaid, registry, crosswalks=crosswalks)) == [("90471", False)]


def test_a_configured_medicare_payer_id_decides_without_a_payer_type(crosswalks):
    visit = _visit(date(1950, 1, 1), "33", payer="Novitas", sopt=None)
    by_id = Encounter(
        **{
            **_as_dict(visit),
            "coverages": (
                CoverageRef(
                    "Coverage/c1", "active", "Organization/o1", payer_identifiers=("12502",)
                ),
            ),
        }
    )
    medicare = CodingPolicy(medicare_payers=frozenset({"12502"}))
    other = CodingPolicy(medicare_payers=frozenset({"00882"}))
    registry = default_registry()
    coded = code_encounter(by_id, registry, crosswalks=crosswalks, policy=medicare)
    assert _admin(coded) == [("G0009", False)]
    coded = code_encounter(by_id, registry, crosswalks=crosswalks, policy=other)
    assert _admin(coded) == [("90471", False)]  # a list is configured and this payer is not in it
    # The payer's reference (or its id) may be listed instead of an identifier.
    by_reference = CodingPolicy(medicare_payers=frozenset({"o1"}))
    coded = code_encounter(visit, registry, crosswalks=crosswalks, policy=by_reference)
    assert _admin(coded) == [("G0009", False)]


def test_a_payer_called_medicare_without_a_type_is_left_to_a_coder(crosswalks):
    # The name is not evidence: CPT's code, marked for review, with the reason.
    coded = code_encounter(
        _visit(date(1950, 1, 1), "140", "113", payer="Medicare", sopt=None),
        default_registry(),
        crosswalks=crosswalks,
    )
    assert _admin(coded) == [("90714", False), ("90471", True), ("90472", False)]
    unknown = [i for i in coded.issues if i.rule == "VACCINE-PAYER-TYPE-UNKNOWN"]
    assert [i.source for i in unknown] == ["Immunization/i1"]  # only the influenza vaccine
    assert "G0008" in unknown[0].message


def test_z23_is_first_listed_when_the_vaccines_are_all_the_visit_was_for(crosswalks):
    coded = code_encounter(
        _visit(date(1980, 1, 1), "140", "113"), default_registry(), crosswalks=crosswalks
    )
    assert [(d.code, d.role) for d in coded.diagnoses] == [("Z23", DiagnosisRole.PRINCIPAL)]
    z23 = coded.diagnoses[0]
    assert z23.changes[0].citation == "ICD-10-CM Official Guidelines I.C.21.c.2"
    assert z23.source.reference == "Immunization/i1"
    assert all(line.reason_codes == ("Z23",) for line in coded.procedures)


def test_z23_is_secondary_beside_the_visit_s_other_reason_and_never_twice(crosswalks):
    well_visit = Diagnosis(
        SourceRef("Condition/c1"), (Coding(ICD10CM, "Z00.00"),), clinical_status="active"
    )
    already = Diagnosis(SourceRef("Condition/c2"), (Coding(ICD10CM, "Z23"),))
    registry = default_registry()
    visit = _visit(date(1980, 1, 1), "140", diagnoses=(well_visit,))
    coded = code_encounter(visit, registry, crosswalks=crosswalks)
    assert [(d.code, d.role) for d in coded.diagnoses] == [
        ("Z0000", DiagnosisRole.PRINCIPAL),
        ("Z23", DiagnosisRole.SECONDARY),
    ]
    visit = _visit(date(1980, 1, 1), "140", diagnoses=(well_visit, already))
    coded = code_encounter(visit, registry, crosswalks=crosswalks)
    assert [d.code for d in coded.diagnoses] == ["Z0000", "Z23"]
    assert coded.diagnoses[1].source.reference == "Condition/c2"


def test_no_z23_when_no_vaccine_is_billed(crosswalks):
    coded = code_encounter(
        _visit(date(1980, 1, 1), "998"), default_registry(), crosswalks=crosswalks
    )
    assert coded.diagnoses == ()
