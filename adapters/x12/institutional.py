"""The 837I (005010X223A2) transaction for institutional (inpatient) claims, as x12sdk models.

The same hierarchy as the 837P; the claim carries what a UB-04 does: type of bill
(CLM05, facility 11 hospital inpatient), statement and admission dates, CL1 (admission
type, point of origin, discharge status), the diagnoses with their POA indicators in
HI01-9, the MS-DRG (HI*DR), the ICD-10-PCS procedures with dates, the attending
provider, and revenue-coded lines (SV2).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from x12sdk.v5010.segments import Cl1Segment, ClmSegment, HiSegment, Sv2Segment
from x12sdk.v5010.x12_837_005010X223A3.loops import (
    Footer,
    Header,
    Loop1000A,
    Loop1000B,
    Loop2000A,
    Loop2000B,
    Loop2300,
    Loop2310A,
    Loop2310E,
    Loop2400,
)
from x12sdk.v5010.x12_837_005010X223A3.segments import (
    Loop2300DtpSegment,
    Loop2310ANm1Segment,
)
from x12sdk.v5010.x12_837_005010X223A3.transaction_set import HealthCareClaimInstitutional

from adapters.x12 import loops837
from adapters.x12.claim_facts import ClaimFacts
from adapters.x12.loops837 import day
from adapters.x12.parties import X12Parties
from fhir_coder.claim_parts import is_accommodation

__all__ = ["INSTITUTIONAL_VERSION", "TYPE_OF_BILL_FACILITY", "build_837i"]

INSTITUTIONAL_VERSION: Final = "005010X223A2"
"""The version HIPAA names for the 837I (x12sdk models it as X223A3)."""
_MODELS: Final = loops837.Models(
    Header, Loop1000A, Loop1000B, Loop2000A, Loop2000B, Footer, refs_repeat=False
)
TYPE_OF_BILL_FACILITY: Final = "11"  # hospital, inpatient (Part A): our institutional Claims
_PER_HI: Final = 12  # codes per HI segment
# 5010 has no POA "1" (exempt): an exempt code's POA is left blank (CMS, 5010 POA reporting)
_POA_SENT: Final = {"Y": "Y", "N": "N", "U": "U", "W": "W"}


def _hi_segments(codes: list[list[str]]) -> list[HiSegment]:
    """HI segments of up to twelve codes each (each code carries its own qualifier)."""
    return [
        HiSegment(
            **{
                f"health_care_code_{i}": code
                for i, code in enumerate(codes[start : start + _PER_HI], start=1)
            }
        )
        for start in range(0, len(codes), _PER_HI)
    ]


def _poa(code: str, qualifier: str, poa: str) -> list[str]:
    """C022 with the POA indicator in its ninth component (HI0n-9)."""
    indicator = _POA_SENT.get(poa, "")
    return [qualifier, code, "", "", "", "", "", "", indicator] if indicator else [qualifier, code]


def _diagnosis_segments(facts: ClaimFacts) -> list[HiSegment]:
    principal = (
        next(d for d in facts.diagnoses if d.role == "principal")
        if any(d.role == "principal" for d in facts.diagnoses)
        else facts.diagnoses[0]
    )
    segments = [HiSegment(health_care_code_1=_poa(principal.code, "ABK", principal.poa))]
    admitting = [d for d in facts.diagnoses if d.role == "admitting"]
    if admitting:
        segments.append(HiSegment(health_care_code_1=["ABJ", admitting[0].code]))
    others = [
        _poa(d.code, "ABF", d.poa)
        for d in facts.diagnoses
        if d is not principal and d.role != "admitting"
    ]
    segments += _hi_segments(others)
    if facts.procedures:
        first, *rest = facts.procedures
        segments.append(
            HiSegment(health_care_code_1=_procedure(first.code, "BBR", first.performed))
        )
        segments += _hi_segments([_procedure(p.code, "BBQ", p.performed) for p in rest])
    if facts.drg:
        segments.append(HiSegment(health_care_code_1=["DR", facts.drg]))
    return segments


def _procedure(code: str, qualifier: str, performed: Any) -> list[str]:  # noqa: ANN401
    return [qualifier, code, "D8", day(performed)] if performed else [qualifier, code]


def _dates(facts: ClaimFacts) -> list[Loop2300DtpSegment]:
    dates = [
        Loop2300DtpSegment(
            date_time_qualifier="434",
            date_time_period_format_qualifier="RD8",
            date_time_period=f"{day(facts.start)}-{day(facts.end)}",
        )
    ]
    if facts.admitted_at is not None:
        dates.append(
            Loop2300DtpSegment(
                date_time_qualifier="435",
                date_time_period_format_qualifier="DT",
                date_time_period=facts.admitted_at.strftime("%Y%m%d%H%M"),
            )
        )
    else:
        dates.append(
            Loop2300DtpSegment(
                date_time_qualifier="435",
                date_time_period_format_qualifier="D8",
                date_time_period=day(facts.start),
            )
        )
    return dates


def _claim(facts: ClaimFacts) -> Loop2300:
    attending = facts.attending
    assert attending is not None  # noqa: S101 - claim_facts refuses an institutional claim without
    lines = [
        Loop2400(
            lx_segment={"assigned_number": str(number)},
            sv2_segment=Sv2Segment(
                service_line_revenue_code=line.revenue,
                # SV202 only with a HCPCS code; room and board goes by revenue code alone
                composite_medical_procedure_identifier=(
                    ":".join((line.qualifier, line.code, *line.modifiers)) if line.code else None
                ),
                line_item_charge_amount=line.charge,
                measurement_code="DA" if is_accommodation(line.revenue) else "UN",
                service_unit_count=line.units,
            ),
            # no DTP*472: the 837I TR3 allows a service line date on outpatient bills
            # only (X12 RFI 1435); an inpatient bill's dates are the statement period's
            ref_segment=loops837.line_control(facts, number),
            loop_2430=loops837.line_adjudications(facts, number, institutional=True),
        )
        for number, line in enumerate(facts.lines, start=1)
    ]
    place = loops837.facility(facts.facility)
    return Loop2300(
        clm_segment=ClmSegment(
            patient_control_number=facts.pcn,
            total_claim_charge_amount=facts.total,
            health_care_service_location_information=(
                f"{TYPE_OF_BILL_FACILITY}:A:{facts.frequency}"
            ),
            provider_accept_assignment_code="A",
            benefit_assignment_certification_indicator="Y",
            release_of_information_code="Y",
        ),
        dtp_segment=_dates(facts),
        cl1_segment=Cl1Segment(
            admission_type_code=facts.admission_type,
            admission_source_code=facts.point_of_origin or None,
            patient_status_code=facts.discharge_status,
        ),
        ref_segment=loops837.corrected_claim(facts),
        loop_2320=loops837.other_subscribers(facts),
        hi_segment=_diagnosis_segments(facts),
        loop_2310a=Loop2310A(
            nm1_segment=Loop2310ANm1Segment(
                entity_identifier_code="71",
                entity_type_qualifier="1",
                name_last_or_organization_name=attending.last,
                name_first=attending.first or None,
                identification_code_qualifier="XX",
                identification_code=attending.npi,
            )
        ),
        loop_2310e=None if place is None else Loop2310E.model_validate(place),
        loop_2400=lines,
    )


def build_837i(
    claims: Sequence[ClaimFacts],
    parties: X12Parties,
    *,
    control_number: str,
    batch_id: str,
    created: datetime,
) -> HealthCareClaimInstitutional:
    """The 837I transaction set of ``claims`` (institutional facts), validated by x12sdk."""
    return HealthCareClaimInstitutional(
        **loops837.transaction(
            claims,
            parties,
            _MODELS,
            _claim,
            version=INSTITUTIONAL_VERSION,
            control_number=control_number,
            batch_id=batch_id,
            created=created,
        )
    )
