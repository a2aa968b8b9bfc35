"""The sandbox payer's X12 face: an 837 interchange in, the 835 that answers it out.

The 837 is read with x12sdk's reader (any claim it cannot read is a 400 naming why) and
each claim adjudicated by :func:`sandbox.payer.adjudicate`; the 835 is x12sdk's 835
builder given what was decided (CLP01 our patient control number, SVC per line with its
CAS group code, CARC and amount, CLP07 the payer's claim number that the ClaimResponse
of the same claim carries), so it balances by construction. A claim's coverage is the
Coverage whose ``subscriberId`` is the 837's member id (2010BA NM109); a replacement's or
void's frequency (CLM05-3) and the number it corrects (REF*F8) go to the rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from x12sdk.generate._835 import build_835
from x12sdk.generate._spec import AdjustmentSpec, ClaimSpec, RemittanceSpec, ServiceLineSpec
from x12sdk.io import X12ModelReader, write_transactions

from sandbox.payer import ClaimIn, ClaimOut, LineIn, PayerRules, adjudicate, coverage_in_force

__all__ = ["adjudicate_837", "claims_from_837", "remittance_835"]

_DIAGNOSIS_QUALIFIERS = ("ABK", "ABF", "BK", "BF")
_CREATED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # fixed: the 835 depends only on what it answers


def _day(text: str) -> date | None:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except (ValueError, IndexError):
        return None


def _line(loop: Any, number: int, diagnoses: list[str], institutional: bool) -> LineIn:  # noqa: ANN401
    if institutional:
        segment = loop.sv2_segment
        product = str(segment.composite_medical_procedure_identifier or "").split(":")
        pointers: list[int] = list(range(1, len(diagnoses) + 1))
    else:
        segment = loop.sv1_segment
        product = str(segment.product_service_id_qualifier).split(":")
        pointers = [int(p) for p in str(segment.composite_diagnosis_code_pointer).split(":") if p]
    dates = loop.dtp_segment if isinstance(loop.dtp_segment, list) else [loop.dtp_segment]
    served = next((_day(str(d.date_time_period)) for d in dates if d is not None), None)
    return LineIn(
        number=number,
        code=product[1] if len(product) > 1 else "",
        modifiers=tuple(p for p in product[2:] if p),
        units=Decimal(segment.service_unit_count),
        charge=Decimal(segment.line_item_charge_amount),
        diagnoses=tuple(diagnoses[p - 1] for p in pointers if 0 < p <= len(diagnoses)),
        served=served,
    )


def _statement_start(claim: Any) -> date | None:  # noqa: ANN401 - an x12sdk 2300 loop
    """The first day of the 837I statement period (DTP*434), None on a claim without one."""
    dates = getattr(claim, "dtp_segment", None) or []
    for segment in dates if isinstance(dates, list) else [dates]:
        qualifier = getattr(segment.date_time_qualifier, "value", segment.date_time_qualifier)
        if str(qualifier) == "434":
            return _day(str(segment.date_time_period))
    return None


def claims_from_837(
    text: str, coverage_for: Callable[[str], Mapping[str, Any] | None]
) -> list[ClaimIn]:
    """Every claim of the 837 ``text``, with its coverage's standing on its first date."""
    claims: list[ClaimIn] = []
    with X12ModelReader(text) as reader:
        for model in reader.models():
            institutional = "Institutional" in type(model).__name__
            for submitted in model.claims():
                claim = submitted.claim
                diagnoses = [
                    str(code[1]).upper()
                    for hi in claim.hi_segment or []
                    for i in range(1, 13)
                    if (code := getattr(hi, f"health_care_code_{i}"))
                    and code[0] in _DIAGNOSIS_QUALIFIERS
                ]
                lines = tuple(
                    _line(loop, number, diagnoses, institutional)
                    for number, loop in enumerate(submitted.service_lines, start=1)
                )
                # an inpatient bill's lines carry no date (837I TR3): the statement's start
                first = min((line.served for line in lines if line.served), default=None) or (
                    _statement_start(claim)
                )
                location = str(claim.clm_segment.health_care_service_location_information or "")
                corrects = next(
                    (
                        str(ref.reference_identification)
                        for ref in claim.ref_segment or ()
                        if ref is not None and str(ref.reference_identification_qualifier) == "F8"
                    ),
                    "",
                )
                claims.append(
                    ClaimIn(
                        key=str(claim.clm_segment.patient_control_number),
                        lines=lines,
                        coverage_in_force=coverage_in_force(
                            coverage_for(str(submitted.member_id or "")), first
                        ),
                        kind="institutional" if institutional else "professional",
                        frequency=location.split(":")[2] if location.count(":") >= 2 else "1",
                        corrects=corrects,
                    )
                )
    return claims


def remittance_835(results: list[ClaimOut], rules: PayerRules) -> str:
    """The 835 answering ``results``, built by x12sdk (seeded by its content: reproducible).

    CLP07 is each claim's payer claim number (:attr:`ClaimOut.number`), the one its
    ClaimResponse carries, so a replacement quotes the same number whichever answer the
    provider read.
    """
    specs = [
        ClaimSpec(
            charge=result.charge,
            status="4" if result.denied else "1",
            patient_control_number=result.claim.key,
            lines=[
                ServiceLineSpec(
                    charge=line.charge,
                    procedure=":".join((line.line.code, *line.line.modifiers)),
                    units=int(line.line.units),
                    adjustments=[
                        AdjustmentSpec(group, carc, amount)
                        for group, carc, amount in line.adjustments
                    ],
                )
                for line in result.lines
            ],
        )
        for result in results
    ]
    seed = int(hashlib.sha256("|".join(r.claim.key for r in results).encode()).hexdigest()[:8], 16)
    model = build_835(RemittanceSpec(claims=specs, payer_name=rules.name), seed=seed)
    paid = [claim for loop in model.loop_2000 for claim in loop.loop_2100]
    for loop, result in zip(paid, results, strict=True):
        loop.clp_segment.payer_claim_control_number = result.number
    return str(
        write_transactions(
            [model], sender_id=rules.payer_id, receiver_id="SANDBOXPROV", created=_CREATED
        )
    )


def adjudicate_837(
    text: str,
    rules: PayerRules,
    coverage_for: Callable[[str], Mapping[str, Any] | None],
    issued: Callable[[str], bool] = lambda _number: True,
) -> tuple[list[ClaimOut], str]:
    """Adjudicate every claim of an 837; the results and the 835 answering them.

    ``issued`` says whether a claim number is one the payer gave (see :func:`adjudicate`).
    """
    results = [
        adjudicate(claim, rules, issued=issued) for claim in claims_from_837(text, coverage_for)
    ]
    return results, remittance_835(results, rules)
