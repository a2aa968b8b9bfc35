"""What an 837 says about one claim, read from a FHIR Claim and the resources it names.

The 837 builders take these flat, checked facts rather than FHIR JSON, so each decision
(which patient control number, which frequency, which charge) is made once, here, and a
Claim that cannot become a valid 837 is refused with every reason at once
(:class:`NotReady`) instead of becoming an interchange a payer rejects. Nothing is
invented: a missing charge, subscriber id or payer id is a reason, not a default.
"""

from __future__ import annotations

import contextlib
import hashlib
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

from adapters.fhir.reading import fhir_date
from adapters.x12.usps import state_code
from fhir_coder.claim_parts import (
    ADMISSION_TYPE_SYSTEM,
    DATA_ABSENT_REASON,
    DISCHARGE_STATUS_SYSTEM,
    DRG_SYSTEM,
    NPI_SYSTEM,
    POA_SYSTEM,
    POS_SYSTEM,
    REVENUE_SYSTEM,
)
from fhir_coder.remittance import Adjustment
from fhir_coder.systems import CPT, HCPCS, ICD10CM, ICD10PCS, canonical_system

__all__ = [
    "Address",
    "ClaimFacts",
    "Diagnosis",
    "Facility",
    "Line",
    "LinePayment",
    "NotReady",
    "OtherPayer",
    "Party",
    "PcsProcedure",
    "Person",
    "PriorPayment",
    "Resolver",
    "claim_facts",
    "patient_control_number",
    "payer_key",
]

Kind = Literal["professional", "institutional"]
Frequency = Literal["1", "7", "8"]
Resolver = Callable[[str], "dict[str, Any] | None"]
"""Finds a resource by its reference (``Patient/1``); None when it cannot be found."""

_RELATED_PRIOR: Final = "prior"
_PCN_LENGTH: Final = 17  # + "R" and up to two digits of revision: Medicare FISS reads 20
_SEX: Final = {"male": "M", "female": "F"}
# Coverage.relationship (subscriber-relationship) -> X12 individual relationship code
_RELATIONSHIP: Final = {"self": "18", "spouse": "01", "child": "19", "other": "G8"}
# Source of Payment Typology (PHDSC, urn:oid:2.16.840.1.113883.3.221.5) first digits ->
# claim filing indicator (SBR09); Medicare differs by claim kind (Part A or B).
_SOPT_FILING: Final = {"2": "MC", "5": "CI", "6": "BL", "7": "ZZ", "8": "ZZ", "9": "ZZ"}
_SOPT_OTHER_GOVERNMENT: Final = {"311": "CH", "32": "VA", "33": "OF", "34": "OF", "35": "OF"}


class NotReady(Exception):  # noqa: N818 - a verdict on a Claim, not a failure of ours
    """A Claim that cannot become a valid 837, with every reason."""

    def __init__(self, claim_id: str, reasons: list[str]) -> None:
        super().__init__(f"Claim/{claim_id} is not ready to submit: {'; '.join(reasons)}")
        self.claim_id = claim_id
        self.reasons = reasons


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address as the N3/N4 segments carry it."""

    line1: str
    city: str
    state: str
    postal_code: str
    line2: str = ""


@dataclass(frozen=True, slots=True)
class Person:
    """A patient or subscriber: name, birth date, sex, address, member id."""

    last: str
    first: str = ""
    birth_date: date | None = None
    sex: str = "U"
    address: Address | None = None
    member_id: str = ""


@dataclass(frozen=True, slots=True)
class Party:
    """A provider or organisation: a name and an NPI."""

    last: str
    first: str = ""
    npi: str = ""
    organisation: bool = True


@dataclass(frozen=True, slots=True)
class Facility:
    """The service facility (``Claim.facility``, a Location): its name, address and NPI."""

    name: str
    address: Address
    npi: str = ""


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One claim diagnosis: dotless ICD-10-CM code, role and POA indicator."""

    code: str
    role: str  # principal, admitting, secondary
    poa: str = ""


@dataclass(frozen=True, slots=True)
class PcsProcedure:
    """An ICD-10-PCS procedure of an inpatient claim, with its date."""

    code: str
    performed: date | None


@dataclass(frozen=True, slots=True)
class Line:
    """One service line."""

    sequence: int
    code: str  # "" on a revenue-only 837I line (room and board, an ancillary)
    qualifier: str  # HC (CPT/HCPCS), "" without a code
    modifiers: tuple[str, ...]
    units: Decimal
    charge: Decimal
    pointers: tuple[int, ...]
    serviced: date | None
    place: str = ""
    revenue: str = ""


@dataclass(frozen=True, slots=True)
class LinePayment:
    """What an earlier payer did with one of our lines (2430): paid, adjusted, on its code."""

    line: int  # our line's position on the claim (1-based), the 2400 it belongs under
    procedure: str  # the code as the payer adjudicated it (HC:99213:25 -> "99213:25")
    paid: Decimal
    adjustments: tuple[Adjustment, ...] = ()


@dataclass(frozen=True, slots=True)
class PriorPayment:
    """An earlier payer's adjudication of this claim (from its remittance): 2320 and 2430."""

    paid: Decimal  # AMT*D
    adjudicated: date  # DTP*573: the day the remittance was recorded
    adjustments: tuple[Adjustment, ...] = ()  # claim-level CAS
    lines: tuple[LinePayment, ...] = ()


@dataclass(frozen=True, slots=True)
class OtherPayer:
    """Another payer of the claim (2320/2330A/2330B): its order, subscriber and payer."""

    responsibility: str  # SBR01: P primary, S secondary, T tertiary (Claim.insurance order)
    relationship: str  # SBR02: the patient's relationship to this coverage's subscriber
    subscriber: Person
    payer_name: str
    payer_id: str
    filing_indicator: str
    payment: PriorPayment | None = None  # a payer before the one billed: what it did


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """Everything one 837 claim (2000B to 2400) says, checked."""

    claim_id: str
    pcn: str  # CLM01; a void's ends in V, so the void and the claim it voids never share one
    kind: Kind
    frequency: Frequency
    payer_claim_number: str
    start: date
    end: date
    admitted_at: datetime | None
    patient: Person
    subscriber: Person
    relationship: str  # X12 individual relationship of the patient to the subscriber
    payer_name: str
    payer_id: str
    filing_indicator: str
    provider: Party  # the Claim's provider (the service facility when it is not the biller)
    attending: Party | None
    place_of_service: str
    diagnoses: tuple[Diagnosis, ...]
    procedures: tuple[PcsProcedure, ...]
    lines: tuple[Line, ...]
    drg: str = ""
    admission_type: str = ""
    point_of_origin: str = ""
    discharge_status: str = ""
    corrects: str = ""  # the Claim a replacement or void corrects ("" for an original)
    encounter: str = ""  # ``Encounter/id`` the lines name (R4's only Claim-to-encounter link)
    facility: Facility | None = None  # ``Claim.facility``: where the service was rendered
    notes: tuple[str, ...] = field(default=())
    responsibility: str = "P"  # SBR01: the payer billed is the primary (P), secondary (S)...
    others: tuple[OtherPayer, ...] = ()  # the claim's other coverages, in Claim.insurance order

    @property
    def total(self) -> Decimal:
        """CLM02: the sum of the line charges."""
        return sum((line.charge for line in self.lines), Decimal(0))

    @property
    def submission_key(self) -> str:
        """The ledger's key of this submission: the Claim id, ``#void`` added for a void.

        A claim to a later payer (secondary, tertiary) is a submission of its own:
        ``#S`` or ``#T`` added (:func:`payer_key`).
        """
        key = payer_key(self.claim_id, self.responsibility)
        return f"{key}#void" if self.frequency == "8" else key

    @property
    def self_insured(self) -> bool:
        """Whether the patient is the subscriber (no 2000C patient loop)."""
        return self.relationship == "18"


def payer_key(claim_id: str, responsibility: str) -> str:
    """The submission key of ``claim_id`` sent to the payer of ``responsibility`` (SBR01)."""
    return claim_id if responsibility == "P" else f"{claim_id}#{responsibility}"


def patient_control_number(claim_id: str) -> str:
    """CLM01 for ``claim_id``: at most 20 characters, letters and digits, stable.

    Our ids (``fc-`` + 40 hex, ``-r1`` for a replacement) are longer than the 20
    characters Medicare's FISS keeps of CLM01, so the number is the first 17 hex digits
    and ``R<revision>``; another system's id is hashed the same way. The ledger keeps
    the number beside the Claim id, which is how an 835's CLP01 finds its Claim.
    """
    base, _, revision = claim_id.partition("-r")
    digits = base[3:] if base.startswith("fc-") and len(base) == 43 else ""
    if not digits:
        digits = hashlib.sha256(base.encode()).hexdigest()
    number = digits[:_PCN_LENGTH].upper()
    return f"{number}R{revision}" if revision.isdigit() else number


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _codings(concept: object) -> list[dict[str, Any]]:
    return [c for c in _list(_dict(concept).get("coding")) if isinstance(c, dict)]


def _code_in(concept: object, *systems: str) -> str:
    for coding in _codings(concept):
        code = coding.get("code")
        if (isinstance(code, str) and code.strip()) and (
            not systems or canonical_system(str(coding.get("system") or "")) in systems
        ):
            return code.strip()
    return ""


def _reference(value: object) -> str:
    ref = _dict(value).get("reference")
    return ref if isinstance(ref, str) else ""


def _npi_of(value: object) -> str:
    identifiers = _dict(value).get("identifier")
    for identifier in [identifiers] if isinstance(identifiers, dict) else _list(identifiers):
        entry = _dict(identifier)
        if entry.get("system") == NPI_SYSTEM and isinstance(entry.get("value"), str):
            return str(entry["value"])
    return ""


def _money(value: object) -> Decimal | None:
    amount = _dict(value).get("value")
    if isinstance(amount, bool) or not isinstance(amount, int | float | str):
        return None
    try:
        return Decimal(str(amount)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


_DELIMITERS: Final = str.maketrans("", "", "*:~^\r\n")


def x12_text(text: str) -> str:
    """``text`` in X12's character set: accents folded (José -> Jose), delimiters dropped.

    The 837 carries ASCII only, and our delimiters (``*``, ``:``, ``~``, ``^``) may not
    appear inside an element.
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(folded.translate(_DELIMITERS).split())


def _name(resource: Mapping[str, Any]) -> tuple[str, str]:
    """(last, first) of a Patient or Practitioner: the official name, else the first."""
    names = [n for n in _list(resource.get("name")) if isinstance(n, dict)]
    chosen = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    last = str(chosen.get("family") or "")
    given = [g for g in _list(chosen.get("given")) if isinstance(g, str)]
    if not last and chosen.get("text"):
        last = str(chosen["text"])
    return x12_text(last)[:60], x12_text(given[0])[:35] if given else ""


def _address(resource: Mapping[str, Any]) -> Address | None:
    """The first US postal address N3/N4 can carry whole (state code, 5 or 9 digit ZIP)."""
    for raw in _list(resource.get("address")):
        entry = _dict(raw)
        lines = [x.strip() for x in _list(entry.get("line")) if isinstance(x, str) and x.strip()]
        city, state, postal = entry.get("city"), entry.get("state"), entry.get("postalCode")
        if not (lines and isinstance(city, str) and isinstance(state, str)):
            continue
        code = state_code(state)
        digits = postal.replace("-", "").strip() if isinstance(postal, str) else ""
        if code and len(city.strip()) >= 2 and digits.isdigit() and len(digits) in (5, 9):
            street = [x12_text(x)[:55] for x in lines[:2]]
            return Address(street[0], x12_text(city)[:30], code, digits, *street[1:])
    return None


def _person(resource: Mapping[str, Any], member_id: str = "") -> Person:
    last, first = _name(resource)
    return Person(
        last=last,
        first=first,
        birth_date=fhir_date(resource.get("birthDate")),
        sex=_SEX.get(str(resource.get("gender")), "U"),
        address=_address(resource),
        member_id=member_id,
    )


def _sopt_filing(code: str, kind: Kind) -> str | None:
    """SBR09 of a Source of Payment Typology code (digits), or None when it names none."""
    if code.startswith("1"):
        return "MA" if kind == "institutional" else "MB"
    if code.startswith("3"):
        return next(
            (
                filing
                for prefix, filing in _SOPT_OTHER_GOVERNMENT.items()
                if code.startswith(prefix)
            ),
            "OF",
        )
    return _SOPT_FILING.get(code[:1])


_FILING_WORDS: Final = (("medicaid", "MC"), ("blue cross", "BL"), ("blue shield", "BL"))


def filing_indicator(coverage: Mapping[str, Any], kind: Kind) -> str:
    """SBR09 from ``Coverage.type``: the Source of Payment Typology code, else its words.

    Medicare is MA (Part A) on an institutional claim and MB (Part B) on a professional
    one; a type we cannot place is ZZ (mutually defined) rather than a guess.
    """
    concept = coverage.get("type")
    for coding in _codings(concept):
        code = str(coding.get("code") or "")
        if code.isdigit() and (filing := _sopt_filing(code, kind)) is not None:
            return filing
    words = " ".join(
        [str(_dict(concept).get("text") or "")]
        + [str(c.get("display") or "") for c in _codings(concept)]
    ).lower()
    if "medicare" in words:
        return "MA" if kind == "institutional" else "MB"
    return next((filing for word, filing in _FILING_WORDS if word in words), "ZZ")


def _payer_id(payer: Mapping[str, Any]) -> str:
    """2010BB NM109: the payer's id as the Organization carries it (not its NPI)."""
    for raw in _list(payer.get("identifier")):
        entry = _dict(raw)
        value = entry.get("value")
        if isinstance(value, str) and value.strip() and entry.get("system") != NPI_SYSTEM:
            return value.strip()[:80]
    return ""


@dataclass(slots=True)
class _Reader:
    claim: dict[str, Any]
    resolve: Resolver
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    positions: dict[int, int] = field(default_factory=dict)  # diagnosis.sequence -> HI position

    def need(self, reference: str, what: str) -> dict[str, Any] | None:
        if not reference:
            self.reasons.append(f"no {what}")
            return None
        found = self.resolve(reference)
        if found is None:
            self.reasons.append(f"{what} {reference} cannot be read")
        return found


def _kind(claim: Mapping[str, Any]) -> Kind | None:
    code = _code_in(claim.get("type")).lower()
    if code in ("professional", "institutional"):
        return code  # type: ignore[return-value]
    return None


def _frequency(
    claim: Mapping[str, Any], submitted: Callable[[str], str | None]
) -> tuple[Frequency, str, str]:
    """(CLM05-3, the claim it corrects, that claim's payer number) of ``claim``.

    A cancelled Claim that was submitted is a void (8) of itself; a Claim whose
    ``related`` names a ``prior`` claim is its replacement (7); anything else an original.
    ``submitted`` gives a submitted Claim's payer claim control number ("" when the
    payer has not sent one yet, None when the Claim was never submitted).
    """
    claim_id = str(claim.get("id") or "")
    if claim.get("status") == "cancelled":
        return "8", claim_id, submitted(claim_id) or ""
    for related in _list(claim.get("related")):
        entry = _dict(related)
        if _code_in(entry.get("relationship")) != _RELATED_PRIOR:
            continue
        prior = _reference(entry.get("claim")).removeprefix("Claim/")
        number = str(_dict(entry.get("reference")).get("value") or "")
        return "7", prior, number or (submitted(prior) or "")
    return "1", "", ""


def _diagnoses(claim: Mapping[str, Any], reader: _Reader) -> tuple[Diagnosis, ...]:
    entries = sorted(
        (_dict(d) for d in _list(claim.get("diagnosis"))), key=lambda d: d.get("sequence") or 0
    )
    out: list[Diagnosis] = []
    for entry in entries:
        code = _code_in(entry.get("diagnosisCodeableConcept"), ICD10CM)
        if not code:
            reader.reasons.append(f"diagnosis {entry.get('sequence')} has no ICD-10-CM code")
            continue
        roles = {str(c.get("code")) for t in _list(entry.get("type")) for c in _codings(t)}
        role = "principal" if "principal" in roles else "secondary"
        if "admitting" in roles and "principal" not in roles:
            role = "admitting"
        poa = _code_in(entry.get("onAdmission"), POA_SYSTEM) or _code_in(entry.get("onAdmission"))
        out.append(Diagnosis(code.replace(".", "").upper(), role, poa.upper()))
        if isinstance(entry.get("sequence"), int):
            reader.positions[entry["sequence"]] = len(out)
    if not out:
        reader.reasons.append("no diagnosis")
    return tuple(out)


def _drg(claim: Mapping[str, Any]) -> str:
    for entry in _list(claim.get("diagnosis")):
        code = _code_in(_dict(entry).get("packageCode"), DRG_SYSTEM)
        if code:
            return code
    return ""


def _procedures(claim: Mapping[str, Any]) -> tuple[PcsProcedure, ...]:
    entries = sorted(
        (_dict(p) for p in _list(claim.get("procedure"))), key=lambda p: p.get("sequence") or 0
    )
    return tuple(
        PcsProcedure(code, fhir_date(entry.get("date")))
        for entry in entries
        if (code := _code_in(entry.get("procedureCodeableConcept"), ICD10PCS))
    )


def _supporting(claim: Mapping[str, Any], system: str) -> str:
    for entry in _list(claim.get("supportingInfo")):
        code = _code_in(_dict(entry).get("code"), system)
        if code:
            return code
    return ""


def _line(
    raw: dict[str, Any],
    index: int,
    reader: _Reader,
    price: Callable[[str, tuple[str, ...]], Decimal | None] | None,
    *,
    institutional: bool,
) -> Line | None:
    given = raw.get("sequence")
    sequence = given if isinstance(given, int) else index + 1
    code = _code_in(raw.get("productOrService"), CPT, HCPCS)
    revenue = _code_in(raw.get("revenue"), REVENUE_SYSTEM) or _code_in(raw.get("revenue"))
    if institutional and not revenue:
        reader.reasons.append(f"item {sequence} has no revenue code (837I SV201)")
        return None
    # an 837I line may carry its revenue code alone (room and board, an ancillary without
    # HCPCS: productOrService not-applicable); any other code must be CPT or HCPCS
    other = _code_in(raw.get("productOrService"))
    revenue_only = institutional and not code and (not other or _not_applicable(raw))
    if not code and not revenue_only:
        reader.reasons.append(f"item {sequence} has no CPT or HCPCS code")
        return None
    modifiers = tuple(c.upper() for m in _list(raw.get("modifier")) if (c := _code_in(m)))
    quantity = _dict(raw.get("quantity")).get("value", 1)
    try:
        units = Decimal(str(quantity))
    except InvalidOperation:
        units = Decimal(0)
    if units <= 0:
        reader.reasons.append(f"item {sequence} has no units")
        return None
    charge = _money(raw.get("net"))
    if charge is None and (unit := _money(raw.get("unitPrice"))) is not None:
        charge = (unit * units).quantize(Decimal("0.01"))
    if (
        charge is None
        and code
        and price is not None
        and (unit := price(code, modifiers)) is not None
    ):
        charge = (unit * units).quantize(Decimal("0.01"))
    if charge is None:
        reader.reasons.append(
            f"item {sequence} ({code or 'revenue ' + revenue}) has no charge:"
            " price it with a fee schedule"
        )
        return None
    # diagnosisSequence names Claim.diagnosis.sequence; the 837 points at HI positions
    named = [p for p in _list(raw.get("diagnosisSequence")) if type(p) is int]
    pointers = tuple(reader.positions.get(p, 0) for p in named)
    if not institutional and any(p == 0 for p in pointers):  # an 837I line has no pointer
        reader.reasons.append(f"item {sequence} points at a diagnosis the Claim does not have")
    if not institutional and any(p > 12 for p in pointers):
        reader.reasons.append(
            f"item {sequence} points at a diagnosis past the twelfth, which an 837P cannot carry"
        )
    serviced = fhir_date(raw.get("servicedDate")) or fhir_date(
        _dict(raw.get("servicedPeriod")).get("start")
    )
    return Line(
        sequence=sequence,
        code=code.upper(),
        qualifier="HC" if code else "",
        modifiers=modifiers[:4],
        units=units,
        charge=charge,
        pointers=pointers[:4],
        serviced=serviced,
        place=_code_in(raw.get("locationCodeableConcept"), POS_SYSTEM),
        revenue=revenue,
    )


def _not_applicable(raw: Mapping[str, Any]) -> bool:
    """Whether a line's ``productOrService`` says not-applicable (a revenue-only line)."""
    return any(c.get("system") == DATA_ABSENT_REASON for c in _codings(raw.get("productOrService")))


@dataclass(frozen=True, slots=True)
class _Insured:
    """Who is covered by whom, and the payer: what 2000B/2010BA/2010BB/2000C say."""

    patient: Person
    subscriber: Person
    relationship: str
    coverage: dict[str, Any]
    payer_name: str
    payer_id: str
    focal: dict[str, Any]


def _member_id(coverage: Mapping[str, Any]) -> str:
    member_id = str(coverage.get("subscriberId") or "")
    for raw in _list(coverage.get("identifier")):
        if not member_id and isinstance(_dict(raw).get("value"), str):
            member_id = str(_dict(raw)["value"])
    return member_id


_RESPONSIBILITY: Final = "PST"  # SBR01 by Claim.insurance order; beyond the third: U
_SEQUENCE_LAST: Final = 10**6
_ORDINAL: Final = {0: "primary", 1: "secondary"}


def _ordered_insurance(claim: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``Claim.insurance`` in its ``sequence`` order (the order of payment)."""
    insurance = [_dict(i) for i in _list(claim.get("insurance"))]
    return sorted(
        insurance,
        key=lambda i: i["sequence"] if type(i.get("sequence")) is int else _SEQUENCE_LAST,
    )


def _responsibility(position: int) -> str:
    return _RESPONSIBILITY[position] if position < len(_RESPONSIBILITY) else "U"


def _others(
    claim: Mapping[str, Any],
    focal: Mapping[str, Any],
    reader: _Reader,
    kind: Kind | None,
    paid_by: Callable[[str], PriorPayment | None],
) -> tuple[str, tuple[OtherPayer, ...]]:
    """SBR01 of the payer billed, and the claim's other payers (2320/2330A/2330B).

    Each Coverage the Claim names besides the one billed (``focal``) is another payer, in
    ``Claim.insurance`` order; the 837 must name its subscriber and payer ids, so one
    that cannot be read whole is a reason, not a loop left out. A payer before the one
    billed must have adjudicated the claim: its payment (``paid_by`` its submission key)
    goes with it, and a claim to the secondary before the primary's remittance is not
    ready.
    """
    ordered = _ordered_insurance(claim)
    position = next((n for n, entry in enumerate(ordered) if entry is focal), 0)
    others: list[OtherPayer] = []
    for number, entry in enumerate(ordered):
        if entry is focal:
            continue
        reference = _reference(entry.get("coverage"))
        coverage = reader.need(reference, "other coverage") or {}
        payer_reference = next(
            (_reference(p) for p in _list(coverage.get("payor")) if _reference(p)), ""
        )
        payer = reader.need(payer_reference, f"payer of {reference}") or {} if coverage else {}
        member_id = _member_id(coverage)
        if coverage and not member_id:
            reader.reasons.append(f"{reference} has no subscriber id (2330A NM109)")
        if payer and not _payer_id(payer):
            reader.reasons.append(f"payer {payer_reference} has no payer id (2330B NM109)")
        relationship = _RELATIONSHIP.get(_code_in(coverage.get("relationship")) or "self", "G8")
        subscriber_ref = _reference(coverage.get("subscriber"))
        if relationship == "18" or not subscriber_ref:
            subscriber_resource = reader.resolve(_reference(claim.get("patient"))) or {}
        else:
            subscriber_resource = reader.need(subscriber_ref, "other subscriber") or {}
        payment = None
        if number < position:
            payment = paid_by(payer_key(str(claim.get("id") or ""), _responsibility(number)))
            if payment is None:
                reader.reasons.append(
                    f"the {_ORDINAL.get(number, 'earlier')} payer ({reference}) has not"
                    " remitted this claim yet: a claim to a later payer carries its"
                    " adjudication (2320 AMT*D, 2430)"
                )
        others.append(
            OtherPayer(
                payment=payment,
                responsibility=_responsibility(number),
                relationship=relationship,
                subscriber=_person(subscriber_resource, member_id),
                payer_name=x12_text(str(payer.get("name") or ""))[:60],
                payer_id=_payer_id(payer),
                filing_indicator=filing_indicator(coverage, kind or "professional"),
            )
        )
    return _responsibility(position), tuple(others)


def _insured(claim: Mapping[str, Any], reader: _Reader) -> _Insured:
    patient_resource = reader.need(_reference(claim.get("patient")), "patient")
    insurance = _ordered_insurance(claim)
    focal = next(
        (i for i in insurance if i.get("focal") is True), insurance[0] if insurance else {}
    )
    coverage = reader.need(_reference(focal.get("coverage")), "coverage") or {}
    payer_reference = _reference(claim.get("insurer")) or next(
        (_reference(p) for p in _list(coverage.get("payor")) if _reference(p)), ""
    )
    payer = reader.need(payer_reference, "payer") or {}
    member_id = _member_id(coverage)
    if coverage and not member_id:
        reader.reasons.append("the coverage has no subscriber id (2010BA NM109)")
    relationship = _RELATIONSHIP.get(_code_in(coverage.get("relationship")) or "self", "G8")
    patient = _person(patient_resource or {})
    if relationship == "18":
        subscriber = replace(patient, member_id=member_id)
    else:
        subscriber_resource = reader.need(_reference(coverage.get("subscriber")), "subscriber")
        subscriber = _person(subscriber_resource or {}, member_id)
        if patient.address is None:
            reader.reasons.append("the patient (not the subscriber) has no address (2010CA N3/N4)")
    if patient_resource is not None and not patient.last:
        reader.reasons.append("the patient has no family name")
    if patient_resource is not None and patient.birth_date is None:
        reader.reasons.append("the patient has no birth date")
    payer_name = x12_text(
        str(payer.get("name") or _dict(claim.get("insurer")).get("display") or "")
    )
    payer_id = _payer_id(payer)
    if payer and not payer_id:
        reader.reasons.append(f"payer {payer_reference} has no payer id (Organization.identifier)")
    if payer and not payer_name:
        reader.reasons.append(f"payer {payer_reference} has no name")
    return _Insured(patient, subscriber, relationship, coverage, payer_name, payer_id, focal)


def _attending(claim: Mapping[str, Any], resolve: Resolver) -> Party | None:
    """The first care team member with a name and an NPI (the attending or rendering provider)."""
    care_team = sorted(
        (_dict(c) for c in _list(claim.get("careTeam"))), key=lambda c: c.get("sequence") or 0
    )
    if not care_team:
        return None
    member = _dict(care_team[0].get("provider"))
    reference = _reference(member)
    practitioner = resolve(reference) if reference.startswith("Practitioner/") else None
    last, first = _name(practitioner) if practitioner else ("", "")
    if not last:
        last, first = _split_display(x12_text(str(member.get("display") or "")))
    npi = _npi_of(member) or (_npi_of(practitioner) if practitioner else "")
    return Party(last=last, first=first, npi=npi, organisation=False) if last and npi else None


def _period(claim: Mapping[str, Any], reader: _Reader) -> tuple[date, date, datetime | None]:
    period = _dict(claim.get("billablePeriod"))
    start, end = fhir_date(period.get("start")), fhir_date(period.get("end"))
    start, end = start or end, end or start
    raw = period.get("start")
    admitted = None
    if isinstance(raw, str) and "T" in raw:
        with contextlib.suppress(ValueError):
            admitted = datetime.fromisoformat(raw)
    if start is None or end is None:
        reader.reasons.append("no billablePeriod")
        return date.min, date.min, None
    return start, end, admitted


def _lines(
    claim: Mapping[str, Any],
    reader: _Reader,
    price: Callable[[str, tuple[str, ...]], Decimal | None] | None,
    *,
    institutional: bool,
) -> list[Line]:
    items = _list(claim.get("item"))
    if not items:
        reader.reasons.append("no service line (an 837 claim needs at least one)")
    lines = [
        line
        for index, raw in enumerate(items)
        if isinstance(raw, dict)
        and (line := _line(raw, index, reader, price, institutional=institutional)) is not None
    ]
    total = _money(claim.get("total"))
    line_total = sum((line.charge for line in lines), Decimal(0))
    if total is not None and lines and len(lines) == len(items) and total != line_total:
        reader.reasons.append(f"total {total} is not the sum of the lines ({line_total})")
    return lines


def _status_and_frequency(
    claim: Mapping[str, Any], reader: _Reader, submitted: Callable[[str], str | None]
) -> tuple[Frequency, str, str]:
    status = claim.get("status")
    if status not in ("active", "cancelled"):
        reader.reasons.append(f"status is {status!r} (only active Claims are sent)")
    frequency, corrects, payer_number = _frequency(claim, submitted)
    if frequency in ("7", "8") and not payer_number:
        reader.reasons.append(
            "a replacement or void needs the payer's claim control number (REF*F8),"
            " and no remittance or acknowledgment has given one yet"
        )
    return frequency, corrects, payer_number


def claim_facts(
    claim: dict[str, Any],
    resolve: Resolver,
    *,
    submitted: Callable[[str], str | None] = lambda _claim_id: None,
    price: Callable[[str, tuple[str, ...]], Decimal | None] | None = None,
    paid_by: Callable[[str], PriorPayment | None] = lambda _key: None,
) -> ClaimFacts:
    """The 837 facts of ``claim``; :class:`NotReady` with every reason when it cannot be sent.

    ``resolve`` finds the Patient, Coverage, payer Organization and subscriber the Claim
    names; ``submitted`` gives a submitted Claim's payer claim control number (for the
    REF*F8 of a replacement or void); ``price`` gives a unit charge for a line the Claim
    left unpriced (the organisation's fee schedule); ``paid_by`` an earlier payer's
    adjudication by its submission key (:func:`payer_key`), for a claim to a later payer.
    """
    claim_id = str(claim.get("id") or "")
    reader = _Reader(claim, resolve)
    kind = _kind(claim)
    if kind is None:
        reader.reasons.append("type is neither professional nor institutional")
    frequency, corrects, payer_number = _status_and_frequency(claim, reader, submitted)
    start, end, admitted = _period(claim, reader)
    insured = _insured(claim, reader)
    responsibility, others = _others(claim, insured.focal, reader, kind, paid_by)
    provider_raw = _dict(claim.get("provider"))
    attending = _attending(claim, resolve)
    institutional = kind == "institutional"
    diagnoses = _diagnoses(claim, reader)
    if kind == "professional" and len(diagnoses) > 12:
        reader.notes.append(f"{len(diagnoses) - 12} diagnoses past the twelfth left out (837P)")
    lines = _lines(claim, reader, price, institutional=institutional)
    place = next((line.place for line in lines if line.place), "")
    if kind == "professional" and not place:
        reader.reasons.append("no place of service on any line")
    discharge = _supporting(claim, DISCHARGE_STATUS_SYSTEM)
    admission_type = _supporting(claim, ADMISSION_TYPE_SYSTEM)
    if institutional:
        for missing, reason in (
            (not discharge, "no discharge status (837I CL103)"),
            (not admission_type, "no admission type (837I CL101)"),
            (attending is None, "no attending provider with an NPI (837I 2310A)"),
        ):
            if missing:
                reader.reasons.append(reason)
    if reader.reasons or kind is None:
        raise NotReady(claim_id, reader.reasons)
    return ClaimFacts(
        claim_id=claim_id,
        # a later payer's claim has a number of its own, so its 835 finds that submission
        pcn=patient_control_number(claim_id)
        + ("" if responsibility == "P" else responsibility)
        + ("V" if frequency == "8" else ""),
        kind=kind,
        frequency=frequency,
        payer_claim_number=payer_number,
        start=start,
        end=end,
        admitted_at=admitted,
        patient=insured.patient,
        subscriber=insured.subscriber,
        relationship=insured.relationship,
        payer_name=insured.payer_name,
        payer_id=insured.payer_id,
        filing_indicator=filing_indicator(insured.coverage, kind),
        provider=Party(last=str(provider_raw.get("display") or ""), npi=_npi_of(provider_raw)),
        attending=attending,
        place_of_service=place,
        diagnoses=diagnoses,
        procedures=_procedures(claim),
        lines=tuple(lines),
        drg=_drg(claim),
        admission_type=admission_type,
        point_of_origin=_point_of_origin(claim),
        discharge_status=discharge,
        corrects=corrects,
        encounter=_encounter_of(claim),
        facility=_facility(claim, reader),
        notes=tuple(reader.notes),
        responsibility=responsibility,
        others=others,
    )


def _facility(claim: Mapping[str, Any], reader: _Reader) -> Facility | None:
    """``Claim.facility`` as 2310C (837P) / 2310E (837I) carry it: a Location with an address.

    A facility the Claim names but whose address cannot be read is left out with a note
    (the billing provider's address then stands for it, as the guides allow).
    """
    reference = _reference(claim.get("facility"))
    if not reference:
        return None
    location = reader.resolve(reference)
    address = _address({"address": [location.get("address")]}) if location else None
    if location is None or address is None:
        reader.notes.append(f"facility {reference} has no address N4 can carry: left out")
        return None
    name = x12_text(str(location.get("name") or _dict(claim.get("facility")).get("display") or ""))
    return Facility(name[:60] or "SERVICE FACILITY", address, _npi_of(location))


def _encounter_of(claim: Mapping[str, Any]) -> str:
    for item in _list(claim.get("item")):
        for ref in _list(_dict(item).get("encounter")):
            if reference := _reference(ref):
                return reference
    return ""


def _point_of_origin(claim: Mapping[str, Any]) -> str:
    for entry in _list(claim.get("supportingInfo")):
        for coding in _codings(_dict(entry).get("code")):
            if "PointOfOrigin" in str(coding.get("system") or ""):
                return str(coding.get("code") or "")
    return ""


def _split_display(display: str) -> tuple[str, str]:
    """(last, first) of a display such as "Riley Nakamura, MD"."""
    name = display.split(",", 1)[0].strip()
    parts = name.split()
    if len(parts) >= 2:
        return parts[-1], parts[0]
    return name, ""
