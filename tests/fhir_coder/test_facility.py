"""Room and board and ancillary revenue lines of an inpatient stay, from the chargemaster."""

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fhir.resources.R4B.claim import Claim

from adapters.claim_input import read_claim
from adapters.claim_options import load_fee_schedule
from fhir_coder.claim import ClaimOptions, build_claim
from fhir_coder.claim_form import claim_form
from fhir_coder.claim_parts import DATA_ABSENT_REASON, AccommodationRate, FeeSchedule
from fhir_coder.coding import code_encounter
from fhir_coder.errors import ConfigurationError
from fhir_coder.facility import covered_days, facility_charges
from fhir_coder.model import (
    CodedLine,
    Coding,
    CodingMethod,
    EncounterClass,
    EncounterLocation,
    SourceRef,
)
from fhir_coder.outcome import Severity
from fhir_coder.systems import ICD10CM, ICD10PCS, SNOMED

from .conftest import condition, office_visit

CREATED = datetime(2026, 1, 20, 8, 0, tzinfo=UTC)
ROOMS = (
    AccommodationRate("0120", Decimal("1850.00")),
    AccommodationRate("0200", Decimal("4200.00"), "Location/micu"),
    AccommodationRate("0190", Decimal("900.00"), "NONAC"),
)
SCHEDULE = FeeSchedule(
    prices={("0BJ08ZZ", ""): Decimal("2400.00")},
    name="cdm.csv",
    revenue_codes={"0BJ08ZZ": "0360"},
    accommodations=ROOMS,
)


def stay(**changes):
    base = {
        "encounter_class": EncounterClass.INPATIENT,
        "id": "stay-9",
        "reference": "Encounter/stay-9",
        "period_start": datetime(2026, 1, 12, 22, 0, tzinfo=UTC),
        "period_end": datetime(2026, 1, 16, 11, 0, tzinfo=UTC),
    }
    return office_visit(condition("dm", (ICD10CM, "E11.9"), listed_rank=1), **(base | changes))


def pcs(code, source_code=""):
    source = Coding(SNOMED, source_code) if source_code else None
    return CodedLine(
        ICD10PCS,
        code,
        "",
        SourceRef("Procedure/p-" + code),
        source,
        CodingMethod.CROSSWALK,
        1.0,
        "t",
        performed=date(2026, 1, 13),
    )


def coded_stay(codes, encounter, *procedures):
    coded = code_encounter(encounter, codes)
    return replace(coded, procedures=(*coded.procedures, *procedures))


@pytest.mark.parametrize(
    ("admitted", "discharged", "days"),
    [
        (date(2026, 1, 12), date(2026, 1, 16), 4),  # the discharge day is not counted
        (date(2026, 1, 12), date(2026, 1, 12), 1),  # admitted and discharged the same day
        (date(2026, 1, 31), date(2026, 2, 1), 1),
    ],
)
def test_covered_days_count_the_admission_day_and_not_the_discharge_day(admitted, discharged, days):
    assert covered_days(admitted, discharged) == days


def test_a_stay_bills_room_and_board_a_night_at_a_time_and_its_charged_procedure(codes):
    coded = coded_stay(codes, stay(), pcs("0BJ08ZZ"))
    claim = build_claim(coded, (), created=CREATED, options=ClaimOptions(fee_schedule=SCHEDULE))
    Claim.model_validate(claim)
    room, scope = claim["item"]
    assert room["revenue"]["coding"][0]["code"] == "0120"
    assert room["productOrService"]["coding"][0] == {
        "system": DATA_ABSENT_REASON,
        "code": "not-applicable",
    }
    assert room["quantity"] == {"value": 4}
    assert room["servicedPeriod"] == {"start": "2026-01-12", "end": "2026-01-15"}
    assert room["net"]["value"] == 7400.0
    assert scope["revenue"]["coding"][0]["code"] == "0360"
    assert scope["procedureSequence"] == [1]
    assert scope["net"]["value"] == 2400.0
    assert claim["total"]["value"] == 9800.0
    assert facility_charges(coded, SCHEDULE).issues == ()
    # the scrubber reads the same claim, and finds nothing missing in revenue-only lines
    patient = {"resourceType": "Patient", "gender": "female", "birthDate": "1960-05-17"}
    read = read_claim(claim, patient, label=f"Claim/{claim['id']}")
    assert claim_form(coded, created=CREATED, options=ClaimOptions(fee_schedule=SCHEDULE)) == read
    assert all(item.code == "" and item.revenue for item in read.items)


def test_each_night_goes_to_the_room_the_patient_was_in_at_midnight(codes):
    moved = stay(
        locations=(
            EncounterLocation(
                "Location/micu",
                "Medical ICU",
                datetime(2026, 1, 12, 22, 0, tzinfo=UTC),
                datetime(2026, 1, 14, 9, 0, tzinfo=UTC),
            ),
            EncounterLocation("Location/4w", "4 West", datetime(2026, 1, 14, 9, 0, tzinfo=UTC)),
        )
    )
    charges = facility_charges(coded_stay(codes, moved), SCHEDULE)
    assert [(line.revenue, line.units, line.first, line.last) for line in charges.lines] == [
        ("0200", 2, date(2026, 1, 12), date(2026, 1, 13)),  # nights of the 12th and 13th
        ("0120", 2, date(2026, 1, 14), date(2026, 1, 15)),  # 4 West: the usual room's rate
    ]


def test_the_encounter_class_chooses_the_rate_when_no_location_does(codes):
    charges = facility_charges(
        coded_stay(codes, stay(encounter_class=EncounterClass.NONACUTE)), SCHEDULE
    )
    assert [(line.revenue, line.units) for line in charges.lines] == [("0190", 4)]


def test_what_the_chargemaster_does_not_rate_is_a_finding_never_dropped(codes):
    schedule = replace(SCHEDULE, accommodations=ROOMS[1:2])  # the ICU alone
    coded = coded_stay(codes, stay(), pcs("0BJ08ZZ"), pcs("30233N1", "180207008"))
    charges = facility_charges(coded, schedule)
    assert [line.revenue for line in charges.lines] == ["0360"]
    found = {issue.rule: issue for issue in charges.issues}
    assert set(found) == {"ACCOMMODATION-NOT-CHARGED", "ANCILLARY-NOT-CHARGED"}
    assert all(issue.severity is Severity.ERROR for issue in charges.issues)
    assert "4 day(s) from 2026-01-12" in found["ACCOMMODATION-NOT-CHARGED"].message
    assert "30233N1" in found["ANCILLARY-NOT-CHARGED"].message
    assert found["ANCILLARY-NOT-CHARGED"].expression == ("Claim.procedure[1]",)
    # the concept the procedure was coded from is a key too
    keyed = replace(
        schedule,
        prices={**schedule.prices, ("180207008", ""): Decimal("600.00")},
        revenue_codes={**schedule.revenue_codes, "180207008": "0391"},
    )
    assert [line.revenue for line in facility_charges(coded, keyed).lines] == ["0360", "0391"]


def test_without_a_chargemaster_the_stay_says_it_carries_no_facility_lines(codes):
    coded = coded_stay(codes, stay(), pcs("0BJ08ZZ"))
    (issue,) = facility_charges(coded, None).issues
    assert issue.rule == "FACILITY-NOT-CHARGED"
    assert issue.severity is Severity.WARNING
    assert "4 day(s)" in issue.message
    assert "1 procedure(s)" in issue.message
    assert "item" not in build_claim(coded, (), created=CREATED)
    professional = FeeSchedule(prices={("99213", ""): Decimal("92.00")}, name="fees.csv")
    assert [i.rule for i in facility_charges(coded, professional).issues] == [
        "FACILITY-NOT-CHARGED"
    ]


def test_the_chargemaster_file_holds_room_rates_and_revenue_codes(tmp_path):
    path = tmp_path / "cdm.csv"
    path.write_text(
        "code,modifier,price,revenue,location\n"
        "99213,,92.00,,\n"
        "0BJ08ZZ,,2400.00,0360,\n"
        ",,1850.00,0120,\n"
        ",,4200.00,0200,Location/micu\n"
    )
    schedule = load_fee_schedule(path)
    assert schedule.prices[("99213", "")] == Decimal("92.00")
    assert schedule.revenue_codes == {"0BJ08ZZ": "0360"}
    assert schedule.accommodations == (
        AccommodationRate("0120", Decimal("1850.00")),
        AccommodationRate("0200", Decimal("4200.00"), "Location/micu"),
    )
    path.write_text("code,modifier,price,revenue\n,,1850.00,0450\n")
    with pytest.raises(ConfigurationError, match="line 2: needs a code, or a room and board"):
        load_fee_schedule(path)
    path.write_text("code,modifier,price,revenue\n,,1850.00,0120\n,,1900.00,0110\n")
    with pytest.raises(ConfigurationError, match="line 3: a second room rate for every stay"):
        load_fee_schedule(path)


def test_services_not_reported_in_icd10pcs_are_still_charged_on_revenue_lines(codes):
    # The stay's ICD-10-PCS policy (UHDDS) leaves an ECG and an echocardiogram off
    # Claim.procedure; coding keeps them as the stay's charges, for the chargemaster.
    echo = replace(pcs("40701008", "40701008"), system=SNOMED, source=SourceRef("Procedure/e"))
    coded = replace(
        coded_stay(codes, stay(), pcs("0BJ08ZZ")), charges=(pcs("4A02X4Z", "268400002"), echo)
    )
    schedule = replace(
        SCHEDULE,
        prices={
            **SCHEDULE.prices,
            ("268400002", ""): Decimal("150.00"),
            ("40701008", ""): Decimal("900.00"),
        },
        revenue_codes={**SCHEDULE.revenue_codes, "268400002": "0730", "40701008": "0483"},
    )
    claim = build_claim(coded, (), created=CREATED, options=ClaimOptions(fee_schedule=schedule))
    Claim.model_validate(claim)
    assert [p["procedureCodeableConcept"]["coding"][0]["code"] for p in claim["procedure"]] == [
        "0BJ08ZZ"
    ]
    revenue = [
        (item["revenue"]["coding"][0]["code"], item.get("procedureSequence"))
        for item in claim["item"]
    ]
    assert revenue == [("0120", None), ("0360", [1]), ("0730", None), ("0483", None)]
    assert claim["total"]["value"] == 7400.0 + 2400.0 + 150.0 + 900.0
    patient = {"resourceType": "Patient", "gender": "female", "birthDate": "1960-05-17"}
    read = read_claim(claim, patient, label=f"Claim/{claim['id']}")
    assert claim_form(coded, created=CREATED, options=ClaimOptions(fee_schedule=schedule)) == read
    # one the chargemaster does not rate is a finding on the claim's lines, never dropped
    issues = facility_charges(coded, SCHEDULE).issues
    assert [(i.rule, i.expression, i.source) for i in issues] == [
        ("ANCILLARY-NOT-CHARGED", ("Claim.item",), "Procedure/p-4A02X4Z"),
        ("ANCILLARY-NOT-CHARGED", ("Claim.item",), "Procedure/e"),
    ]
