"""Denied and rejected claims put on the worklist, each line routed to who can fix it.

After an intake, every Claim with a denied line (or a rejection) becomes a work item of
its encounter in the job ledger (the workbench's :class:`WorkItemStore`, reached through
the one method it offers producers, ``record_denial``). The item names the payer's codes
(``CARC:11``, ``RARC:N657``, ``STC:A7:21``: codes, never descriptions) and carries, per
denied line, its group code, CARC, RARCs, the queue :func:`fhir_coder.denials.queue_for`
routes it to, the code and modifiers we sent with the diagnoses the line pointed at, and
the evidence behind them when an ``evidence`` function can give it (the encounter coded
again: each code's source Condition, coding, method and rule).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from adapters.jobs.work_items import ItemKind, WorkItemDraft, WorkReason
from adapters.x12.evidence import SNAPSHOT
from adapters.x12.intake import IntakeReport
from adapters.x12.ledger import Submission, SubmissionLedger
from fhir_coder.denials import WorkQueue, queue_for, queue_for_rejection

__all__ = ["DenialSink", "Evidence", "open_denial_work"]

Evidence = Callable[[Submission], "dict[str, Any] | None"]
"""The evidence of a submitted Claim's codes (the encounter as coded), or None."""


class DenialSink(Protocol):
    """Where denials become work: the job ledger's work items (``JobLedger.work``)."""

    def record(self, draft: WorkItemDraft) -> Any:  # noqa: ANN401 - the store's own WorkItem
        """Create or update the encounter's item with the encounter as coded."""
        ...

    def record_denial(
        self,
        source: str,
        encounter_id: str,
        *,
        claim_id: str,
        reasons: Sequence[str],
        detail: dict[str, Any],
        summary: str = "",
    ) -> Any:  # noqa: ANN401 - the store's own WorkItem
        """Put a denied Claim's encounter on the worklist."""
        ...


def _sent_line(submission: Submission, denied: dict[str, Any]) -> dict[str, Any]:
    """The line we sent that a denied remittance line answers: by REF*6R, code, position."""
    lines: list[dict[str, Any]] = submission.detail.get("lines", [])
    reference = str(denied.get("reference") or "")
    if reference.startswith(f"{submission.pcn}L"):
        number = reference.removeprefix(f"{submission.pcn}L")
        for line in lines:
            if str(line["line"]) == number:
                return line
    same_code = [line for line in lines if line["code"] == denied.get("procedure")]
    if len(same_code) == 1:
        return same_code[0]
    position = int(denied.get("line") or 0)
    return lines[position - 1] if 0 < position <= len(lines) else {}


def _routed(submission: Submission, denied: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for entry in denied:
        queue = queue_for(str(entry["group"]), str(entry["carc"]))
        if queue is None:
            continue
        sent = _sent_line(submission, entry)
        out.append(
            {
                **entry,
                "queue": queue.value,
                "sent": sent,
                "diagnoses": sent.get("diagnoses", submission.detail.get("diagnoses", [])),
            }
        )
    return out


def open_denial_work(
    report: IntakeReport,
    ledger: SubmissionLedger,
    sink: DenialSink,
    *,
    source: str | None = None,
    evidence: Evidence | None = None,
) -> list[Any]:
    """A work item for each Claim ``report`` found denied or rejected; the items recorded.

    ``source`` is the job ledger's name of the EHR (``--source-id``, else the server URL
    the Claim was read from, which is the submission's destination).
    """
    items: list[Any] = []
    for claim_id in dict.fromkeys([*report.denials, *report.rejections]):
        submission = ledger.submission(claim_id)  # read after the intake: its status now
        if submission is None or not submission.encounter:
            continue
        lines = _routed(submission, report.denials.get(claim_id, []))
        rejection = report.rejections.get(claim_id)
        if not lines and rejection is None:
            continue
        reasons = [f"CARC:{line['carc']}" for line in lines]
        reasons += [f"RARC:{code}" for line in lines for code in line.get("rarc", [])]
        reasons += [f"STC:{code}" for code in rejection or []]
        queues = sorted(
            {line["queue"] for line in lines}
            | ({queue_for_rejection().value} if rejection is not None else set())
        )
        detail: dict[str, Any] = {
            "claim": claim_id,
            "pcn": submission.pcn,
            "payer_claim_number": ledger.payer_claim_number(claim_id) or "",
            "status": submission.status,
            "lines": lines,
            "rejection": rejection,
            "queues": queues,
        }
        found = evidence(submission) if evidence is not None else None
        summary = _summary(lines, rejection)
        encounter_id = submission.encounter.removeprefix("Encounter/")
        where = source or submission.destination
        if found is not None:
            snapshot = found.get(SNAPSHOT)
            detail["evidence"] = {k: v for k, v in found.items() if k != SNAPSHOT}
            if snapshot is not None:  # so the workbench can open and edit the encounter
                sink.record(_draft(where, encounter_id, claim_id, reasons, summary, snapshot))
        item = sink.record_denial(
            where,
            encounter_id,
            claim_id=claim_id,
            reasons=list(dict.fromkeys(reasons)),
            detail=detail,
            summary=summary,
        )
        items.append(item)
        with ledger.transaction() as db:
            ledger.add_event(
                db,
                claim_id,
                "work-item",
                "denials",
                {"item": getattr(item, "id", None), "queues": queues},
                set_status=False,
            )
    return items


def _draft(
    source: str,
    encounter_id: str,
    claim_id: str,
    reasons: list[str],
    summary: str,
    snapshot: dict[str, Any],
) -> WorkItemDraft:
    encounter = snapshot.get("encounter", {})
    return WorkItemDraft(
        source=source,
        encounter_id=encounter_id,
        version=str(encounter.get("version_id") or ""),
        kind=ItemKind.DENIAL,
        reasons=(WorkReason.DENIAL.value,),
        rules=tuple(dict.fromkeys(reasons)),
        summary=summary,
        encounter_class=str(encounter.get("encounter_class") or ""),
        patient=str((encounter.get("patient") or {}).get("reference") or ""),
        claim_id=claim_id,
        payload=snapshot,
    )


def _summary(lines: list[dict[str, Any]], rejection: list[str] | None) -> str:
    if rejection is not None:
        return f"rejected before adjudication: {' '.join(rejection)} ({WorkQueue.BILLING.value})"
    parts = [
        f"{line['group']}-{line['carc']} line {line['line']} {line['procedure']} -> {line['queue']}"
        for line in lines
    ]
    return ("denied: " + "; ".join(parts))[:300]
