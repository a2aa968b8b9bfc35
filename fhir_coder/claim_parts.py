"""Facts a Claim needs that coding does not decide: POA, place of service, revenue, prices.

Each function here turns what the encounter says into one Claim element, and says
nothing when the encounter does not say enough: a missing fact stays missing (or ``U``,
"documentation insufficient", for POA) rather than being guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from fhir_coder.model import CodedLine, Encounter, EncounterClass

__all__ = [
    "DRG_SYSTEM",
    "NPI_SYSTEM",
    "POA_SYSTEM",
    "POS_SYSTEM",
    "REVENUE_SYSTEM",
    "FeeSchedule",
    "admission_date",
    "discharge_status",
    "place_of_service",
    "poa_indicator",
    "revenue_code",
]

POA_SYSTEM: Final = (
    "https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/HospitalAcqCond/Coding"
)
DRG_SYSTEM: Final = (
    "https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/"
    "MS-DRG-Classifications-and-Software"
)
POS_SYSTEM: Final = (
    "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
)
REVENUE_SYSTEM: Final = "https://www.nubc.org/CodeSystem/RevenueCodes"
NPI_SYSTEM: Final = "http://hl7.org/fhir/sid/us-npi"

_PLACE_OF_SERVICE: Final[dict[EncounterClass, str]] = {
    EncounterClass.AMBULATORY: "11",  # office
    EncounterClass.PRENATAL: "11",
    EncounterClass.EMERGENCY: "23",  # emergency room - hospital
    EncounterClass.INPATIENT: "21",  # inpatient hospital
    EncounterClass.ACUTE: "21",
    EncounterClass.NONACUTE: "21",
    EncounterClass.OBSERVATION: "22",  # on-campus outpatient hospital
    EncounterClass.SHORT_STAY: "22",
    EncounterClass.HOME: "12",  # home
    EncounterClass.VIRTUAL: "10",  # telehealth in the patient's home
}

# NUBC discharge status (UB-04 FL 17) for HL7 discharge-disposition codes.
_DISCHARGE_STATUS: Final[dict[str, int]] = {
    "home": 1,
    "alt-home": 1,
    "other-hcf": 5,
    "hosp": 2,
    "snf": 3,
    "long": 63,
    "rehab": 62,
    "psy": 65,
    "aadvice": 7,
    "exp": 20,
    "hospice": 50,
    "oth": 70,
}

# Revenue codes by CPT/HCPCS range, for lines of institutional claims (NUBC UB-04 FL 42).
_REVENUE_RANGES: Final = (
    ("99281", "99285", "0450"),  # emergency room
    ("99221", "99239", "0100"),  # all-inclusive room and board
    ("10004", "69990", "0360"),  # operating room services
    ("70010", "79999", "0320"),  # radiology - diagnostic
    ("80047", "89398", "0300"),  # laboratory
    ("93000", "93799", "0730"),  # EKG/ECG and cardiology
)


def admission_date(encounter: Encounter) -> date | None:
    """The day the stay began (the encounter's start)."""
    start = encounter.period_start
    if start is None:
        return None
    return start.date() if isinstance(start, datetime) else start


def poa_indicator(line: CodedLine, encounter: Encounter) -> str:
    """Present on admission for one diagnosis of an inpatient stay: ``Y``, ``N`` or ``U``.

    The coding step does not know POA, so it is derived from the Condition's own dates:
    an onset or a recorded date before the day of admission means the condition was
    there on admission (``Y``); an onset after that day means it arose during the stay
    (``N``). Anything else, a same-day onset included (the time of day cannot be trusted
    across EHRs), is ``U``: documentation insufficient, which a coder must resolve.
    """
    admitted = admission_date(encounter)
    source = next((d for d in encounter.diagnoses if d.source == line.source), None)
    if admitted is None or source is None:
        return "U"
    if (source.onset is not None and source.onset < admitted) or (
        source.recorded is not None and source.recorded < admitted
    ):
        return "Y"
    if source.onset is not None and source.onset > admitted:
        return "N"
    return "U"


def place_of_service(encounter: Encounter) -> str | None:
    """The CMS place-of-service code for the encounter's class, when the class implies one."""
    return _PLACE_OF_SERVICE.get(encounter.encounter_class)


def discharge_status(encounter: Encounter) -> tuple[int, bool]:
    """The NUBC discharge status for the grouper, and whether the encounter said it.

    An unknown disposition is taken as 01 (discharged home), the grouper's usual input;
    the second value is False so callers can say the DRG rests on that assumption.
    """
    status = _DISCHARGE_STATUS.get(encounter.discharge_disposition.lower())
    return (status, True) if status is not None else (1, False)


def revenue_code(line: CodedLine) -> str | None:
    """The revenue code of an institutional line, from its CPT/HCPCS range; None if unknown."""
    code = line.code.upper()
    if len(code) != 5 or not code.isdigit():
        return None
    for low, high, revenue in _REVENUE_RANGES:
        if low <= code <= high:
            return revenue
    return None


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """An organisation's charges per code (and modifier), from the file it configures.

    ``prices`` maps ``(code, modifier)`` to the unit charge; modifier ``""`` is the
    code's price without a modifier. No fee schedule ships with fhir-coder: without
    one, Claims carry no ``unitPrice``, ``net`` or ``total``.
    """

    prices: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)
    currency: str = "USD"
    name: str = ""

    def price(self, line: CodedLine) -> Decimal | None:
        """The unit charge for ``line``: its code with its first modifier, else the code alone."""
        if line.modifiers:
            with_modifier = self.prices.get((line.code, line.modifiers[0]))
            if with_modifier is not None:
                return with_modifier
        return self.prices.get((line.code, ""))
