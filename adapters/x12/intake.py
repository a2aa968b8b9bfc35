"""Recording what payers sent back: 835s, 999s, 277CAs and TA1s, matched to our submissions.

A file is read and checked whole before anything is written; then everything it says
goes into the ledger in one transaction: per claim its outcome and history step, per
line each adjustment with its group code, CARC and RARCs, the payer's claim control
number (a replacement needs it), provider-level adjustments, and every claim that is not
ours, kept and reported rather than dropped. A file recorded once is recognised by its
digest and records nothing the second time; a claim's adjudication that arrives again by
another way (the 835 and the payer's ClaimResponse of it: the same payer claim number,
status, charge and payment) is recorded once and reported as repeated. Rejections (999,
277CA) are kept apart from denials: they set the status ``rejected``, never ``denied``,
and carry no remittance line. A TA1 is about the interchange, not a claim: it is kept in its
own table; a rejected interchange (TA104 R) puts each of its Claims back to
``not-submitted`` with the note code (and, given the Claim ledger, an original Claim is no
longer marked submitted there: the payer never received it), so the next ``x12 837``
sends it again; an accepted one adds a step to each Claim's history without changing
its status.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from adapters.storage import Tx
from adapters.writeback.claim_ledger import ClaimLedger
from adapters.x12.acknowledgments import (
    Acknowledgment,
    InterchangeAck,
    read_277ca,
    read_999,
    read_ta1,
)
from adapters.x12.ledger import Submission, SubmissionLedger
from adapters.x12.remittance835 import read_835
from adapters.x12.syntax import MAX_X12_BYTES, read_interchange
from fhir_coder.errors import ConfigurationError, X12Error
from fhir_coder.remittance import (
    Remittance,
    RemittanceClaim,
    claim_outcome,
    line_outcome,
)

__all__ = [
    "IntakeReport",
    "record_acknowledgment_list",
    "record_remittances",
    "record_x12_file",
    "record_x12_text",
]

_KINDS: Final = {"835": "835", "999": "999", "277": "277CA"}


@dataclass(slots=True)
class IntakeReport:
    """What one intake recorded."""

    source: str
    kind: str
    claims_matched: int = 0
    lines_recorded: int = 0
    unknown_claims: list[str] = field(default_factory=list)
    provider_adjustments: int = 0
    statuses: dict[str, str] = field(default_factory=dict)  # claim id -> status now
    already_recorded: bool = False
    repeated: list[str] = field(default_factory=list)  # claim ids answered before, another way
    denials: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # claim id -> lines
    rejections: dict[str, list[str]] = field(default_factory=dict)  # claim id -> codes
    interchanges: dict[str, str] = field(default_factory=dict)  # TA1: ISA13 -> accepted/rejected
    unknown_interchanges: list[int] = field(default_factory=list)  # TA1s naming none of ours
    returned: list[Submission] = field(default_factory=list)  # back to not-submitted (TA1)

    def to_json(self) -> dict[str, Any]:
        """The summary ``fhir-coder x12 835 --json`` prints (ids and codes only)."""
        return {
            "source": self.source,
            "kind": self.kind,
            "claims_matched": self.claims_matched,
            "lines_recorded": self.lines_recorded,
            "unknown_claims": self.unknown_claims,
            "provider_adjustments": self.provider_adjustments,
            "statuses": self.statuses,
            "already_recorded": self.already_recorded,
            "repeated": self.repeated,
            "denials": self.denials,
            "rejections": self.rejections,
            "interchanges": self.interchanges,
            "unknown_interchanges": self.unknown_interchanges,
        }


def record_x12_file(
    path: Path, ledger: SubmissionLedger, *, claim_ledger: ClaimLedger | None = None
) -> IntakeReport:
    """Check, read and record one X12 file (835, 999, 277CA or TA1).

    ``claim_ledger``: where an original Claim whose interchange a TA1 rejected stops being
    marked submitted.
    """
    try:
        size = path.stat().st_size
        if size > MAX_X12_BYTES:
            raise X12Error(
                f"the file is larger than {MAX_X12_BYTES} bytes",
                source=str(path),
                segment="ISA",
                position=1,
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise X12Error(
            f"byte {exc.start} is not ASCII (X12's basic and extended character sets are)",
            source=str(path),
            segment="ISA",
            position=1,
        ) from exc
    return record_x12_text(text, ledger, source=str(path), claim_ledger=claim_ledger)


def record_x12_text(
    text: str,
    ledger: SubmissionLedger,
    *,
    source: str,
    claim_ledger: ClaimLedger | None = None,
) -> IntakeReport:
    """:func:`record_x12_file` for text already in hand."""
    report = _record_text(text, ledger, source)
    if claim_ledger is not None:  # after the commit: idempotent, so a crash here is harmless
        for submission in report.returned:
            if submission.frequency == "1":  # a replacement's prior stays submitted
                claim_ledger.unmark_submitted(submission.destination, submission.base_id)
    return report


def _record_text(text: str, ledger: SubmissionLedger, source: str) -> IntakeReport:
    checked = read_interchange(text, source)
    interchange_acks = read_ta1(checked)
    codes = {t.code for t in checked.transactions}
    digest = hashlib.sha256(text.encode()).hexdigest()
    if not codes and interchange_acks:
        report = IntakeReport(source=source, kind="TA1")
        with ledger.transaction(_intake_key(digest)) as db:
            if _seen(db, digest, source):
                report.already_recorded = True
                return report
            _record_ta1(db, ledger, interchange_acks, report, digest)
        return report
    if not codes:
        raise X12Error(
            "the interchange holds no transaction set and no TA1",
            source=source,
            segment="IEA",
            position=checked.segments[-1].position,
        )
    if len(codes) > 1:
        raise X12Error(
            f"one kind of transaction per file, not {sorted(codes)}",
            source=source,
            segment="ST",
            position=checked.transactions[0].segments[0].position,
        )
    code = codes.pop()
    if code not in _KINDS or code == "837":
        start = checked.transactions[0].segments[0]
        raise X12Error(
            f"a {code} is not a reply this reads",
            source=source,
            segment="ST",
            position=start.position,
        )
    report = IntakeReport(source=source, kind=_KINDS[code])

    def also(db: Tx) -> None:  # TA1s before the groups: recorded in the same transaction
        _record_ta1(db, ledger, interchange_acks, report, digest)

    extra = also if interchange_acks else None
    if code == "835":
        remittances = read_835(text, checked, source)
        return record_remittances(remittances, ledger, report, digest, also=extra)
    acknowledgments = read_999(checked) if code == "999" else read_277ca(checked)
    return _record_acknowledgments(acknowledgments, ledger, report, digest, also=extra)


def _record_ta1(
    db: Tx,
    ledger: SubmissionLedger,
    acks: Sequence[InterchangeAck],
    report: IntakeReport,
    digest: str,
) -> None:
    """Each TA1 kept, and its interchange's Claims told (inside the intake's transaction)."""
    for ack in acks:
        db.run(
            "INSERT INTO interchange_acks (intake, control, ack_date, ack_code, note_code, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (digest, ack.control, f"{ack.date}{ack.time}", ack.code, ack.note, time.time()),
        )
        claims = ledger.in_interchange(db, ack.control)
        if not claims and ledger.handoff_in(db, ack.control) is None:
            report.unknown_interchanges.append(ack.control)
            continue
        report.interchanges[str(ack.control)] = "accepted" if ack.accepted else "rejected"
        for submission in claims:
            detail: dict[str, Any] = {"interchange": ack.control, "ta1": ack.code, "note": ack.note}
            if ack.accepted:
                ledger.add_event(
                    db, submission.claim_id, "interchange-accepted", "TA1", detail, set_status=False
                )
            elif submission.status == "submitted":
                detail["reason"] = f"the payer's translator rejected interchange {ack.control}"
                ledger.add_event(db, submission.claim_id, "not-submitted", "TA1", detail)
                report.statuses[submission.claim_id] = "not-submitted"
                report.returned.append(submission)
            else:  # answered already (a 277CA, an 835): the TA1 is noted, the status stands
                ledger.add_event(
                    db, submission.claim_id, "interchange-rejected", "TA1", detail, set_status=False
                )


def _intake_key(digest: str) -> str:
    """The lock an intake is recorded under: one file read on two machines records once."""
    return f"x12:intake:{digest}"


def _seen(db: Tx, digest: str, name: str) -> bool:
    if db.one("SELECT 1 FROM intakes WHERE digest = ?", (digest,)):
        return True
    db.run("INSERT INTO intakes (digest, name, at) VALUES (?, ?, ?)", (digest, name, time.time()))
    return False


def _matcher(
    ledger: SubmissionLedger, claims: Sequence[RemittanceClaim]
) -> Callable[[RemittanceClaim], Submission | None]:
    """Each claim's submission: by its Claim reference, else its patient control number.

    The ledger is asked in a few queries for the lot, not one or two per claim.
    """
    by_id = ledger.submissions_by(
        "claim_id", [c.claim_reference.removeprefix("Claim/") for c in claims if c.claim_reference]
    )
    by_pcn = ledger.submissions_by("pcn", [c.pcn for c in claims if c.pcn])

    def match(claim: RemittanceClaim) -> Submission | None:
        if claim.claim_reference:
            found = by_id.get(claim.claim_reference.removeprefix("Claim/"))
            if found is not None:
                return found
        return by_pcn.get(claim.pcn) if claim.pcn else None

    return match


def record_remittances(
    remittances: Sequence[Remittance],
    ledger: SubmissionLedger,
    report: IntakeReport,
    digest: str,
    *,
    also: Callable[[Tx], None] | None = None,
) -> IntakeReport:
    """Record ``remittances`` (read from one source, ``digest`` its content) in one transaction.

    ``also`` records more of the same file in that transaction (its TA1s).
    """
    claims = [claim for remittance in remittances for claim in remittance.claims]
    match = _matcher(ledger, claims)
    matches = [(claim, match(claim)) for claim in claims]
    with ledger.transaction(_intake_key(digest)) as db:
        if _seen(db, digest, report.source):
            report.already_recorded = True
            return report
        if also is not None:
            also(db)
        batch = _Batch()
        for claim, submission in matches:
            if submission is None:
                report.unknown_claims.append(claim.pcn or claim.claim_reference)
                db.run(
                    "INSERT INTO unmatched (intake, pcn, detail) VALUES (?, ?, ?)",
                    (digest, claim.pcn or claim.claim_reference, json.dumps(_claim_detail(claim))),
                )
                continue
            report.claims_matched += 1
            if _adjudicated_before(db, submission, claim, batch):
                report.repeated.append(submission.claim_id)
                continue
            lines, denied = _record_claim(claim, submission, digest, batch)
            report.lines_recorded += lines
            report.statuses[submission.claim_id] = claim_outcome(claim).value
            if denied:
                report.denials.setdefault(submission.claim_id, []).extend(denied)
        batch.write(db, ledger)
        for remittance in remittances:
            for adjustment in remittance.provider_adjustments:
                report.provider_adjustments += 1
                db.run(
                    "INSERT INTO provider_adjustments (intake, provider, period, reason, reference,"
                    " amount) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        digest,
                        adjustment.provider,
                        adjustment.period,
                        adjustment.reason,
                        adjustment.reference,
                        str(adjustment.amount),
                    ),
                )
    return report


_NEVER_REMITTED: Final = frozenset(
    {"sending", "submitted", "accepted", "rejected", "not-submitted"}
)


@dataclass(slots=True)
class _Batch:
    """What one intake writes, gathered so it goes to the ledger in a few batched statements."""

    lines: list[tuple[Any, ...]] = field(default_factory=list)
    numbers: list[tuple[str, str]] = field(default_factory=list)
    events: list[tuple[str, str, str, dict[str, Any], float]] = field(default_factory=list)
    answered: set[tuple[str, str, str, Decimal, Decimal]] = field(default_factory=set)

    def write(self, db: Tx, ledger: SubmissionLedger) -> None:
        db.many(
            "INSERT INTO remit_lines (intake, claim_id, pcn, claim_status, line, procedure,"
            " charge, paid, group_code, carc, amount, rarcs, outcome)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.lines,
        )
        db.many("UPDATE submissions SET payer_claim_number = ? WHERE claim_id = ?", self.numbers)
        ledger.add_events(db, self.events)


def _adjudicated_before(
    db: Tx, submission: Submission, claim: RemittanceClaim, batch: _Batch
) -> bool:
    """Whether this adjudication of the Claim was recorded already (from another source)."""
    if not claim.payer_claim_number:
        return False
    wanted = (claim.payer_claim_number, claim.status_code, claim.charge, claim.paid)
    if (submission.claim_id, *wanted) in batch.answered:  # twice in this very file
        return True
    batch.answered.add((submission.claim_id, *wanted))
    if submission.status in _NEVER_REMITTED:  # no remittance yet: nothing to look through
        return False
    for row in db.all(
        "SELECT detail FROM events WHERE claim_id = ? AND source = 'remittance'",
        (submission.claim_id,),
    ):
        seen = json.loads(row[0])
        try:
            recorded = (
                seen.get("payer_claim_number"),
                seen.get("status_code"),
                Decimal(str(seen.get("charge"))),
                Decimal(str(seen.get("paid"))),
            )
        except InvalidOperation:
            continue
        if recorded == wanted:  # Decimal equality: 150.0 from FHIR is 150.00 from an 835
            return True
    return False


def _claim_detail(claim: RemittanceClaim) -> dict[str, Any]:
    return {
        "pcn": claim.pcn,
        "claim": claim.claim_reference,
        "status_code": claim.status_code,
        "charge": str(claim.charge),
        "paid": str(claim.paid),
        "payer_claim_number": claim.payer_claim_number,
        "lines": len(claim.lines),
    }


def _record_claim(
    claim: RemittanceClaim, submission: Submission, digest: str, batch: _Batch
) -> tuple[int, list[dict[str, Any]]]:
    rows: list[tuple[Any, ...]] = []
    denied: list[dict[str, Any]] = []
    for line in claim.lines:
        outcome = line_outcome(line, claim.status_code).value
        base = (
            digest,
            submission.claim_id,
            claim.pcn,
            claim.status_code,
            line.number,
            ":".join((line.procedure, *line.modifiers)),
            str(line.charge),
            str(line.paid),
        )
        remarks = ",".join(line.remarks)
        if not line.adjustments:
            rows.append((*base, "", "", "", remarks, outcome))
        for adjustment in line.adjustments:
            rows.append(
                (
                    *base,
                    adjustment.group,
                    adjustment.reason,
                    str(adjustment.amount),
                    remarks,
                    outcome,
                )
            )
            if outcome == "denied" and adjustment.is_denial:
                denied.append(
                    {
                        "line": line.number,
                        "reference": line.line_reference,
                        "procedure": line.procedure,
                        "group": adjustment.group,
                        "carc": adjustment.reason,
                        "rarc": list(line.remarks),
                    }
                )
    for adjustment in claim.adjustments:  # claim-level CAS: line 0
        rows.append(
            (
                digest,
                submission.claim_id,
                claim.pcn,
                claim.status_code,
                0,
                "",
                str(claim.charge),
                str(claim.paid),
                adjustment.group,
                adjustment.reason,
                str(adjustment.amount),
                ",".join(claim.remarks),
                "claim-adjustment",
            )
        )
        if adjustment.is_denial and claim_outcome(claim).value == "denied" and not claim.lines:
            denied.append(
                {
                    "line": 0,
                    "procedure": "",
                    "group": adjustment.group,
                    "carc": adjustment.reason,
                    "rarc": list(claim.remarks),
                }
            )
    batch.lines.extend(rows)
    if claim.payer_claim_number:
        batch.numbers.append((claim.payer_claim_number, submission.claim_id))
    detail = {
        "charge": str(claim.charge),
        "paid": str(claim.paid),
        "patient_responsibility": str(claim.patient_responsibility),
        "status_code": claim.status_code,
        "payer_claim_number": claim.payer_claim_number,
        "denied": denied,
    }
    outcome = claim_outcome(claim).value
    batch.events.append((submission.claim_id, outcome, "remittance", detail, time.time()))
    return len(rows), denied


def _record_acknowledgments(
    acknowledgments: Sequence[Acknowledgment],
    ledger: SubmissionLedger,
    report: IntakeReport,
    digest: str,
    *,
    also: Callable[[Tx], None] | None = None,
) -> IntakeReport:
    targets: list[tuple[Acknowledgment, list[Submission]]] = []
    for ack in acknowledgments:
        if ack.kind == "999":
            found = ledger.in_batch(f"{ack.interchange}:{ack.transaction}")
            if not found:
                report.unknown_claims.append(f"{ack.interchange}:{ack.transaction}")
            targets.append((ack, found))
        else:
            submission = ledger.by_pcn(ack.pcn)
            if submission is None:
                report.unknown_claims.append(ack.pcn)
            targets.append((ack, [submission] if submission else []))
    return _write_acknowledgments(targets, ledger, report, digest, also=also)


def record_acknowledgment_list(
    pairs: Sequence[tuple[Acknowledgment, str]],
    ledger: SubmissionLedger,
    report: IntakeReport,
    digest: str,
) -> IntakeReport:
    """Record acknowledgments tied to a Claim id (a ClaimResponse's ``request``).

    An acknowledgment without a Claim id is matched by the patient control number it
    carries (a ClaimResponse answering an 837).
    """
    targets: list[tuple[Acknowledgment, list[Submission]]] = []
    for ack, claim_id in pairs:
        submission = ledger.submission(claim_id) if claim_id else ledger.by_pcn(ack.pcn)
        if submission is None:
            report.unknown_claims.append(claim_id or ack.pcn)
        targets.append((ack, [submission] if submission else []))
    return _write_acknowledgments(targets, ledger, report, digest)


def _write_acknowledgments(
    targets: Sequence[tuple[Acknowledgment, list[Submission]]],
    ledger: SubmissionLedger,
    report: IntakeReport,
    digest: str,
    *,
    also: Callable[[Tx], None] | None = None,
) -> IntakeReport:
    with ledger.transaction(_intake_key(digest)) as db:
        if _seen(db, digest, report.source):
            report.already_recorded = True
            return report
        if also is not None:
            also(db)
        for ack, submissions in targets:
            for submission in submissions:
                report.claims_matched += 1
                status = "accepted" if ack.accepted else "rejected"
                detail = {"codes": list(ack.codes), "payer_claim_number": ack.payer_claim_number}
                if ack.kind == "999" and ack.accepted:
                    # a 999 says the syntax was right, not that the payer took the claim
                    ledger.add_event(
                        db, submission.claim_id, "acknowledged", "999", detail, set_status=False
                    )
                    continue
                ledger.add_event(db, submission.claim_id, status, ack.kind, detail)
                report.statuses[submission.claim_id] = status
                if not ack.accepted:
                    report.rejections[submission.claim_id] = list(ack.codes)
                if ack.payer_claim_number:
                    db.run(
                        "UPDATE submissions SET payer_claim_number = ? WHERE claim_id = ?",
                        (ack.payer_claim_number, submission.claim_id),
                    )
    return report
