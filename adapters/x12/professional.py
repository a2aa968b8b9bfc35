"""The 837P (005010X222A1) transaction for professional claims, as x12sdk models.

One transaction set holds the batch: the billing provider (2000A, from the settings),
then one subscriber loop (2000B) per claim, with the patient loop (2000C) beneath it
when the patient is not the subscriber. x12sdk validates the model as it is built
(segment count, HL linkage, claim total equal to the line charges), so a transaction
that reaches the file is whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from x12sdk.v5010.segments import (
    ClmSegment,
    DmgSegment,
    HiSegment,
    N3Segment,
    N4Segment,
    Sv1Segment,
)
from x12sdk.v5010.x12_837_005010X222A2.loops import (
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
    Loop2310B,
    Loop2310C,
    Loop2400,
)
from x12sdk.v5010.x12_837_005010X222A2.segments import (
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
    Loop2300RefSegment,
    Loop2310BNm1Segment,
    Loop2310CNm1Segment,
    Loop2400DtpSegment,
    Loop2400RefSegment,
)
from x12sdk.v5010.x12_837_005010X222A2.transaction_set import HealthCareClaimProfessional

from adapters.x12.claim_facts import Address, ClaimFacts, Person
from adapters.x12.parties import X12Parties
from adapters.x12.serialise import cache_type_hints, count_segments

__all__ = ["MAX_DIAGNOSES", "PROFESSIONAL_VERSION", "build_837p", "day", "postal", "se_values"]

cache_type_hints()

PROFESSIONAL_VERSION: Final = "005010X222A1"
"""The version HIPAA names for the 837P (x12sdk models it as X222A2; the segments are the same)."""
MAX_DIAGNOSES: Final = 12  # one HI segment of twelve on the 837P


def day(moment: Any) -> str:  # noqa: ANN401 - a date or datetime
    """An X12 date (CCYYMMDD)."""
    return str(moment.strftime("%Y%m%d"))


def postal(address: Address) -> tuple[N3Segment, N4Segment]:
    """The N3 and N4 segments of ``address``."""
    return (
        N3Segment(address_information_1=address.line1, address_information_2=address.line2 or None),
        N4Segment(
            city_name=address.city,
            state_province_code=address.state,
            postal_code=address.postal_code,
        ),
    )


def _demographics(person: Person) -> DmgSegment | None:
    if person.birth_date is None:
        return None
    return DmgSegment(
        date_time_period_format_qualifier="D8",
        date_time_period=day(person.birth_date),
        gender_code=person.sex,
    )


def _subscriber_name(facts: ClaimFacts) -> Loop2010Ba:
    person = facts.subscriber
    n3, n4 = postal(person.address) if person.address else (None, None)
    return Loop2010Ba(
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
    )


def _payer_name(facts: ClaimFacts) -> Loop2010Bb:
    return Loop2010Bb(
        nm1_segment=Loop2010BbNm1Segment(
            entity_identifier_code="PR",
            entity_type_qualifier="2",
            name_last_or_organization_name=facts.payer_name[:60],
            identification_code_qualifier="PI",
            identification_code=facts.payer_id,
        )
    )


def line_control(facts: ClaimFacts, number: int) -> Loop2400RefSegment:
    """REF*6R, the line item control number a payer echoes on the 835 (its REF*6R)."""
    return Loop2400RefSegment(
        reference_identification_qualifier="6R", reference_identification=f"{facts.pcn}L{number}"
    )


def _pointer_text(pointers: Sequence[int], count: int) -> str:
    """SV107: up to four pointers into the HI list (1-12), joined as components."""
    kept = [p for p in pointers if 1 <= p <= count] or [1]
    return ":".join(str(p) for p in kept[:4])


def _claim(facts: ClaimFacts, billing_npi: str) -> Loop2300:
    diagnoses = facts.diagnoses[:MAX_DIAGNOSES]
    codes = [["ABK" if i == 0 else "ABF", d.code] for i, d in enumerate(diagnoses)]
    hi = HiSegment(**{f"health_care_code_{i}": code for i, code in enumerate(codes, start=1)})
    references = None
    if facts.frequency in ("7", "8"):
        references = [
            Loop2300RefSegment(
                reference_identification_qualifier="F8",
                reference_identification=facts.payer_claim_number,
            )
        ]
    rendering = None
    if facts.attending is not None and facts.attending.npi != billing_npi:
        rendering = Loop2310B(
            nm1_segment=Loop2310BNm1Segment(
                entity_identifier_code="82",
                entity_type_qualifier="1",
                name_last_or_organization_name=facts.attending.last,
                name_first=facts.attending.first or None,
                identification_code_qualifier="XX",
                identification_code=facts.attending.npi,
            )
        )
    lines = [
        Loop2400(
            lx_segment={"assigned_number": str(number)},
            sv1_segment=Sv1Segment(
                product_service_id_qualifier=":".join((line.qualifier, line.code, *line.modifiers)),
                line_item_charge_amount=line.charge,
                unit_basis_measurement_code="UN",
                service_unit_count=line.units,
                # SV105 only where the line's place differs from the claim's (CLM05-1)
                place_of_service_code=(
                    line.place if line.place and line.place != facts.place_of_service else None
                ),
                composite_diagnosis_code_pointer=_pointer_text(line.pointers, len(diagnoses)),
            ),
            dtp_segment=[
                Loop2400DtpSegment(
                    date_time_qualifier="472",
                    date_time_period_format_qualifier="D8",
                    date_time_period=day(line.serviced or facts.start),
                )
            ],
            ref_segment=[line_control(facts, number)],
        )
        for number, line in enumerate(facts.lines, start=1)
    ]
    return Loop2300(
        clm_segment=ClmSegment(
            patient_control_number=facts.pcn,
            total_claim_charge_amount=facts.total,
            health_care_service_location_information=(
                f"{facts.place_of_service}:B:{facts.frequency}"
            ),
            provider_or_supplier_signature_indicator="Y",
            provider_accept_assignment_code="A",
            benefit_assignment_certification_indicator="Y",
            release_of_information_code="Y",
        ),
        ref_segment=references,
        hi_segment=[hi],
        loop_2310b=rendering,
        loop_2310c=_facility(facts),
        loop_2400=lines,
    )


def _facility(facts: ClaimFacts) -> Loop2310C | None:
    """2310C, the service facility, when the Claim names one with an address."""
    if facts.facility is None:
        return None
    n3, n4 = postal(facts.facility.address)
    return Loop2310C(
        nm1_segment=Loop2310CNm1Segment(
            entity_identifier_code="77",
            entity_type_qualifier="2",
            name_last_or_organization_name=facts.facility.name,
            identification_code_qualifier="XX" if facts.facility.npi else None,
            identification_code=facts.facility.npi or None,
        ),
        n3_segment=n3,
        n4_segment=n4,
    )


def _subscriber(facts: ClaimFacts, hl_id: int, billing_npi: str) -> tuple[Loop2000B, int]:
    """The 2000B loop of one claim (and its 2000C when the patient is a dependent)."""
    claim = _claim(facts, billing_npi)
    dependent = not facts.self_insured
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
        loop_2010ba=_subscriber_name(facts),
        loop_2010bb=_payer_name(facts),
        loop_2300=None if dependent else [claim],
    )
    if not dependent:
        return loop, hl_id + 1
    patient = facts.patient
    assert patient.address is not None  # noqa: S101 - claim_facts refuses a dependent without one
    n3, n4 = postal(patient.address)
    dmg = _demographics(patient)
    assert dmg is not None  # noqa: S101 - claim_facts refuses a patient without a birth date
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
                n3_segment=n3,
                n4_segment=n4,
                dmg_segment=dmg,
            ),
            loop_2300=[claim],
        )
    ]
    return loop, hl_id + 2


def build_837p(
    claims: Sequence[ClaimFacts],
    parties: X12Parties,
    *,
    control_number: str,
    batch_id: str,
    created: datetime,
) -> HealthCareClaimProfessional:
    """The 837P transaction set of ``claims`` (professional facts), validated by x12sdk."""
    subscribers: list[Loop2000B] = []
    hl_id = 2
    for facts in claims:
        loop, hl_id = _subscriber(facts, hl_id, parties.billing_npi)
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
                implementation_convention_reference=PROFESSIONAL_VERSION,
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
                    ref_segment=[
                        Loop2010AaRefSegment(
                            reference_identification_qualifier="EI",
                            reference_identification=parties.billing_tax_id,
                        )
                    ],
                ),
                loop_2000b=subscribers,
            )
        ],
    }
    return HealthCareClaimProfessional(**structure, footer=_footer(structure, control_number))


def _footer(structure: dict[str, Any], control_number: str) -> Footer:
    return Footer(se_segment=se_values(structure, control_number))


def se_values(structure: dict[str, Any], control_number: str) -> dict[str, Any]:
    """SE's values, SE01 counted from ``structure``: its segments, ST through SE."""
    loops = [structure["header"], structure["loop_1000a"], structure["loop_1000b"]]
    loops += structure["loop_2000a"]
    return {
        "transaction_segment_count": count_segments(*loops) + 1,  # + the SE itself
        "transaction_set_control_number": control_number,
    }
