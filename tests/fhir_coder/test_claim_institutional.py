"""The UB-04 facts of an inpatient Claim: discharge status, admission type and point of
origin in ``supportingInfo``, revenue codes on the lines, and the findings when the
encounter does not say them for certain."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from fhir.resources.R4B.claim import Claim

from adapters.claim_input import read_claim
from fhir_coder.claim import build_claim
from fhir_coder.claim_form import claim_form
from fhir_coder.claim_parts import (
    ADMISSION_TYPE_SYSTEM,
    DISCHARGE_STATUS_SYSTEM,
    POINT_OF_ORIGIN_NEWBORN_SYSTEM,
    POINT_OF_ORIGIN_SYSTEM,
    SUPPORTING_INFO_TYPE,
    admission_type,
    discharge_status,
    discharge_status_code,
    point_of_origin,
    revenue_code,
)
from fhir_coder.coding import code_encounter
from fhir_coder.edits import CATALOGUE
from fhir_coder.model import CodedLine, Coding, CodingMethod, EncounterClass, SourceRef
from fhir_coder.outcome import Severity
from fhir_coder.systems import CPT, HCPCS, ICD10CM
from fhir_coder.validation.structure import institutional_edits, structure_edits

from .conftest import condition, office_visit

CREATED = datetime(2026, 1, 20, 8, 0, tzinfo=UTC)
HL7_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
HL7_ADMIT_SOURCE = "http://terminology.hl7.org/CodeSystem/admit-source"
ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"


def stay(**changes):
    base = {
        "encounter_class": EncounterClass.INPATIENT,
        "id": "stay-9",
        "reference": "Encounter/stay-9",
        "period_start": datetime(2026, 1, 12, 22, 0, tzinfo=UTC),
        "period_end": datetime(2026, 1, 16, 11, 0, tzinfo=UTC),
    }
    return office_visit(condition("dm", (ICD10CM, "E11.9"), listed_rank=1), **(base | changes))


def line(code, system=CPT):
    return CodedLine(
        system, code, "", SourceRef("Encounter/stay-9"), None, CodingMethod.TABLE, 1.0, "t"
    )


def claim_of(encounter, codes, *lines):
    coded = code_encounter(encounter, codes)
    coded = replace(coded, procedures=(*coded.procedures, *lines))
    claim = build_claim(coded, (), created=CREATED)
    Claim.model_validate(claim)  # every shape written parses as R4(B)
    return coded, claim


def supporting(claim):
    return [
        (
            info["sequence"],
            info["category"]["coding"][0]["system"],
            info["category"]["coding"][0]["code"],
            info["code"]["coding"][0]["system"],
            info["code"]["coding"][0]["code"],
        )
        for info in claim.get("supportingInfo", [])
    ]


# Discharge status (UB-04 FL 17)


@pytest.mark.parametrize(
    ("disposition", "system", "expected"),
    [
        ("home", HL7_DISPOSITION, "01"),
        ("alt-home", HL7_DISPOSITION, "01"),
        ("hosp", HL7_DISPOSITION, "02"),
        ("snf", HL7_DISPOSITION, "03"),
        ("aadvice", HL7_DISPOSITION, "07"),
        ("exp", HL7_DISPOSITION, "20"),
        ("rehab", HL7_DISPOSITION, "62"),
        ("psy", HL7_DISPOSITION, "65"),
        ("home", "", "01"),  # the HL7 words are recognised whatever system came with them
        ("51", DISCHARGE_STATUS_SYSTEM, "51"),  # NUBC's own code, as sent
        ("6", "urn:oid:2.16.840.1.113883.6.301.5", "06"),
        # Not one NUBC status for certain: hospice is 50 or 51, long-term care 04, 63 or 64.
        ("hospice", HL7_DISPOSITION, None),
        ("long", HL7_DISPOSITION, None),
        ("other-hcf", HL7_DISPOSITION, None),
        ("oth", HL7_DISPOSITION, None),
        ("", "", None),
        ("99", DISCHARGE_STATUS_SYSTEM, None),  # not a NUBC status
        ("01", "urn:local:dispo", None),  # a local code that merely looks like one
    ],
)
def test_discharge_status_code_only_when_certain(disposition, system, expected):
    encounter = stay(discharge_disposition=disposition, discharge_disposition_system=system)
    assert discharge_status_code(encounter) == expected


def test_the_grouper_still_gets_a_status_and_takes_nubc_codes():
    assert discharge_status(stay(discharge_disposition="hospice")) == (50, True)
    assert discharge_status(stay()) == (1, False)
    nubc = stay(discharge_disposition="51", discharge_disposition_system=DISCHARGE_STATUS_SYSTEM)
    assert discharge_status(nubc) == (51, True)


def test_an_inpatient_claim_states_its_discharge_status(codes):
    _, claim = claim_of(stay(discharge_disposition="snf"), codes)
    assert supporting(claim) == [
        (1, SUPPORTING_INFO_TYPE, "discharge-status", DISCHARGE_STATUS_SYSTEM, "03")
    ]


def test_an_unknown_disposition_writes_none_and_says_so(codes):
    coded, claim = claim_of(stay(discharge_disposition="hospice"), codes)
    assert "supportingInfo" not in claim
    [found] = [i for i in institutional_edits(coded) if i.rule == "DISCHARGE-STATUS-UNKNOWN"]
    assert found.severity is Severity.WARNING
    assert "'hospice' names no single NUBC discharge status" in found.message
    assert "grouped as 50" in found.message
    assert found.expression == ("Encounter.hospitalization.dischargeDisposition",)


def test_a_professional_claim_carries_no_ub04_facts(codes):
    visit = office_visit(
        condition("dm", (ICD10CM, "E11.9"), listed_rank=1),
        discharge_disposition="home",
        priority=(Coding(ACT_PRIORITY, "EM"),),
    )
    coded, claim = claim_of(visit, codes, line("J1885", HCPCS))
    assert "supportingInfo" not in claim
    assert "revenue" not in claim["item"][0]
    assert institutional_edits(coded) == []


# Admission type (FL 14) and point of origin (FL 15)


@pytest.mark.parametrize(
    ("priority", "types", "expected"),
    [
        ((Coding(ACT_PRIORITY, "EM"),), (), "1"),
        ((Coding(ACT_PRIORITY, "UR"),), (), "2"),
        ((Coding(ACT_PRIORITY, "EL"),), (), "3"),
        ((Coding(ADMISSION_TYPE_SYSTEM, "4"),), (), "4"),
        ((), (Coding(ADMISSION_TYPE_SYSTEM, "5"),), "5"),  # a NUBC code among Encounter.type
        ((Coding(ACT_PRIORITY, "R"),), (), None),  # routine: elective or urgent, not said
        ((Coding(ACT_PRIORITY, "S"),), (), None),
        ((Coding("urn:local", "EM"),), (), None),
        ((Coding(ADMISSION_TYPE_SYSTEM, "7"),), (), None),
        ((), (), None),
    ],
)
def test_admission_type(priority, types, expected):
    assert admission_type(stay(priority=priority, types=types)) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (Coding(HL7_ADMIT_SOURCE, "hosp-trans"), (POINT_OF_ORIGIN_SYSTEM, "4")),
        (Coding(HL7_ADMIT_SOURCE, "nursing"), (POINT_OF_ORIGIN_SYSTEM, "5")),
        (Coding(HL7_ADMIT_SOURCE, "born"), (POINT_OF_ORIGIN_NEWBORN_SYSTEM, "5")),
        (Coding(POINT_OF_ORIGIN_SYSTEM, "d"), (POINT_OF_ORIGIN_SYSTEM, "D")),
        (Coding(POINT_OF_ORIGIN_NEWBORN_SYSTEM, "6"), (POINT_OF_ORIGIN_NEWBORN_SYSTEM, "6")),
        # ER is no point of origin since 2010; a referral may come from home (1) or a clinic (2).
        (Coding(HL7_ADMIT_SOURCE, "emd"), None),
        (Coding(HL7_ADMIT_SOURCE, "gp"), None),
        (Coding(HL7_ADMIT_SOURCE, "mp"), None),
        (Coding(HL7_ADMIT_SOURCE, "psych"), None),
        (Coding(HL7_ADMIT_SOURCE, "rehab"), None),
        (Coding(HL7_ADMIT_SOURCE, "outp"), None),
        (Coding(HL7_ADMIT_SOURCE, "other"), None),
        (Coding(POINT_OF_ORIGIN_SYSTEM, "7"), None),  # retired
        (Coding("", "hosp-trans"), None),
    ],
)
def test_point_of_origin(source, expected):
    assert point_of_origin(stay(admit_source=(source,))) == expected


def test_all_three_facts_in_form_locator_order(codes):
    encounter = stay(
        discharge_disposition="home",
        priority=(Coding(ACT_PRIORITY, "EL"),),
        admit_source=(Coding(HL7_ADMIT_SOURCE, "nursing"),),
    )
    coded, claim = claim_of(encounter, codes)
    assert supporting(claim) == [
        (1, SUPPORTING_INFO_TYPE, "admtype", ADMISSION_TYPE_SYSTEM, "3"),
        (2, SUPPORTING_INFO_TYPE, "pointoforigin", POINT_OF_ORIGIN_SYSTEM, "5"),
        (3, SUPPORTING_INFO_TYPE, "discharge-status", DISCHARGE_STATUS_SYSTEM, "01"),
    ]
    assert institutional_edits(coded) == []
    # supportingInfo is not part of the scrubber's form: the two still describe one claim.
    patient = {"resourceType": "Patient", "gender": "female", "birthDate": "1960-05-17"}
    read = read_claim(claim, patient, label=f"Claim/{claim['id']}")
    assert claim_form(coded, created=CREATED) == read


def test_unmappable_admission_facts_are_left_out_with_information_findings(codes):
    encounter = stay(
        discharge_disposition="home",
        priority=(Coding(ACT_PRIORITY, "R"),),
        admit_source=(Coding(HL7_ADMIT_SOURCE, "emd"),),
    )
    coded, claim = claim_of(encounter, codes)
    assert [info[2] for info in supporting(claim)] == ["discharge-status"]
    found = {i.rule: i for i in institutional_edits(coded)}
    assert set(found) == {"ADMISSION-TYPE-UNMAPPED", "ADMISSION-SOURCE-UNMAPPED"}
    assert all(i.severity is Severity.INFORMATION for i in found.values())
    assert (
        f"{ACT_PRIORITY}|R names no NUBC admission type" in found["ADMISSION-TYPE-UNMAPPED"].message
    )
    assert (
        f"{HL7_ADMIT_SOURCE}|emd names no single NUBC point of origin"
        in found["ADMISSION-SOURCE-UNMAPPED"].message
    )
    assert found["ADMISSION-SOURCE-UNMAPPED"].expression == (
        "Encounter.hospitalization.admitSource",
    )


def test_absent_admission_facts_say_they_are_not_given(codes):
    coded, _ = claim_of(stay(discharge_disposition="home"), codes)
    messages = {i.rule: i.message for i in institutional_edits(coded)}
    assert "the priority is not given" in messages["ADMISSION-TYPE-UNMAPPED"]
    assert "the admit source is not given" in messages["ADMISSION-SOURCE-UNMAPPED"]


def test_the_new_rules_are_catalogued():
    for rule, severity in (
        ("DISCHARGE-STATUS-UNKNOWN", Severity.WARNING),
        ("ADMISSION-TYPE-UNMAPPED", Severity.INFORMATION),
        ("ADMISSION-SOURCE-UNMAPPED", Severity.INFORMATION),
        ("ITEM-NO-REVENUE", Severity.ERROR),
    ):
        assert CATALOGUE[rule].severity is severity


# Revenue codes (FL 42)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("J1885", "0636"),  # ketorolac injection
        ("J0120", "0636"),
        ("J7029", "0636"),
        ("J7180", "0636"),  # clotting factor
        ("J9035", "0636"),  # chemotherapy
        ("Q5103", "0636"),  # biosimilar
        ("A0427", "0540"),  # ambulance
        ("G0008", "0771"),  # vaccine administration
        ("j1885", "0636"),
        # The revenue centre depends on the hospital, or the code is not otherwise classified.
        ("J7030", None),  # IV solution (0258 at most hospitals)
        ("J7300", None),  # contraceptive device
        ("J7613", None),  # inhalation solution
        ("J8499", None),  # oral drug
        ("J3490", None),  # unclassified drug
        ("J9999", None),
        ("J7502", None),  # immunosuppressive: oral or injectable
        ("C1713", None),
        ("P9016", None),
        ("0001F", None),  # CPT category II
        ("99281", "0450"),  # CPT ranges unchanged
        ("71046", "0320"),
    ],
)
def test_revenue_codes_for_hcpcs_ranges(code, expected):
    assert revenue_code(line(code, HCPCS if code[0].isalpha() else CPT)) == expected


def test_an_institutional_line_without_a_revenue_code_is_an_error(codes):
    coded, claim = claim_of(
        stay(discharge_disposition="home"), codes, line("J1885", HCPCS), line("J3490", HCPCS)
    )
    assert claim["item"][0]["revenue"]["coding"][0]["code"] == "0636"
    assert "revenue" not in claim["item"][1]
    form = claim_form(coded, created=CREATED)
    [found] = [i for i in structure_edits(form) if i.rule == "ITEM-NO-REVENUE"]
    assert found.severity is Severity.ERROR
    assert found.expression == ("Claim.item[1].revenue",)
    assert "item 2 (J3490)" in found.message
    assert [i.rule for i in structure_edits(read_claim(claim, None))].count("ITEM-NO-REVENUE") == 1
