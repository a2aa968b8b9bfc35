"""What an earlier payer did with a claim, read back from the submission ledger.

A claim to the secondary (or tertiary) payer carries the primary's adjudication: what it
paid on the claim (2320 AMT*D) and its claim-level adjustments (2320 CAS), and per line
what it paid and adjusted (2430 SVD, CAS, DTP*573). All of it is the remittance the
ledger recorded for the earlier submission (835 or ClaimResponse intake), matched to the
lines as that submission sent them; nothing is estimated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from adapters.x12.claim_facts import LinePayment, PriorPayment
from adapters.x12.ledger import RemitLineRow, SubmissionLedger
from fhir_coder.remittance import Adjustment

__all__ = ["prior_payment"]

_ADJUDICATED: Final = frozenset({"paid", "partially-paid", "denied"})


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
        return not code or str(entry.get("code") or "") == code

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
