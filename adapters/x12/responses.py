"""FHIR ClaimResponses and ExplanationOfBenefits, read into the same remittance values as 835s.

A payer that answers in FHIR (the Da Vinci and CARIN way, and the sandbox's payer) says
per item what was submitted, allowed and paid (``adjudication.category``) and why the
rest was not (``adjudication.reason`` in the X12 CARC system; RARCs in theirs). The group
code travels in the category (the X12 group code system) where the payer states it;
deductible, copay and coinsurance are the patient's (PR); any other reason is the
payer's (CO). A ClaimResponse whose ``outcome`` is ``error`` was never adjudicated: it is
a rejection, recorded like a 277CA's, never as a denial. A response about a claim that went
as an 837 names it by the patient control number (``request.identifier``) rather than by
a reference to our Claim, and is matched by that number as an 835's CLP01 is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

import orjson

from adapters.fhir.client import FhirClient
from adapters.x12.acknowledgments import Acknowledgment
from adapters.x12.intake import IntakeReport, record_acknowledgment_list, record_remittances
from adapters.x12.ledger import SubmissionLedger
from adapters.x12.sources import claims_from_ndjson
from fhir_coder.remittance import Adjustment, Remittance, RemittanceClaim, RemittanceLine
from fhir_coder.systems import CARC, RARC, X12_GROUP, X12_PATIENT_CONTROL_NUMBER

__all__ = [
    "CARC_SYSTEM",
    "GROUP_SYSTEM",
    "RARC_SYSTEM",
    "record_responses",
    "remittance_claim",
    "responses_from_ndjson",
    "responses_from_server",
]

CARC_SYSTEM: Final = CARC
RARC_SYSTEM: Final = RARC
GROUP_SYSTEM: Final = X12_GROUP
_PATIENT_SHARE: Final = frozenset({"deductible", "copay", "coinsurance"})
_KINDS: Final = ("ClaimResponse", "ExplanationOfBenefit")


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _codes(concept: object, system: str | None = None) -> list[str]:
    return [
        str(c["code"])
        for c in _list(_dict(concept).get("coding"))
        if isinstance(c, dict) and c.get("code") and (system is None or c.get("system") == system)
    ]


def _amount(value: object) -> Decimal:
    raw = _dict(value).get("value")
    try:
        return Decimal(str(raw)) if isinstance(raw, int | float | str) else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _line(item: dict[str, Any], number: int) -> RemittanceLine:
    charge = paid = Decimal(0)
    adjustments: list[Adjustment] = []
    remarks: list[str] = []
    for entry in (_dict(a) for a in _list(item.get("adjudication"))):
        categories = _codes(entry.get("category"))
        amount = _amount(entry.get("amount"))
        if "submitted" in categories:
            charge = amount
        elif "benefit" in categories:
            paid = amount
        remarks += _codes(entry.get("reason"), RARC_SYSTEM)
        for reason in _codes(entry.get("reason"), CARC_SYSTEM):
            group = next(iter(_codes(entry.get("category"), GROUP_SYSTEM)), "")
            if not group:
                group = "PR" if _PATIENT_SHARE & set(categories) else "CO"
            adjustments.append(Adjustment(group, reason, amount))
    product = _codes(item.get("productOrService"))
    sequence = item.get("itemSequence", item.get("sequence", number))
    return RemittanceLine(
        number=sequence if isinstance(sequence, int) else number,
        procedure=product[0] if product else "",
        modifiers=tuple(
            _codes(
                {
                    "coding": [
                        c
                        for m in _list(item.get("modifier"))
                        for c in _list(_dict(m).get("coding"))
                    ]
                }
            )
        ),
        charge=charge,
        paid=paid,
        adjustments=tuple(adjustments),
        remarks=tuple(remarks),
    )


def remittance_claim(resource: dict[str, Any], index: int = 0) -> RemittanceClaim:
    """The remittance values of a ClaimResponse or an ExplanationOfBenefit."""
    key = "request" if resource.get("resourceType") == "ClaimResponse" else "claim"
    claim_reference = str(_dict(resource.get(key)).get("reference") or "")
    named = _dict(_dict(resource.get(key)).get("identifier"))
    pcn = str(named.get("value") or "") if named.get("system") == X12_PATIENT_CONTROL_NUMBER else ""
    lines = tuple(
        _line(_dict(item), number) for number, item in enumerate(_list(resource.get("item")), 1)
    )
    totals = {
        code: _amount(_dict(total).get("amount"))
        for total in _list(resource.get("total"))
        for code in _codes(_dict(total).get("category"))
    }
    paid = (
        _amount(_dict(resource.get("payment")).get("amount"))
        if resource.get("payment")
        else (totals.get("benefit", sum((line.paid for line in lines), Decimal(0))))
    )
    identifiers = [_dict(i).get("value") for i in _list(resource.get("identifier"))]
    number = next((str(v) for v in identifiers if isinstance(v, str) and v), "")
    denied = (
        lines
        and all(line.paid == 0 for line in lines)
        and any(a.is_denial for line in lines for a in line.adjustments)
    )
    return RemittanceClaim(
        pcn=pcn,
        status_code="4" if denied else "1",
        charge=totals.get("submitted", sum((line.charge for line in lines), Decimal(0))),
        paid=paid,
        patient_responsibility=sum(
            (a.amount for line in lines for a in line.adjustments if a.group == "PR"), Decimal(0)
        ),
        payer_claim_number=number,
        lines=lines,
        claim_reference=claim_reference,
        source_index=index,
    )


def responses_from_ndjson(folder: Path) -> list[dict[str, Any]]:
    """Every ClaimResponse and ExplanationOfBenefit in ``folder``'s NDJSON files."""
    source = claims_from_ndjson(folder)
    return [r for r in source.resources.values() if r.get("resourceType") in _KINDS]


async def responses_from_server(fhir: FhirClient) -> list[dict[str, Any]]:
    """Every ClaimResponse and ExplanationOfBenefit on ``fhir`` about a Claim."""
    found: list[dict[str, Any]] = []
    for kind in _KINDS:
        found += await fhir.search_all(kind, {"_count": "200"})
    return found


def record_responses(
    resources: Iterable[dict[str, Any]], ledger: SubmissionLedger, *, label: str
) -> IntakeReport:
    """Record each response (its own transaction, once: its content is its key)."""
    total = IntakeReport(source=label, kind="ClaimResponse")
    for index, resource in enumerate(resources, start=1):
        digest = hashlib.sha256(orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)).hexdigest()
        name = f"{label} {resource.get('resourceType')}/{resource.get('id')}"
        one = IntakeReport(source=name, kind=total.kind)
        claim = remittance_claim(resource, index)
        if resource.get("outcome") == "error":
            errors = [
                code for e in _list(resource.get("error")) for code in _codes(_dict(e).get("code"))
            ]
            ack = Acknowledgment(
                "ClaimResponse",
                accepted=False,
                pcn=claim.pcn,
                codes=tuple(errors),
                payer_claim_number=claim.payer_claim_number,
            )
            record_acknowledgment_list(
                [(ack, claim.claim_reference.removeprefix("Claim/"))],
                ledger,
                one,
                digest,
            )
        else:
            record_remittances([Remittance("", (claim,))], ledger, one, digest)
        total.claims_matched += one.claims_matched
        total.lines_recorded += one.lines_recorded
        total.unknown_claims += one.unknown_claims
        total.repeated += one.repeated
        total.statuses.update(one.statuses)
        total.denials.update(one.denials)
        total.rejections.update(one.rejections)
        total.already_recorded = total.already_recorded or one.already_recorded
    return total
