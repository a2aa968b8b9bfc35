"""What the workbench writes to FHIR besides the Claim: AuditEvents and provider queries.

Every action on a work item is an event in the ledger first (the outbox); :func:`audit_event`
turns one into an R4 AuditEvent (who, when, what action, on which Encounter and Claim, the
codes concerned and never patient data), written with a deterministic id so that sending it
twice stores it once. :func:`cdi_query` is the Task a "query the provider" makes: a
non-leading clinical documentation query to the attending practitioner, citing the clinical
indicators the coder chose and offering every reasonable answer, "other" and "unable to
determine" included (AHIMA/ACDIS, Guidelines for Achieving a Compliant Query Practice).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from adapters.jobs.work_items import WorkEvent, WorkItem
from fhir_coder.model import Encounter
from fhir_coder.systems import FHIR_CODER_NS

__all__ = ["ACTION_SYSTEM", "audit_event", "cdi_query", "verification"]

ACTION_SYSTEM: Final = f"{FHIR_CODER_NS}:workbench-action"
_LIFECYCLE: Final = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
_AUDIT_TYPE: Final = "http://terminology.hl7.org/CodeSystem/audit-event-type"
_CRUD: Final = {"opened": "R", "released": "C", "query": "C"}
_LIFE: Final = {"opened": "access", "released": "originate", "query": "originate"}


def _id(prefix: str, *parts: object) -> str:
    key = "|".join(str(p) for p in parts)
    return prefix + hashlib.sha256(key.encode()).hexdigest()[:40]


def audit_event(item: WorkItem, event: WorkEvent, who: dict[str, Any]) -> dict[str, Any]:
    """The AuditEvent of one workbench action."""
    entities: list[dict[str, Any]] = [
        {
            "what": {"reference": f"Encounter/{item.encounter_id}"},
            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"},
        }
    ]
    if item.claim_id:
        entities.append({"what": {"reference": f"Claim/{item.claim_id}"}})
    entities[0]["detail"] = [
        {"type": "action-detail", "valueString": orjson.dumps(event.detail).decode()[:2000]}
    ]
    return {
        "resourceType": "AuditEvent",
        "id": _id("ae-", item.source, item.id, event.id),
        "type": {"system": _AUDIT_TYPE, "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": ACTION_SYSTEM, "code": event.action}],
        "action": _CRUD.get(event.action, "U"),
        "recorded": datetime.fromtimestamp(event.at, UTC).isoformat(timespec="seconds"),
        "outcome": "0",
        "agent": [{"who": who, "requestor": True}],
        "source": {"observer": {"display": "fhir-coder workbench"}},
        "entity": entities,
        "extension": [
            {
                "url": f"{FHIR_CODER_NS}:lifecycle",
                "valueCoding": {"system": _LIFECYCLE, "code": _LIFE.get(event.action, "amend")},
            }
        ],
    }


def cdi_query(
    item: WorkItem,
    encounter: Encounter,
    *,
    question: str,
    indicators: list[str],
    options: list[str],
    who: dict[str, Any],
    number: int,
) -> dict[str, Any]:
    """The Task asking the attending (or performing) practitioner to clarify the documentation.

    ``indicators`` are references with what they show (``Observation/1: TSH 8.1 mIU/L``);
    ``options`` the clinically reasonable answers, to which "other" and "unable to
    determine" are always added so that the query leads nowhere.
    """
    attending = next(
        (p for p in encounter.providers if p.role in ("attender", "ATND", "performer")), None
    )
    answers = list(dict.fromkeys([*options, "Other (please specify)", "Unable to determine"]))
    now = datetime.now(UTC).isoformat(timespec="seconds")
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": _id("cdi-", item.source, item.id, number),
        "status": "requested",
        "intent": "order",
        "priority": "routine",
        "code": {
            "coding": [{"system": f"{FHIR_CODER_NS}:task", "code": "cdi-query"}],
            "text": "Clinical documentation query",
        },
        "description": question,
        "for": {"reference": encounter.patient.reference},
        "encounter": {"reference": encounter.reference},
        "authoredOn": now,
        "lastModified": now,
        "requester": who,
        "input": [
            {"type": {"text": "clinical indicator"}, "valueString": text} for text in indicators
        ]
        + [{"type": {"text": "answer option"}, "valueString": text} for text in answers],
    }
    if attending is not None:
        task["owner"] = {"reference": attending.reference}
    return task


def verification(
    claim_reference: str, claim_id: str, item: WorkItem, who: dict[str, Any], *, at: datetime
) -> dict[str, Any]:
    """The Provenance of a coder's release that changed nothing the Claim says.

    The write-back sends nothing for a Claim already as written (its content hash), so its own
    Provenance still names fhir-coder alone; this one says that the coder verified it (the
    ``verifier`` of provenance-participant-type), beside it, with an id of its own.
    """
    return {
        "resourceType": "Provenance",
        "id": _id("pv-", claim_id, item.id, item.revision, "verified"),
        "target": [{"reference": claim_reference}],
        "recorded": at.isoformat(timespec="seconds"),
        "agent": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                            "code": "verifier",
                        }
                    ]
                },
                "who": who,
            }
        ],
        "entity": [{"role": "source", "what": {"reference": f"Encounter/{item.encounter_id}"}}],
    }
