"""The Synthea encounters' Claims as 837s: pyx12 finds no error, x12sdk reads back the same facts.

Synthea exports no Coverage, so each patient gets the one a registration system would hold
(self-insured with a commercial plan); the encounters are then coded by the pipeline as any
other EHR's and their Claims submitted.
"""

from __future__ import annotations

import httpx
import pytest

from adapters.coding_setup import CodingSetup
from adapters.demo import code_all_finished
from adapters.fhir.client import FhirClient
from adapters.x12.sources import claims_from_server
from adapters.x12.submit import write_837
from codesets import default_registry
from sandbox.app import create_app
from tests.adapters.conftest import ASGI_BASE
from tests.adapters.synthea_gathering import synthea_bundles
from tests.adapters.x12.conftest import chargemaster
from tests.adapters.x12.pyx12_judge import pyx12_errors
from tests.adapters.x12.roundtrip import facts_meant, facts_read_back

PLAN = {
    "resourceType": "Organization",
    "id": "plan-1",
    "name": "Synthetic Commercial Plan",
    "identifier": [{"system": "urn:example:payer-id", "value": "SCP01"}],
}


def registration(patient_id: str, number: int) -> dict:
    return {
        "resourceType": "Coverage",
        "id": f"cov-{number}",
        "status": "active",
        "subscriberId": f"SCP{number:08d}",
        "type": {"coding": [{"system": "urn:oid:2.16.840.1.113883.3.221.5", "code": "5"}]},
        "beneficiary": {"reference": f"Patient/{patient_id}"},
        "subscriber": {"reference": f"Patient/{patient_id}"},
        "relationship": {"coding": [{"code": "self"}]},
        "payor": [{"reference": "Organization/plan-1"}],
    }


@pytest.fixture(scope="module")
def synthea_app(tmp_path_factory):
    app = create_app(tmp_path_factory.mktemp("synthea-x12") / "sandbox.sqlite3")
    yield app
    app.state.store.close()


@pytest.mark.slow
async def test_every_synthea_claim_ready_to_go_passes_pyx12(
    synthea_app, coding, parties, ledger, tmp_path
):
    async with FhirClient(ASGI_BASE, transport=httpx.ASGITransport(app=synthea_app)) as fhir:
        for bundle in synthea_bundles():
            response, body = await fhir.request("POST", "", json_body=bundle)
            assert response.status_code == 200, body
        patients = [r["id"] async for r in fhir.search("Patient", {"_count": "100"})]
        await fhir.request("PUT", "Organization/plan-1", json_body=PLAN)
        for number, patient_id in enumerate(patients, start=1):
            coverage = registration(patient_id, number)
            await fhir.request("PUT", f"Coverage/{coverage['id']}", json_body=coverage)
        # Synthea's dates predate every loaded release: code against the nearest, as
        # tests/adapters/test_synthea_coding.py does (each Claim says so in a finding)
        nearest = default_registry("nearest")
        synthea_coding = CodingSetup(
            codesets=nearest,
            crosswalks=coding.crosswalks,
            notes=nearest,
            text=coding.text,
            policy=coding.policy,
        )
        summary = await code_all_finished(fhir, synthea_coding, source_id="synthea")
        source = await claims_from_server(fhir)
    written = [r for r in summary.results if r.claim is not None and r.claim["status"] == "active"]
    assert len(source.claims) == len(written) >= 30
    out = tmp_path / "synthea.837"
    report = write_837(source, parties, ledger, out=out, price=chargemaster)
    assert len(report.sent) + len(report.not_ready) == len(source.claims)
    assert len(report.sent) >= 30
    for refused in report.not_ready:  # only what the Claims really lack, each said
        assert refused.reasons
        assert all(
            "no revenue code" in r
            or "no service line" in r
            or "admission type" in r
            or "discharge status" in r
            or "attending" in r
            for r in refused.reasons
        ), refused.reasons
    text = out.read_text()
    assert pyx12_errors(text, tmp_path) == []
    assert facts_read_back(text) == {f.pcn: facts_meant(f) for f in report.sent}
