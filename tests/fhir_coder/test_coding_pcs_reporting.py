"""The inpatient ICD-10-PCS reporting policy (UHDDS significant procedures) and the rows
whose code the concept alone determines, with the real code sets and curated crosswalk."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from codesets import default_registry
from codesets.crosswalks import CrosswalkRegistry
from fhir_coder.claim import ClaimOptions, build_claim
from fhir_coder.claim_parts import AccommodationRate, FeeSchedule
from fhir_coder.coding import CodingPolicy, code_encounter
from fhir_coder.coding.pcs_reporting import is_reported, significance
from fhir_coder.model import (
    CodedEncounter,
    Coding,
    Encounter,
    EncounterClass,
    PatientFacts,
    Procedure,
    Provider,
    SourceRef,
)
from fhir_coder.systems import CPT, ICD10PCS, SNOMED
from fhir_coder.values import replace

EVERY = CodingPolicy(pcs_reporting="all")


@pytest.fixture(scope="module")
def crosswalks():
    return CrosswalkRegistry(snomed_map="", conceptmaps=[])


def _stay(*procedures: Procedure, klass: EncounterClass = EncounterClass.INPATIENT) -> Encounter:
    return Encounter(
        id="s1",
        reference="Encounter/s1",
        status="finished",
        encounter_class=klass,
        patient=PatientFacts("Patient/p1", "male", date(1960, 5, 1)),
        period_start=datetime(2026, 1, 12, 9, tzinfo=UTC),
        period_end=datetime(2026, 1, 15, 10, tzinfo=UTC),
        procedures=procedures,
    )


def _snomed(concept: str, n: int = 1) -> Procedure:
    return Procedure(SourceRef(f"Procedure/p{n}"), (Coding(SNOMED, concept, "as sent"),))


def _code(encounter: Encounter, crosswalks, policy: CodingPolicy | None = None) -> CodedEncounter:
    return code_encounter(
        encounter, default_registry(), crosswalks=crosswalks, policy=policy or CodingPolicy()
    )


def _rules(coded: CodedEncounter) -> dict[str, str]:
    return {i.rule: i.message for i in coded.issues if i.source == "Procedure/p1"}


@pytest.mark.parametrize(
    ("code", "significant"),
    [
        ("0FT44ZZ", True),  # Medical and Surgical
        ("10D00Z1", True),  # Obstetrics
        ("4A02X4Z", False),  # ECG: measurement
        ("4A023N7", True),  # cardiac catheterisation
        ("B246ZZZ", False),  # imaging
        ("3E03329", False),  # an IV antibiotic
        ("3E03305", True),  # chemotherapy
        ("3E03317", True),  # thrombolytic
        ("30233N1", True),  # transfusion
        ("5A1955Z", True),  # ventilation
        ("GZ58ZZZ", False),  # psychotherapy
        ("GZB4ZZZ", True),  # electroconvulsive therapy
        ("F0700ZZ", False),  # physical therapy
        ("XW033E5", True),  # new technology
    ],
)
def test_the_default_classes_follow_the_uhdds_definition(code, significant):
    rule = significance(code)
    assert rule is not None
    assert rule.significant is significant
    assert is_reported(code, "all") == (True, "")


def test_a_pattern_is_decided_only_when_its_open_axes_cannot_change_the_answer():
    assert significance("B24....") is not None  # any ultrasound of the heart: imaging
    assert significance("3E0..05") is not None  # chemotherapy, whatever the route
    assert significance("3E0..GC") is not None  # another substance: routine administration
    assert significance("3E0....") is None  # the substance decides
    assert significance("4A02...") is None  # the approach decides (catheterisation or ECG)
    assert significance("Z......") is None  # not a section


def test_an_ecg_on_a_stay_is_charged_not_reported_unless_the_organisation_reports_all(
    crosswalks,
):
    stay = _stay(_snomed("268400002"))
    coded = _code(stay, crosswalks)
    assert coded.procedures == ()
    note = _rules(coded)["PCS-NOT-REPORTED"]
    assert "4A02X4Z" in note
    assert "UHDDS" in note
    assert [(c.system, c.code) for c in coded.charges] == [(ICD10PCS, "4A02X4Z")]
    every = _code(stay, crosswalks, EVERY)
    assert [(line.system, line.code) for line in every.procedures] == [(ICD10PCS, "4A02X4Z")]
    assert every.charges == ()
    assert "PCS-NOT-REPORTED" not in _rules(every)


def test_an_echocardiogram_is_not_reported_by_default_and_a_coder_s_under_all(crosswalks):
    stay = _stay(_snomed("40701008"))
    coded = _code(stay, crosswalks)
    assert coded.procedures == ()
    assert "table B24" in _rules(coded)["PCS-NOT-REPORTED"]
    # No code: the charge keeps the EHR's concept, for the chargemaster to rate.
    assert [(c.system, c.code) for c in coded.charges] == [(SNOMED, "40701008")]
    every = _code(stay, crosswalks, EVERY)
    assert "B24...." in _rules(every)["NEEDS-CODER-NO-PROCEDURE-CODE"]
    assert every.charges == ()


def test_a_significant_procedure_without_its_code_stays_a_coder_s_task(crosswalks):
    # chemotherapy (3E0..05: the route is not stated), a PCI (the vessels, the device)
    coded = _code(_stay(_snomed("367336001"), _snomed("415070008", 2)), crosswalks)
    assert coded.procedures == ()
    assert coded.charges == ()
    assert "3E0..05" in _rules(coded)["NEEDS-CODER-NO-PROCEDURE-CODE"]
    pci = [i.message for i in coded.issues if i.source == "Procedure/p2"]
    assert any("027.3.Z" in m for m in pci)  # the coder is told the table and the approach
    rules = {(i.source, i.rule) for i in coded.issues}
    assert ("Procedure/p2", "NEEDS-CODER-NO-PROCEDURE-CODE") in rules


def test_a_code_the_ehr_sent_is_kept_whatever_its_class(crosswalks):
    sent = Procedure(SourceRef("Procedure/p1"), (Coding(ICD10PCS, "B246ZZZ"),))
    coded = _code(_stay(sent), crosswalks)
    assert [line.code for line in coded.procedures] == ["B246ZZZ"]


# Rows whose code the concept alone determines (or, inexact, its usual form: marked for
# review), one test each: the engine bills the row's code on the claim it belongs to.
_FILLED = [
    ("45595009", ICD10PCS, "0FT44ZZ", False),  # laparoscopic cholecystectomy
    ("38102005", ICD10PCS, "0FT44ZZ", True),  # cholecystectomy: laparoscopic assumed
    ("112798008", ICD10PCS, "0BH17EZ", False),  # endotracheal tube
    ("52765003", ICD10PCS, "0BH17EZ", True),  # intubation: endotracheal assumed
    ("180325003", ICD10PCS, "5A2204Z", False),  # DC cardioversion
    ("302497006", ICD10PCS, "5A1D70Z", True),  # haemodialysis: intermittent assumed
    ("265764009", ICD10PCS, "5A1D70Z", True),  # renal dialysis: haemodialysis assumed
    ("399217008", ICD10PCS, "5A02210", True),  # balloon pump: continuous assumed
    ("173160006", ICD10PCS, "0BJ08ZZ", False),  # diagnostic bronchoscopy
    ("85765000", ICD10PCS, "0BJ08ZZ", True),  # bronchoscopy: diagnostic assumed
    ("71493000", ICD10PCS, "30233N1", True),  # packed red cells: peripheral vein assumed
    ("116863004", ICD10PCS, "30233N1", True),  # red cells
    ("12719002", ICD10PCS, "30233R1", True),  # platelets
    ("116861002", ICD10PCS, "30233K1", True),  # fresh frozen plasma
    ("11466000", ICD10PCS, "10D00Z1", True),  # cesarean: low cervical assumed
    ("177157003", ICD10PCS, "10E0XZZ", True),  # spontaneous breech delivery
    ("65677008", ICD10PCS, "02HP32Z", False),  # Swan-Ganz catheter
    ("58390007", ICD10PCS, "30243G4", True),  # allogeneic bone marrow
    ("58776007", ICD10PCS, "30243G0", True),  # autologous bone marrow
    ("268400002", ICD10PCS, "4A02X4Z", False),  # ECG (reported under "all")
    ("1004045004", ICD10PCS, "3E0C3GC", False),  # intravitreal injection
    ("18946005", ICD10PCS, "3E0S3BZ", False),  # epidural anaesthesia
    ("281790008", ICD10PCS, "3E03329", True),  # IV antibiotic: peripheral vein assumed
    ("180178009", ICD10PCS, "3E013VG", False),  # insulin infusion
    ("384700001", ICD10PCS, "3E0234Z", True),  # tetanus antitoxin: into muscle assumed
    ("1571000087109", ICD10PCS, "BH42ZZZ", False),  # ultrasound of both breasts
    ("166001", ICD10PCS, "GZ51ZZZ", True),  # behavioural therapy: individual assumed
    ("228557008", ICD10PCS, "GZ58ZZZ", True),  # CBT: individual assumed
    ("38102005", CPT, "47562", True),  # cholecystectomy: laparoscopic assumed
    ("773996000", CPT, "33361", True),  # TAVR: femoral access assumed
    ("232967006", CPT, "33979", True),  # LVAD: implantable assumed
    ("26212005", CPT, "33405", True),  # aortic valve replacement: prosthetic valve assumed
    ("33367005", CPT, "93454", True),  # coronary angiography alone assumed
]


@pytest.mark.parametrize(("concept", "system", "code", "review"), _FILLED)
def test_each_filled_row_is_billed_on_its_claim(crosswalks, concept, system, code, review):
    klass = EncounterClass.INPATIENT if system == ICD10PCS else EncounterClass.AMBULATORY
    coded = _code(_stay(_snomed(concept), klass=klass), crosswalks, EVERY)
    found = [line for line in coded.procedures if line.source.reference == "Procedure/p1"]
    assert [(line.system, line.code, line.needs_review) for line in found] == [
        (system, code, review)
    ]


@pytest.mark.parametrize(
    "concept",
    ["385763009", "385781007", "711446003", "180178009"],  # hospice, aide, regime, pump
)
def test_services_another_provider_bills_are_not_billed_with_the_reason(crosswalks, concept):
    coded = _code(_stay(_snomed(concept), klass=EncounterClass.AMBULATORY), crosswalks)
    assert [line for line in coded.procedures if line.source.reference == "Procedure/p1"] == []
    assert "PROC-NOT-BILLED" in _rules(coded)


def test_the_charge_of_a_service_not_reported_reaches_the_stay_s_revenue_lines(crosswalks):
    # An ECG and an echocardiogram on a stay: neither is a Claim.procedure, both are
    # charged through the chargemaster (keyed by the ICD-10-PCS code or the concept).

    stay = _stay(_snomed("268400002"), _snomed("40701008", 2))
    hospital = Provider("Organization/h", "service-provider", "General Hospital", "1234567893")
    coded = _code(replace(stay, providers=(hospital,)), crosswalks)
    schedule = FeeSchedule(
        prices={("4A02X4Z", ""): Decimal(150), ("40701008", ""): Decimal(900)},
        revenue_codes={"4A02X4Z": "0730", "40701008": "0483"},
        accommodations=(AccommodationRate("0120", Decimal(1850)),),
    )
    claim = build_claim(
        coded,
        (),
        created=datetime(2026, 1, 20, tzinfo=UTC),
        options=ClaimOptions(fee_schedule=schedule),
    )
    assert "procedure" not in claim
    assert [i["revenue"]["coding"][0]["code"] for i in claim["item"]] == ["0120", "0730", "0483"]
