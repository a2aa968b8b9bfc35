"""What a processed job leaves for a person: the work item of an encounter not finished.

The workers call :func:`record_outcome` for every job they finish. An encounter held (no
Claim), written as a draft (blocking findings) or carrying lines marked for review becomes
(or updates) its work item with the findings, suggestions and the encounter as coded; an
encounter the engine finished cleanly resolves an item an earlier version left open.
"""

from __future__ import annotations

from typing import Any

from adapters.coding_setup import CodingSetup
from adapters.jobs.ledger import Job
from adapters.jobs.suggestions import suggest_for
from adapters.jobs.work_items import (
    ItemKind,
    WorkItem,
    WorkItemDraft,
    WorkItemStore,
    WorkReason,
    reasons_for_rules,
)
from adapters.pipeline import EncounterResult, Outcome
from fhir_coder.model import CodedEncounter
from fhir_coder.outcome import Issue
from fhir_coder.snapshot import to_plain

__all__ = ["draft_for", "record_outcome", "record_result"]


def _kind(result: EncounterResult) -> ItemKind | None:
    """Which kind of item the result needs, if any."""
    claim = result.claim
    if result.outcome is Outcome.HELD:
        return ItemKind.HELD
    if result.outcome not in (Outcome.WRITTEN, Outcome.BUILT) or claim is None:
        return None
    if claim.get("status") == "draft":
        return ItemKind.DRAFT
    coded = result.coded
    if coded is not None and any(line.needs_review for line in coded.lines):
        return ItemKind.REVIEW
    if any(issue.rule.startswith("NEEDS-CODER-") for issue in result.issues):
        return ItemKind.REVIEW
    return None


def _payer(coded: CodedEncounter) -> str:
    coverages = sorted(coded.encounter.coverages, key=lambda c: (c.order is None, c.order or 0))
    for coverage in coverages:
        if coverage.payer_display or coverage.payer_reference:
            return coverage.payer_display or coverage.payer_reference
    return ""


def _summary(issues: tuple[Issue, ...], kind: ItemKind) -> str:
    ranked = sorted(issues, key=lambda i: (not i.severity.blocks, not i.rule.startswith("NEEDS")))
    first = next((i for i in ranked if i.severity.blocks or i.rule.startswith("NEEDS")), None)
    if first is None:
        return "lines to confirm" if kind is ItemKind.REVIEW else kind.value
    more = len([i for i in issues if i.severity.blocks]) - (1 if first.severity.blocks else 0)
    return f"{first.rule}: {first.message}" + (f" (+{more} more)" if more > 0 else "")


def draft_for(
    source: str,
    result: EncounterResult,
    coding: CodingSetup,
    *,
    job_id: int = 0,
    version: str = "",
) -> WorkItemDraft | None:
    """The work item ``result`` needs, or None when the engine finished the encounter.

    ``source`` keys the item (the job's source); ``version`` is the job's, used when the
    coded encounter carries none.
    """
    kind = _kind(result)
    coded = result.coded
    if kind is None or coded is None:
        return None
    issues = result.issues
    blocking = [i.rule or "UNNAMED" for i in issues if i.severity.blocks]
    rules = list(
        dict.fromkeys([*blocking, *(i.rule for i in issues if i.rule.startswith("NEEDS-"))])
    )
    reasons = [r.value for r in reasons_for_rules(rules, blocking=blocking)]
    if any(line.needs_review for line in coded.lines):
        reasons.append(WorkReason.LINE_REVIEW.value)
    if not reasons:  # a held draft whose blocking finding carried no rule id
        reasons.append(WorkReason.SCRUBBER_EDIT.value)
    encounter = coded.encounter
    on = encounter.date_of_service
    claim = result.claim or (result.receipt.claim if result.receipt is not None else {})
    payload: dict[str, Any] = {
        "encounter": to_plain(encounter),
        "diagnoses": to_plain(coded.diagnoses),
        "procedures": to_plain(coded.procedures),
        "issues": to_plain(issues),
        "suggestions": suggest_for(coded, coding),
        "claim_status": str(claim.get("status", "")),
    }
    return WorkItemDraft(
        source=source,
        encounter_id=result.encounter_id,
        version=encounter.version_id or version,  # the version really coded
        kind=kind,
        reasons=tuple(dict.fromkeys(reasons)),
        rules=tuple(rules),
        summary=_summary(issues, kind)[:300],
        job_id=job_id,
        encounter_class=encounter.encounter_class.value,
        payer=_payer(coded),
        patient=encounter.patient.reference,
        service_date=on.isoformat() if on else "",
        claim_id=str(claim.get("id", "")),
        payload=payload,
    )


def record_outcome(
    store: WorkItemStore, job: Job, result: EncounterResult, coding: CodingSetup
) -> WorkItem | None:
    """Record the work item ``result`` needs, or resolve the one an older version left open."""
    return record_result(store, job.source, result, coding, job_id=job.id, version=job.version)


def record_result(
    store: WorkItemStore,
    source: str,
    result: EncounterResult,
    coding: CodingSetup,
    *,
    job_id: int = 0,
    version: str = "",
) -> WorkItem | None:
    """:func:`record_outcome` for a result that came without a job (``fhir-coder demo``)."""
    draft = draft_for(source, result, coding, job_id=job_id, version=version)
    if draft is not None:
        return store.record(draft)
    if result.outcome in (Outcome.WRITTEN, Outcome.BUILT):
        coded = result.coded.encounter.version_id if result.coded is not None else None
        store.settle(source, result.encounter_id, coded or version, outcome=result.outcome.value)
    return None
