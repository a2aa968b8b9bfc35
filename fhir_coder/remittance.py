"""What a payer said about a claim, whatever it was said in (835, ClaimResponse, EOB).

An 835 and a FHIR ClaimResponse describe the same adjudication; both adapters turn theirs
into these values, so matching, recording, status and denial routing are written once.
Amounts are :class:`~decimal.Decimal`; codes are kept as the payer sent them (CARC and
RARC codes only: their descriptions are X12's, licensed, and never carried here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Final

__all__ = [
    "CONTRACTUAL_CARCS",
    "Adjustment",
    "ClaimOutcome",
    "LineOutcome",
    "ProviderAdjustment",
    "Remittance",
    "RemittanceClaim",
    "RemittanceLine",
    "claim_outcome",
    "line_outcome",
]

PATIENT_RESPONSIBILITY: Final = "PR"
CONTRACTUAL_CARCS: Final = frozenset({"45", "253"})
"""Adjustments that are the contract at work (charge over the allowed amount, sequestration),
not a denial: CO-45 on a line paid in part is how every paid claim looks."""
_DENIED_CLAIM: Final = "4"
_REVERSAL: Final = "22"


class LineOutcome(StrEnum):
    """What became of one service line."""

    PAID = "paid"  # paid in full
    ADJUSTED = "adjusted"  # paid in part, or nothing owed by the payer for contractual reasons
    DENIED = "denied"  # nothing paid, for a reason other than the contract or the patient's share
    REVERSED = "reversed"  # a reversal of an earlier payment (CLP02 22)


class ClaimOutcome(StrEnum):
    """What became of the claim as a whole."""

    PAID = "paid"
    PARTIALLY_PAID = "partially-paid"  # some lines denied, others paid
    DENIED = "denied"
    REVERSED = "reversed"


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One adjustment: group code (CO, PR, OA, PI, CR), CARC, amount, quantity."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None

    @property
    def is_denial(self) -> bool:
        """Whether this adjustment takes money away for a reason a person should work."""
        return self.group != PATIENT_RESPONSIBILITY and self.reason not in CONTRACTUAL_CARCS


@dataclass(frozen=True, slots=True)
class RemittanceLine:
    """One adjudicated service line."""

    number: int  # 1-based position on the remittance (the 835 has no line number of its own)
    procedure: str  # the code as the payer echoed it (HC:99213:25 -> 99213)
    modifiers: tuple[str, ...]
    charge: Decimal
    paid: Decimal
    units: Decimal | None = None
    adjustments: tuple[Adjustment, ...] = ()
    remarks: tuple[str, ...] = ()  # RARC codes (LQ*HE)
    line_reference: str = ""  # REF*6R: our line control number, when the payer echoes it


@dataclass(frozen=True, slots=True)
class RemittanceClaim:
    """One adjudicated claim: the payer's answer to one of our submissions."""

    pcn: str  # CLP01 (our CLM01)
    status_code: str  # CLP02: 1, 2, 3 processed, 4 denied, 22 reversal...
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    payer_claim_number: str  # CLP07: what a replacement's REF*F8 must carry
    frequency: str = ""  # CLP09, when given
    lines: tuple[RemittanceLine, ...] = ()
    adjustments: tuple[Adjustment, ...] = ()  # claim-level CAS
    remarks: tuple[str, ...] = ()  # claim-level remark codes (MOA/MIA)
    claim_reference: str = ""  # a FHIR ClaimResponse's request (Claim/id), when that is the key
    source_index: int = 0  # its position in the file (for the ledger's idempotence)


@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """A provider-level adjustment (835 PLB): not a claim's, but money all the same."""

    provider: str
    period: str
    reason: str  # PLB03-1: WO, L6, FB, ...
    reference: str  # PLB03-2
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Remittance:
    """Everything one remittance said."""

    payer: str
    claims: tuple[RemittanceClaim, ...]
    provider_adjustments: tuple[ProviderAdjustment, ...] = field(default=())


def line_outcome(line: RemittanceLine, status_code: str) -> LineOutcome:
    """The outcome of ``line`` on a claim of status ``status_code``.

    A line paid nothing is denied when an adjustment other than the patient's share or
    the contract (CO-45, CO-253) took the money; a line paid nothing only because the
    patient owes it (deductible) or the contract is adjusted, not denied.
    """
    if status_code == _REVERSAL or line.paid < 0:
        return LineOutcome.REVERSED
    if line.paid == line.charge and line.paid > 0:
        return LineOutcome.PAID
    if line.paid == 0 and any(a.is_denial for a in line.adjustments):
        return LineOutcome.DENIED
    if line.paid == 0 and status_code == _DENIED_CLAIM:
        return LineOutcome.DENIED
    return LineOutcome.ADJUSTED


def claim_outcome(claim: RemittanceClaim) -> ClaimOutcome:
    """The outcome of the claim: from its status code, else from its lines."""
    if claim.status_code == _REVERSAL or claim.paid < 0:
        return ClaimOutcome.REVERSED
    if claim.status_code == _DENIED_CLAIM:
        return ClaimOutcome.DENIED
    outcomes = [line_outcome(line, claim.status_code) for line in claim.lines]
    if outcomes and all(o is LineOutcome.DENIED for o in outcomes):
        return ClaimOutcome.DENIED
    if any(o is LineOutcome.DENIED for o in outcomes):
        return ClaimOutcome.PARTIALLY_PAID
    if not outcomes and claim.paid == 0 and any(a.is_denial for a in claim.adjustments):
        return ClaimOutcome.DENIED
    return ClaimOutcome.PAID
