"""The loops the 837P and the 837I share, as the values x12sdk's models are made from.

x12sdk has a model class per transaction for every loop and segment (the 837P's
``Loop2000B`` is not the 837I's), though the envelope, the parties, the subscriber and
patient, the corrected claim's REF*F8 and the line control number are the same segments
with the same values. Each is written once here, as the field values of its loop; each
builder makes its own model of them (``Loop1000A.model_validate(submitter(parties))``),
so x12sdk still checks every value against its transaction's model, and the claim loop
(2300), where the two differ, stays the builder's own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from x12sdk.v5010.segments import DmgSegment, N3Segment, N4Segment

from adapters.x12.claim_facts import Address, ClaimFacts, Facility, Person, PriorPayment
from adapters.x12.parties import X12Parties
from adapters.x12.serialise import count_segments
from fhir_coder.remittance import Adjustment

__all__ = [
    "Models",
    "Values",
    "adjustments",
    "billing_provider",
    "corrected_claim",
    "day",
    "demographics",
    "facility",
    "header",
    "line_adjudications",
    "line_control",
    "other_subscribers",
    "postal",
    "receiver",
    "se_values",
    "submitter",
    "subscriber",
    "transaction",
]

Values = dict[str, Any]
"""The field values of one x12sdk loop or segment model (nested loops as values or models)."""


def day(moment: date | datetime) -> str:
    """An X12 date (CCYYMMDD)."""
    return moment.strftime("%Y%m%d")


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


def demographics(person: Person) -> DmgSegment | None:
    """DMG (birth date and sex) of a subscriber or patient, when the birth date is known."""
    if person.birth_date is None:
        return None
    return DmgSegment(
        date_time_period_format_qualifier="D8",
        date_time_period=day(person.birth_date),
        gender_code=person.sex,
    )


def header(control_number: str, version: str, batch_id: str, created: datetime) -> Values:
    """ST and BHT: the transaction's control number, version and batch."""
    return {
        "st_segment": {
            "transaction_set_identifier_code": "837",
            "transaction_set_control_number": control_number,
            "implementation_convention_reference": version,
        },
        "bht_segment": {
            "hierarchical_structure_code": "0019",
            "transaction_set_purpose_code": "00",
            "submitter_transactional_identifier": batch_id,
            "transaction_set_creation_date": created.strftime("%Y%m%d"),
            "transaction_set_creation_time": created.strftime("%H%M"),
            "transaction_type_code": "CH",
        },
    }


def submitter(parties: X12Parties) -> Values:
    """1000A: the submitter and its contact."""
    return {
        "nm1_segment": {
            "entity_identifier_code": "41",
            "entity_type_qualifier": "2",
            "name_last_or_organization_name": parties.submitter_name,
            "identification_code_qualifier": "46",
            "identification_code": parties.submitter_id,
        },
        "per_segment": [
            {
                "contact_function_code": "IC",
                "name": parties.contact_name,
                "communication_number_qualifier_1": "TE",
                "communication_number_1": parties.contact_phone,
            }
        ],
    }


def receiver(parties: X12Parties) -> Values:
    """1000B: the receiver (clearinghouse or payer)."""
    return {
        "nm1_segment": {
            "entity_identifier_code": "40",
            "entity_type_qualifier": "2",
            "name_last_or_organization_name": parties.receiver_name,
            "identification_code_qualifier": "46",
            "identification_code": parties.receiver_etin,
        }
    }


def billing_provider(parties: X12Parties, subscribers: list[Any], *, refs_repeat: bool) -> Values:
    """2000A with 2010AA: the billing provider (NPI, address, tax id) over ``subscribers``.

    ``refs_repeat``: 2010AA's REF repeats on the 837P (a list) and not on the 837I.
    """
    tax_id = {
        "reference_identification_qualifier": "EI",
        "reference_identification": parties.billing_tax_id,
    }
    n3, n4 = postal(
        Address(
            parties.billing_address,
            parties.billing_city,
            parties.billing_state,
            parties.billing_postal_code,
        )
    )
    values: Values = {
        "hl_segment": {
            "hierarchical_id_number": "1",
            "hierarchical_level_code": "20",
            "hierarchical_child_code": "1",
        },
        "loop_2010aa": {
            "nm1_segment": {
                "entity_identifier_code": "85",
                "entity_type_qualifier": "2",
                "name_last_or_organization_name": parties.billing_name,
                "identification_code_qualifier": "XX",
                "identification_code": parties.billing_npi,
            },
            "n3_segment": n3,
            "n4_segment": n4,
            "ref_segment": [tax_id] if refs_repeat else tax_id,
        },
        "loop_2000b": subscribers,
    }
    if parties.billing_taxonomy:
        values["prv_segment"] = {
            "provider_code": "BI",
            "reference_identification_qualifier": "PXC",
            "reference_identification": parties.billing_taxonomy,
        }
    return values


def _person_name(person: Person, entity: str, *, member: bool) -> Values:
    name: Values = {
        "entity_identifier_code": entity,
        "entity_type_qualifier": "1",
        "name_last_or_organization_name": person.last,
        "name_first": person.first or None,
    }
    if member:
        name |= {"identification_code_qualifier": "MI", "identification_code": person.member_id}
    return name


def subscriber(facts: ClaimFacts, hl_id: int, claim: object) -> tuple[Values, int]:
    """2000B (subscriber, payer) of one claim, with 2000C when the patient is a dependent.

    ``claim`` is the builder's 2300 loop; it hangs from the patient's loop, or from the
    subscriber's when the patient is the subscriber. Returns the values and the next HL id.
    """
    dependent = not facts.self_insured
    person = facts.subscriber
    n3, n4 = postal(person.address) if person.address else (None, None)
    values: Values = {
        "hl_segment": {
            "hierarchical_id_number": str(hl_id),
            "hierarchical_parent_id_number": "1",
            "hierarchical_level_code": "22",
            "hierarchical_child_code": "1" if dependent else "0",
        },
        "sbr_segment": {
            "payer_responsibility_code": facts.responsibility,
            "individual_relationship_code": None if dependent else "18",
            "claim_filing_indicator_code": facts.filing_indicator,
        },
        "loop_2010ba": {
            "nm1_segment": _person_name(person, "IL", member=True),
            "n3_segment": n3,
            "n4_segment": n4,
            "dmg_segment": demographics(person),
        },
        "loop_2010bb": {
            "nm1_segment": {
                "entity_identifier_code": "PR",
                "entity_type_qualifier": "2",
                "name_last_or_organization_name": facts.payer_name[:60],
                "identification_code_qualifier": "PI",
                "identification_code": facts.payer_id,
            }
        },
        "loop_2300": None if dependent else [claim],
    }
    if not dependent:
        return values, hl_id + 1
    patient = facts.patient
    assert patient.address is not None  # noqa: S101 - claim_facts refuses a dependent without one
    pn3, pn4 = postal(patient.address)
    values["loop_2000c"] = [
        {
            "hl_segment": {
                "hierarchical_id_number": str(hl_id + 1),
                "hierarchical_parent_id_number": str(hl_id),
                "hierarchical_level_code": "23",
                "hierarchical_child_code": "0",
            },
            "pat_segment": {"individual_relationship_code": facts.relationship},
            "loop_2010ca": {
                "nm1_segment": _person_name(patient, "QC", member=False),
                "n3_segment": pn3,
                "n4_segment": pn4,
                "dmg_segment": demographics(patient),
            },
            "loop_2300": [claim],
        }
    ]
    return values, hl_id + 2


def other_subscribers(facts: ClaimFacts) -> list[Values] | None:
    """2320 with 2330A and 2330B: each other payer of the claim, its subscriber and its id.

    OI says benefits are assigned and information released for that payer too, as CLM
    says for the payer billed.
    """
    if not facts.others:
        return None
    return [
        {
            **_paid(other.payment),
            "sbr_segment": {
                "payer_responsibility_code": other.responsibility,
                "individual_relationship_code": other.relationship,
                "claim_filing_indicator_code": other.filing_indicator,
            },
            "oi_segment": {
                "benefits_assignment_certification": "Y",
                "release_of_information_code": "Y",
            },
            "loop_2330a": {"nm1_segment": _person_name(other.subscriber, "IL", member=True)},
            "loop_2330b": {
                "nm1_segment": {
                    "entity_identifier_code": "PR",
                    "entity_type_qualifier": "2",
                    "name_last_or_organization_name": other.payer_name,
                    "identification_code_qualifier": "PI",
                    "identification_code": other.payer_id,
                },
                # the remittance date, when no 2430 line carries it (a claim-level answer)
                "dtp_segment": (
                    {
                        "date_time_qualifier": "573",
                        "date_time_period_format_qualifier": "D8",
                        "date_time_period": day(other.payment.adjudicated),
                    }
                    if other.payment is not None and not other.payment.lines
                    else None
                ),
            },
        }
        for other in facts.others
    ]


_PER_CAS = 6  # reason/amount sets per CAS segment


def adjustments(found: Sequence[Adjustment]) -> list[Values] | None:
    """CAS segments of ``found``: one per group code, six adjustments each at most."""
    groups: dict[str, list[Adjustment]] = {}
    for adjustment in found:
        groups.setdefault(adjustment.group, []).append(adjustment)
    segments: list[Values] = []
    for group, members in groups.items():
        for start in range(0, len(members), _PER_CAS):
            segment: Values = {"adjustment_group_code": group}
            for n, adjustment in enumerate(members[start : start + _PER_CAS], start=1):
                segment[f"adjustment_reason_code_{n}"] = adjustment.reason
                segment[f"monetary_amount_{n}"] = adjustment.amount
                if adjustment.quantity is not None:
                    segment[f"quantity_{n}"] = adjustment.quantity
            segments.append(segment)
    return segments or None


def _paid(payment: PriorPayment | None) -> Values:
    """2320's CAS and AMT*D: what an earlier payer adjusted and paid on the claim."""
    if payment is None:
        return {}
    return {
        "cas_segment": adjustments(payment.adjustments),
        "amt_segment": [{"amount_qualifier_code": "D", "monetary_amount": payment.paid}],
    }


def line_adjudications(
    facts: ClaimFacts, number: int, *, institutional: bool
) -> list[Values] | None:
    """2430 of line ``number``: each earlier payer's payment, adjustments and date for it.

    SVD01 names the payer as 2330B does; SVD03 the procedure as it was adjudicated (the
    837I's revenue-only line has none, and gives its revenue code in SVD04).
    """
    line = facts.lines[number - 1]
    found: list[Values] = []
    for other in facts.others:
        payment = other.payment
        if payment is None:
            continue
        for paid in payment.lines:
            if paid.line != number:
                continue
            # the code as adjudicated; a revenue-only line has none (the 835 answers it
            # NU:<revenue code>): SVD03 is left out and SVD04 carries the revenue code
            procedure = ""
            if line.code:
                procedure = paid.procedure or ":".join((line.code, *line.modifiers))
            found.append(
                {
                    "svd_segment": {
                        "other_payer_primary_identifier": other.payer_id,
                        "service_line_paid_amount": paid.paid,
                        "composite_medical_procedure_identifier": (
                            f"HC:{procedure}" if procedure.strip(":") else ""
                        ),
                        "product_service_id": line.revenue if institutional else None,
                        "paid_service_count": line.units,
                    },
                    "cas_segment": adjustments(paid.adjustments),
                    "dtp_segment": {
                        "date_time_qualifier": "573",
                        "date_time_period_format_qualifier": "D8",
                        "date_time_period": day(payment.adjudicated),
                    },
                }
            )
    return found or None


def corrected_claim(facts: ClaimFacts) -> list[Values] | None:
    """REF*F8, the payer's claim control number, on a replacement (7) or void (8)."""
    if facts.frequency not in ("7", "8"):
        return None
    return [
        {
            "reference_identification_qualifier": "F8",
            "reference_identification": facts.payer_claim_number,
        }
    ]


def facility(place: Facility | None) -> Values | None:
    """The service facility (837P 2310C, 837I 2310E), when the Claim names one."""
    if place is None:
        return None
    n3, n4 = postal(place.address)
    return {
        "nm1_segment": {
            "entity_identifier_code": "77",
            "entity_type_qualifier": "2",
            "name_last_or_organization_name": place.name,
            "identification_code_qualifier": "XX" if place.npi else None,
            "identification_code": place.npi or None,
        },
        "n3_segment": n3,
        "n4_segment": n4,
    }


def line_control(facts: ClaimFacts, number: int) -> list[Values]:
    """REF*6R, the line item control number a payer echoes on the 835 (its REF*6R)."""
    return [
        {
            "reference_identification_qualifier": "6R",
            "reference_identification": f"{facts.pcn}L{number}",
        }
    ]


def se_values(structure: dict[str, Any], control_number: str) -> Values:
    """SE's values, SE01 counted from ``structure``: its segments, ST through SE."""
    loops = [structure["header"], structure["loop_1000a"], structure["loop_1000b"]]
    loops += structure["loop_2000a"]
    return {
        "transaction_segment_count": count_segments(*loops) + 1,  # + the SE itself
        "transaction_set_control_number": control_number,
    }


@dataclass(frozen=True, slots=True)
class Models:
    """One transaction's x12sdk classes for the loops this module fills (837P's or 837I's)."""

    header: type[BaseModel]
    submitter: type[BaseModel]
    receiver: type[BaseModel]
    billing_provider: type[BaseModel]
    subscriber: type[BaseModel]
    footer: type[BaseModel]
    refs_repeat: bool  # 2010AA's REF repeats on the 837P, not on the 837I


def transaction(
    claims: Sequence[ClaimFacts],
    parties: X12Parties,
    models: Models,
    claim_loop: Callable[[ClaimFacts], object],
    *,
    version: str,
    control_number: str,
    batch_id: str,
    created: datetime,
) -> dict[str, Any]:
    """The transaction set's loops, ST through SE, as ``models``; each claim's 2300 its builder's.

    Returns the keyword arguments of the transaction set's model (``header`` to ``footer``),
    SE01 counted from what was built.
    """
    subscribers: list[BaseModel] = []
    hl_id = 2
    for facts in claims:
        values, hl_id = subscriber(facts, hl_id, claim_loop(facts))
        subscribers.append(models.subscriber.model_validate(values))
    billing = billing_provider(parties, subscribers, refs_repeat=models.refs_repeat)
    structure: dict[str, Any] = {
        "header": models.header.model_validate(header(control_number, version, batch_id, created)),
        "loop_1000a": models.submitter.model_validate(submitter(parties)),
        "loop_1000b": models.receiver.model_validate(receiver(parties)),
        "loop_2000a": [models.billing_provider.model_validate(billing)],
    }
    structure["footer"] = models.footer.model_validate(
        {"se_segment": se_values(structure, control_number)}
    )
    return structure
