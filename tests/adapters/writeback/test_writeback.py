"""Writing Claims back through the pipeline: Provenance, Tasks, recoding and replacement."""

import httpx
import pytest

from adapters.fhir.client import FhirClient
from adapters.pipeline import Outcome, Pipeline
from adapters.writeback.claim_ledger import ClaimLedger
from adapters.writeback.claim_writer import ClaimChangedError, ClaimWriter, DraftPolicy, WriteAction
from adapters.writeback.destinations import FhirDestination
from fhir_coder.errors import FhirTransportError
from fhir_coder.provenance import provenance_id_for
from fhir_coder.systems import ICD10CM
from fhir_coder.task import task_id_for
from tests.adapters.conftest import ASGI_BASE

ENCOUNTER = "enc-0001-1"


def condition(cid, code):
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": "Patient/pat-0001"},
        "encounter": {"reference": f"Encounter/{ENCOUNTER}"},
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
        "code": {"coding": [{"system": ICD10CM, "code": code}]},
    }


@pytest.fixture
async def patient_ref(asgi_fhir):
    encounter = await asgi_fhir.read("Encounter", ENCOUNTER)
    return encounter["subject"]["reference"]


async def test_a_claim_is_written_once_with_its_provenance_in_one_transaction(
    asgi_fhir, coding, patient_ref
):
    pipeline = Pipeline(asgi_fhir, coding)
    first = await pipeline.process(ENCOUNTER)
    assert first.outcome is Outcome.WRITTEN, first.issues
    assert first.receipt.action is WriteAction.CREATED
    claim_id = first.claim["id"]
    provenance = await asgi_fhir.read("Provenance", provenance_id_for(claim_id))
    assert provenance["target"] == [{"reference": f"Claim/{claim_id}"}]
    entities = {e["what"]["reference"] for e in provenance["entity"]}
    encounter = await asgi_fhir.read("Encounter", ENCOUNTER)
    assert f"Encounter/{ENCOUNTER}/_history/{encounter['meta']['versionId']}" in entities
    assert patient_ref in entities
    assert provenance["agent"][0]["who"]["display"].startswith("fhir-coder ")

    again = await pipeline.process(ENCOUNTER)
    assert again.receipt.action is WriteAction.UNCHANGED
    stored = await asgi_fhir.read("Claim", claim_id)
    assert stored["meta"]["versionId"] == "1"  # nothing was sent the second time


async def test_recoding_updates_an_unsubmitted_claim_then_replaces_a_submitted_one(
    asgi_fhir, coding
):
    ledger = ClaimLedger()
    pipeline = Pipeline(
        asgi_fhir, coding, writer=ClaimWriter(FhirDestination(asgi_fhir), ledger=ledger)
    )
    first = await pipeline.process(ENCOUNTER)
    claim_id = first.claim["id"]

    await asgi_fhir.update(condition("recode-1", "J20.9"))
    updated = await pipeline.process(ENCOUNTER)
    assert updated.receipt.action is WriteAction.UPDATED
    stored = await asgi_fhir.read("Claim", claim_id)
    assert stored["meta"]["versionId"] == "2"
    assert "J20.9" in str(stored["diagnosis"])

    assert ledger.mark_submitted(asgi_fhir.base_url, claim_id)
    await asgi_fhir.update(condition("recode-2", "I10"))
    replaced = await pipeline.process(ENCOUNTER)
    assert replaced.receipt.action is WriteAction.REPLACED
    replacement = await asgi_fhir.read("Claim", replaced.claim["id"])
    assert replacement["id"] == f"{claim_id}-r1"
    assert replacement["related"][0]["claim"] == {"reference": f"Claim/{claim_id}"}
    assert replacement["related"][0]["relationship"]["coding"][0]["code"] == "prior"
    prior = await asgi_fhir.read("Claim", claim_id)
    assert prior["meta"]["versionId"] == "2"  # a submitted claim is never changed in place
    provenance = await asgi_fhir.read("Provenance", provenance_id_for(replacement["id"]))
    assert provenance["target"] == [{"reference": f"Claim/{replacement['id']}"}]

    await asgi_fhir.update(condition("recode-3", "E78.5"))  # recoded again before submission
    again = await pipeline.process(ENCOUNTER)
    assert again.receipt.action is WriteAction.UPDATED
    assert again.claim["id"] == replacement["id"]
    updated_replacement = await asgi_fhir.read("Claim", replacement["id"])
    assert updated_replacement["meta"]["versionId"] == "2"
    assert updated_replacement["related"] == replacement["related"]
    assert updated_replacement["identifier"] == replacement["identifier"]


async def test_an_update_after_someone_else_wrote_the_claim_re_reads_its_version(asgi_fhir, coding):
    pipeline = Pipeline(asgi_fhir, coding)
    first = await pipeline.process(ENCOUNTER)
    rival = await asgi_fhir.read("Claim", first.claim["id"])
    await asgi_fhir.update(rival | {"priority": rival["priority"]})  # version 2 behind our back
    await asgi_fhir.update(condition("recode-3", "J20.9"))
    updated = await pipeline.process(ENCOUNTER)  # If-Match 1 fails with 412, then version 2
    assert updated.receipt.action is WriteAction.UPDATED
    stored = await asgi_fhir.read("Claim", first.claim["id"])
    assert stored["meta"]["versionId"] == "3"


async def test_a_claim_someone_else_changed_is_not_overwritten_by_a_recode(asgi_fhir, coding):
    pipeline = Pipeline(asgi_fhir, coding)
    first = await pipeline.process(ENCOUNTER)
    claim_id = first.claim["id"]
    edited = await asgi_fhir.read("Claim", claim_id)
    stat = {"coding": [{"system": edited["priority"]["coding"][0]["system"], "code": "stat"}]}
    await asgi_fhir.update(edited | {"priority": stat})  # a biller's edit: version 2
    await asgi_fhir.update(condition("recode-4", "J20.9"))

    recoded = await pipeline.process(ENCOUNTER)

    assert recoded.outcome is Outcome.FAILED
    assert isinstance(recoded.error, ClaimChangedError)
    assert recoded.error.status_code == 412  # not retried: a person must reconcile
    assert f"Claim/{claim_id}" in str(recoded.error)
    assert "changed by someone else since fhir-coder wrote version 1" in str(recoded.error)
    stored = await asgi_fhir.read("Claim", claim_id)
    assert stored["meta"]["versionId"] == "2"
    assert stored["priority"] == stat
    assert "J20.9" not in str(stored["diagnosis"])


async def test_a_write_whose_answer_was_lost_is_not_sent_again(asgi_fhir, coding):
    ledger = ClaimLedger()
    writer = ClaimWriter(FhirDestination(asgi_fhir), ledger=ledger)
    pipeline = Pipeline(asgi_fhir, coding, writer=writer)
    first = await pipeline.process(ENCOUNTER)
    where, key = writer.destination.name, first.claim["id"]
    as_first_written = ledger.entry(where, key)
    await asgi_fhir.update(condition("recode-5", "J20.9"))
    await pipeline.process(ENCOUNTER)  # version 2 is written...
    held = ledger.reserve(where, key)  # ...but, as if its answer never came, not kept
    ledger.record(where, as_first_written, held.fence)

    again = await pipeline.process(ENCOUNTER)  # If-Match 1: 412, and version 2 says it already

    assert again.outcome is Outcome.WRITTEN
    assert again.receipt.action is WriteAction.UNCHANGED
    assert again.receipt.version == "2"
    stored = await asgi_fhir.read("Claim", key)
    assert stored["meta"]["versionId"] == "2"  # no second write, no second Provenance
    assert "J20.9" in str(stored["diagnosis"])
    assert ledger.entry(where, key).version == "2"


async def test_a_new_process_without_the_ledger_does_not_overwrite_a_billers_edit(
    asgi_fhir, coding
):
    first = await Pipeline(asgi_fhir, coding).process(ENCOUNTER)
    claim_id = first.claim["id"]
    edited = await asgi_fhir.read("Claim", claim_id)
    stat = {"coding": [{"system": edited["priority"]["coding"][0]["system"], "code": "stat"}]}
    await asgi_fhir.update(edited | {"priority": stat})  # a biller's edit: version 2

    again = await Pipeline(asgi_fhir, coding).process(ENCOUNTER)  # a new, empty ledger

    assert again.outcome is Outcome.FAILED
    assert isinstance(again.error, ClaimChangedError)
    assert "changed by someone else" in str(again.error)
    stored = await asgi_fhir.read("Claim", claim_id)
    assert (stored["meta"]["versionId"], stored["priority"]) == ("2", stat)


async def test_a_new_process_without_the_ledger_updates_its_own_claim_and_skips_an_unchanged_one(
    asgi_fhir, coding
):
    first = await Pipeline(asgi_fhir, coding).process(ENCOUNTER)
    claim_id = first.claim["id"]
    same = await Pipeline(asgi_fhir, coding).process(ENCOUNTER)
    assert same.receipt.action is WriteAction.UNCHANGED
    await asgi_fhir.update(condition("recode-6", "J20.9"))
    recoded = await Pipeline(asgi_fhir, coding).process(ENCOUNTER)
    assert recoded.receipt.action is WriteAction.UPDATED
    stored = await asgi_fhir.read("Claim", claim_id)
    assert stored["meta"]["versionId"] == "2"
    assert "J20.9" in str(stored["diagnosis"])
    history = await asgi_fhir.search_all("Provenance", {"target": f"Claim/{claim_id}"})
    assert len(history) == 1  # one Provenance per Claim id, rewritten with it


async def test_a_draft_claim_gets_a_task_for_a_coder_and_can_be_held_instead(asgi_fhir, coding):
    await asgi_fhir.update(condition("header-code", "E11"))
    held = await Pipeline(
        asgi_fhir, coding, writer=ClaimWriter(FhirDestination(asgi_fhir), drafts=DraftPolicy.HOLD)
    ).process(ENCOUNTER)
    assert held.outcome is Outcome.HELD
    assert held.receipt.action is WriteAction.HELD
    assert await asgi_fhir.count("Claim") == 0

    pipeline = Pipeline(asgi_fhir, coding)
    result = await pipeline.process(ENCOUNTER)
    assert result.claim["status"] == "draft"
    task = await asgi_fhir.read("Task", task_id_for(result.claim["id"]))
    assert task["status"] == "requested"
    assert task["focus"] == {"reference": f"Claim/{result.claim['id']}"}
    assert task["encounter"] == {"reference": f"Encounter/{ENCOUNTER}"}
    assert any("ICD10CM-NOT-BILLABLE" in i["valueString"] for i in task["input"])

    await asgi_fhir.update(condition("header-code", "E11.9"))  # the coder fixed the code
    fixed = await pipeline.process(ENCOUNTER)
    assert fixed.claim["status"] == "active"
    assert fixed.receipt.action is WriteAction.UPDATED
    task = await asgi_fhir.read("Task", task_id_for(result.claim["id"]))
    assert task["status"] == "completed"


class LosesFirstAnswer(httpx.AsyncBaseTransport):
    """Carries every request to the server, but loses the answer of the first create.

    The server did the work; the client sees a dropped connection: the one failure shape
    a real server cannot be asked for, so it is made here around the real sandbox.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.posts, self.lost = inner, 0, False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        creates = b"ifNoneExist" in request.content or "if-none-exist" in request.headers
        if request.method == "POST" and creates:
            self.posts += 1
            if not self.lost:
                self.lost = True
                await response.aread()
                raise httpx.ReadError("connection dropped", request=request)
        return response


async def test_conditional_create_reads_the_match_updates_with_if_match_and_adds_no_provenance(
    asgi_fhir, coding, seeded_app
):
    def writer():  # a new process each time: its own, empty ledger
        return ClaimWriter(FhirDestination(asgi_fhir, client_ids=False))

    first = await Pipeline(asgi_fhir, coding, writer=writer()).process(ENCOUNTER)
    assert first.receipt.action is WriteAction.CREATED
    server_id = first.receipt.server_id
    same = await Pipeline(asgi_fhir, coding, writer=writer()).process(ENCOUNTER)
    assert (same.receipt.action, same.receipt.server_id) == (WriteAction.UNCHANGED, server_id)
    assert await asgi_fhir.count("Provenance") == 1  # nothing sent for an unchanged Claim

    await asgi_fhir.update(condition("recode-7", "J20.9"))
    recoded = await Pipeline(asgi_fhir, coding, writer=writer()).process(ENCOUNTER)
    assert recoded.receipt.action is WriteAction.UPDATED  # not "unchanged" while it is not
    stored = await asgi_fhir.read("Claim", server_id)
    assert stored["meta"]["versionId"] == "2"
    assert "J20.9" in str(stored["diagnosis"])
    assert await asgi_fhir.count("Claim") == 1


async def test_a_conditional_create_whose_answer_was_lost_is_found_not_sent_again(
    seeded_app, coding
):
    lossy = LosesFirstAnswer(httpx.ASGITransport(app=seeded_app))
    async with FhirClient(ASGI_BASE, transport=lossy) as fhir:
        writer = ClaimWriter(FhirDestination(fhir, client_ids=False))
        pipeline = Pipeline(fhir, coding, writer=writer)
        lost = await pipeline.process(ENCOUNTER)
        assert isinstance(lost.error, FhirTransportError)
        assert lossy.posts == 1  # not resent blind: a second create could duplicate it
        again = await pipeline.process(ENCOUNTER)  # the job's next attempt
        assert again.receipt.action is WriteAction.UNCHANGED
        assert lossy.posts == 1  # found by its identifier: nothing written twice
        assert await fhir.count("Claim") == await fhir.count("Provenance") == 1


class Recording(httpx.AsyncBaseTransport):
    """The real sandbox, with the method and path of every request kept."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.seen = inner, []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize("client_ids", [None, False], ids=["put", "conditional"])
async def test_looking_before_writing_rides_in_the_round_that_reads_the_encounter(
    seeded_app, coding, client_ids
):
    recording = Recording(httpx.ASGITransport(app=seeded_app))
    async with FhirClient(ASGI_BASE, transport=recording) as fhir:
        writer = ClaimWriter(FhirDestination(fhir, client_ids=client_ids))
        pipeline = Pipeline(fhir, coding, writer=writer)
        await pipeline.start()
        recording.seen.clear()
        first = await pipeline.process(ENCOUNTER)
        assert first.receipt.action is WriteAction.CREATED
        alone = [path for method, path in recording.seen if method == "GET" and "/Claim" in path]
        assert alone == []  # the Claim was looked up inside the first round's batch
        recording.seen.clear()
        again = await Pipeline(
            fhir, coding, writer=ClaimWriter(FhirDestination(fhir, client_ids=client_ids))
        ).process(ENCOUNTER)
        assert again.receipt.action is WriteAction.UNCHANGED  # and what it found is used
        assert again.round_trips == 1  # one round (the patient known from before), no write
        assert [m for m, _ in recording.seen] == ["POST"]  # that round's batch, nothing else
