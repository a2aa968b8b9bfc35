"""A payer for the sandbox: Claims adjudicated by configurable rules, answered as FHIR or X12.

It plays the far end of the revenue loop in tests and demos: it takes a FHIR Claim
(``Claim/$submit``, answered with a ClaimResponse it also stores) or an 837 interchange
(``$submit-x12``, answered with the 835), and pays or denies each line by its rules:

- a required element missing (patient, coverage, a diagnosis, a line's code or charge):
  every line CO-16;
- the coverage not in force on the date of service: every line CO-27;
- an NCCI pair billed on the same day without a bypass modifier: the column-2 line CO-97;
- a procedure whose pointed diagnoses include none that supports it: the line CO-11;
- the rest paid at the fee schedule (or a share of the charge), the difference CO-45;
- a replacement or void (837 frequency 7 or 8) whose REF*F8 is not a claim number this
  payer gave: every line CO-129 (prior processing information incorrect).

The payer's claim control number of a claim is one stable number of the claim as the
provider numbers it (its patient control number, CLM01; a FHIR Claim's id), the same on
the 835 (CLP07) and on the ClaimResponse (``identifier``) whichever way the answer goes:
it is what a replacement quotes, so it cannot depend on the channel.

Rules come from a JSON file (:meth:`PayerRules.from_file`); codes only, never a CARC's
description. Like the rest of the sandbox it imports only the core's outcome, error and
system helpers; the 835 is built with x12sdk's 835 builder.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

import orjson

from fhir_coder.errors import ConfigurationError
from fhir_coder.systems import (
    CARC,
    CPT,
    HCPCS,
    ICD10CM,
    X12_GROUP,
    X12_PATIENT_CONTROL_NUMBER,
    canonical_system,
)

__all__ = [
    "PAYER_CLAIM_SYSTEM",
    "ClaimIn",
    "ClaimOut",
    "LineIn",
    "LineOut",
    "PayerRules",
    "adjudicate",
    "claim_response",
    "payer_claim_number",
]

PAYER_CLAIM_SYSTEM: Final = "urn:fhir-coder:sandbox:payer-claim"
"""The system of the payer's claim control numbers on its ClaimResponses."""
_CENT: Final = Decimal("0.01")
_BYPASS: Final = frozenset({"59", "XE", "XP", "XS", "XU"})


@dataclass(frozen=True, slots=True)
class PayerRules:
    """How the sandbox payer adjudicates (see the module docstring)."""

    name: str = "SANDBOX HEALTH PLAN"
    payer_id: str = "SBX01"
    fee_schedule: Mapping[str, Decimal] = field(default_factory=dict)  # allowed per unit
    default_rate: Decimal = Decimal("0.80")  # share of the charge allowed off the schedule
    supports: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # code -> dx prefixes
    ncci_pairs: tuple[tuple[str, str], ...] = ()  # (column 1, column 2)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PayerRules:
        """Rules from their JSON form (``fee_schedule``, ``supports``, ``ncci_pairs``...)."""
        try:
            return cls(
                name=str(data.get("name", "SANDBOX HEALTH PLAN")),
                payer_id=str(data.get("payer_id", "SBX01")),
                fee_schedule={
                    str(code): Decimal(str(price))
                    for code, price in dict(data.get("fee_schedule", {})).items()
                },
                default_rate=Decimal(str(data.get("default_rate", "0.80"))),
                supports={
                    str(code): tuple(p.replace(".", "").upper() for p in prefixes)
                    for code, prefixes in dict(data.get("supports", {})).items()
                },
                ncci_pairs=tuple((str(a), str(b)) for a, b in data.get("ncci_pairs", [])),
            )
        except (TypeError, ValueError, InvalidOperation) as exc:
            raise ConfigurationError(f"bad payer rules: {exc}") from exc

    @classmethod
    def from_file(cls, path: Path) -> PayerRules:
        """Rules from a JSON file; a clear error when it cannot be read."""
        try:
            data = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise ConfigurationError(f"cannot read the payer rules {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigurationError(f"the payer rules {path} are not a JSON object")
        return cls.from_json(data)


@dataclass(frozen=True, slots=True)
class LineIn:
    """One billed line as the payer reads it."""

    number: int
    code: str
    modifiers: tuple[str, ...]
    units: Decimal
    charge: Decimal | None
    diagnoses: tuple[str, ...]  # the dotless ICD-10-CM codes the line points at
    served: date | None


@dataclass(frozen=True, slots=True)
class ClaimIn:
    """One billed claim: its key (CLM01, or the Claim's id), lines, coverage, what is missing."""

    key: str
    lines: tuple[LineIn, ...]
    coverage_in_force: bool | None  # None: the payer could not find the coverage
    missing: tuple[str, ...] = ()
    request: str = ""  # ``Claim/id`` of a FHIR Claim
    patient: str = ""  # ``Patient/id`` of a FHIR Claim
    kind: str = "professional"
    frequency: str = "1"  # 1 original, 7 replacement, 8 void (CLM05-3)
    corrects: str = ""  # the payer's claim number a replacement or void names (REF*F8)


@dataclass(frozen=True, slots=True)
class LineOut:
    """One adjudicated line: paid, and each adjustment (group, CARC, amount)."""

    line: LineIn
    paid: Decimal
    adjustments: tuple[tuple[str, str, Decimal], ...]

    @property
    def charge(self) -> Decimal:
        """The charge billed (0 when the line had none)."""
        return self.line.charge or Decimal(0)


@dataclass(frozen=True, slots=True)
class ClaimOut:
    """One adjudicated claim."""

    claim: ClaimIn
    lines: tuple[LineOut, ...]
    number: str  # the payer's claim control number

    @property
    def denied(self) -> bool:
        """Whether nothing was paid on any line."""
        return all(line.paid == 0 for line in self.lines)

    @property
    def charge(self) -> Decimal:
        """The claim's total charge."""
        return sum((line.charge for line in self.lines), Decimal(0))

    @property
    def paid(self) -> Decimal:
        """What the payer pays."""
        return sum((line.paid for line in self.lines), Decimal(0))


def payer_claim_number(key: str) -> str:
    """A stable claim control number for ``key`` (the same claim always gets the same)."""
    return "SBX" + hashlib.sha256(key.encode()).hexdigest()[:12].upper()


def _deny(line: LineIn, carc: str) -> LineOut:
    return LineOut(line, Decimal(0), (("CO", carc, line.charge or Decimal(0)),))


def _bundled(line: LineIn, claim: ClaimIn, rules: PayerRules) -> bool:
    if _BYPASS & set(line.modifiers):
        return False
    billed = {(other.code, other.served) for other in claim.lines if other is not line}
    return any(
        second == line.code and (first, line.served) in billed for first, second in rules.ncci_pairs
    )


def _supported(line: LineIn, rules: PayerRules) -> bool:
    prefixes = rules.supports.get(line.code)
    if prefixes is None:
        return True
    return any(dx.startswith(prefixes) for dx in line.diagnoses)


def adjudicate(
    claim: ClaimIn, rules: PayerRules, *, issued: Callable[[str], bool] = lambda _number: True
) -> ClaimOut:
    """Adjudicate ``claim`` line by line under ``rules``.

    ``issued`` says whether a claim number is one this payer gave (a replacement or void
    must name one); by default every number is taken on trust.
    """
    out: list[LineOut] = []
    unknown_prior = claim.frequency in ("7", "8") and not (
        claim.corrects and issued(claim.corrects)
    )
    for line in claim.lines:
        if unknown_prior:
            out.append(_deny(line, "129"))
        elif claim.missing or line.charge is None:
            out.append(_deny(line, "16"))
        elif claim.coverage_in_force is False:
            out.append(_deny(line, "27"))
        elif _bundled(line, claim, rules):
            out.append(_deny(line, "97"))
        elif not _supported(line, rules):
            out.append(_deny(line, "11"))
        else:
            unit = rules.fee_schedule.get(line.code)
            allowed = (unit * line.units) if unit is not None else line.charge * rules.default_rate
            allowed = min(allowed.quantize(_CENT, rounding=ROUND_HALF_UP), line.charge)
            reduction = line.charge - allowed
            adjustments = (("CO", "45", reduction),) if reduction > 0 else ()
            out.append(LineOut(line, allowed, adjustments))
    return ClaimOut(claim, tuple(out), payer_claim_number(claim.key))


# FHIR Claims in, ClaimResponses out ------------------------------------------------------


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _code(concept: object, *systems: str) -> str:
    for coding in _list(_dict(concept).get("coding")):
        entry = _dict(coding)
        if entry.get("code") and (
            not systems or canonical_system(str(entry.get("system") or "")) in systems
        ):
            return str(entry["code"])
    return ""


def _money(value: object) -> Decimal | None:
    amount = _dict(value).get("value")
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        return None
    return Decimal(str(amount)).quantize(_CENT)


def _day(value: object) -> date | None:
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def coverage_in_force(coverage: Mapping[str, Any] | None, on: date | None) -> bool | None:
    """Whether ``coverage`` pays for a service ``on``; None when there is no coverage to read."""
    if coverage is None:
        return None
    if coverage.get("status") != "active":
        return False
    period = _dict(coverage.get("period"))
    start, end = _day(period.get("start")), _day(period.get("end"))
    if on is None:
        return True
    return (start is None or start <= on) and (end is None or on <= end)


def claim_from_fhir(claim: Mapping[str, Any], coverage: Mapping[str, Any] | None) -> ClaimIn:
    """A FHIR Claim as the payer reads it; ``coverage`` is its focal Coverage, if found."""
    missing = [
        name
        for name, present in (
            ("patient", bool(_dict(claim.get("patient")).get("reference"))),
            ("insurance", bool(_list(claim.get("insurance")))),
            ("diagnosis", bool(_list(claim.get("diagnosis")))),
            ("item", bool(_list(claim.get("item")))),
        )
        if not present
    ]
    diagnoses = {
        _dict(d).get("sequence"): _code(_dict(d).get("diagnosisCodeableConcept"), ICD10CM)
        .replace(".", "")
        .upper()
        for d in _list(claim.get("diagnosis"))
    }
    lines: list[LineIn] = []
    for index, raw in enumerate(_list(claim.get("item")), start=1):
        item = _dict(raw)
        code = _code(item.get("productOrService"), CPT, HCPCS)
        if not code:
            missing.append(f"item[{index - 1}].productOrService")
        units = _dict(item.get("quantity")).get("value", 1)
        charge = _money(item.get("net"))
        lines.append(
            LineIn(
                number=int(item.get("sequence") or index),
                code=code,
                modifiers=tuple(_code(m) for m in _list(item.get("modifier")) if _code(m)),
                units=Decimal(str(units)) if isinstance(units, int | float) else Decimal(1),
                charge=charge,
                diagnoses=tuple(
                    diagnoses[p] for p in _list(item.get("diagnosisSequence")) if diagnoses.get(p)
                ),
                served=_day(item.get("servicedDate")),
            )
        )
    on = _day(_dict(claim.get("billablePeriod")).get("start"))
    return ClaimIn(
        key=str(claim.get("id") or ""),
        lines=tuple(lines),
        coverage_in_force=coverage_in_force(coverage, on),
        missing=tuple(missing),
        request=f"Claim/{claim.get('id')}",
        patient=str(_dict(claim.get("patient")).get("reference") or ""),
        kind=_code(claim.get("type")) or "professional",
    )


def _amount(value: Decimal) -> dict[str, Any]:
    return {"value": float(value), "currency": "USD"}


def _category(code: str) -> dict[str, Any]:
    system = "http://terminology.hl7.org/CodeSystem/adjudication"
    return {"coding": [{"system": system, "code": code}]}


def claim_response(result: ClaimOut, rules: PayerRules, *, created: str) -> dict[str, Any]:
    """The ClaimResponse of ``result``: per item, submitted, benefit and each adjustment."""
    items = []
    for line in result.lines:
        adjudication: list[dict[str, Any]] = [
            {"category": _category("submitted"), "amount": _amount(line.charge)},
            {"category": _category("benefit"), "amount": _amount(line.paid)},
        ]
        adjudication += [
            {
                "category": {"coding": [{"system": X12_GROUP, "code": group}]},
                "reason": {"coding": [{"system": CARC, "code": carc}]},
                "amount": _amount(amount),
            }
            for group, carc, amount in line.adjustments
        ]
        items.append({"itemSequence": line.line.number, "adjudication": adjudication})
    return {
        "resourceType": "ClaimResponse",
        "status": "active",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/claim-type",
                    "code": result.claim.kind,
                }
            ]
        },
        "use": "claim",
        "patient": {"reference": result.claim.patient}
        if result.claim.patient
        else {"display": "unknown"},
        "created": created,
        "insurer": {"display": rules.name, "identifier": {"value": rules.payer_id}},
        "request": {"reference": result.claim.request}
        if result.claim.request
        else {"identifier": {"system": X12_PATIENT_CONTROL_NUMBER, "value": result.claim.key}},
        "identifier": [{"system": PAYER_CLAIM_SYSTEM, "value": result.number}],
        "outcome": "complete",
        "disposition": "denied" if result.denied else "processed",
        "item": items,
        "total": [
            {"category": _category("submitted"), "amount": _amount(result.charge)},
            {"category": _category("benefit"), "amount": _amount(result.paid)},
        ],
        "payment": {
            "type": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/ex-paymenttype",
                        "code": "complete",
                    }
                ]
            },
            "amount": _amount(result.paid),
        },
    }
