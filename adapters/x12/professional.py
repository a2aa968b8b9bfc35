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
from typing import Final

from x12sdk.v5010.segments import ClmSegment, HiSegment, Sv1Segment
from x12sdk.v5010.x12_837_005010X222A2.loops import (
    Footer,
    Header,
    Loop1000A,
    Loop1000B,
    Loop2000A,
    Loop2000B,
    Loop2300,
    Loop2310B,
    Loop2310C,
    Loop2400,
)
from x12sdk.v5010.x12_837_005010X222A2.segments import (
    Loop2310BNm1Segment,
    Loop2400DtpSegment,
)
from x12sdk.v5010.x12_837_005010X222A2.transaction_set import HealthCareClaimProfessional

from adapters.x12 import loops837
from adapters.x12.claim_facts import ClaimFacts
from adapters.x12.parties import X12Parties
from adapters.x12.serialise import cache_type_hints

__all__ = ["MAX_DIAGNOSES", "PROFESSIONAL_VERSION", "build_837p"]

cache_type_hints()

PROFESSIONAL_VERSION: Final = "005010X222A1"
"""The version HIPAA names for the 837P (x12sdk models it as X222A2; the segments are the same)."""
MAX_DIAGNOSES: Final = 12  # one HI segment of twelve on the 837P
_MODELS: Final = loops837.Models(
    Header, Loop1000A, Loop1000B, Loop2000A, Loop2000B, Footer, refs_repeat=True
)


def _pointer_text(pointers: Sequence[int], count: int) -> str:
    """SV107: up to four pointers into the HI list (1-12), joined as components."""
    kept = [p for p in pointers if 1 <= p <= count] or [1]
    return ":".join(str(p) for p in kept[:4])


def _claim(facts: ClaimFacts, billing_npi: str) -> Loop2300:
    diagnoses = facts.diagnoses[:MAX_DIAGNOSES]
    codes = [["ABK" if i == 0 else "ABF", d.code] for i, d in enumerate(diagnoses)]
    hi = HiSegment(**{f"health_care_code_{i}": code for i, code in enumerate(codes, start=1)})
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
                    date_time_period=loops837.day(line.serviced or facts.start),
                )
            ],
            ref_segment=loops837.line_control(facts, number),
            loop_2430=loops837.line_adjudications(facts, number, institutional=False),
        )
        for number, line in enumerate(facts.lines, start=1)
    ]
    place = loops837.facility(facts.facility)
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
        ref_segment=loops837.corrected_claim(facts),
        loop_2320=loops837.other_subscribers(facts),
        hi_segment=[hi],
        loop_2310b=rendering,
        loop_2310c=None if place is None else Loop2310C.model_validate(place),
        loop_2400=lines,
    )


def build_837p(
    claims: Sequence[ClaimFacts],
    parties: X12Parties,
    *,
    control_number: str,
    batch_id: str,
    created: datetime,
) -> HealthCareClaimProfessional:
    """The 837P transaction set of ``claims`` (professional facts), validated by x12sdk."""
    return HealthCareClaimProfessional(
        **loops837.transaction(
            claims,
            parties,
            _MODELS,
            lambda facts: _claim(facts, parties.billing_npi),
            version=PROFESSIONAL_VERSION,
            control_number=control_number,
            batch_id=batch_id,
            created=created,
        )
    )
