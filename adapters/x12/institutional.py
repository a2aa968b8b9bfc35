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

from x12sdk.v5010.segments import Cl1Segment, ClmSegment, DmgSegment, HiSegment, Sv2Segment
from x12sdk.v5010.x12_837_005010X223A3.loops import (
    Footer,
    Header,
    Loop1000A,
    Loop1000B,
    Loop2000A,
    Loop2000B,
    Loop2000C,
    Loop2010Aa,
    Loop2010Ba,
    Loop2010Bb,
    Loop2010Ca,
    Loop2300,
    Loop2310A,
    Loop2310E,
    Loop2400,
)
from x12sdk.v5010.x12_837_005010X223A3.segments import (
    HeaderBhtSegment,
    HeaderStSegment,
    Loop1000ANm1Segment,
    Loop1000APerSegment,
    Loop1000BNm1Segment,
    Loop2000AHlSegment,
    Loop2000APrvSegment,
    Loop2000BHlSegment,
    Loop2000BSbrSegment,
    Loop2000CHlSegment,
    Loop2000CPatSegment,
    Loop2010AaNm1Segment,
    Loop2010AaRefSegment,
    Loop2010BaNm1Segment,
    Loop2010BbNm1Segment,
    Loop2010CaNm1Segment,
    Loop2300DtpSegment,
    Loop2300RefSegment,
    Loop2310ANm1Segment,
    Loop2310ENm1Segment,
    Loop2400RefSegment,
)
from x12sdk.v5010.x12_837_005010X223A3.transaction_set import HealthCareClaimInstitutional

from adapters.x12.claim_facts import Address, ClaimFacts, Person
from adapters.x12.parties import X12Parties
from adapters.x12.professional import day, postal, se_values
from fhir_coder.claim_parts import is_accommodation

__all__ = ["INSTITUTIONAL_VERSION", "TYPE_OF_BILL_FACILITY", "build_837i"]

INSTITUTIONAL_VERSION: Final = "005010X223A2"
"""The version HIPAA names for the 837I (x12sdk models it as X223A3)."""
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
    references = None
    if facts.frequency in ("7", "8"):
        references = [
            Loop2300RefSegment(
                reference_identification_qualifier="F8",
                reference_identification=facts.payer_claim_number,
            )
        ]
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
            ref_segment=[
                Loop2400RefSegment(
                    reference_identification_qualifier="6R",
                    reference_identification=f"{facts.pcn}L{number}",
                )
            ],
        )
        for number, line in enumerate(facts.lines, start=1)
    ]
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
        ref_segment=references,
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
        loop_2310e=_facility(facts),
        loop_2400=lines,
    )


def _facility(facts: ClaimFacts) -> Loop2310E | None:
    """2310E, the service facility, when the Claim names one with an address."""
    if facts.facility is None:
        return None
    n3, n4 = postal(facts.facility.address)
    return Loop2310E(
        nm1_segment=Loop2310ENm1Segment(
            entity_identifier_code="77",
            entity_type_qualifier="2",
            name_last_or_organization_name=facts.facility.name,
            identification_code_qualifier="XX" if facts.facility.npi else None,
            identification_code=facts.facility.npi or None,
        ),
        n3_segment=n3,
        n4_segment=n4,
    )


def _demographics(person: Person) -> DmgSegment | None:
    if person.birth_date is None:
        return None
    return DmgSegment(
        date_time_period_format_qualifier="D8",
        date_time_period=day(person.birth_date),
        gender_code=person.sex,
    )


def _subscriber(facts: ClaimFacts, hl_id: int) -> tuple[Loop2000B, int]:
    claim = _claim(facts)
    dependent = not facts.self_insured
    person = facts.subscriber
    n3, n4 = postal(person.address) if person.address else (None, None)
    loop = Loop2000B(
        hl_segment=Loop2000BHlSegment(
            hierarchical_id_number=str(hl_id),
            hierarchical_parent_id_number="1",
            hierarchical_level_code="22",
            hierarchical_child_code="1" if dependent else "0",
        ),
        sbr_segment=Loop2000BSbrSegment(
            payer_responsibility_code="P",
            individual_relationship_code=None if dependent else "18",
            claim_filing_indicator_code=facts.filing_indicator,
        ),
        loop_2010ba=Loop2010Ba(
            nm1_segment=Loop2010BaNm1Segment(
                entity_identifier_code="IL",
                entity_type_qualifier="1",
                name_last_or_organization_name=person.last,
                name_first=person.first or None,
                identification_code_qualifier="MI",
                identification_code=person.member_id,
            ),
            n3_segment=n3,
            n4_segment=n4,
            dmg_segment=_demographics(person),
        ),
        loop_2010bb=Loop2010Bb(
            nm1_segment=Loop2010BbNm1Segment(
                entity_identifier_code="PR",
                entity_type_qualifier="2",
                name_last_or_organization_name=facts.payer_name[:60],
                identification_code_qualifier="PI",
                identification_code=facts.payer_id,
            )
        ),
        loop_2300=None if dependent else [claim],
    )
    if not dependent:
        return loop, hl_id + 1
    patient = facts.patient
    assert patient.address is not None  # noqa: S101 - claim_facts refuses a dependent without one
    pn3, pn4 = postal(patient.address)
    loop.loop_2000c = [
        Loop2000C(
            hl_segment=Loop2000CHlSegment(
                hierarchical_id_number=str(hl_id + 1),
                hierarchical_parent_id_number=str(hl_id),
                hierarchical_level_code="23",
                hierarchical_child_code="0",
            ),
            pat_segment=Loop2000CPatSegment(individual_relationship_code=facts.relationship),
            loop_2010ca=Loop2010Ca(
                nm1_segment=Loop2010CaNm1Segment(
                    entity_identifier_code="QC",
                    entity_type_qualifier="1",
                    name_last_or_organization_name=patient.last,
                    name_first=patient.first or None,
                ),
                n3_segment=pn3,
                n4_segment=pn4,
                dmg_segment=_demographics(patient),
            ),
            loop_2300=[claim],
        )
    ]
    return loop, hl_id + 2


def build_837i(
    claims: Sequence[ClaimFacts],
    parties: X12Parties,
    *,
    control_number: str,
    batch_id: str,
    created: datetime,
) -> HealthCareClaimInstitutional:
    """The 837I transaction set of ``claims`` (institutional facts), validated by x12sdk."""
    subscribers: list[Loop2000B] = []
    hl_id = 2
    for facts in claims:
        loop, hl_id = _subscriber(facts, hl_id)
        subscribers.append(loop)
    n3, n4 = postal(
        Address(
            parties.billing_address,
            parties.billing_city,
            parties.billing_state,
            parties.billing_postal_code,
        )
    )
    structure: dict[str, Any] = {
        "header": Header(
            st_segment=HeaderStSegment(
                transaction_set_identifier_code="837",
                transaction_set_control_number=control_number,
                implementation_convention_reference=INSTITUTIONAL_VERSION,
            ),
            bht_segment=HeaderBhtSegment(
                hierarchical_structure_code="0019",
                transaction_set_purpose_code="00",
                submitter_transactional_identifier=batch_id,
                transaction_set_creation_date=created.strftime("%Y%m%d"),
                transaction_set_creation_time=created.strftime("%H%M"),
                transaction_type_code="CH",
            ),
        ),
        "loop_1000a": Loop1000A(
            nm1_segment=Loop1000ANm1Segment(
                entity_identifier_code="41",
                entity_type_qualifier="2",
                name_last_or_organization_name=parties.submitter_name,
                identification_code_qualifier="46",
                identification_code=parties.submitter_id,
            ),
            per_segment=[
                Loop1000APerSegment(
                    contact_function_code="IC",
                    name=parties.contact_name,
                    communication_number_qualifier_1="TE",
                    communication_number_1=parties.contact_phone,
                )
            ],
        ),
        "loop_1000b": Loop1000B(
            nm1_segment=Loop1000BNm1Segment(
                entity_identifier_code="40",
                entity_type_qualifier="2",
                name_last_or_organization_name=parties.receiver_name,
                identification_code_qualifier="46",
                identification_code=parties.receiver_etin,
            )
        ),
        "loop_2000a": [
            Loop2000A(
                hl_segment=Loop2000AHlSegment(
                    hierarchical_id_number="1",
                    hierarchical_level_code="20",
                    hierarchical_child_code="1",
                ),
                prv_segment=(
                    Loop2000APrvSegment(
                        provider_code="BI",
                        reference_identification_qualifier="PXC",
                        reference_identification=parties.billing_taxonomy,
                    )
                    if parties.billing_taxonomy
                    else None
                ),
                loop_2010aa=Loop2010Aa(
                    nm1_segment=Loop2010AaNm1Segment(
                        entity_identifier_code="85",
                        entity_type_qualifier="2",
                        name_last_or_organization_name=parties.billing_name,
                        identification_code_qualifier="XX",
                        identification_code=parties.billing_npi,
                    ),
                    n3_segment=n3,
                    n4_segment=n4,
                    ref_segment=Loop2010AaRefSegment(
                        reference_identification_qualifier="EI",
                        reference_identification=parties.billing_tax_id,
                    ),
                ),
                loop_2000b=subscribers,
            )
        ],
    }
    return HealthCareClaimInstitutional(
        **structure, footer=Footer(se_segment=se_values(structure, control_number))
    )
