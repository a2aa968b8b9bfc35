"""Which person works a denied or rejected line: the payer's reason code routed to a queue.

Rules as data: one table from CARC (Claim Adjustment Reason Code, maintained by X12; the
codes only, never their licensed descriptions) to the queue that can fix the cause. The
routing follows the revenue-cycle practice the project's guide sets out
(``shared/guides/revenue-cycle.md``, *Turning denials into work*): coding-fixable denials
go to coders with the evidence and the rule behind the code; eligibility and coverage to
registration; authorization to scheduling; medical necessity and documentation to CDI
or appeal; a rejection before adjudication (999, 277CA, a ClaimResponse in error) back to
billing to fix and resend; anything else to a biller to read. The patient's share (PR)
and the contract at work (CO-45, CO-253) are not denials and route nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from fhir_coder.remittance import CONTRACTUAL_CARCS, PATIENT_RESPONSIBILITY

__all__ = ["CARC_QUEUES", "WorkQueue", "queue_for", "queue_for_rejection"]


class WorkQueue(StrEnum):
    """The people a denied line goes to."""

    CODING = "coding"  # the code, its modifier, pointer or pairing is what the payer refused
    REGISTRATION = "registration"  # eligibility, coverage, coordination of benefits
    AUTHORIZATION = "authorization"  # prior authorization or referral (scheduling)
    CDI_APPEAL = "cdi-appeal"  # medical necessity, level of service: documentation or appeal
    BILLING = "billing"  # rejections to fix and resend; reasons no other queue owns


CARC_QUEUES: Final[Mapping[str, WorkQueue]] = {
    # coding-fixable (the guide's list: 4, 11, 16, 97, 146, 167; and the code-versus-patient
    # and code-validity reasons a coder resolves the same way)
    "4": WorkQueue.CODING,  # modifier
    "5": WorkQueue.CODING,  # procedure code or bill type against place of service
    "6": WorkQueue.CODING,  # procedure against the patient's age
    "7": WorkQueue.CODING,  # procedure against the patient's sex
    "9": WorkQueue.CODING,  # diagnosis against age
    "10": WorkQueue.CODING,  # diagnosis against sex
    "11": WorkQueue.CODING,  # diagnosis against procedure
    "16": WorkQueue.CODING,  # information missing or wrong on the claim
    "97": WorkQueue.CODING,  # bundled into another service (NCCI, global)
    "146": WorkQueue.CODING,  # diagnosis invalid for the date of service
    "167": WorkQueue.CODING,  # diagnosis not covered
    "181": WorkQueue.CODING,  # procedure code invalid on the date of service
    "182": WorkQueue.CODING,  # modifier invalid on the date of service
    "236": WorkQueue.CODING,  # NCCI pair on the same day
    # eligibility and coverage (the guide: 27, 29, 31, 109)
    "22": WorkQueue.REGISTRATION,  # another payer is primary
    "26": WorkQueue.REGISTRATION,  # before coverage began
    "27": WorkQueue.REGISTRATION,  # after coverage ended
    "29": WorkQueue.REGISTRATION,  # filed too late
    "31": WorkQueue.REGISTRATION,  # not the payer's member
    "109": WorkQueue.REGISTRATION,  # not covered by this payer
    # authorization (the guide: 15, 197)
    "15": WorkQueue.AUTHORIZATION,
    "197": WorkQueue.AUTHORIZATION,
    "198": WorkQueue.AUTHORIZATION,
    # medical necessity and documentation (the guide: 50)
    "50": WorkQueue.CDI_APPEAL,
    "150": WorkQueue.CDI_APPEAL,  # level of service not supported
    "151": WorkQueue.CDI_APPEAL,  # frequency not supported
}
"""CARC -> queue. A CARC not listed goes to :attr:`WorkQueue.BILLING`."""


def queue_for(group: str, carc: str) -> WorkQueue | None:
    """The queue of an adjustment with ``group`` and ``carc``; None when it is not a denial."""
    if group == PATIENT_RESPONSIBILITY or carc in CONTRACTUAL_CARCS:
        return None
    return CARC_QUEUES.get(carc.strip().upper().lstrip("0") or "0", WorkQueue.BILLING)


def queue_for_rejection() -> WorkQueue:
    """A claim rejected before adjudication (999, 277CA, ClaimResponse error) goes to billing."""
    return WorkQueue.BILLING
