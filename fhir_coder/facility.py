"""The facility's charges for an inpatient stay: room and board by the night, ancillaries.

A hospital's inpatient claim (UB-04, 837I) bills the stay by revenue code: accommodation
(NUBC 0100-0219, by room type) with the covered days as units, and ancillary services
(operating room, laboratory, pharmacy...) as its chargemaster rates them. The coded
ICD-10-PCS procedures say what was done, not what it costs: only the organisation's
chargemaster (:class:`~fhir_coder.claim_parts.FeeSchedule`) turns them into revenue lines,
and a procedure or a night it does not rate is a finding, never silently left off.

Days follow NUBC and the Medicare Benefit Policy Manual (ch. 3, 20.1): the day of
admission counts, the day of discharge (or death) does not; a patient admitted and
discharged the same day has one day. Each night is billed at the accommodation where
the patient was at midnight (the census), so a stay that moved from the ICU to a ward
has a line per room type.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from fhir_coder.claim_parts import AccommodationRate, FeeSchedule, revenue_code
from fhir_coder.model import CodedEncounter, CodedLine, Encounter, EncounterLocation
from fhir_coder.outcome import Issue
from fhir_coder.systems import CPT, HCPCS, ICD10PCS
from fhir_coder.validation._finding import finding

__all__ = [
    "FacilityCharges",
    "FacilityLine",
    "covered_days",
    "facility_charges",
    "line_revenue",
]


@dataclass(frozen=True, slots=True)
class FacilityLine:
    """One revenue line of a stay that has no CPT/HCPCS code: room and board or an ancillary.

    ``procedure`` is the ``Claim.procedure.sequence`` an ancillary line bills (None for
    accommodation); ``first``/``last`` the first and last day the line covers.
    """

    revenue: str
    units: int
    unit_price: Decimal
    first: date
    last: date
    procedure: int | None = None

    @property
    def net(self) -> Decimal:
        """The line's charge: the rate times the units."""
        return self.unit_price * self.units


@dataclass(frozen=True, slots=True)
class FacilityCharges:
    """A stay's facility lines and what could not be charged (findings)."""

    lines: tuple[FacilityLine, ...] = ()
    issues: tuple[Issue, ...] = ()


_NONE = FacilityCharges()


def _day(moment: datetime | date | None) -> date | None:
    if moment is None:
        return None
    return moment.date() if isinstance(moment, datetime) else moment


def _named(schedule: FeeSchedule) -> str:
    """How a finding names the chargemaster: by its file name when it has one."""
    return f"the chargemaster {schedule.name}" if schedule.name else "the chargemaster"


def covered_days(admitted: date, discharged: date) -> int:
    """Accommodation days of a stay: admission day counted, discharge day not; at least one."""
    return max(1, (discharged - admitted).days)


def _nights(encounter: Encounter) -> list[date]:
    """The days whose midnight the patient spent in the hospital (one for a same-day stay)."""
    admitted, count = _day(encounter.period_start), _night_count(encounter)
    return [admitted + timedelta(days=n) for n in range(count)] if admitted is not None else []


def _night_count(encounter: Encounter) -> int:
    """How many :func:`_nights` a stay has, without making them."""
    admitted, discharged = _day(encounter.period_start), _day(encounter.period_end)
    if admitted is None or discharged is None or discharged < admitted:
        return 0
    return covered_days(admitted, discharged)


def _located(encounter: Encounter, night: date) -> EncounterLocation | None:
    """The location the patient occupied at the end of ``night`` (the census), if known.

    A location without a period covers the whole stay; of several, the last whose period
    takes in that day (a transfer during the day bills the night at the new room).
    """
    found: EncounterLocation | None = None
    for location in encounter.locations:
        start, end = _day(location.start), _day(location.end)
        if (start is None or start <= night) and (end is None or end > night or end == start):
            found = location
    return found


def _rate(
    schedule: FeeSchedule, encounter: Encounter, location: EncounterLocation | None
) -> AccommodationRate | None:
    """The chargemaster's rate for a night: by the location, else the class, else the default."""
    keys = [key for key in (location.reference, location.display) if key] if location else []
    keys += [encounter.encounter_class.value, ""]
    for key in keys:
        for rate in schedule.accommodations:
            if rate.where == key:
                return rate
    return None


def _accommodation(
    encounter: Encounter, schedule: FeeSchedule, issues: list[Issue]
) -> list[FacilityLine]:
    """Room and board: one line per rate, units the nights billed at it."""
    nights = _nights(encounter)
    by_rate: dict[AccommodationRate, list[date]] = {}
    unrated: dict[str, list[date]] = {}
    for night in nights:
        location = _located(encounter, night)
        rate = _rate(schedule, encounter, location)
        if rate is None:
            where = (location.reference or location.display) if location else ""
            unrated.setdefault(where, []).append(night)
        else:
            by_rate.setdefault(rate, []).append(night)
    for where, days in unrated.items():
        issues.append(
            finding(
                "ACCOMMODATION-NOT-CHARGED",
                f"{encounter.reference}: {len(days)} day(s) from {days[0].isoformat()}"
                + (f" at {where}" if where else "")
                + f" have no room and board rate in {_named(schedule)}"
                + ": no accommodation line is billed for them",
                "Claim.item",
                fix="add the room type's revenue code and daily rate to the chargemaster "
                "(a row with a location, the encounter class, or none for the usual room)",
                source=encounter.reference,
            )
        )
    return [
        FacilityLine(rate.revenue, len(days), rate.price, days[0], days[-1])
        for rate, days in sorted(by_rate.items(), key=lambda item: (item[1][0], item[0].revenue))
    ]


def _ancillaries(
    encounter: Encounter,
    procedures: list[tuple[int | None, CodedLine]],
    schedule: FeeSchedule,
    issues: list[Issue],
) -> list[FacilityLine]:
    """A revenue line for each ICD-10-PCS procedure the chargemaster rates (by its code).

    The procedure's own code is looked up, then the code it was coded from (the SNOMED
    CT concept of the EHR's Procedure), as hospitals key charges either way. A service
    the stay's ICD-10-PCS policy does not report (``CodedEncounter.charges``: imaging, an
    ECG, a therapy) comes with no ``Claim.procedure`` sequence, and is charged the same way.
    """
    admitted = _day(encounter.period_start)
    lines: list[FacilityLine] = []
    for sequence, line in procedures:
        keys = [line.code]
        if line.source_coding is not None and line.source_coding.code != line.code:
            keys.append(line.source_coding.code)
        key = next((k for k in keys if k in schedule.revenue_codes), None)
        revenue = schedule.revenue_codes.get(key) if key is not None else None
        if key is None and line.system in (CPT, HCPCS):
            # a CPT/HCPCS charge (a stay's laboratory test, a vaccine) priced in the
            # chargemaster without its own revenue code: the range table's, where the code
            # alone settles it (laboratory 0300), as on the claim's CPT/HCPCS lines
            key = next((k for k in keys if (k, "") in schedule.prices), None)
            revenue = revenue_code(line) if key is not None else None
            key = key if revenue is not None else None
        price = schedule.prices.get((key, "")) if key is not None else None
        if key is None or price is None or revenue is None:
            issues.append(
                finding(
                    "ANCILLARY-NOT-CHARGED",
                    f"{line.source}: procedure {line.code} has no "
                    + ("price" if key is not None else "revenue code and price")
                    + f" in {_named(schedule)}"
                    + ": no revenue line is billed for it",
                    f"Claim.procedure[{sequence - 1}]" if sequence else "Claim.item",
                    fix="add the procedure (its ICD-10-PCS code or the concept it was coded "
                    "from) with its revenue code and price to the chargemaster",
                    source=str(line.source),
                )
            )
            continue
        day = line.performed or admitted
        if day is None:
            continue
        lines.append(FacilityLine(revenue, 1, price, day, day, procedure=sequence))
    return lines


def facility_charges(coded: CodedEncounter, schedule: FeeSchedule | None) -> FacilityCharges:
    """The room and board and ancillary lines of an inpatient stay, with what is not charged.

    Without a chargemaster (a fee schedule with no room rate and no revenue code is a
    professional one) nothing can be charged: one warning says so (the Claim is then
    coded, not priced, as every Claim without a fee schedule). With one, each night or
    procedure it does not rate is an error, so the Claim waits as a draft instead of going
    out short of a charge. Other encounters have no facility lines.
    """
    encounter = coded.encounter
    if not encounter.encounter_class.is_inpatient:
        return _NONE
    procedures: list[tuple[int | None, CodedLine]] = list(
        enumerate((line for line in coded.procedures if line.system == ICD10PCS), start=1)
    )
    procedures += [(None, line) for line in coded.charges]
    # a fee schedule of professional prices alone is no facility chargemaster
    if schedule is None or not (schedule.accommodations or schedule.revenue_codes):
        return FacilityCharges(
            issues=(
                finding(
                    "FACILITY-NOT-CHARGED",
                    f"{encounter.reference}: no chargemaster with room rates or revenue "
                    "codes is configured, so the stay's "
                    f"room and board ({_night_count(encounter)} day(s)) and its "
                    f"{len(procedures)} procedure(s) carry no revenue lines",
                    "Claim.item",
                    fix="configure the chargemaster (--fee-schedule) with room rates and "
                    "the revenue codes of the services",
                    source=encounter.reference,
                ),
            )
        )
    issues: list[Issue] = []
    lines = _accommodation(encounter, schedule, issues)
    lines += _ancillaries(encounter, procedures, schedule, issues)
    return FacilityCharges(tuple(lines), tuple(issues))


def line_revenue(line: CodedLine, schedule: FeeSchedule | None) -> str | None:
    """The revenue code of a CPT/HCPCS line: the chargemaster's, else the range table's."""
    if schedule is not None and (revenue := schedule.revenue_codes.get(line.code)):
        return revenue
    return revenue_code(line)
