"""Encounters a coder must finish, put on the seeded sandbox: a category header sent by the EHR.

``enc-e03``: an office visit of ``pat-0003`` (covered, attended by ``prac-01`` at the
seeded hospital) whose only diagnosis the EHR sent as ICD-10-CM ``E03`` ("Other
hypothyroidism", a category header): the engine cannot bill it, so the encounter is held
for a coder, who picks the billable code below it (``E03.9`` for "Hypothyroidism"). The
record beside it holds a TSH result and a progress note (text/plain, base64), the evidence
a coder reads.
"""

from __future__ import annotations

import base64
from typing import Any

from adapters.fhir.client import FhirClient

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"


def header_encounter_resources(
    encounter_id: str = "enc-e03",
    *,
    patient: str = "pat-0003",
    code: str = "E03",
    words: str = "Hypothyroidism",
    day: str = "2025-11-04",
) -> list[dict[str, Any]]:
    """The Encounter, its Condition, a result and a note, as an EHR would send them."""
    condition_id = f"{encounter_id}-dx1"
    note = (
        "Subjective: fatigue, cold intolerance and weight gain for three months.\n"
        f"Assessment: {words}.\n"
        "Plan: start levothyroxine 50 mcg daily; recheck TSH in 6 weeks.\n"
    )
    encounter_ref = {"reference": f"Encounter/{encounter_id}"}
    evidence = [
        {
            "resourceType": "Observation",
            "id": f"{encounter_id}-tsh",
            "status": "final",
            "code": {
                "coding": [{"system": "http://loinc.org", "code": "3016-3"}],
                "text": "TSH",
            },
            "subject": {"reference": f"Patient/{patient}"},
            "encounter": encounter_ref,
            "effectiveDateTime": f"{day}T08:40:00Z",
            "valueQuantity": {"value": 8.1, "unit": "mIU/L"},
            "interpretation": [{"text": "high"}],
        },
        {
            "resourceType": "DocumentReference",
            "id": f"{encounter_id}-note",
            "status": "current",
            "type": {"text": "Progress note"},
            "subject": {"reference": f"Patient/{patient}"},
            "date": f"{day}T09:30:00Z",
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain",
                        "data": base64.b64encode(note.encode()).decode(),
                    }
                }
            ],
            "context": {"encounter": [encounter_ref]},
        },
    ]
    return [
        {
            "resourceType": "Encounter",
            "id": encounter_id,
            "status": "finished",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "AMB",
                "display": "ambulatory",
            },
            "type": [
                {
                    "coding": [{"system": SNOMED, "code": "185349003", "display": "Encounter"}],
                    "text": "Office visit",
                }
            ],
            "subject": {"reference": f"Patient/{patient}"},
            "participant": [
                {
                    "type": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                    "code": "ATND",
                                }
                            ]
                        }
                    ],
                    "individual": {"reference": "Practitioner/prac-01"},
                }
            ],
            "period": {"start": f"{day}T09:00:00Z", "end": f"{day}T09:30:00Z"},
            "serviceProvider": {"reference": "Organization/org-hospital"},
            "diagnosis": [{"condition": {"reference": f"Condition/{condition_id}"}, "rank": 1}],
        },
        {
            "resourceType": "Condition",
            "id": condition_id,
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                    }
                ]
            },
            "verificationStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                        "code": "confirmed",
                    }
                ]
            },
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                            "code": "encounter-diagnosis",
                        }
                    ]
                }
            ],
            "code": {"coding": [{"system": ICD10CM, "code": code}], "text": words},
            "subject": {"reference": f"Patient/{patient}"},
            "encounter": {"reference": f"Encounter/{encounter_id}"},
            "onsetDateTime": f"{day}T09:00:00Z",
            "recordedDate": f"{day}T09:00:00Z",
        },
        *evidence,
    ]


async def put_header_encounter(
    fhir: FhirClient, encounter_id: str = "enc-e03", **facts: str
) -> str:
    """PUT the header encounter and its record on the server; the Encounter's versionId."""
    version = ""
    resources = header_encounter_resources(encounter_id, **facts)
    for resource in [resources[1], resources[0], *resources[2:]]:  # the Condition first
        _, body = await fhir.update(resource)
        if resource["resourceType"] == "Encounter" and body is not None:
            version = str(body["meta"]["versionId"])
    return version
