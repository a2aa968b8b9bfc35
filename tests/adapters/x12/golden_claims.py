"""Our golden Claims with the Patient, Coverage and payer a registration system holds for them."""

from __future__ import annotations

from pathlib import Path

import orjson

from adapters.x12.sources import ClaimSource

GOLDEN = Path(__file__).resolve().parents[2] / "fhir_coder" / "golden"

REGISTRATION = {
    "Patient/p1": {
        "resourceType": "Patient",
        "id": "p1",
        "gender": "female",
        "birthDate": "1950-02-03",
        "name": [{"family": "Doe", "given": ["Jane"]}],
        "address": [
            {"line": ["2 Elm St"], "city": "Columbus", "state": "OH", "postalCode": "43215"}
        ],
    },
    "Coverage/c1": {
        "resourceType": "Coverage",
        "id": "c1",
        "status": "active",
        "subscriberId": "1EG4TE5MK72",
        "type": {"coding": [{"system": "urn:oid:2.16.840.1.113883.3.221.5", "code": "1"}]},
        "relationship": {"coding": [{"code": "self"}]},
        "payor": [{"reference": "Organization/payer"}],
    },
    "Organization/payer": {
        "resourceType": "Organization",
        "id": "payer",
        "name": "Acme Health",
        "identifier": [{"system": "urn:payer-id", "value": "ACME1"}],
    },
}


def golden_source(*names: str) -> ClaimSource:
    """A source holding the golden Claims ``names`` (``inpatient_stay``, ``emergency_visit``)."""
    claims = [orjson.loads((GOLDEN / f"{name}.json").read_bytes()) for name in names]
    return ClaimSource(name="ndjson:/golden", claims=claims, resources=dict(REGISTRATION))


def inpatient_source() -> ClaimSource:
    """The golden inpatient stay alone."""
    return golden_source("inpatient_stay")
