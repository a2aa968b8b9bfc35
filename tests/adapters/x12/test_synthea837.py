"""The Synthea encounters' Claims as 837s: pyx12 finds no error, x12sdk reads back the same facts.

Synthea exports no Coverage, so each patient gets the one a registration system would hold
(self-insured with a commercial plan); the encounters are then coded by the pipeline as any
other EHR's and their Claims submitted.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from adapters.coding_setup import CodingSetup
from adapters.demo import code_all_finished
from adapters.fhir.client import FhirClient
from adapters.x12.claim_facts import claim_facts
from adapters.x12.ledger import SubmissionLedger
from adapters.x12.sources import ClaimSource, claims_from_server
from adapters.x12.submit import build_interchange, write_837
from codesets import default_registry
from fhir_coder.coding.admission import PRINCIPAL_FROM_REASON
from sandbox.app import create_app
from tests.adapters.conftest import ASGI_BASE
from tests.adapters.synthea_gathering import synthea_bundles
from tests.adapters.x12.conftest import chargemaster, with_rooms
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


def admitted(stay: dict) -> dict:
    """``stay`` with the admission's priority and discharge disposition, as ADT records them."""
    return stay | {
        "priority": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActPriority", "code": "EL"}
            ]
        },
        "hospitalization": (stay.get("hospitalization") or {})
        | {
            "dischargeDisposition": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/discharge-disposition",
                        "code": "home",
                    }
                ]
            }
        },
    }


@pytest.fixture(scope="module")
def synthea_app(tmp_path_factory):
    app = create_app(tmp_path_factory.mktemp("synthea-x12") / "sandbox.sqlite3")
    yield app
    app.state.store.close()


@pytest.mark.slow
async def test_every_synthea_claim_ready_to_go_passes_pyx12(synthea_app, coding, parties, tmp_path):
    async with FhirClient(ASGI_BASE, transport=httpx.ASGITransport(app=synthea_app)) as fhir:
        for bundle in synthea_bundles():
            response, body = await fhir.request("POST", "", json_body=bundle)
            assert response.status_code == 200, body
        patients = [r["id"] async for r in fhir.search("Patient", {"_count": "100"})]
        await fhir.request("PUT", "Organization/plan-1", json_body=PLAN)
        for number, patient_id in enumerate(patients, start=1):
            coverage = registration(patient_id, number)
            await fhir.request("PUT", f"Coverage/{coverage['id']}", json_body=coverage)
        stays = [
            r
            async for r in fhir.search("Encounter", {"class": "IMP", "status": "finished"})
            if r["class"]["code"] == "IMP"
        ]
        for stay in stays:  # what the ADT system holds and Synthea does not export
            await fhir.request("PUT", f"Encounter/{stay['id']}", json_body=admitted(stay))
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
        summary = await code_all_finished(
            fhir, synthea_coding, source_id="synthea", claim_options=with_rooms()
        )
        source = await claims_from_server(fhir)
        # A stay held as a draft (its principal proposed from the reason for admission, for
        # a coder to confirm) is judged too: its Claim as the coder would release it, built
        # here in memory only (nothing is submitted, nothing on the server changes).
        stay_ids = {stay["id"] for stay in stays}
        drafts = [
            r.claim
            for r in summary.results
            if r.encounter_id in stay_ids and r.claim is not None and r.claim["status"] == "draft"
        ]
        released = ClaimSource(name="drafts", resources=dict(source.resources))
        for draft in drafts:
            released.claims.append(draft | {"status": "active"})
            await read_named(fhir, draft, released)
    written = [r for r in summary.results if r.claim is not None and r.claim["status"] == "active"]
    assert len(source.claims) == len(written) >= 30
    out = tmp_path / "synthea.837"
    ledger = SubmissionLedger(None)  # the 837s are judged here; the ledger's backends elsewhere
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
    # every inpatient stay: an 837I judged above with room and board, or held for what
    # its record lacks (Synthea names the admission's reason in Encounter.reasonCode, with
    # no Condition of the stay: no codable diagnosis, which a coder must supply)
    assert len(stays) >= 4
    sent_stays = {f.encounter.removeprefix("Encounter/"): f for f in report.sent}
    for stay in stays:
        result = next(r for r in summary.results if r.encounter_id == stay["id"])
        if stay["id"] in sent_stays:
            facts = sent_stays[stay["id"]]
            assert facts.kind == "institutional"
            assert any(line.revenue == "0120" and not line.code for line in facts.lines)
        else:
            # held for what its record lacks: no codable diagnosis at all, or only the
            # reason for admission (Encounter.reasonCode), proposed as the principal
            assert result.claim is None or result.claim["status"] == "draft"
            assert {"CLAIM-NO-DIAGNOSIS", PRINCIPAL_FROM_REASON} & {
                i.rule for i in result.issues
            }, result.issues
    # Synthea states three of its stays' reasons: each gives a draft whose 837I, once a
    # coder releases it, carries the admitting diagnosis (HI*ABJ) and passes pyx12
    assert len(drafts) >= 3
    facts = [claim_facts(c, released.resolve, price=chargemaster) for c in released.claims]
    assert {f.kind for f in facts} == {"institutional"}
    text, _ = build_interchange(
        facts, parties, control_number=900, created=datetime(2026, 12, 1, tzinfo=UTC)
    )
    assert text.count("HI*ABJ:") == len(drafts)
    assert pyx12_errors(text, tmp_path) == []


async def read_named(fhir: FhirClient, claim: dict, source: ClaimSource) -> None:
    """Read what ``claim`` names (patient, coverage and its payer, care team) into ``source``."""
    named = [claim["patient"], claim.get("insurer") or {}, claim.get("facility") or {}]
    named += [i["coverage"] for i in claim.get("insurance", [])]
    named += [member["provider"] for member in claim.get("careTeam", [])]
    for reference in [n["reference"] for n in named if "reference" in n]:
        if reference not in source.resources:
            kind, _, resource_id = reference.partition("/")
            source.resources[reference] = await fhir.read(kind, resource_id)
            for party in ("subscriber", "payor"):
                value = source.resources[reference].get(party)
                for ref in [
                    v["reference"] for v in (value if isinstance(value, list) else [value]) if v
                ]:
                    if ref not in source.resources:
                        kind, _, resource_id = ref.partition("/")
                        source.resources[ref] = await fhir.read(kind, resource_id)
