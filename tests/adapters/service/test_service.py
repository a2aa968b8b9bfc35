"""The service in process: notifications, CDS Hooks, health and metrics, over a real sandbox.

The sandbox (its own FastAPI app) delivers its Subscription notifications to the service
through ``httpx.ASGITransport``, and the service's workers read and write the sandbox the
same way: real HTTP semantics, no sockets.
"""

import asyncio
import copy

import httpx
import pytest
from pydantic import SecretStr

from adapters.fhir.client import FhirClient
from adapters.fhir.references import subject_patient_id
from adapters.jobs import JobLedger, JobState, WorkerSettings
from adapters.jobs.workers import WorkerPool
from adapters.pipeline import Pipeline
from adapters.service.app import create_service
from adapters.service.cds import SERVICE_ID
from adapters.service.subscription import build_subscription
from adapters.settings import CdsIssuer, TriggerSettings
from sandbox.app import create_app
from sandbox.faults import FaultConfig
from sandbox.seed import build_seed_bundle, seed_store
from tests.adapters.service.cds_client import CdsClient

FHIR = "http://sandbox.test/fhir"
SERVICE = "http://service.test"
TOKEN = "s3cret-notify-token"  # noqa: S105 - the test's own
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Harness:
    def __init__(self, sandbox, service, fhir, ledger, client, ehr):
        self.sandbox, self.service, self.fhir = sandbox, service, fhir
        self.ledger, self.client, self.ehr = ledger, client, ehr

    async def hook(self, body, **claims):
        """A CDS Hooks call signed by the EHR (``claims`` change its JWT)."""
        headers = self.ehr.headers(SERVICE, **claims)
        return await self.client.post(f"/cds-services/{SERVICE_ID}", json=body, headers=headers)

    async def until(self, check, within=20.0):
        deadline = asyncio.get_running_loop().time() + within
        while not check():
            assert asyncio.get_running_loop().time() < deadline, "timed out"
            await asyncio.sleep(0.02)

    async def finish(self, encounter_id, *, first_status=None):
        encounter = await self.fhir.read("Encounter", encounter_id)
        if first_status:
            await self.fhir.update({**copy.deepcopy(encounter), "status": first_status})
        encounter["status"] = "finished"
        await self.fhir.update(encounter)


@pytest.fixture
async def harness(seeded_app, coding, tmp_path):
    ehr = CdsClient()
    settings = TriggerSettings(
        server=FHIR,
        notify_token=SecretStr(TOKEN),
        jobs_db=tmp_path / "jobs.sqlite3",
        overlap_seconds=0,  # the seed was written a moment ago: a re-query must not see it
        public_url=SERVICE,
        cds_issuers=(CdsIssuer(iss=ehr.iss, jwks_file=ehr.write_jwks(tmp_path / "ehr.jwks")),),
    )
    async with FhirClient(FHIR, transport=httpx.ASGITransport(app=seeded_app)) as fhir:
        with JobLedger(settings.jobs_db) as ledger:
            workers = WorkerSettings(concurrency=2, retry_base_seconds=0.05)
            pool = WorkerPool(ledger, Pipeline(fhir, coding), "sb", workers)
            service = create_service(settings, pool, fhir=fhir)
            seeded_app.state.notifier._transport = httpx.ASGITransport(app=service)
            async with (
                service.router.lifespan_context(service),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=service), base_url=SERVICE
                ) as client,
            ):
                yield Harness(seeded_app, service, fhir, ledger, client, ehr)
            await seeded_app.state.notifier.aclose()


def done_claims(ledger):
    return {job.encounter_id: job.claim_id for job in ledger.jobs(state=JobState.DONE)}


async def test_a_rest_hook_subscription_gets_the_claim_written_with_nobody_running_a_command(
    harness,
):
    subscription = build_subscription(
        "rest-hook", f"{SERVICE}/notify", header=f"Authorization: Bearer {TOKEN}"
    )
    await harness.fhir.request("POST", "Subscription", json_body=subscription)
    await harness.finish("enc-0001-1")
    await harness.until(lambda: "enc-0001-1" in done_claims(harness.ledger))
    claim = await harness.fhir.read("Claim", done_claims(harness.ledger)["enc-0001-1"])
    assert claim["status"] in ("active", "draft")
    job = harness.ledger.jobs()[0]
    assert job.trigger == "rest-hook"
    # the payload's subject rides along, so gathering asks for the patient in round one
    encounter = await harness.fhir.read("Encounter", "enc-0001-1")
    assert job.patient == subject_patient_id(encounter) != ""


async def test_a_backport_topic_with_a_gap_is_recovered_through_events(harness):
    # events 1 and 2 go to an endpoint that does not answer; then the service gets event 3
    lost = build_subscription("backport", "http://nowhere.invalid/notify", payload="id-only")
    _, created = await harness.fhir.request("POST", "Subscription", json_body=lost)
    for encounter_id in ("enc-0001-1", "enc-0002-1", "enc-0003-1"):
        await harness.finish(encounter_id, first_status="in-progress")
    await harness.sandbox.state.notifier.aclose()
    _, events = await harness.fhir.request(
        "GET", f"Subscription/{created['id']}/$events", params={"eventsSinceNumber": "3"}
    )
    events["entry"][0]["resource"]["parameter"][3]["valueCode"] = "event-notification"
    answer = await harness.client.post("/notify", json=events, headers=AUTH)
    assert answer.status_code == 202
    wanted = {"enc-0001-1", "enc-0002-1", "enc-0003-1"}
    ended = (JobState.DONE, JobState.HELD)
    await harness.until(
        lambda: wanted <= {j.encounter_id for j in harness.ledger.jobs() if j.state in ended}
    )
    triggers = {job.encounter_id: job.trigger for job in harness.ledger.jobs()}
    assert triggers["enc-0003-1"] == "backport-event-notification"
    assert triggers["enc-0001-1"] == "backport-recovery"


async def test_duplicate_and_out_of_order_notifications_are_answered_and_skipped(harness):
    encounter = await harness.fhir.read("Encounter", "enc-0001-1")
    newer = {**encounter, "meta": {**encounter["meta"], "versionId": "3"}}
    older = {**encounter, "meta": {**encounter["meta"], "versionId": "2"}}
    url = "/notify/Encounter/enc-0001-1"
    assert (await harness.client.put(url, json=newer, headers=AUTH)).status_code == 202
    again = await harness.client.put(url, json=newer, headers=AUTH)
    assert (again.status_code, again.json()) == (200, {"result": "duplicate"})
    late = await harness.client.put(url, json=older, headers=AUTH)
    assert late.json() == {"result": "stale"}
    await harness.until(lambda: harness.ledger.pending() == 0)
    jobs = harness.ledger.jobs()
    # version 3 was made up here: the job takes the server's version, and a version-less
    # check follows it (dropped at once: that version is done)
    assert [(j.trigger, j.version) for j in jobs] == [
        ("rest-hook", encounter["meta"]["versionId"]),
        ("version-check", ""),
    ]
    assert jobs[1].outcome in ("duplicate", "coalesced")
    assert [s[2] for s in harness.ledger.skips()] == ["duplicate", "stale"]


async def test_notifications_need_the_token(harness):
    encounter = await harness.fhir.read("Encounter", "enc-0001-1")
    url = "/notify/Encounter/enc-0001-1"
    assert (await harness.client.put(url, json=encounter)).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (await harness.client.put(url, json=encounter, headers=wrong)).status_code == 401
    bare = {"Authorization": TOKEN}
    assert (await harness.client.put(url, json=encounter, headers=bare)).status_code == 202
    assert (await harness.client.post("/notify", content=b"[1]", headers=AUTH)).status_code == 400
    other = {**encounter, "id": "enc-0002-1"}
    assert (await harness.client.put(url, json=other, headers=AUTH)).status_code == 400
    odd = {**encounter, "id": "a b"}  # not a FHIR id: it would go into a URL path
    answer = await harness.client.put("/notify/Encounter/a%20b", json=odd, headers=AUTH)
    assert answer.status_code == 400


async def test_an_empty_post_re_queries_the_server(harness):
    await harness.finish("enc-0001-1")
    answer = await harness.client.post("/notify", headers=AUTH)
    assert answer.status_code == 202
    await harness.until(lambda: "enc-0001-1" in done_claims(harness.ledger))
    # only what changed since the service started (less the overlap) is queued
    assert {job.encounter_id for job in harness.ledger.jobs()} == {"enc-0001-1"}


def discharge(encounter_id="enc-0001-1", **extra):
    return {
        "hook": "encounter-discharge",
        "hookInstance": "d1f4c2a7-0000-4000-8000-000000000001",
        "fhirServer": FHIR,
        "context": {"userId": "Practitioner/p1", "patientId": "pat-1", "encounterId": encounter_id},
        **extra,
    }


async def test_cds_hooks_discovery_and_discharge_queue_the_work(harness):
    found = (await harness.client.get("/cds-services")).json()
    assert found["services"][0]["hook"] == "encounter-discharge"
    answer = await harness.hook(discharge())
    assert answer.status_code == 200
    cards = answer.json()["cards"]
    assert cards[0]["indicator"] == "info"
    assert "Coding queued" in cards[0]["summary"]
    await harness.until(lambda: "enc-0001-1" in done_claims(harness.ledger))
    assert harness.ledger.jobs()[0].patient == "pat-1"  # the hook's context.patientId
    bad = await harness.hook({"hook": "x"})
    assert bad.status_code == 422
    # a hook naming another FHIR server is refused, never coded as our encounter of that id
    other = await harness.hook(discharge("enc-0002-1", fhirServer="https://other.example/fhir"))
    assert other.status_code == 400
    assert "enc-0002-1" not in {job.encounter_id for job in harness.ledger.jobs()}


async def test_cds_hooks_without_prefetch_or_fhir_access_is_412(seeded_app, coding, tmp_path):
    settings = TriggerSettings(jobs_db=tmp_path / "jobs.sqlite3")
    async with FhirClient(FHIR, transport=httpx.ASGITransport(app=seeded_app)) as fhir:
        with JobLedger(settings.jobs_db) as ledger:
            pool = WorkerPool(ledger, Pipeline(fhir, coding), "sb")
            service = create_service(settings, pool, run_workers=False)
            transport = httpx.ASGITransport(app=service)
            async with httpx.AsyncClient(transport=transport, base_url=SERVICE) as client:
                unsigned = await client.post(f"/cds-services/{SERVICE_ID}", json=discharge())
                assert unsigned.status_code == 401  # unsigned calls are refused by default
            settings = settings.model_copy(update={"cds_allow_unsigned": True})
            service = create_service(settings, pool, run_workers=False)
            transport = httpx.ASGITransport(app=service)
            async with httpx.AsyncClient(transport=transport, base_url=SERVICE) as client:
                answer = await client.post(f"/cds-services/{SERVICE_ID}", json=discharge())
                assert answer.status_code == 412
                open_notify = await client.post("/notify")  # no token configured, no server
                assert open_notify.status_code == 412


async def test_health_readiness_metrics_and_openapi(harness):
    assert (await harness.client.get("/healthz")).json() == {"status": "ok"}
    ready = await harness.client.get("/readyz")
    assert ready.status_code == 200
    await harness.hook(discharge())
    await harness.until(lambda: "enc-0001-1" in done_claims(harness.ledger))
    metrics = (await harness.client.get("/metrics")).text
    assert "fhir_coder_queue_depth 0.0" in metrics
    assert 'fhir_coder_jobs_processed_total{state="done"} 1.0' in metrics
    assert "fhir_coder_notification_to_claim_seconds_count 1.0" in metrics
    assert 'fhir_coder_notifications_total{result="queued",trigger="cds-hooks"} 1.0' in metrics
    paths = (await harness.client.get("/openapi.json")).json()["paths"]
    assert {"/notify", "/notify/Encounter/{encounter_id}", "/healthz", "/metrics"} <= set(paths)


def seeded_secrets():
    """Every patient name and identifier of the seed, and the notification token."""
    found = {TOKEN}
    for entry in build_seed_bundle()["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] != "Patient":
            continue
        for name in resource.get("name", []):
            found.update(name.get("given", []))
            found.add(name.get("family", ""))
        found.update(i["value"] for i in resource.get("identifier", []))
    return {s for s in found if len(s) > 3}


async def test_the_logs_name_no_patient_and_no_token(harness, caplog):
    caplog.set_level("DEBUG")
    caplog.set_level("DEBUG", logger="httpx")  # the CLI quiets it; here it may speak
    subscription = build_subscription(
        "rest-hook", f"{SERVICE}/notify", header=f"Authorization: Bearer {TOKEN}"
    )
    await harness.fhir.request("POST", "Subscription", json_body=subscription)
    for encounter_id in ("enc-0001-1", "enc-0002-1", "enc-0003-1"):
        await harness.finish(encounter_id)
    assert (await harness.hook(discharge("enc-0004-1"))).status_code == 200
    await harness.client.put("/notify/Encounter/enc-0001-1", json={"resourceType": "Patient"})
    gap = {
        "resourceType": "Bundle",
        "type": "history",
        "entry": [
            {
                "resource": {
                    "resourceType": "Parameters",
                    "parameter": [
                        {"name": "subscription", "valueReference": {"reference": "Subscription/x"}},
                        {"name": "type", "valueCode": "heartbeat"},
                        {"name": "events-since-subscription-start", "valueString": "2"},
                    ],
                }
            }
        ],
    }
    await harness.client.post("/notify", json=gap, headers=AUTH)  # $events fails: a warning
    await harness.until(lambda: len(harness.ledger.jobs()) >= 4 and not harness.ledger.pending())
    await harness.service.state.intake.aclose()
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "re-querying instead" in logged  # the log was written, so the search means something
    leaked = [secret for secret in seeded_secrets() if secret in logged]
    assert leaked == []


async def test_a_backport_full_resource_subscription_end_to_end(harness):
    subscription = build_subscription(
        "backport", f"{SERVICE}/notify", header=f"Authorization: Bearer {TOKEN}"
    )
    await harness.fhir.request("POST", "Subscription", json_body=subscription)
    await harness.finish("enc-0001-1", first_status="in-progress")
    await harness.until(lambda: "enc-0001-1" in done_claims(harness.ledger))
    job = harness.ledger.jobs()[0]
    assert (job.trigger, job.version) == ("backport-event-notification", "3")
    encounter = await harness.fhir.read("Encounter", "enc-0001-1")
    assert job.patient == subject_patient_id(encounter) != ""


async def test_a_heartbeat_showing_missed_events_triggers_recovery(harness):
    lost = build_subscription("backport", "http://nowhere.invalid/notify", payload="full-resource")
    _, created = await harness.fhir.request("POST", "Subscription", json_body=lost)
    await harness.finish("enc-0001-1", first_status="in-progress")
    await harness.sandbox.state.notifier.aclose()
    _, beat = await harness.fhir.request("GET", f"Subscription/{created['id']}/$status")
    beat["entry"][0]["resource"]["parameter"][3]["valueCode"] = "heartbeat"
    assert (await harness.client.post("/notify", json=beat, headers=AUTH)).status_code == 202
    await harness.until(lambda: "enc-0001-1" in done_claims(harness.ledger))
    assert harness.ledger.jobs()[0].trigger == "backport-recovery"


async def test_an_event_count_that_starts_again_resets_and_re_queries(harness):
    def beat(count):
        return {
            "resourceType": "Bundle",
            "type": "history",
            "entry": [
                {
                    "resource": {
                        "resourceType": "Parameters",
                        "parameter": [
                            {"name": "subscription", "valueReference": {"reference": "x/s9"}},
                            {"name": "type", "valueCode": "heartbeat"},
                            {"name": "events-since-subscription-start", "valueString": count},
                        ],
                    }
                }
            ],
        }

    name = "backport:sb:s9"
    harness.ledger.set_checkpoint(name, "5")
    await harness.finish("enc-0001-1")  # changed since the service started
    assert (await harness.client.post("/notify", json=beat("1"), headers=AUTH)).status_code == 202
    assert harness.ledger.checkpoint(name) == "1"
    await harness.until(lambda: "enc-0001-1" in done_claims(harness.ledger))


class InFlight(httpx.AsyncBaseTransport):
    """A transport that counts the Encounter searches under way at once (the test's seam)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.now, self.most, self.total = inner, 0, 0, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        searching = request.method == "GET" and request.url.path.endswith("/Encounter")
        if searching:
            self.now += 1
            self.total += 1
            self.most = max(self.most, self.now)
        try:
            return await self.inner.handle_async_request(request)
        finally:
            if searching:
                self.now -= 1


async def test_a_burst_of_empty_notifications_runs_one_re_query_at_a_time(coding, tmp_path):
    slow = create_app(tmp_path / "slow.sqlite3", faults=FaultConfig(latency_ms=50))
    seed_store(slow.state.store)
    counting = InFlight(httpx.ASGITransport(app=slow))
    settings = TriggerSettings(
        server=FHIR, notify_token=SecretStr(TOKEN), jobs_db=tmp_path / "jobs.sqlite3"
    )
    async with FhirClient(FHIR, transport=counting) as fhir:
        with JobLedger(settings.jobs_db) as ledger:
            pool = WorkerPool(ledger, Pipeline(fhir, coding), "sb")
            service = create_service(settings, pool, fhir=fhir, run_workers=False)
            transport = httpx.ASGITransport(app=service)
            async with httpx.AsyncClient(transport=transport, base_url=SERVICE) as client:
                answers = await asyncio.gather(
                    *(client.post("/notify", headers=AUTH) for _ in range(20))
                )
                assert {a.status_code for a in answers} == {202}
                await service.state.intake.aclose()
    slow.state.store.close()
    assert counting.most == 1  # never two searches at once
    assert 1 <= counting.total <= 2  # the first, and one more for everything asked meanwhile
