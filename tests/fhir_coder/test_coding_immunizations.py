"""Vaccines billed as product and administration, with the real code sets and crosswalks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from codesets import default_registry
from codesets.crosswalks import CrosswalkRegistry
from fhir_coder.coding import code_encounter
from fhir_coder.model import (
    Coding,
    CoverageRef,
    Encounter,
    EncounterClass,
    Immunization,
    PatientFacts,
    SourceRef,
)
from fhir_coder.systems import CPT, CVX, HCPCS


@pytest.fixture(scope="module")
def crosswalks():
    return CrosswalkRegistry(snomed_map="", conceptmaps=[])


def _visit(born: date, *vaccines: str, payer: str = "Acme Health", **changes) -> Encounter:
    base: dict[str, object] = {
        "id": "v1",
        "reference": "Encounter/v1",
        "status": "finished",
        "encounter_class": EncounterClass.AMBULATORY,
        "patient": PatientFacts("Patient/p1", "female", born),
        "period_start": datetime(2026, 1, 15, 9, tzinfo=UTC),
        "period_end": datetime(2026, 1, 15, 10, tzinfo=UTC),
        "coverages": (CoverageRef("Coverage/c1", "active", "Organization/o1", payer),),
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
        _visit(date(1950, 1, 1), "140", "33", "121", payer="Medicare"),
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
