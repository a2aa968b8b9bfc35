"""Building the FHIR R4 Claim for a coded encounter, as plain JSON.

The Claim is built as a dict (building ``fhir.resources`` models costs ~1 ms per claim,
so they stay in tests and at the write boundary). Its id is derived from the source
server and the encounter, so writing it again with PUT updates the same Claim instead
of creating a second one.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from fhir_coder import __version__
from fhir_coder.model import CodedEncounter, CodedLine, DiagnosisRole, Encounter
from fhir_coder.outcome import Issue, has_errors
from fhir_coder.systems import CPT, FHIR_CODER_NS, HCPCS, ICD10CM, ICD10PCS, display_icd10cm

__all__ = ["CLAIM_IDENTIFIER_SYSTEM", "build_claim", "claim_id_for", "diagnosis_codes"]

CLAIM_IDENTIFIER_SYSTEM = f"{FHIR_CODER_NS}:claim"
"""Identifier system of the key that ties a Claim to its source encounter."""

_CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
_DIAGNOSIS_TYPE = "http://terminology.hl7.org/CodeSystem/ex-diagnosistype"
_PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"
_CARE_TEAM_ROLE = "http://terminology.hl7.org/CodeSystem/claimcareteamrole"
_MAX_POINTERS = 4  # an 837P line points at no more than four diagnoses


def claim_id_for(encounter: Encounter) -> str:
    """The Claim id for ``encounter``: stable across runs, unique per source server.

    A hash keeps it within FHIR's 64-character id limit whatever the source id looks
    like (Epic's ids alone exceed 64 characters) and says nothing about the patient.
    """
    key = f"{encounter.source_id.rstrip('/')}|{encounter.reference}"
    return "fc-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def _when(moment: datetime | date | None) -> str | None:
    """A FHIR date or dateTime; a time without a zone is cut to its date, which FHIR allows."""
    if moment is None:
        return None
    if isinstance(moment, datetime) and moment.tzinfo is None:
        return moment.date().isoformat()
    return moment.isoformat()


def _reference(ref: str, display: str = "") -> dict[str, str]:
    out = {"reference": ref}
    if display:
        out["display"] = display
    return out


def _diagnosis_entry(sequence: int, line: CodedLine) -> dict[str, Any]:
    role = line.role or DiagnosisRole.SECONDARY
    coding: dict[str, Any] = {"system": line.system, "code": display_icd10cm(line.code)}
    if line.display:
        coding["display"] = line.display
    return {
        "sequence": sequence,
        "diagnosisCodeableConcept": {"coding": [coding]},
        "type": [{"coding": [{"system": _DIAGNOSIS_TYPE, "code": role.value}]}],
    }


def _item_entry(
    sequence: int, line: CodedLine, encounter: Encounter, pointers: list[int]
) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": line.system, "code": line.code}
    if line.display:
        coding["display"] = line.display
    item: dict[str, Any] = {
        "sequence": sequence,
        "productOrService": {"coding": [coding]},
        "quantity": {"value": line.units},
        "encounter": [{"reference": encounter.reference}],
    }
    if line.modifiers:
        item["modifier"] = [{"coding": [_modifier(m)]} for m in line.modifiers]
    if pointers:
        item["diagnosisSequence"] = pointers
    if line.performed is not None:
        item["servicedDate"] = line.performed.isoformat()
    return item


def _modifier(code: str) -> dict[str, str]:
    """A modifier coding: two digits are CPT modifiers (50, 59), letters HCPCS (LT, RT, XS)."""
    return {"system": CPT if code.isdigit() else HCPCS, "code": code}


def build_claim(
    coded: CodedEncounter, issues: tuple[Issue, ...], *, created: datetime
) -> dict[str, Any]:
    """The R4 Claim for ``coded``: ``draft`` while ``issues`` hold an error, else ``active``.

    The caller must have checked :func:`fhir_coder.validation.claim_can_be_built`: this
    function assumes a patient, at least one provider and at least one coverage.
    """
    encounter = coded.encounter
    inpatient = encounter.encounter_class.is_inpatient
    claim_id = claim_id_for(encounter)
    organisations = [p for p in encounter.providers if p.role == "service-provider"]
    practitioners = [p for p in encounter.providers if p.role != "service-provider"]
    billing = (organisations or practitioners)[0]
    coverages = sorted(
        encounter.coverages, key=lambda c: (c.order is None, c.order or 0, c.reference)
    )
    diagnoses = [_diagnosis_entry(i, line) for i, line in enumerate(coded.diagnoses, start=1)]
    pointers = list(range(1, min(len(diagnoses), _MAX_POINTERS) + 1))
    claim: dict[str, Any] = {
        "resourceType": "Claim",
        "id": claim_id,
        "meta": {"tag": [{"system": f"{FHIR_CODER_NS}:generator", "code": __version__}]},
        "identifier": [{"system": CLAIM_IDENTIFIER_SYSTEM, "value": claim_id}],
        "status": "draft" if has_errors(issues) else "active",
        "type": {
            "coding": [
                {"system": _CLAIM_TYPE, "code": "institutional" if inpatient else "professional"}
            ]
        },
        "use": "claim",
        "patient": _reference(encounter.patient.reference),
        "billablePeriod": {
            k: v
            for k, v in (
                ("start", _when(encounter.period_start)),
                ("end", _when(encounter.period_end)),
            )
            if v
        },
        "created": created.isoformat(timespec="seconds"),
        "provider": _reference(billing.reference, billing.display),
        "priority": {"coding": [{"system": _PRIORITY, "code": "normal"}]},
        "insurance": [
            {"sequence": i, "focal": i == 1, "coverage": _reference(c.reference)}
            for i, c in enumerate(coverages, start=1)
        ],
        "diagnosis": diagnoses,
    }
    insurer = next((c for c in coverages if c.payer_reference), None)
    if insurer is not None:
        claim["insurer"] = _reference(insurer.payer_reference, insurer.payer_display)
    if practitioners:
        claim["careTeam"] = [
            {
                "sequence": i,
                "provider": _reference(p.reference, p.display),
                "role": {
                    "coding": [
                        {"system": _CARE_TEAM_ROLE, "code": "primary" if i == 1 else "other"}
                    ]
                },
            }
            for i, p in enumerate(practitioners, start=1)
        ]
    # ICD-10-PCS codes are the institutional claim's procedures; CPT/HCPCS are its lines.
    icd_procedures = [line for line in coded.procedures if line.system == ICD10PCS]
    service_lines = [line for line in coded.procedures if line.system != ICD10PCS]
    if icd_procedures:
        claim["procedure"] = [
            {
                "sequence": i,
                "procedureCodeableConcept": {
                    "coding": [{"system": line.system, "code": line.code}]
                },
            }
            | ({"date": line.performed.isoformat()} if line.performed else {})
            for i, line in enumerate(icd_procedures, start=1)
        ]
    if service_lines:
        claim["item"] = [
            _item_entry(i, line, encounter, pointers)
            for i, line in enumerate(service_lines, start=1)
        ]
    return claim


def diagnosis_codes(claim: dict[str, Any]) -> list[str]:
    """The ICD-10-CM codes on ``claim`` in sequence order (for summaries and tests)."""
    return [
        coding["code"]
        for entry in sorted(claim.get("diagnosis", []), key=lambda d: d.get("sequence", 0))
        for coding in entry.get("diagnosisCodeableConcept", {}).get("coding", [])
        if coding.get("system") == ICD10CM
    ]
