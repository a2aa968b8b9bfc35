"""Destinations: a server refusing Claims, the NDJSON fallback, exactly once under concurrency."""

import asyncio
import json
from uuid import uuid4

import httpx
import pytest

from adapters.cli.sandbox_process import running_sandbox
from adapters.fhir.client import FhirClient
from adapters.pipeline import Outcome, Pipeline
from adapters.writeback.claim_ledger import ClaimLedger
from adapters.writeback.claim_writer import ClaimWriter, WriteAction
from adapters.writeback.destinations import FhirDestination, NdjsonDestination
from fhir_coder.errors import ConfigurationError
from fhir_coder.outcome import Issue, IssueCode, Severity
from fhir_coder.task import TASK_CODE_SYSTEM, task_id_for
from tests.adapters.writeback_claims import CREATED, claim_of, coded_visit, encounters_bundle
from tests.peer_server import load_transaction_chunks

ENCOUNTERS = 200

# The shape of Epic's CapabilityStatement for Claim: read and search, no create or update.
EPIC_METADATA = {
    "resourceType": "CapabilityStatement",
    "status": "active",
    "kind": "instance",
    "fhirVersion": "4.0.1",
    "software": {"name": "Epic", "version": "November 2024"},
    "publisher": "Epic",
    "rest": [
        {
            "mode": "server",
            "resource": [
                {
                    "type": "Claim",
                    "interaction": [{"code": "read"}, {"code": "search-type"}],
                },
                {"type": "Encounter", "interaction": [{"code": "read"}]},
            ],
        }
    ],
}


def epic_like_server():
    """A server that answers /metadata like Epic and fails the test if anything is written."""

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET", f"nothing may be written: {request.method} {request.url}"
        return httpx.Response(200, json=EPIC_METADATA)

    return FhirClient("https://epic.test/api/FHIR/R4", transport=httpx.MockTransport(answer))


async def test_a_server_that_refuses_claim_writes_stops_the_run_at_start_up():
    async with epic_like_server() as epic:
        writer = ClaimWriter(FhirDestination(epic))
        with pytest.raises(ConfigurationError) as refused:
            await writer.start()
    message = str(refused.value)
    assert "https://epic.test/api/FHIR/R4 cannot take Claim writes" in message
    assert "epic servers are known to refuse them" in message
    assert "NDJSON" in message


async def test_the_ndjson_fallback_takes_the_claims_exactly_once(tmp_path):
    folder = tmp_path / "claims"
    async with epic_like_server() as epic:
        destination = FhirDestination(epic, fallback=NdjsonDestination(folder))
        writer = ClaimWriter(destination, ledger=ClaimLedger(tmp_path / "ledger.sqlite3"))
        await writer.start()
        assert "writing to ndjson:" in destination.notes[0]
        coded = coded_visit("nd", 1)
        first = await writer.write(claim_of(coded), coded, (), created=CREATED)
        again = await writer.write(claim_of(coded), coded, (), created=CREATED)
    assert (first.action, again.action) == (WriteAction.CREATED, WriteAction.UNCHANGED)
    [line] = (folder / "Bundle.ndjson").read_text().splitlines()
    bundle = json.loads(line)
    assert bundle["type"] == "transaction"
    claim, provenance = (entry["resource"] for entry in bundle["entry"])
    assert claim["id"] == first.claim["id"]
    assert provenance["target"] == [{"reference": f"Claim/{first.claim['id']}"}]


async def concurrent_runs(base_url, tag, *, ledgers, client_ids=None):
    """Two runs over the same encounters at once, each with its own client; the receipts."""
    coded = [coded_visit(tag, n) for n in range(ENCOUNTERS)]

    async def run(ledger):
        async with FhirClient(base_url) as fhir:
            destination = FhirDestination(fhir, client_ids=client_ids)
            writer = ClaimWriter(destination, ledger=ledger)
            await writer.start()
            assert destination.mode == ("conditional" if client_ids is False else "put")
            gate = asyncio.Semaphore(8)

            async def one(encounter):
                async with gate:
                    return await writer.write(claim_of(encounter), encounter, (), created=CREATED)

            return await asyncio.gather(*(one(encounter) for encounter in coded))

    return await asyncio.gather(*(run(ledger) for ledger in ledgers))


async def count(base_url, resource_type, params):
    async with FhirClient(base_url) as fhir:
        return await fhir.count(resource_type, params)


@pytest.fixture(scope="module")
def empty_sandbox(tmp_path_factory):
    folder = tmp_path_factory.mktemp("writeback-sandbox")
    with running_sandbox(folder / "sandbox.sqlite3", extra_args=("--no-seed",)) as base_url:
        yield base_url


@pytest.fixture(params=["sandbox", "medplum"])
def server_url(request):
    fixture = "empty_sandbox" if request.param == "sandbox" else "medplum_base_url"
    return request.getfixturevalue(fixture)


@pytest.mark.slow
async def test_two_concurrent_pipeline_runs_over_200_encounters_leave_200_claims(
    server_url, coding
):
    tag = f"w{uuid4().hex[:12]}"
    load_transaction_chunks(server_url, encounters_bundle(tag, ENCOUNTERS))
    ids = [f"{tag}-{n}" for n in range(ENCOUNTERS)]

    async def run():
        async with FhirClient(server_url) as fhir:
            pipeline = Pipeline(fhir, coding, source_id=f"urn:test:{tag}")
            await pipeline.start()
            assert pipeline.writer.destination.mode == "put"
            gate = asyncio.Semaphore(8)

            async def one(encounter_id):
                async with gate:
                    return await pipeline.process(encounter_id)

            return await asyncio.gather(*(one(encounter_id) for encounter_id in ids))

    first, second = await asyncio.gather(run(), run())
    outcomes = {result.outcome for result in first + second}
    assert outcomes == {Outcome.WRITTEN}, [r.error or r.issues for r in first if r.error][:3]
    assert await count(server_url, "Claim", {"patient": f"Patient/{tag}"}) == ENCOUNTERS
    assert {r.claim["id"] for r in first} == {r.claim["id"] for r in second}


@pytest.mark.slow
async def test_two_concurrent_runs_by_conditional_create_share_a_ledger_and_write_once(
    server_url, tmp_path
):
    tag = f"w{uuid4().hex[:12]}"
    path = tmp_path / "ledger.sqlite3"
    first, second = await concurrent_runs(
        server_url, tag, ledgers=[ClaimLedger(path), ClaimLedger(path)], client_ids=False
    )
    assert await count(server_url, "Claim", {"patient": f"Patient/{tag}"}) == ENCOUNTERS
    actions = [r.action for r in first + second]
    assert actions.count(WriteAction.CREATED) == ENCOUNTERS
    assert set(actions) <= {WriteAction.CREATED, WriteAction.BUSY, WriteAction.UNCHANGED}


@pytest.mark.parametrize("client_ids", [None, False], ids=["put", "conditional"])
async def test_a_draft_keeps_one_task_that_closes_when_the_claim_is_recoded_clean(
    server_url, client_ids
):
    tag = f"w{uuid4().hex[:12]}"
    coded = coded_visit(tag, 1)
    issues = (
        Issue(
            Severity.ERROR, IssueCode.CODE_INVALID, "E11 is a header", rule="ICD10CM-NOT-BILLABLE"
        ),
    )
    draft = claim_of(coded, issues)
    task_key = {"identifier": f"{TASK_CODE_SYSTEM}|{task_id_for(draft['id'])}"}
    async with FhirClient(server_url) as fhir:
        writer = ClaimWriter(FhirDestination(fhir, client_ids=client_ids))
        receipt = await writer.write(draft, coded, issues, created=CREATED)
        assert (receipt.action, receipt.task) == (WriteAction.CREATED, True)
        stored = await fhir.read("Claim", receipt.server_id)
        [task] = [t async for t in fhir.search("Task", task_key)]
        assert task["status"] == "requested"
        assert task["focus"] == {"reference": f"Claim/{receipt.server_id}"}
        assert task["encounter"] == {"reference": f"Encounter/{tag}-1"}

        clean = await writer.write(claim_of(coded), coded, (), created=CREATED)
        assert clean.action is WriteAction.UPDATED
        assert clean.server_id == receipt.server_id
        [task] = [t async for t in fhir.search("Task", task_key)]
        assert task["status"] == "completed"
        recoded = await fhir.read("Claim", receipt.server_id)
    assert stored["contained"][0]["issue"][0]["details"]["coding"][0]["code"] == (
        "ICD10CM-NOT-BILLABLE"
    )
    assert recoded["status"] == "active"
    assert "contained" not in recoded
