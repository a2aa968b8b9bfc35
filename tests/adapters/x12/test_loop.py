"""The revenue loop end to end on loopback, with the sandbox as EHR and payer.

code -> Claim -> 837 -> the sandbox payer -> 835 with a CARC 11 denial -> work item routed
to coding, with the evidence -> a coder fixes the diagnosis in the workbench -> replacement
Claim -> 837 frequency 7 with the payer's claim number -> paid; the Claim's history shows
each step.
"""

from __future__ import annotations

import json
import re

import httpx
import orjson
import pytest

from adapters.cli.sandbox_process import running_sandbox
from adapters.fhir.client import FhirClient
from adapters.jobs.ledger import JobLedger
from adapters.jobs.work_items import ItemState
from adapters.pipeline import Outcome, Pipeline
from adapters.workbench import Workbench, create_workbench
from adapters.workbench.accounts import Accounts, Role, add_user
from adapters.writeback.claim_ledger import ClaimLedger
from adapters.writeback.claim_writer import ClaimWriter
from adapters.writeback.destinations import FhirDestination
from adapters.x12.denials import open_denial_work
from adapters.x12.evidence import evidence_for
from adapters.x12.intake import record_x12_text
from adapters.x12.ledger import SubmissionLedger
from adapters.x12.sources import claims_from_server
from adapters.x12.submit import write_837
from tests.adapters.x12.conftest import chargemaster
from tests.adapters.x12.pyx12_judge import pyx12_errors

CONFIRM = re.compile(
    r'value="confirm"><input type="hidden" name="kind" value="(\w+)">'
    r'<input type="hidden" name="index" value="(\d+)"'
)

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
NPI = "http://hl7.org/fhir/sid/us-npi"
SOURCE = "loop-ehr"

RULES = {
    "name": "LAKESHORE HEALTH PLAN",
    "payer_id": "LHP03",
    "fee_schedule": {"99213": "92.00", "93000": "17.50"},
    "supports": {"93000": ["I", "R00", "R07", "R55"]},  # an EKG needs a cardiac reason
}


def condition(code: str, display: str) -> dict:
    return {
        "resourceType": "Condition",
        "id": "cond-1",
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
        "code": {"coding": [{"system": ICD, "code": code, "display": display}]},
        "subject": {"reference": "Patient/pat-1"},
        "encounter": {"reference": "Encounter/enc-1"},
        "recordedDate": "2026-03-02",
    }


def clinic_bundle() -> dict:
    resources = [
        {
            "resourceType": "Organization",
            "id": "org-clinic",
            "name": "Riverbend Clinic",
            "identifier": [{"system": NPI, "value": "1526018159"}],
        },
        {
            "resourceType": "Organization",
            "id": "org-payer",
            "name": "Lakeshore Health Plan",
            "identifier": [{"system": "urn:fhir-coder:sandbox:payer-id", "value": "LHP03"}],
        },
        {
            "resourceType": "Practitioner",
            "id": "prac-1",
            "name": [{"family": "Nakamura", "given": ["Riley"]}],
            "identifier": [{"system": NPI, "value": "1390996035"}],
        },
        {
            "resourceType": "Patient",
            "id": "pat-1",
            "gender": "female",
            "birthDate": "1961-07-14",
            "name": [{"use": "official", "family": "Okafor", "given": ["Ada"]}],
            "address": [
                {"line": ["12 Lake St"], "city": "Riverton", "state": "OH", "postalCode": "43215"}
            ],
        },
        {
            "resourceType": "Coverage",
            "id": "cov-1",
            "status": "active",
            "subscriberId": "LH777000111",
            "type": {"coding": [{"system": "urn:oid:2.16.840.1.113883.3.221.5", "code": "5"}]},
            "beneficiary": {"reference": "Patient/pat-1"},
            "subscriber": {"reference": "Patient/pat-1"},
            "relationship": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
                        "code": "self",
                    }
                ]
            },
            "period": {"start": "2025-01-01"},
            "payor": [{"reference": "Organization/org-payer"}],
        },
        {
            "resourceType": "Encounter",
            "id": "enc-1",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": "Patient/pat-1"},
            "participant": [{"individual": {"reference": "Practitioner/prac-1"}}],
            "serviceProvider": {"reference": "Organization/org-clinic"},
            "period": {"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T09:30:00Z"},
            "diagnosis": [{"condition": {"reference": "Condition/cond-1"}, "rank": 1}],
        },
        condition("J06.9", "Acute upper respiratory infection, unspecified"),
        {
            "resourceType": "Procedure",
            "id": "proc-1",
            "status": "completed",
            "code": {"coding": [{"system": CPT, "code": "93000"}]},
            "subject": {"reference": "Patient/pat-1"},
            "encounter": {"reference": "Encounter/enc-1"},
            "performedDateTime": "2026-03-02T09:10:00Z",
            "reasonReference": [{"reference": "Condition/cond-1"}],
        },
    ]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources
        ],
    }


@pytest.fixture(scope="module")
def accounts_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("accounts") / "users.toml"
    add_user(path, "ana", "ana-password-1", name="Ana Coder", role=Role.CODER)
    return path


async def sign_in(client: httpx.AsyncClient, user: str) -> None:
    answer = await client.post(
        "/login", data={"user": user, "password": f"{user}-password-1", "next": "/"}
    )
    assert answer.status_code == 303, answer.text


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def revision_of(html: str) -> str:
    found = re.search(r'name="revision" value="(\d+)"', html)
    assert found, "no revision on the page"
    return found.group(1)


@pytest.fixture(scope="module")
def ehr_and_payer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("loop")
    (folder / "clinic.json").write_bytes(orjson.dumps(clinic_bundle()))
    (folder / "rules.json").write_text(json.dumps(RULES))
    args = (
        "--no-seed",
        "--load",
        str(folder / "clinic.json"),
        "--payer-rules",
        str(folder / "rules.json"),
    )
    with running_sandbox(folder / "sandbox.sqlite3", extra_args=args) as base_url:
        yield base_url


async def send_to_payer(base_url: str, interchange: str) -> str:
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(
            f"{base_url}/$submit-x12",
            content=interchange.encode(),
            headers={"Content-Type": "application/edi-x12"},
        )
    assert answer.status_code == 200, answer.text
    return answer.text


async def test_denied_for_the_diagnosis_fixed_by_a_coder_replaced_and_paid(  # noqa: PLR0915
    ehr_and_payer, coding, parties, accounts_file, tmp_path
):
    base = ehr_and_payer
    claims = ClaimLedger(tmp_path / "claims.sqlite3")
    submissions = SubmissionLedger(tmp_path / "x12.sqlite3")
    jobs = JobLedger(tmp_path / "jobs.sqlite3")
    async with FhirClient(base) as fhir:
        pipeline = Pipeline(
            fhir, coding, source_id=SOURCE, writer=ClaimWriter(FhirDestination(fhir), ledger=claims)
        )
        # 1. code the encounter: a Claim with J06.9 and the EKG line pointing at it
        first = await pipeline.process("enc-1")
        assert first.outcome is Outcome.WRITTEN, first.issues
        original = first.claim["id"]
        # 2. the 837, judged by pyx12, sent to the payer; the Claim marked submitted
        sent = write_837(
            await claims_from_server(fhir),
            parties,
            submissions,
            out=tmp_path / "1.837",
            claim_ledger=claims,
            price=chargemaster,
        )
        assert [f.claim_id for f in sent.sent] == [original]
        assert sent.not_in_claim_ledger == []
        interchange = (tmp_path / "1.837").read_text()
        assert pyx12_errors(interchange, tmp_path) == []
        era = await send_to_payer(base, interchange)
        # 3. the 835: the EKG denied CO-11, the visit paid
        intake = record_x12_text(era, submissions, source="era-1.835")
        assert intake.statuses == {original: "partially-paid"}
        (denied,) = intake.denials[original]
        assert (denied["procedure"], denied["group"], denied["carc"]) == ("93000", "CO", "11")
        # 4. the denial is a work item for coding, with the evidence behind the code
        dry_run = Pipeline(fhir, coding, source_id=SOURCE, write=False)

        async def code(encounter_id):
            return (await dry_run.process(encounter_id)).coded

        evidence = await evidence_for([submissions.submission(original)], code)
        (item,) = open_denial_work(
            intake,
            submissions,
            jobs.work,
            source=SOURCE,
            evidence=lambda s: evidence.get(s.claim_id),
        )
        assert item.rules == ("CARC:11",)
        denial = item.payload["denial"]
        assert denial["queues"] == ["coding"]
        assert denial["lines"][0]["diagnoses"] == ["J069"]
        (dx,) = denial["evidence"]["diagnoses"]
        assert dx["code"] == "J069"
        assert dx["source"] == "Condition/cond-1"
        assert dx["method"]
        # 5. a coder opens the item in the workbench, changes the diagnosis to the one the
        #    note supports (R07.9, chest pain), confirms what is left and releases it: the
        #    workbench writes the Claim through the same write-back, which knows the first
        #    was submitted and so writes a replacement
        bench = Workbench(
            ledger=jobs,
            accounts=Accounts.from_file(accounts_file),
            coding=coding,
            fhir=fhir,
            writer=ClaimWriter(FhirDestination(fhir), ledger=claims),
            audit_every=3600,
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_workbench(bench)),
            base_url="http://127.0.0.1",
        ) as client:
            await sign_in(client, "ana")
            page = await client.get(f"/items/{item.id}")
            assert page.status_code == 200, page.text
            assert "J06.9" in page.text
            csrf = csrf_of(page.text)
            edited = await client.post(
                f"/items/{item.id}/act",
                data={
                    "csrf": csrf,
                    "revision": revision_of(page.text),
                    "action": "edit",
                    "kind": "diagnoses",
                    "index": "0",
                    "code": "R07.9",
                },
                headers={"HX-Request": "true"},
            )
            assert edited.status_code == 200, edited.text
            html = edited.text
            while found := CONFIRM.search(html):  # lines the coder must confirm (E/M level)
                confirmed = await client.post(
                    f"/items/{item.id}/act",
                    data={
                        "csrf": csrf,
                        "revision": revision_of(html),
                        "action": "confirm",
                        "kind": found.group(1),
                        "index": found.group(2),
                    },
                    headers={"HX-Request": "true"},
                )
                assert confirmed.status_code == 200, confirmed.text
                html = confirmed.text
            released = await client.post(
                f"/items/{item.id}/release",
                data={"csrf": csrf, "revision": revision_of(html)},
                headers={"HX-Request": "true"},
            )
            assert released.status_code == 204, released.text
        assert jobs.work.get(item.id).state is ItemState.RELEASED
        # 6. on the server: the submitted Claim unchanged, its replacement beside it
        replacement = f"{original}-r1"
        written = await fhir.read("Claim", replacement)
        assert written["related"][0]["claim"] == {"reference": f"Claim/{original}"}
        assert written["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["code"] == "R07.9"
        assert (await fhir.read("Claim", original))["diagnosis"][0]["diagnosisCodeableConcept"][
            "coding"
        ][0]["code"] == "J06.9"
        # 7. the replacement goes out once, frequency 7 with the payer's claim number
        fixed = write_837(
            await claims_from_server(fhir),
            parties,
            submissions,
            out=tmp_path / "2.837",
            claim_ledger=claims,
            price=chargemaster,
        )
        assert [f.claim_id for f in fixed.sent] == [replacement]
        assert fixed.already_sent == [original]
        (facts,) = fixed.sent
        assert facts.frequency == "7"
        assert facts.payer_claim_number == submissions.submission(original).payer_claim_number
        second = (tmp_path / "2.837").read_text()
        assert pyx12_errors(second, tmp_path) == []
        assert f"REF*F8*{facts.payer_claim_number}~" in second
        again_sent = write_837(
            await claims_from_server(fhir),
            parties,
            submissions,
            out=tmp_path / "3.837",
            claim_ledger=claims,
            price=chargemaster,
        )
        assert again_sent.sent == []  # exactly once
        # 8. paid
        paid = record_x12_text(await send_to_payer(base, second), submissions, source="era-2.835")
        assert paid.statuses == {replacement: "paid"}
        assert paid.denials == {}
    # the history of both Claims, step by step
    assert [e.status for e in submissions.history(original)] == [
        "submitted",
        "partially-paid",
        "work-item",
        "corrected",
    ]
    assert [e.status for e in submissions.history(replacement)] == ["submitted", "paid"]
    assert submissions.history(original)[-1].detail == {"replaced_by": replacement}
    assert [e.action for e in jobs.work.events(item.id)][-3:] == [
        "locked",
        "edit-diagnosis",
        "released",
    ] or "released" in [e.action for e in jobs.work.events(item.id)]
    claims.close()
    submissions.close()
    jobs.close()
