"""Professional Claims as R4 JSON, the way another system would send them to ``validate``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
CLAIM_TYPES = "http://terminology.hl7.org/CodeSystem/claim-type"


def professional_claim(
    diagnoses: Sequence[str],
    items: Sequence[dict[str, Any]],
    *,
    claim_id: str = "visit-1",
    patient: str = "Patient/p1",
) -> dict[str, Any]:
    """An office visit on 2026-03-02, covered, with ICD-10-CM ``diagnoses`` in order."""
    return {
        "resourceType": "Claim",
        "id": claim_id,
        "status": "active",
        "type": {"coding": [{"system": CLAIM_TYPES, "code": "professional"}]},
        "use": "claim",
        "patient": {"reference": patient},
        "billablePeriod": {"start": "2026-03-02", "end": "2026-03-02"},
        "created": "2026-03-03",
        "provider": {"reference": "Organization/clinic"},
        "insurer": {"reference": "Organization/payer"},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/c1"}}],
        "diagnosis": [
            {"sequence": n, "diagnosisCodeableConcept": {"coding": [{"system": ICD, "code": code}]}}
            for n, code in enumerate(diagnoses, start=1)
        ],
        "item": list(items),
    }
