"""The write path, tried only with ``--write``: one test Claim, written and then removed.

The plugin writes Claims with ``PUT Claim/{id}`` and an id of its own (so a second run
updates the first's Claim); some servers assign ids and accept only ``POST``. The test
Claim is a ``draft`` with no items, tagged and identified as the probe's, pointing at the
patient of the encounter tried and at contained stand-ins for the provider and coverage,
so it says nothing about anyone. Afterwards it is deleted or, where delete is refused,
marked ``entered-in-error``; a Claim left behind is a failed check naming it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from adapters.fhir.client import FhirClient
from adapters.probe.model import Check, Status
from adapters.probe.needs import CLAIM_FIX
from adapters.probe.stepping import Outcome, not_applicable, run_step
from fhir_coder.errors import FhirResponseError

__all__ = ["PROBE_TAG", "probe_claim", "write_checks"]

PROBE_TAG = {"system": "urn:fhir-coder", "code": "probe", "display": "fhir-coder probe test Claim"}
_REFUSED = frozenset({400, 403, 404, 405, 409, 422, 501})


def probe_claim(claim_id: str, patient_id: str) -> dict[str, Any]:
    """A minimal valid R4 Claim that is plainly the probe's, for ``Patient/{patient_id}``."""
    return {
        "resourceType": "Claim",
        "id": claim_id,
        "meta": {"tag": [PROBE_TAG]},
        "contained": [
            {"resourceType": "Organization", "id": "probe-provider", "name": "fhir-coder probe"},
            {
                "resourceType": "Coverage",
                "id": "probe-coverage",
                "status": "draft",
                "beneficiary": {"reference": f"Patient/{patient_id}"},
                "payor": [{"reference": "#probe-provider"}],
            },
        ],
        "identifier": [{"system": "urn:fhir-coder:probe", "value": claim_id}],
        "status": "draft",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/claim-type",
                    "code": "professional",
                }
            ]
        },
        "use": "claim",
        "patient": {"reference": f"Patient/{patient_id}"},
        "created": datetime.now(UTC).date().isoformat(),
        "provider": {"reference": "#probe-provider"},
        "priority": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/processpriority",
                    "code": "normal",
                }
            ]
        },
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "#probe-coverage"}}],
    }


async def write_checks(
    fhir: FhirClient, patient_id: str | None, *, write: bool, claim_allowed: bool
) -> list[Check]:
    """The write check and its clean-up check (not applicable without ``--write``)."""
    title = "write a test Claim"
    if not write:
        why = "read-only probe: pass --write to try writing a test Claim (it is removed after)"
        if not claim_allowed:
            why = f"{why}; the server declares no Claim writes"
        return [not_applicable("tried.write.Claim", title, why)]
    if patient_id is None:
        why = "no patient found to write a test Claim for"
        return [not_applicable("tried.write.Claim", title, why)]
    claim = probe_claim(f"fhir-coder-probe-{uuid.uuid4().hex[:16]}", patient_id)
    written: dict[str, Any] = {}
    wrote = await run_step(
        "tried.write.Claim",
        title,
        lambda: _write(fhir, claim, written),
        required=True,
        consequence=CLAIM_FIX,
    )
    if wrote.status is not Status.PASS:
        return [wrote]
    where = f"Claim/{written.get('id') or claim['id']}"
    clean = await run_step(
        "tried.write.cleanup",
        "remove the test Claim",
        lambda: _remove(fhir, where, written),
        required=True,
        consequence=f"the test Claim {where} is still on the server: remove it by hand",
    )
    return [wrote, clean]


async def _write(fhir: FhirClient, claim: dict[str, Any], written: dict[str, Any]) -> Outcome:
    """PUT with the plugin's own id; POST where the server refuses client ids."""
    try:
        _, body = await fhir.request("PUT", f"Claim/{claim['id']}", json_body=claim)
        how = "PUT with the plugin's own id"
    except FhirResponseError as exc:
        if exc.status_code not in _REFUSED:
            raise
        _, body = await fhir.request("POST", "Claim", json_body=claim)
        how = f"POST only (PUT refused with HTTP {exc.status_code}): the server assigns ids"
    written.update(body or claim)
    return Outcome(Status.PASS, f"written: {how}")


async def _remove(fhir: FhirClient, where: str, written: dict[str, Any]) -> Outcome:
    """DELETE; where delete is refused, an update to ``entered-in-error``."""
    try:
        await fhir.request("DELETE", where)
    except FhirResponseError as exc:
        if exc.status_code not in _REFUSED:
            raise
        await fhir.request("PUT", where, json_body={**written, "status": "entered-in-error"})
        return Outcome(
            Status.PASS, f"delete refused (HTTP {exc.status_code}): marked entered-in-error"
        )
    return Outcome(Status.PASS, "deleted")
