"""An organisation's chargemaster, loaded as a CSV crosswalk, codes its own procedure codes."""

from datetime import UTC, date, datetime

from codesets import default_registry
from codesets.crosswalks import CrosswalkRegistry
from fhir_coder.coding import code_encounter
from fhir_coder.model import (
    Coding,
    CodingMethod,
    CoverageRef,
    Encounter,
    EncounterClass,
    PatientFacts,
    Procedure,
    Provider,
    SourceRef,
)
from fhir_coder.systems import HCPCS, SNOMED

CHARGE_CODES = "urn:oid:1.2.3.4.5.chargemaster"  # an organisation's own code system


def visit(*procedures: Procedure) -> Encounter:
    return Encounter(
        id="v1",
        reference="Encounter/v1",
        status="finished",
        encounter_class=EncounterClass.AMBULATORY,
        patient=PatientFacts("Patient/p1", "female", date(1970, 1, 1)),
        period_start=datetime(2026, 1, 15, 9, tzinfo=UTC),
        procedures=procedures,
        coverages=(CoverageRef("Coverage/c1", "active"),),
        providers=(Provider("Organization/o1", "service-provider"),),
    )


def test_charge_code_becomes_its_hcpcs_line_before_any_snomed_mapping(tmp_path):
    chargemaster = tmp_path / "chargemaster.csv"
    chargemaster.write_text(
        "source_system,source_code,target_system,target_code,target_display,equivalence,comment\n"
        f"{CHARGE_CODES},CHG-0042,{HCPCS},J1100,,equivalent,dexamethasone injection\n",
        encoding="utf-8",
    )
    crosswalks = CrosswalkRegistry(conceptmaps=[chargemaster])
    injection = Procedure(
        SourceRef("Procedure/inj"),
        (Coding(SNOMED, "33879002"), Coding(CHARGE_CODES, "CHG-0042")),
        status="completed",
        performed=date(2026, 1, 15),
    )
    coded = code_encounter(visit(injection), default_registry(), crosswalks=crosswalks)
    [line] = coded.procedures
    assert (line.system, line.code, line.method) == (HCPCS, "J1100", CodingMethod.CROSSWALK)
    assert line.source_coding == Coding(CHARGE_CODES, "CHG-0042")
    assert line.rule.endswith("conceptmap:CHG-0042")


def test_procedure_nothing_maps_names_the_codes_it_tried(tmp_path):
    unknown = Procedure(
        SourceRef("Procedure/x"), (Coding(CHARGE_CODES, "CHG-9999"),), status="completed"
    )
    crosswalks = CrosswalkRegistry(conceptmaps=[], curated=False)
    coded = code_encounter(visit(unknown), default_registry(), crosswalks=crosswalks)
    [finding] = [i for i in coded.issues if i.rule == "NEEDS-CODER-NO-PROCEDURE-CODE"]
    assert f"{CHARGE_CODES}|CHG-9999" in finding.message
