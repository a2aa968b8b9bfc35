"""The Task that puts a draft Claim on a coder's worklist, with the findings that block it.

A draft Claim on the server is easy to miss; a Task focused on it, for the patient and
the encounter, is what EHR worklists show. The findings travel as the Task's inputs, one
per finding, with the rule id, so the coder sees what to fix without running fhir-coder.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from fhir_coder.model import Encounter
from fhir_coder.outcome import Issue
from fhir_coder.systems import FHIR_CODER_NS

__all__ = ["TASK_CODE_SYSTEM", "build_review_task", "task_id_for"]

TASK_CODE_SYSTEM: Final = f"{FHIR_CODER_NS}:task"
"""Code system of fhir-coder's Task codes (``review-claim``)."""


def task_id_for(claim_id: str) -> str:
    """The Task id (and identifier value) for the Claim ``claim_id``: one worklist entry per Claim.

    Where the server assigns ids, the identifier finds the Task again to update it.
    """
    return "tk-" + claim_id.removeprefix("fc-")


def _finding(issue: Issue) -> dict[str, Any]:
    text = f"{issue.severity.value.upper()} {issue.rule}: {issue.message}".replace(" : ", ": ")
    if issue.fix:
        text += f" Fix: {issue.fix}"
    return {"type": {"text": "finding"}, "valueString": text}


def build_review_task(
    claim: dict[str, Any],
    encounter: Encounter,
    issues: tuple[Issue, ...],
    *,
    authored: datetime,
    claim_reference: str | None = None,
    done: bool = False,
) -> dict[str, Any]:
    """A Task asking a coder to resolve the blocking findings of ``claim``.

    ``done`` closes the Task (the claim was recoded clean). ``claim_reference`` replaces
    ``Claim/{id}`` when the server assigns the Claim's id in the same transaction.
    """
    blocking = [issue for issue in issues if issue.severity.blocks]
    task_id = task_id_for(str(claim["id"]))
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": task_id,
        "identifier": [{"system": TASK_CODE_SYSTEM, "value": task_id}],
        "status": "completed" if done else "requested",
        "intent": "order",
        "priority": "routine",
        "code": {
            "coding": [{"system": TASK_CODE_SYSTEM, "code": "review-claim"}],
            "text": "Review the coding of a draft claim",
        },
        "description": (
            "The claim was recoded without blocking findings."
            if done
            else f"{len(blocking)} finding(s) block this claim; resolve them and recode."
        ),
        "focus": {"reference": claim_reference or f"Claim/{claim['id']}"},
        "for": {"reference": encounter.patient.reference},
        "encounter": {"reference": encounter.reference},
        "authoredOn": authored.isoformat(timespec="seconds"),
        "lastModified": authored.isoformat(timespec="seconds"),
    }
    if blocking and not done:
        task["input"] = [_finding(issue) for issue in blocking]
    return task
