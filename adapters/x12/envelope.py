"""The ISA/GS envelopes around our transaction sets, built from x12sdk's segment models.

x12sdk's own ``write_transactions`` labels each functional group with the version of the
model's package (X222A2, X223A3), which the HIPAA-named versions (X222A1, X223A2) that
payers and pyx12 read are not; here GS08 is the version the transaction declares in
ST03. Control numbers come from the submission ledger, so no two interchanges share one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from x12sdk.models import X12SegmentGroup
from x12sdk.v5010.segments import GeSegment, GsSegment, IeaSegment, IsaSegment

from adapters.x12.parties import X12Parties
from adapters.x12.serialise import segments_of

__all__ = ["Transaction", "group_control_number", "interchange"]


def group_control_number(control_number: int, index: int) -> str:
    """GS06 of group ``index`` (from 1) of interchange ``control_number``, nine digits at most."""
    return str(control_number * 10 + index)[-9:]


@dataclass(frozen=True, slots=True)
class Transaction:
    """One transaction set with the implementation version it declares (ST03/GS08)."""

    model: X12SegmentGroup
    version: str
    functional_code: str = "HC"  # GS01: HC for the 837


def interchange(
    transactions: Sequence[Transaction],
    parties: X12Parties,
    *,
    control_number: int,
    created: datetime,
) -> str:
    """The interchange text: ISA, one GS/GE per run of like versions, IEA.

    ``control_number`` is ISA13 and IEA02; each functional group gets
    ``control_number`` * 10 + its index as GS06, unique across interchanges too.
    """
    isa_number = f"{control_number:09d}"
    chunks = [
        IsaSegment(
            authorization_information_qualifier="00",
            authorization_information=" " * 10,
            security_information_qualifier="00",
            security_information=" " * 10,
            interchange_sender_qualifier=parties.sender_qualifier,
            interchange_sender_id=parties.sender_id.ljust(15),
            interchange_receiver_qualifier=parties.receiver_qualifier,
            interchange_receiver_id=parties.receiver_id.ljust(15),
            interchange_date=created.strftime("%y%m%d"),
            interchange_time=created.strftime("%H%M"),
            repetition_separator="^",
            interchange_control_version_number="00501",
            interchange_control_number=isa_number,
            acknowledgment_requested="1",  # a TA1 back: the envelope arrived whole
            interchange_usage_indicator=parties.usage,
            component_element_separator=":",
        ).x12()
    ]
    groups: list[list[Transaction]] = []
    for transaction in transactions:
        if groups and groups[-1][0].version == transaction.version:
            groups[-1].append(transaction)
        else:
            groups.append([transaction])
    for index, members in enumerate(groups, start=1):
        group_number = group_control_number(control_number, index)
        chunks.append(
            GsSegment(
                functional_identifier_code=members[0].functional_code,
                application_sender_code=parties.sender_id,
                application_receiver_code=parties.receiver_id,
                functional_group_creation_date=created.strftime("%Y%m%d"),
                functional_group_creation_time=created.strftime("%H%M"),
                group_control_number=group_number,
                responsible_agency_code="X",
                version_identifier_code=members[0].version,
            ).x12()
        )
        chunks.extend(segment.x12() for member in members for segment in segments_of(member.model))
        chunks.append(
            GeSegment(
                number_of_transaction_sets_included=len(members),
                group_control_number=group_number,
            ).x12()
        )
    chunks.append(
        IeaSegment(
            number_of_included_functional_groups=len(groups),
            interchange_control_number=isa_number,
        ).x12()
    )
    return "\n".join(chunks) + "\n"
