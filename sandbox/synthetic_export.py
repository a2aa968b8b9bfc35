"""The synthetic population as a Synthea-style Bulk Data export: NDJSON per type, in any order.

Real exports from Synthea-based servers (the SMART sample export among them) point at
practitioners, organisations and locations by conditional reference
(``Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|...``,
``Location?identifier=https://github.com/synthetichealth/synthea|...``,
``Organization?identifier=...``), and carry resource types coding never reads
(Observation, DocumentReference). This writes the generator's data in that shape, so the
loader, the NDJSON reader and the benchmarks meet what real exports hold without
shipping anyone's data. Deterministic: the same arguments give the same bytes.
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

__all__ = ["LOCATION_SYSTEM", "export_shapes", "write_export"]

LOCATION_SYSTEM = "https://github.com/synthetichealth/synthea"
_NPI = "http://hl7.org/fhir/sid/us-npi"


def _identifier_ref(resource: dict[str, Any]) -> str:
    ident = resource["identifier"][0]
    return f"{resource['resourceType']}?identifier={ident['system']}|{ident['value']}"


def _conditional(ref: dict[str, Any], targets: dict[str, str]) -> dict[str, Any]:
    found = targets.get(str(ref.get("reference")))
    return {**ref, "reference": found} if found else ref


def _locations(by_type: dict[str, list[dict[str, Any]]], targets: dict[str, str]) -> None:
    """A Location per organisation, with its own identifier, as Synthea writes them."""
    for organization in by_type["Organization"]:
        location = {
            "resourceType": "Location",
            "id": f"loc-{organization['id']}",
            "identifier": [{"system": LOCATION_SYSTEM, "value": f"loc-{organization['id']}"}],
            "status": "active",
            "name": organization.get("name", ""),
            "managingOrganization": {
                "reference": targets.get(f"Organization/{organization['id']}", "")
            },
        }
        by_type["Location"].append(location)
        targets[f"Location/{location['id']}"] = _identifier_ref(location)


def _encounter_shapes(
    encounter: dict[str, Any], by_type: dict[str, list[dict[str, Any]]], targets: dict[str, str]
) -> None:
    """Conditional party and location references; a note and a vital sign when finished."""
    for participant in encounter.get("participant") or []:
        participant["individual"] = _conditional(participant["individual"], targets)
    provider = encounter.get("serviceProvider")
    if provider:
        organization = str(provider["reference"]).split("/")[-1]
        encounter["serviceProvider"] = _conditional(provider, targets)
        location = targets.get(f"Location/loc-{organization}")
        if location:
            encounter["location"] = [{"location": {"reference": location}}]
    if encounter.get("status") != "finished":
        return
    subject = encounter["subject"]
    author = (encounter.get("participant") or [{}])[0].get("individual")
    context = {"reference": f"Encounter/{encounter['id']}"}
    by_type["DocumentReference"].append(
        {
            "resourceType": "DocumentReference",
            "id": f"doc-{encounter['id']}",
            "status": "current",
            "subject": subject,
            "author": [author] if author else [],
            "custodian": encounter.get("serviceProvider"),
            "context": {"encounter": [context]},
            "content": [{"attachment": {"contentType": "text/plain", "data": "Tm90ZQ=="}}],
        }
    )
    by_type["Observation"].append(
        {
            "resourceType": "Observation",
            "id": f"obs-{encounter['id']}",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": subject,
            "encounter": context,
            "performer": [author] if author else [],
            "valueQuantity": {"value": 72, "unit": "/min"},
        }
    )


def export_shapes(bundle: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The resources of a seed ``bundle`` by type, rewritten the way Synthea exports them.

    Practitioner, Organization and Location references become conditional references by
    identifier; every organisation gets a Location with its own identifier, and each
    Encounter names it; each finished Encounter gets a DocumentReference and an
    Observation whose references are conditional too (the kinds coding skips).
    """
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in bundle.get("entry") or []:
        resource = orjson.loads(orjson.dumps(entry["resource"]))  # the caller's bundle untouched
        by_type[resource["resourceType"]].append(resource)
    targets: dict[str, str] = {}
    for kind in ("Practitioner", "Organization"):
        for resource in by_type[kind]:
            if resource.get("identifier"):
                targets[f"{kind}/{resource['id']}"] = _identifier_ref(resource)
    _locations(by_type, targets)
    for encounter in list(by_type["Encounter"]):
        _encounter_shapes(encounter, by_type, targets)
    for procedure in by_type["Procedure"]:
        for performer in procedure.get("performer") or []:
            performer["actor"] = _conditional(performer["actor"], targets)
    for coverage in by_type["Coverage"]:
        coverage["payor"] = [_conditional(p, targets) for p in coverage.get("payor") or []]
    return dict(by_type)


def write_export(
    bundle: dict[str, Any], folder: Path, *, shuffle_seed: int | None = 7
) -> dict[str, Path]:
    """Write ``bundle`` as a Synthea-style export into ``folder``: one ``Type.ndjson`` per type.

    With a ``shuffle_seed`` the lines of each file are shuffled (a server need not export
    in any order); the file of each type and its path come back.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(shuffle_seed)  # noqa: S311 - test data order, not secrets
    written: dict[str, Path] = {}
    for kind, resources in export_shapes(bundle).items():
        lines = [orjson.dumps(r) for r in resources]
        if shuffle_seed is not None:
            rng.shuffle(lines)
        path = folder / f"{kind}.ndjson"
        path.write_bytes(b"\n".join(lines) + b"\n")
        written[kind] = path
    return written
