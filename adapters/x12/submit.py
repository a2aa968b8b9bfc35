"""Sending Claims: the 837 interchange handed off, and every Claim in it marked submitted.

One call takes the Claims of a source, keeps those ready to go (each refused one with its
reasons), and hands them off exactly once (:mod:`adapters.x12.handoff` for where):

1. **take**: in one ledger transaction, a new interchange control number and each Claim
   recorded ``sending`` in it, unless another run has it (a second machine submitting the
   same Claim finds it taken and leaves it); the hand-off is recorded ``reserved``, with
   this machine and process and a lease;
2. **build and stage**: one 837P and one 837I transaction (5,000 claims at most each, as
   the implementation guides advise) in one interchange, written whole to a staged copy;
   the hand-off becomes ``staged`` (with the text's digest and each Claim's GS06:ST02);
3. **publish**: renamed into place (a file, an outbox) or POSTed;
4. **record**: each Claim marked submitted in the Claim ledger (idempotent: from then on a
   recoded encounter gets a replacement Claim), then, in one transaction, each Claim
   ``submitted`` with its history (a replacement's prior ``corrected``, a void ``voided``)
   and the hand-off ``sent``.

A run that stops anywhere (killed, the machine lost) is finished by the next run on the
same machine and destination, once the process is gone or its lease ran out: a ``reserved``
hand-off published nothing, so its Claims go back to ``not-submitted`` and are sent again;
a ``staged`` one is published if its staged copy is still there (else it was: a rename
publishes and removes it in one step) and then recorded. A destination that refuses the
interchange puts its Claims back to ``not-submitted`` with the reason; one whose answer is
unknown (an HTTP timeout) keeps the hand-off ``staged`` for the next run to send again,
under the same number. A Claim already sent is not sent again, so a replacement or a void
goes out exactly once.
"""

from __future__ import annotations

import os
import socket
import threading
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
from adapters.x12.coordination import prior_payment
from adapters.x12.envelope import Transaction, group_control_number, interchange
from adapters.x12.handoff import (
    FileHandoff,
    Handoff,
    HandoffRefusedError,
    HandoffUncertainError,
    Staged,
)
from adapters.x12.institutional import INSTITUTIONAL_VERSION, build_837i
from adapters.x12.ledger import RESUBMITTABLE, HandoffRow, Submission, SubmissionLedger
from adapters.x12.parties import X12Parties
from adapters.x12.professional import PROFESSIONAL_VERSION, build_837p
from adapters.x12.sources import ClaimSource

__all__ = [
    "LEASE_SECONDS",
    "MAX_CLAIMS_PER_TRANSACTION",
    "SubmitReport",
    "finish_handoffs",
    "submit_837",
    "write_837",
]

MAX_CLAIMS_PER_TRANSACTION: Final = 5000  # the 837 guides' advice (section 1.4.4)
LEASE_SECONDS: Final = 600.0  # a live run hands off well within; an older hand-off is finished
_IN_FLIGHT: set[int] = set()  # interchanges this process is handing off right now
_IN_FLIGHT_LOCK = threading.Lock()


@dataclass(slots=True)
class SubmitReport:
    """What one ``write_837`` did."""

    path: Path | None = None  # the file published (a file or an outbox)
    interchange: int | None = None
    destination: str = ""
    sent: list[ClaimFacts] = field(default_factory=list)
    not_ready: list[NotReady] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    not_in_claim_ledger: list[str] = field(default_factory=list)
    refused: str = ""  # why the destination refused the interchange (its Claims not sent)
    uncertain: str = ""  # why it is not known whether it arrived (sent again next run)
    finished: list[int] = field(default_factory=list)  # earlier hand-offs finished now
    released: list[int] = field(default_factory=list)  # earlier hand-offs undone now
    pending_elsewhere: list[int] = field(default_factory=list)  # another live run's
    other_destinations: list[tuple[int, str]] = field(default_factory=list)  # left elsewhere

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
            "destination": self.destination,
            "refused": self.refused or None,
            "uncertain": self.uncertain or None,
            "finished": self.finished,
            "released": self.released,
            "pending_elsewhere": self.pending_elsewhere,
            "other_destinations": [
                {"interchange": control, "destination": where}
                for control, where in self.other_destinations
            ],
        }


def _batches(facts: Sequence[ClaimFacts]) -> list[list[ClaimFacts]]:
    return [
        list(facts[start : start + MAX_CLAIMS_PER_TRANSACTION])
        for start in range(0, len(facts), MAX_CLAIMS_PER_TRANSACTION)
    ]


_KINDS: Final = (
    ("professional", build_837p, PROFESSIONAL_VERSION),
    ("institutional", build_837i, INSTITUTIONAL_VERSION),
)


def _layout(facts: Sequence[ClaimFacts]) -> list[tuple[int, int, str, list[ClaimFacts]]]:
    """(group, ST02 number, kind, claims) of each transaction set: 837P first, then 837I."""
    layout: list[tuple[int, int, str, list[ClaimFacts]]] = []
    number = group = 0
    for kind, _, _ in _KINDS:
        of_kind = [f for f in facts if f.kind == kind]
        if of_kind:
            group += 1  # envelope.interchange: one group per version, numbered the same way
        for batch in _batches(of_kind):
            number += 1
            layout.append((group, number, kind, batch))
    return layout


def batch_numbers(facts: Sequence[ClaimFacts], control_number: int) -> dict[str, str]:
    """Each submission key's GS06:ST02 in interchange ``control_number`` (what a 999 names)."""
    return {
        member.submission_key: f"{group_control_number(control_number, group)}:{number:04d}"
        for group, number, _, batch in _layout(facts)
        for member in batch
    }


def build_interchange(
    facts: Sequence[ClaimFacts], parties: X12Parties, *, control_number: int, created: datetime
) -> tuple[str, dict[str, str]]:
    """The interchange for ``facts`` (837P first, then 837I), and where each claim went.

    The second value maps each submission key to the GS06:ST02 of its transaction set.
    """
    builders = {kind: (builder, version) for kind, builder, version in _KINDS}
    transactions: list[Transaction] = []
    for _, number, kind, batch in _layout(facts):
        builder, version = builders[kind]
        model = builder(
            batch,
            parties,
            control_number=f"{number:04d}",
            batch_id=f"{control_number}{number:04d}",
            created=created,
        )
        transactions.append(Transaction(model, version))
    text = interchange(transactions, parties, control_number=control_number, created=created)
    return text, batch_numbers(facts, control_number)


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
    """Write the 837 for ``source``'s Claims ready to go to the file ``out``; record each."""
    return submit_837(
        source,
        parties,
        ledger,
        FileHandoff(out),
        claim_ledger=claim_ledger,
        price=price,
        created=created,
    )


def submit_837(
    source: ClaimSource,
    parties: X12Parties,
    ledger: SubmissionLedger,
    handoff: Handoff,
    *,
    claim_ledger: ClaimLedger | None = None,
    price: Callable[[str, tuple[str, ...]], Decimal | None] | None = None,
    created: datetime | None = None,
    lease_seconds: float = LEASE_SECONDS,
) -> SubmitReport:
    """Hand the 837 of ``source``'s Claims ready to go to ``handoff``, exactly once.

    Earlier hand-offs to the same destination that a stopped run left are finished first
    (:func:`finish_handoffs`). Raises :class:`HandoffRefusedError` when the destination
    refused the interchange (its Claims are back to ``not-submitted``, with the reason).
    """
    created = created or datetime.now(UTC)
    report = SubmitReport(destination=handoff.where)
    finish_handoffs(ledger, handoff, claim_ledger, report, lease_seconds=lease_seconds)
    ready = _ready(source, ledger, price, report)
    if not ready:
        return report
    control, ready = _take(ready, ledger, handoff, source.name, created, report, lease_seconds)
    if not ready:
        return report
    try:
        return _send(control, ready, parties, ledger, handoff, claim_ledger, created, report)
    finally:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.discard(control)


def _send(
    control: int,
    ready: list[ClaimFacts],
    parties: X12Parties,
    ledger: SubmissionLedger,
    handoff: Handoff,
    claim_ledger: ClaimLedger | None,
    created: datetime,
    report: SubmitReport,
) -> SubmitReport:
    """Build, stage, publish and record interchange ``control`` (already taken)."""
    taken = ready
    try:
        text, _, ready = _build(ready, parties, control, created, report)
        if not ready:
            _release(ledger, control, "every Claim in it was refused by x12sdk")
            return report
        staged = handoff.stage(control, text)
    except BaseException:
        _release(ledger, control, "the interchange could not be written")
        handoff.forget(Staged(control, "", handoff.staged_path(control), ""))
        raise
    _stage(ledger, control, staged, taken, ready)
    if not _publish(ledger, handoff, staged, report):
        return report
    _complete(ledger, control, claim_ledger, report)
    report.interchange, report.sent = control, ready
    if handoff.method in ("file", "outbox"):
        report.path = (
            Path(handoff.where) / staged.name if handoff.method == "outbox" else Path(handoff.where)
        )
    return report


def _take(
    ready: list[ClaimFacts],
    ledger: SubmissionLedger,
    handoff: Handoff,
    destination: str,
    created: datetime,
    report: SubmitReport,
    lease_seconds: float,
) -> tuple[int, list[ClaimFacts]]:
    """A control number and the Claims of ``ready`` this run has, taken in one transaction."""
    at = created.timestamp()
    kept: list[ClaimFacts] = []
    with ledger.transaction() as db:
        control = ledger.take_number(db)
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.add(control)
        planned = batch_numbers(ready, control)  # rewritten in _stage if a claim drops out
        taken = ledger.take_for_sending(
            db, [_submission(f, destination, control, at, planned) for f in ready], control
        )
        for facts in ready:
            if facts.submission_key in taken:
                kept.append(facts)
            else:  # another run took it between our look and now
                report.already_sent.append(facts.submission_key)
        if kept:
            staged = handoff.staged_path(control)
            ledger.add_handoff(
                db,
                HandoffRow(
                    control=control,
                    destination=handoff.where,
                    method=handoff.method,
                    name="",
                    staged=str(staged),
                    digest="",
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    state="reserved",
                    claims=len(kept),
                    lease_until=db.now() + lease_seconds,
                ),
            )
    return control, kept


def _build(
    ready: list[ClaimFacts],
    parties: X12Parties,
    control: int,
    created: datetime,
    report: SubmitReport,
) -> tuple[str, dict[str, str], list[ClaimFacts]]:
    """The interchange text, each Claim's GS06:ST02, and the Claims in it."""
    try:
        text, batches = build_interchange(ready, parties, control_number=control, created=created)
    except ValidationError:  # x12sdk refused a model: a fact we did not check; find whose
        ready = _without_refused(ready, parties, created, report)
        if not ready:
            return "", {}, []
        text, batches = build_interchange(ready, parties, control_number=control, created=created)
    return text, batches, ready


def _publish(
    ledger: SubmissionLedger, handoff: Handoff, staged: Staged, report: SubmitReport
) -> bool:
    """Publish ``staged``; False (the report says why) when it did not surely go."""
    try:
        handoff.publish(staged)
    except HandoffRefusedError as exc:
        handoff.forget(staged)
        _release(ledger, staged.control, str(exc))
        report.refused = str(exc)
        raise
    except HandoffUncertainError as exc:
        report.uncertain = str(exc)
        return False
    return True


def _ready(
    source: ClaimSource,
    ledger: SubmissionLedger,
    price: Callable[[str, tuple[str, ...]], Decimal | None] | None,
    report: SubmitReport,
) -> list[ClaimFacts]:
    """The facts of ``source``'s Claims ready to go and not sent before; the rest reported."""
    candidates: list[ClaimFacts] = []
    for claim in source.claims:
        try:
            candidates.append(
                claim_facts(
                    claim,
                    source.resolve,
                    submitted=ledger.payer_claim_number,
                    price=price,
                    paid_by=lambda key: prior_payment(ledger, key),
                )
            )
        except NotReady as refused:
            report.not_ready.append(refused)
    # what the ledger knows of them, asked in a few queries rather than two per Claim
    known = ledger.submissions_by("claim_id", [f.submission_key for f in candidates])
    by_pcn = ledger.submissions_by("pcn", [f.pcn for f in candidates])
    ready: list[ClaimFacts] = []
    numbers: dict[str, str] = {}
    for facts in candidates:
        prior = known.get(facts.submission_key)
        if prior is not None and prior.status not in RESUBMITTABLE:
            report.already_sent.append(facts.submission_key)
            continue
        holder = numbers.get(facts.pcn) or getattr(by_pcn.get(facts.pcn), "claim_id", None)
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


def _submission(
    facts: ClaimFacts, destination: str, control: int, at: float, batches: dict[str, str]
) -> Submission:
    return Submission(
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
        status="sending",
        submitted_at=at,
        batch=batches[facts.submission_key],
        encounter=facts.encounter,
        detail=_codes_sent(facts),
    )


def _stage(
    ledger: SubmissionLedger,
    control: int,
    staged: Staged,
    taken: Sequence[ClaimFacts],
    built: Sequence[ClaimFacts],
) -> None:
    """The hand-off ``staged``; Claims taken but left out of it (x12sdk refused) released."""
    with ledger.transaction() as db:
        if len(built) != len(taken):  # the GS06:ST02s planned when taken moved: set again
            batches = batch_numbers(built, control)
            for facts in taken:
                key = facts.submission_key
                if key in batches:
                    db.run(
                        "UPDATE submissions SET batch = ? WHERE claim_id = ?", (batches[key], key)
                    )
                else:
                    detail = {"interchange": control, "reason": "x12sdk refused it"}
                    ledger.add_event(db, key, "not-submitted", "837", detail)
        ledger.set_handoff(
            db,
            control,
            state="staged",
            name=staged.name,
            staged=str(staged.path),
            digest=staged.digest,
            claims=len(built),
        )


def _release(ledger: SubmissionLedger, control: int, reason: str) -> None:
    """Interchange ``control`` did not go: its Claims back to ``not-submitted``, with why."""
    with ledger.transaction(_interchange_key(control)) as db:
        for submission in ledger.in_interchange(db, control, "sending"):
            detail = {"interchange": control, "reason": reason}
            ledger.add_event(db, submission.claim_id, "not-submitted", "handoff", detail)
        ledger.set_handoff(db, control, state="released", lease_until=0)


def _complete(
    ledger: SubmissionLedger,
    control: int,
    claim_ledger: ClaimLedger | None,
    report: SubmitReport,
) -> None:
    """Interchange ``control`` went: each Claim marked submitted, then recorded so."""
    if claim_ledger is not None:  # first: a crash after this is finished by the next run
        with ledger.read() as db:
            going = ledger.in_interchange(db, control, "sending", detail=False)
        for submission in going:
            if not claim_ledger.mark_submitted(submission.destination, submission.base_id):
                report.not_in_claim_ledger.append(submission.claim_id.split("#", 1)[0])
    with ledger.transaction(_interchange_key(control)) as db:
        steps: list[tuple[str, str, str, dict[str, Any], float]] = []
        for submission in ledger.in_interchange(db, control, "sending", detail=False):
            at = submission.submitted_at or time.time()
            claim_id = submission.claim_id.split("#", 1)[0]
            detail = {
                "interchange": control,
                "pcn": submission.pcn,
                "frequency": submission.frequency,
            }
            steps.append((submission.claim_id, "submitted", "837", detail, at))
            if submission.frequency == "7" and submission.corrects:
                steps.append(
                    (submission.corrects, "corrected", "837", {"replaced_by": claim_id}, at)
                )
            elif submission.frequency == "8":
                steps.append((claim_id, "voided", "837", {"interchange": control}, at))
        ledger.add_events(db, steps)  # in one batch: its Claims submitted, priors corrected
        ledger.set_handoff(db, control, state="sent", lease_until=0)


def _interchange_key(control: int) -> str:
    return f"x12:interchange:{control}"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _take_over(ledger: SubmissionLedger, control: int, lease_seconds: float) -> HandoffRow | None:
    """Interchange ``control``'s open hand-off, now this process's; None if it is not ours."""
    me = socket.gethostname()
    with _IN_FLIGHT_LOCK:
        if control in _IN_FLIGHT:
            return None  # this process is handing it off now (another thread, a caller up)
        with ledger.transaction(_interchange_key(control)) as db:
            row = ledger.handoff_in(db, control)
            if row is None or row.state not in ("reserved", "staged") or row.host != me:
                return None
            if row.pid != os.getpid() and _alive(row.pid) and row.lease_until > db.now():
                return None  # another live run on this machine is handing it off now
            ledger.set_handoff(db, control, pid=os.getpid(), lease_until=db.now() + lease_seconds)
        _IN_FLIGHT.add(control)
    return row


def finish_handoffs(
    ledger: SubmissionLedger,
    handoff: Handoff,
    claim_ledger: ClaimLedger | None,
    report: SubmitReport,
    *,
    lease_seconds: float = LEASE_SECONDS,
) -> None:
    """Finish (or undo) the hand-offs to ``handoff``'s destination that stopped runs left.

    Only this machine's: the staged copy is on its disk. Another machine's open hand-off
    is listed in ``report.pending_elsewhere`` for that machine to finish.
    """
    me = socket.gethostname()
    for row in ledger.handoffs("reserved", "staged"):
        if row.destination != handoff.where or row.method != handoff.method:
            # its Claims wait for it ("sending"): said, so nobody thinks them forgotten
            report.other_destinations.append((row.control, row.destination))
            continue
        if row.host != me:
            report.pending_elsewhere.append(row.control)
            continue
        taken = _take_over(ledger, row.control, lease_seconds)
        if taken is None:
            report.pending_elsewhere.append(row.control)
            continue
        try:
            _finish(ledger, handoff, claim_ledger, report, taken)
        finally:
            with _IN_FLIGHT_LOCK:
                _IN_FLIGHT.discard(taken.control)


def _finish(
    ledger: SubmissionLedger,
    handoff: Handoff,
    claim_ledger: ClaimLedger | None,
    report: SubmitReport,
    taken: HandoffRow,
) -> None:
    """Finish or undo one hand-off a stopped run left (taken over by this process)."""
    staged = Staged(taken.control, taken.name, Path(taken.staged), taken.digest)
    if taken.state == "reserved":  # nothing was published before the staged state
        handoff.forget(staged)
        _release(ledger, taken.control, "the run sending it stopped before it was written")
        report.released.append(taken.control)
        return
    if handoff.published(staged) is not True:
        try:
            handoff.publish(staged)
        except HandoffRefusedError:
            handoff.forget(staged)
            _release(ledger, taken.control, "the destination refused it on a second try")
            report.released.append(taken.control)
            return
        except HandoffUncertainError as exc:
            report.uncertain = str(exc)
            return
    _complete(ledger, taken.control, claim_ledger, report)
    if handoff.method == "http":
        handoff.forget(staged)
    report.finished.append(taken.control)
