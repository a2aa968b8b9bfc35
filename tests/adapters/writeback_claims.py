"""Coded encounters and their Claims built without a server, for the write-back tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fhir_coder.claim import build_claim
from fhir_coder.model import (
    CodedEncounter,
    CodedLine,
    CodingMethod,
    CoverageRef,
    DiagnosisRole,
    Encounter,
    EncounterClass,
    PatientFacts,
    Provider,
    SourceRef,
)
from fhir_coder.systems import CPT, ICD10CM

CREATED = datetime(2026, 1, 20, 8, 0, tzinfo=UTC)


def coded_visit(tag: str, n: int, *, code: str = "E119") -> CodedEncounter:
    """Visit ``n`` of the patient ``Patient/{tag}``, coded with ``code`` and a 99213 line."""
    encounter = Encounter(
        id=f"{tag}-{n}",
        reference=f"Encounter/{tag}-{n}",
        status="finished",
        encounter_class=EncounterClass.AMBULATORY,
        patient=PatientFacts(f"Patient/{tag}", "female", date(1960, 5, 17)),
        source_id=f"urn:test:{tag}",
        version_id="1",
        period_start=datetime(2026, 1, 15, 9, 0, tzinfo=UTC),
        period_end=datetime(2026, 1, 15, 9, 30, tzinfo=UTC),
        coverages=(CoverageRef("Coverage/c1", "active", "Organization/payer", "Acme"),),
        providers=(Provider("Organization/clinic", "service-provider", "Clinic"),),
    )
    diagnosis = CodedLine(
        ICD10CM,
        code,
        "",
        SourceRef(f"Condition/{tag}-{n}", "1"),
        None,
        CodingMethod.AS_CODED,
        1.0,
        "ICD-10-CM FY2026",
        role=DiagnosisRole.PRINCIPAL,
    )
    line = CodedLine(
        CPT, "99213", "", SourceRef(f"Procedure/{tag}-{n}", "1"), None, CodingMethod.TABLE, 1.0, "t"
    )
    return CodedEncounter(encounter, diagnoses=(diagnosis,), procedures=(line,))


def claim_of(coded: CodedEncounter, issues=()) -> dict:
    return build_claim(coded, tuple(issues), created=CREATED)


def encounters_bundle(tag: str, count: int) -> dict:
    """A transaction Bundle: one patient with a coverage, and ``count`` finished office visits.

    Every id starts with ``tag``, so a test finds its own resources on a shared server.
    """

    def put(resource: dict) -> dict:
        url = f"{resource['resourceType']}/{resource['id']}"
        return {"fullUrl": url, "resource": resource, "request": {"method": "PUT", "url": url}}

    patient = f"Patient/{tag}"
    entries = [
        put({"resourceType": "Patient", "id": tag, "gender": "female", "birthDate": "1960-05-17"}),
        put({"resourceType": "Organization", "id": f"{tag}-payer", "name": "Acme Health"}),
        put({"resourceType": "Organization", "id": f"{tag}-clinic", "name": "Clinic"}),
        put(
            {
                "resourceType": "Coverage",
                "id": f"{tag}-cov",
                "status": "active",
                "beneficiary": {"reference": patient},
                "payor": [{"reference": f"Organization/{tag}-payer"}],
            }
        ),
    ]
    for n in range(count):
        encounter_id = f"{tag}-{n}"
        entries.append(
            put(
                {
                    "resourceType": "Encounter",
                    "id": encounter_id,
                    "status": "finished",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "AMB",
                    },
                    "subject": {"reference": patient},
                    "period": {"start": "2026-01-15T09:00:00Z", "end": "2026-01-15T09:30:00Z"},
                    "serviceProvider": {"reference": f"Organization/{tag}-clinic"},
                }
            )
        )
        entries.append(
            put(
                {
                    "resourceType": "Condition",
                    "id": f"{encounter_id}-dx",
                    "subject": {"reference": patient},
                    "encounter": {"reference": f"Encounter/{encounter_id}"},
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
                    "code": {"coding": [{"system": ICD10CM, "code": "E11.9"}]},
                }
            )
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
