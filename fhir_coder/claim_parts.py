"""Facts a Claim needs that coding does not decide: POA, place of service, revenue, prices.

An inpatient stay's UB-04 facts (discharge status, admission type and source) too.

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
    "ADMISSION_TYPE_SYSTEM",
    "DATA_ABSENT_REASON",
    "DISCHARGE_STATUS_SYSTEM",
    "DRG_SYSTEM",
    "LABORATORY_REVENUE",
    "NPI_SYSTEM",
    "POA_SYSTEM",
    "POINT_OF_ORIGIN_NEWBORN_SYSTEM",
    "POINT_OF_ORIGIN_SYSTEM",
    "POS_SYSTEM",
    "REVENUE_SYSTEM",
    "SUPPORTING_INFO_TYPE",
    "AccommodationRate",
    "FeeSchedule",
    "admission_date",
    "admission_type",
    "discharge_status",
    "discharge_status_code",
    "is_accommodation",
    "place_of_service",
    "poa_indicator",
    "point_of_origin",
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
# Claim.supportingInfo categories for the UB-04 facts (CARIN BB; BFD writes the same codes).
SUPPORTING_INFO_TYPE: Final = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBSupportingInfoType"
# NUBC code systems as HL7 terminology (THO) and CARIN BB name them: FL 17, FL 15, FL 14.
DISCHARGE_STATUS_SYSTEM: Final = "https://www.nubc.org/CodeSystem/PatDischargeStatus"
POINT_OF_ORIGIN_SYSTEM: Final = "https://www.nubc.org/CodeSystem/PointOfOrigin"
POINT_OF_ORIGIN_NEWBORN_SYSTEM: Final = "https://www.nubc.org/CodeSystem/PointOfOriginNewborn"
ADMISSION_TYPE_SYSTEM: Final = "https://www.nubc.org/CodeSystem/PriorityTypeOfAdmitOrVisit"
DATA_ABSENT_REASON: Final = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
"""``productOrService`` of a revenue-only line (room and board, an ancillary without a HCPCS
code): R4 requires the element, and CARIN BB writes ``not-applicable`` from this system."""
_HL7_ADMIT_SOURCE: Final = "http://terminology.hl7.org/CodeSystem/admit-source"
_ACT_PRIORITY: Final = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"

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

# NUBC discharge status (UB-04 FL 17) for HL7 discharge-disposition codes, as the grouper
# takes them. Only those in _CERTAIN_DISCHARGE are written on the Claim: "hospice" may be
# 50 (home) or 51 (medical facility), "long" (long-term care) a nursing facility (04, 64)
# as well as a long-term care hospital (63), "other-hcf" and "oth" name no NUBC category
# (05 is a cancer or children's hospital), so the Claim says nothing rather than guess.
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

_CERTAIN_DISCHARGE: Final = frozenset(
    {"home", "alt-home", "hosp", "snf", "rehab", "psy", "aadvice", "exp"}
)
# The NUBC patient discharge status codes in use (UB-04 FL 17), for codes sent as NUBC's.
_NUBC_DISCHARGE: Final = frozenset(
    {"01", "02", "03", "04", "05", "06", "07", "09", "20", "21", "30", "40", "41", "42"}
    | {"43", "50", "51", "61", "62", "63", "64", "65", "66", "69", "70"}
    | {f"{code}" for code in range(81, 96)}
)
_NUBC_DISCHARGE_SYSTEMS: Final = frozenset(
    {DISCHARGE_STATUS_SYSTEM, "urn:oid:2.16.840.1.113883.6.301.5"}
)
# NUBC point of origin (FL 15) codes, and HL7 admit-source codes that name one for certain.
# "emd" (from the emergency department) is not one: NUBC retired its ER code (7) in 2010,
# the point of origin is where the patient was before the ER. "gp"/"mp" (referral) may be
# 1 (from home) or 2 (from the clinic); "psych", "rehab", "outp", "other" are 4, 6, 1 or D
# depending on the facility: all left to a person.
_NUBC_POINT_OF_ORIGIN: Final = frozenset({"1", "2", "4", "5", "6", "8", "9", "D", "E", "F", "G"})
_NUBC_POINT_OF_ORIGIN_SYSTEMS: Final = frozenset(
    {POINT_OF_ORIGIN_SYSTEM, "urn:oid:2.16.840.1.113883.6.301.4"}
)
_ADMIT_SOURCE: Final[dict[str, tuple[str, str]]] = {
    "hosp-trans": (POINT_OF_ORIGIN_SYSTEM, "4"),  # transfer from a hospital (different facility)
    "nursing": (POINT_OF_ORIGIN_SYSTEM, "5"),  # transfer from a SNF, ICF or ALF
    "born": (POINT_OF_ORIGIN_NEWBORN_SYSTEM, "5"),  # born inside this hospital
}
# NUBC priority (type) of admission (FL 14), and the v3 ActPriority codes that are one.
_NUBC_ADMISSION_TYPE: Final = frozenset({"1", "2", "3", "4", "5", "9"})
_ACT_PRIORITY_TYPE: Final[dict[str, str]] = {"EM": "1", "UR": "2", "EL": "3"}

# Revenue codes by CPT/HCPCS range, for lines of institutional claims (NUBC UB-04 FL 42).
LABORATORY_REVENUE: Final = "0300"
"""NUBC 0300, laboratory (general): the revenue code of CPT's laboratory range."""
_REVENUE_RANGES: Final[tuple[tuple[str, str, str], ...]] = (
    ("99281", "99285", "0450"),  # emergency room
    ("99221", "99239", "0100"),  # all-inclusive room and board
    ("10004", "69990", "0360"),  # operating room services
    ("70010", "79999", "0320"),  # radiology - diagnostic
    ("80047", "89398", LABORATORY_REVENUE),  # laboratory
    ("93000", "93799", "0730"),  # EKG/ECG and cardiology
)


# Revenue codes for HCPCS Level II ranges whose code alone settles the revenue centre (UB-04
# FL 42). Drugs billed by HCPCS go to 0636, "drugs requiring detailed coding" (a drug
# reported with its HCPCS code; CMS Claims Processing Manual ch. 17): the injectable
# J-codes J0120-J7029, clotting factors J7170-J7212 (which CMS bills under 0636),
# chemotherapy J9000-J9999 and biosimilars Q5101-Q5199. Left out, because their revenue
# code depends on the hospital or the drug's form: IV solutions J7030-J7131 (0258),
# contraceptive devices J7296-J7307 (supplies), immunosuppressives J7500-J7599 (many are
# oral), inhalation solutions J7604-J7699 (pharmacy or respiratory), oral drugs J8498-J8999
# (0637 when self-administrable), and the not-otherwise-classified codes below (a payer
# wants their description, often under 0250). Ambulance base rates and
# mileage A0425-A0436 are 0540; vaccine administration G0008-G0010 is 0771 (CMS's
# instructions for the flu, pneumococcal and hepatitis B vaccines).
_HCPCS_REVENUE_RANGES: Final[tuple[tuple[str, str, str], ...]] = (
    ("A0425", "A0436", "0540"),  # ambulance
    ("G0008", "G0010", "0771"),  # vaccine administration
    ("J0120", "J7029", "0636"),  # drugs requiring detailed coding: injectables
    ("J7170", "J7212", "0636"),  # clotting factors
    ("J9000", "J9999", "0636"),  # chemotherapy drugs
    ("Q5101", "Q5199", "0636"),  # biosimilars
)
_HCPCS_NOT_OTHERWISE_CLASSIFIED: Final = frozenset({"J3490", "J3590", "J9999"})


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
    if line.source.reference == encounter.reference:
        # the reason for admission (Encounter.reasonCode): present when the inpatient
        # admission was ordered, which is what POA means (POA Guidelines, Appendix I)
        return "Y"
    admitted = admission_date(encounter)
    # a line's source is usually its Condition's own SourceRef: identity decides at once
    wanted = line.source
    source = next(
        (d for d in encounter.diagnoses if d.source is wanted or d.source == wanted), None
    )
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
    code = discharge_status_code(encounter)
    if code is not None:
        return int(code), True
    status = _DISCHARGE_STATUS.get(encounter.discharge_disposition.lower())
    return (status, True) if status is not None else (1, False)


def discharge_status_code(encounter: Encounter) -> str | None:
    """The NUBC patient discharge status (UB-04 FL 17) the Claim states, or None.

    A code sent in NUBC's own system is taken as sent; an HL7 discharge-disposition code
    only where it names one NUBC status (home 01, hospital 02, SNF 03, rehabilitation 62,
    psychiatric hospital 65, against advice 07, expired 20). Anything else, or nothing,
    gives None: the Claim then carries no status rather than a guessed one.
    """
    code = encounter.discharge_disposition.strip()
    if encounter.discharge_disposition_system in _NUBC_DISCHARGE_SYSTEMS:
        code = code.zfill(2)
        return code if code in _NUBC_DISCHARGE else None
    lowered = code.lower()
    if lowered in _CERTAIN_DISCHARGE:
        return f"{_DISCHARGE_STATUS[lowered]:02d}"
    return None


def point_of_origin(encounter: Encounter) -> tuple[str, str] | None:
    """The NUBC point of origin (UB-04 FL 15) as (system, code), when the admit source says it.

    Codes in NUBC's systems are taken as sent; HL7 admit-source codes only where they name
    one point of origin (``hosp-trans`` 4, ``nursing`` 5, ``born`` newborn 5).
    """
    for coding in encounter.admit_source:
        code = coding.code.strip().upper()
        if coding.system in _NUBC_POINT_OF_ORIGIN_SYSTEMS and code in _NUBC_POINT_OF_ORIGIN:
            return POINT_OF_ORIGIN_SYSTEM, code
        if coding.system == POINT_OF_ORIGIN_NEWBORN_SYSTEM and code in ("5", "6"):
            return POINT_OF_ORIGIN_NEWBORN_SYSTEM, code
        if coding.system == _HL7_ADMIT_SOURCE and (mapped := _ADMIT_SOURCE.get(coding.code)):
            return mapped
    return None


def admission_type(encounter: Encounter) -> str | None:
    """The NUBC priority (type) of admission (UB-04 FL 14), when the encounter says it.

    From ``Encounter.priority`` (v3 ActPriority: EM 1 emergency, UR 2 urgent, EL 3
    elective; a NUBC code as sent), else a NUBC code among ``Encounter.type``. ``R``
    (routine), ``S`` (stat) and the rest name no admission type: None.
    """
    for coding in (*encounter.priority, *encounter.types):
        code = coding.code.strip().upper()
        if coding.system == ADMISSION_TYPE_SYSTEM and code in _NUBC_ADMISSION_TYPE:
            return code
        if coding.system == _ACT_PRIORITY and code in _ACT_PRIORITY_TYPE:
            return _ACT_PRIORITY_TYPE[code]
    return None


def is_accommodation(revenue: str) -> bool:
    """Whether ``revenue`` is a room and board code (NUBC 0100-0219), billed by the day."""
    return len(revenue) == 4 and revenue.isdigit() and "0100" <= revenue <= "0219"


def revenue_code(line: CodedLine) -> str | None:
    """The revenue code of an institutional line, from its CPT/HCPCS range; None if unknown."""
    code = line.code.upper()
    if len(code) != 5:
        return None
    if code.isdigit():
        ranges = _REVENUE_RANGES
    elif code[0].isalpha() and code[1:].isdigit() and code not in _HCPCS_NOT_OTHERWISE_CLASSIFIED:
        ranges = _HCPCS_REVENUE_RANGES
    else:
        return None
    for low, high, revenue in ranges:
        if low <= code <= high:
            return revenue
    return None


@dataclass(frozen=True, slots=True)
class AccommodationRate:
    """A chargemaster's room and board rate: revenue code (0100-0219) and price a day.

    ``where`` says which stays it rates: a Location (its reference, ``Location/4w``, or
    its name), an ``Encounter.class`` code (``ACUTE``, ``NONAC``), or ``""`` for every
    stay no other row rates (the organisation's usual room).
    """

    revenue: str
    price: Decimal
    where: str = ""


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """An organisation's charges per code (and modifier): its chargemaster, as configured.

    ``prices`` maps ``(code, modifier)`` to the unit charge; modifier ``""`` is the
    code's price without a modifier. ``revenue_codes`` maps a code (CPT/HCPCS, or an
    ICD-10-PCS procedure of an inpatient stay) to the revenue code the facility bills it
    under (UB-04 FL 42); ``accommodations`` rate room and board. No fee schedule ships
    with fhir-coder: without one, Claims carry no ``unitPrice``, ``net`` or ``total``,
    and inpatient Claims no facility lines.
    """

    prices: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)
    currency: str = "USD"
    name: str = ""
    revenue_codes: Mapping[str, str] = field(default_factory=dict)
    accommodations: tuple[AccommodationRate, ...] = ()

    def price(self, line: CodedLine) -> Decimal | None:
        """The unit charge for ``line``: its code with its first modifier, else the code alone."""
        if line.modifiers:
            with_modifier = self.prices.get((line.code, line.modifiers[0]))
            if with_modifier is not None:
                return with_modifier
        return self.prices.get((line.code, ""))
