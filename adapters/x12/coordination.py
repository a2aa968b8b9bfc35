"""What an earlier payer did with a claim, read back from the submission ledger.

A claim to the secondary (or tertiary) payer carries the primary's adjudication: what it
paid on the claim (2320 AMT*D) and its claim-level adjustments (2320 CAS), and per line
what it paid and adjusted (2430 SVD, CAS, DTP*573). All of it is the remittance the
ledger recorded for the earlier submission (835 or ClaimResponse intake), matched to the
lines as that submission sent them; nothing is estimated.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from adapters.x12.claim_facts import LinePayment, PriorPayment, payer_key
from adapters.x12.ledger import RemitLineRow, SubmissionLedger
from adapters.x12.sources import ClaimSource
from fhir_coder.remittance import Adjustment

__all__ = ["NextPayers", "next_payers", "prior_payment"]

_ADJUDICATED: Final = frozenset({"paid", "partially-paid", "denied"})
_RESPONSIBILITY: Final = "PST"  # the payers a claim can go to in turn (SBR01)
_SEQUENCE_LAST: Final = 10**6


def _amount(text: object) -> Decimal:
    try:
        return Decimal(str(text))
    except InvalidOperation:
        return Decimal(0)


def _adjustments(rows: Sequence[RemitLineRow]) -> tuple[Adjustment, ...]:
    return tuple(
        Adjustment(row.group_code, row.carc, _amount(row.amount)) for row in rows if row.carc
    )


def _our_line(procedure: str, number: int, sent: list[dict[str, Any]], used: set[int]) -> int:
    """Our line (1-based) a remittance line answers: same position and code, else same code.

    Payers answer the lines in the order sent; one that bundled or split lines is found
    by its code. 0 when no line sent matches.
    """
    code = procedure.split(":", 1)[0]

    def matches(entry: dict[str, Any]) -> bool:
        sent = str(entry.get("code") or "")
        # a revenue-only line comes back as NU:<revenue code> (SVC01), the qualifier dropped
        return not code or sent == code or (not sent and str(entry.get("revenue")) == code)

    if 0 < number <= len(sent) and number not in used and matches(sent[number - 1]):
        return number
    return next(
        (
            position
            for position, entry in enumerate(sent, start=1)
            if position not in used and matches(entry)
        ),
        0,
    )


def prior_payment(ledger: SubmissionLedger, key: str) -> PriorPayment | None:
    """The adjudication the ledger recorded for submission ``key``; None before any.

    The latest remittance event gives the claim's payment and the day it was recorded
    (DTP*573: the 835's own check date is not kept); its lines come from the remittance
    rows, a reversal's left out.
    """
    submission = ledger.submission(key)
    if submission is None:
        return None
    events = [e for e in ledger.history(key) if e.source == "remittance"]
    events = [e for e in events if e.status in _ADJUDICATED]
    if not events:
        return None
    latest = events[-1]
    rows = [row for row in ledger.remit_lines(key) if row.outcome != "reversed"]
    sent = [e for e in submission.detail.get("lines", []) if isinstance(e, dict)]
    by_line: dict[int, list[RemitLineRow]] = {}
    for row in rows:
        if row.line > 0:
            by_line.setdefault(row.line, []).append(row)
    used: set[int] = set()
    lines: list[LinePayment] = []
    for number, group in by_line.items():
        ours = _our_line(group[0].procedure, number, sent, used)
        if ours == 0:
            continue
        used.add(ours)
        lines.append(
            LinePayment(ours, group[0].procedure, _amount(group[0].paid), _adjustments(group))
        )
    return PriorPayment(
        paid=_amount(latest.detail.get("paid")),
        adjudicated=datetime.fromtimestamp(latest.at, tz=UTC).date(),
        adjustments=_adjustments([row for row in rows if row.line == 0]),
        lines=tuple(sorted(lines, key=lambda paid: paid.line)),
    )


@dataclass(slots=True)
class NextPayers:
    """A source's Claims turned to their next payer, and why the others stay where they are."""

    source: ClaimSource
    waiting: dict[str, str] = field(default_factory=dict)  # Claim id -> why not moved on


def _ordered(claim: dict[str, Any]) -> list[dict[str, Any]]:
    entries = [e for e in claim.get("insurance") or [] if isinstance(e, dict)]
    return sorted(
        entries, key=lambda e: e["sequence"] if type(e.get("sequence")) is int else _SEQUENCE_LAST
    )


def _left_unpaid(ledger: SubmissionLedger, key: str) -> bool | None:
    """Whether the payer of submission ``key`` remitted and left part of it unpaid.

    None when it has not remitted (or was never sent).
    """
    submission = ledger.submission(key)
    payment = prior_payment(ledger, key)
    if submission is None or payment is None:
        return None
    return payment.paid < _amount(submission.charge)


def next_payers(source: ClaimSource, ledger: SubmissionLedger) -> NextPayers:
    """Each Claim that goes to its next payer now, turned to that payer.

    A Claim moves on when the last payer it went to has remitted and left part of the
    charge unpaid (the patient's share, a denial, a contractual cut the next payer may
    weigh) and its ``insurance`` names a Coverage after that one: the copy has ``focal``
    on that Coverage and ``insurer`` its payer, and goes out as the claim to the
    secondary (or tertiary), carrying the earlier payers' adjudication. The others are
    listed with why they wait (not remitted yet, paid in full, no further Coverage).
    """
    moved = ClaimSource(name=source.name, resources=source.resources)
    report = NextPayers(moved)
    for claim in source.claims:
        claim_id = str(claim.get("id") or "")
        ordered = _ordered(claim)
        if claim.get("status") != "active" or len(ordered) < 2:
            continue
        position, unpaid = 0, None
        for number in range(min(len(ordered), len(_RESPONSIBILITY))):
            answer = _left_unpaid(ledger, payer_key(claim_id, _RESPONSIBILITY[number]))
            if answer is None:
                break
            position, unpaid = number, answer
        if unpaid is None:
            report.waiting[claim_id] = "its payer has not remitted it yet"
        elif not unpaid:
            report.waiting[claim_id] = "paid in full: nothing is left for another payer"
        elif position + 1 >= min(len(ordered), len(_RESPONSIBILITY)):
            report.waiting[claim_id] = "no further Coverage to bill"
        else:
            moved.claims.append(_turned(claim, ordered[position + 1], source))
    return report


def _turned(claim: dict[str, Any], entry: dict[str, Any], source: ClaimSource) -> dict[str, Any]:
    """A copy of ``claim`` billed to the Coverage of ``entry``."""
    turned = copy.deepcopy(claim)
    target = entry.get("sequence")
    for insurance in turned.get("insurance") or []:
        if isinstance(insurance, dict):
            insurance["focal"] = insurance.get("sequence") == target
    reference = str((entry.get("coverage") or {}).get("reference") or "")
    coverage = source.resolve(reference) or {}
    payor = next(
        (p for p in coverage.get("payor") or [] if isinstance(p, dict) and p.get("reference")),
        None,
    )
    if payor is not None:
        turned["insurer"] = {"reference": payor["reference"]}
    else:
        turned.pop("insurer", None)  # claim_facts then says the payer cannot be found
    return turned
