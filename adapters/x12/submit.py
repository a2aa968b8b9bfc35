"""Sending Claims: the 837 interchange written, and every Claim in it marked submitted.

One call takes the Claims of a source, keeps those ready to go (each refused one with its
reasons), builds one 837P and one 837I transaction (5,000 claims at most each, as the
implementation guides advise), writes the interchange to a temporary file beside the
target and renames it into place, then records each submission and its history in one
ledger transaction and marks each Claim submitted in the Claim ledger (from then on a
recoded encounter gets a replacement Claim). A Claim already sent is not sent again, so
a replacement or a void goes out exactly once. If recording fails, the file is removed:
there is never an interchange on disk whose Claims the ledger does not know were sent.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from adapters.writeback.claim_ledger import ClaimLedger
from adapters.x12.claim_facts import ClaimFacts, NotReady, claim_facts
from adapters.x12.envelope import Transaction, group_control_number, interchange
from adapters.x12.institutional import INSTITUTIONAL_VERSION, build_837i
from adapters.x12.ledger import Submission, SubmissionLedger
from adapters.x12.parties import X12Parties
from adapters.x12.professional import PROFESSIONAL_VERSION, build_837p
from adapters.x12.sources import ClaimSource

__all__ = ["MAX_CLAIMS_PER_TRANSACTION", "SubmitReport", "write_837"]

MAX_CLAIMS_PER_TRANSACTION: Final = 5000  # the 837 guides' advice (section 1.4.4)
_RESUBMITTABLE: Final = frozenset({"rejected"})  # a 999/277CA rejection: fix and send again


@dataclass(slots=True)
class SubmitReport:
    """What one ``write_837`` did."""

    path: Path | None = None
    interchange: int | None = None
    sent: list[ClaimFacts] = field(default_factory=list)
    not_ready: list[NotReady] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    not_in_claim_ledger: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The summary ``fhir-coder x12 837 --json`` prints (ids and codes, no PHI)."""
        return {
            "file": str(self.path) if self.path else None,
            "interchange": self.interchange,
            "sent": [
                {
                    "claim": f.claim_id,
                    "pcn": f.pcn,
                    "kind": f.kind,
                    "frequency": f.frequency,
                    "charge": str(f.total),
                    "lines": len(f.lines),
                    "notes": list(f.notes),
                }
                for f in self.sent
            ],
            "not_ready": [{"claim": n.claim_id, "reasons": n.reasons} for n in self.not_ready],
            "already_sent": self.already_sent,
            "not_in_claim_ledger": self.not_in_claim_ledger,
        }


def _batches(facts: Sequence[ClaimFacts]) -> list[list[ClaimFacts]]:
    return [
        list(facts[start : start + MAX_CLAIMS_PER_TRANSACTION])
        for start in range(0, len(facts), MAX_CLAIMS_PER_TRANSACTION)
    ]


def build_interchange(
    facts: Sequence[ClaimFacts], parties: X12Parties, *, control_number: int, created: datetime
) -> tuple[str, dict[str, str]]:
    """The interchange for ``facts`` (837P first, then 837I), and where each claim went.

    The second value maps each submission key to the GS06:ST02 of its transaction set.
    """
    transactions: list[Transaction] = []
    batches: dict[str, str] = {}
    number = 0
    group = 0
    for kind, builder, version in (
        ("professional", build_837p, PROFESSIONAL_VERSION),
        ("institutional", build_837i, INSTITUTIONAL_VERSION),
    ):
        of_kind = [f for f in facts if f.kind == kind]
        if of_kind:
            group += 1  # envelope.interchange: one group per version, numbered the same way
        for batch in _batches(of_kind):
            number += 1
            for member in batch:
                batches[member.submission_key] = (
                    f"{group_control_number(control_number, group)}:{number:04d}"
                )
            model = builder(
                batch,
                parties,
                control_number=f"{number:04d}",
                batch_id=f"{control_number}{number:04d}",
                created=created,
            )
            transactions.append(Transaction(model, version))
    text = interchange(transactions, parties, control_number=control_number, created=created)
    return text, batches


def write_837(
    source: ClaimSource,
    parties: X12Parties,
    ledger: SubmissionLedger,
    *,
    out: Path,
    claim_ledger: ClaimLedger | None = None,
    price: Callable[[str, tuple[str, ...]], Decimal | None] | None = None,
    created: datetime | None = None,
) -> SubmitReport:
    """Write the 837 for ``source``'s Claims ready to go to ``out``; record each as submitted."""
    created = created or datetime.now(UTC)
    report = SubmitReport()
    ready = _ready(source, ledger, price, report)
    if not ready:
        return report
    control = ledger.next_control_number()  # a number never reused; a gap is harmless
    try:
        text, batches = build_interchange(ready, parties, control_number=control, created=created)
    except ValidationError:  # x12sdk refused a model: a fact we did not check; find whose
        ready = _without_refused(ready, parties, created, report)
        if not ready:
            return report
        text, batches = build_interchange(ready, parties, control_number=control, created=created)
    _write_atomically(out, text)
    try:
        _record(ready, ledger, source.name, control, created, batches)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    if claim_ledger is not None:
        for facts in ready:
            base = facts.claim_id.split("-r", 1)[0]
            if not claim_ledger.mark_submitted(source.name, base):
                report.not_in_claim_ledger.append(facts.claim_id)
    report.path, report.interchange, report.sent = out, control, ready
    return report


def _ready(
    source: ClaimSource,
    ledger: SubmissionLedger,
    price: Callable[[str, tuple[str, ...]], Decimal | None] | None,
    report: SubmitReport,
) -> list[ClaimFacts]:
    """The facts of ``source``'s Claims ready to go and not sent before; the rest reported."""
    ready: list[ClaimFacts] = []
    numbers: dict[str, str] = {}
    for claim in source.claims:
        try:
            facts = claim_facts(
                claim, source.resolve, submitted=ledger.payer_claim_number, price=price
            )
        except NotReady as refused:
            report.not_ready.append(refused)
            continue
        prior = ledger.submission(facts.submission_key)
        if prior is not None and prior.status not in _RESUBMITTABLE:
            report.already_sent.append(facts.submission_key)
            continue
        holder = numbers.get(facts.pcn) or getattr(ledger.by_pcn(facts.pcn), "claim_id", None)
        if holder is not None and holder != facts.submission_key:
            reason = f"its patient control number {facts.pcn} is Claim/{holder}'s already"
            report.not_ready.append(NotReady(facts.claim_id, [reason]))
            continue
        numbers[facts.pcn] = facts.submission_key
        ready.append(facts)
    return ready


def _without_refused(
    ready: list[ClaimFacts], parties: X12Parties, created: datetime, report: SubmitReport
) -> list[ClaimFacts]:
    """``ready`` less the claims x12sdk refuses on their own, each reported with why."""
    kept: list[ClaimFacts] = []
    for facts in ready:
        try:
            build_interchange([facts], parties, control_number=1, created=created)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            reason = f"x12sdk refuses it: {where}: {first['msg']}"
            report.not_ready.append(NotReady(facts.claim_id, [reason]))
        else:
            kept.append(facts)
    return kept


def _write_atomically(out: Path, text: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="ascii", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).replace(out)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise


def _codes_sent(facts: ClaimFacts) -> dict[str, Any]:
    """The codes as sent, so a denied line can be shown with the diagnoses it pointed at."""
    diagnoses = [d.code for d in facts.diagnoses]
    return {
        "kind": facts.kind,
        "diagnoses": diagnoses,
        "lines": [
            {
                "line": number,
                "code": line.code,
                "modifiers": list(line.modifiers),
                "revenue": line.revenue,
                "charge": str(line.charge),
                "diagnoses": [diagnoses[p - 1] for p in line.pointers if 0 < p <= len(diagnoses)],
            }
            for number, line in enumerate(facts.lines, start=1)
        ],
    }


def _record(
    ready: Sequence[ClaimFacts],
    ledger: SubmissionLedger,
    destination: str,
    control: int,
    created: datetime,
    batches: dict[str, str],
) -> None:
    at = created.timestamp() if created else time.time()
    with ledger.transaction() as db:
        for facts in ready:
            ledger.add_submission(
                db,
                Submission(
                    claim_id=facts.submission_key,
                    pcn=facts.pcn,
                    base_id=facts.claim_id.split("-r", 1)[0],
                    destination=destination,
                    kind=facts.kind,
                    frequency=facts.frequency,
                    charge=str(facts.total),
                    interchange=control,
                    corrects=facts.corrects,
                    payer_claim_number=facts.payer_claim_number,
                    status="submitted",
                    submitted_at=at,
                    batch=batches[facts.submission_key],
                    encounter=facts.encounter,
                    detail=_codes_sent(facts),
                ),
            )
            detail = {"interchange": control, "pcn": facts.pcn, "frequency": facts.frequency}
            ledger.add_event(db, facts.submission_key, "submitted", "837", detail, at=at)
            if facts.frequency == "7" and facts.corrects:
                ledger.add_event(
                    db, facts.corrects, "corrected", "837", {"replaced_by": facts.claim_id}, at=at
                )
            elif facts.frequency == "8":
                ledger.add_event(
                    db, facts.claim_id, "voided", "837", {"interchange": control}, at=at
                )
