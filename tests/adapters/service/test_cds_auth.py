"""CDS Hooks callers proven by their JWT, and the EHR's fhirAuthorization used for its call only.

The service runs in process over the sandbox (with its bearer-token authentication on);
the EHR's JWK Set is served by a real HTTP server on loopback when it is fetched.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from adapters.fhir.client import FhirClient
from adapters.jobs import JobLedger
from adapters.jobs.workers import WorkerPool
from adapters.pipeline import Pipeline
from adapters.service.app import create_service
from adapters.service.cds import SERVICE_ID
from adapters.service.jwks import KeySets
from adapters.settings import CdsIssuer, TriggerSettings
from sandbox.app import create_app
from sandbox.auth import AuthConfig
from sandbox.seed import seed_store
from tests.adapters.service.cds_client import CdsClient

FHIR = "http://sandbox.test/fhir"
SERVICE = "https://coder.hospital.test"
AUD = f"{SERVICE}/cds-services/{SERVICE_ID}"
SERVICE_TOKEN = "service-own-token"  # noqa: S105 - the test's own
EHR_USER_TOKEN = "ehr-user-token"  # noqa: S105
NARROW_TOKEN = "ehr-patient-only-token"  # noqa: S105


class JwksServer:
    """A JWK Set on loopback that the test can change, counting how often it is fetched."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                body = json.dumps(owner.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.close()


@pytest.fixture
def protected_sandbox(tmp_path: Path) -> Iterator[Any]:
    config = {
        "bearer_tokens": {
            SERVICE_TOKEN: "system/*.rs system/Claim.cu system/Provenance.cu system/Task.cu",
            EHR_USER_TOKEN: "user/Encounter.rs user/Patient.rs",
            NARROW_TOKEN: "user/Patient.rs",
        }
    }
    app = create_app(tmp_path / "sandbox.sqlite3", auth=AuthConfig.from_json(config))
    seed_store(app.state.store)
    yield app
    app.state.store.close()


class Service:
    def __init__(self, client: httpx.AsyncClient, ledger: JobLedger, ehr: CdsClient) -> None:
        self.client, self.ledger, self.ehr = client, ledger, ehr

    async def hook(
        self, body: dict[str, Any], *, token: str | None = None, **claims: Any
    ) -> httpx.Response:
        jwt_text = token if token is not None else self.ehr.token(AUD, **claims)
        headers = {"Authorization": f"Bearer {jwt_text}"} if jwt_text else {}
        return await self.client.post(f"/cds-services/{SERVICE_ID}", json=body, headers=headers)


async def _service(
    sandbox: Any,
    coding: Any,
    tmp_path: Path,
    issuers: tuple[CdsIssuer, ...],
    ehr: CdsClient,
    key_sets: KeySets | None = None,
    jobs_db: Path | str | None = None,
) -> AsyncIterator[Service]:
    settings = TriggerSettings(
        server=FHIR,
        jobs_db=jobs_db or tmp_path / "jobs.sqlite3",
        public_url=SERVICE,
        cds_issuers=issuers,
    )
    transport = httpx.ASGITransport(app=sandbox)
    headers = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
    async with FhirClient(FHIR, transport=transport, headers=headers) as fhir:
        with JobLedger(settings.jobs_db) as ledger:
            pool = WorkerPool(ledger, Pipeline(fhir, coding), "sb")
            app = create_service(settings, pool, fhir=fhir, run_workers=False, key_sets=key_sets)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url=SERVICE
                ) as client,
            ):
                yield Service(client, ledger, ehr)


@pytest.fixture
async def service(protected_sandbox, coding, tmp_path) -> AsyncIterator[Service]:
    ehr = CdsClient()
    issuer = CdsIssuer(iss=ehr.iss, jwks_file=ehr.write_jwks(tmp_path / "ehr.jwks"))
    async for running in _service(protected_sandbox, coding, tmp_path, (issuer,), ehr):
        yield running


def discharge(encounter_id: str = "enc-0001-1", **extra: Any) -> dict[str, Any]:
    patient = "pat-" + encounter_id.split("-")[1] if encounter_id.startswith("enc-") else "x"
    return {
        "hook": "encounter-discharge",
        "hookInstance": "0b6c3c2e-2222-4000-8000-000000000003",
        "fhirServer": FHIR,
        "context": {"userId": "Practitioner/p1", "patientId": patient, "encounterId": encounter_id},
        **extra,
    }


def queued(ledger: JobLedger) -> set[str]:
    return {job.encounter_id for job in ledger.jobs()}


async def test_a_signed_call_is_queued(service):
    answer = await service.hook(discharge())
    assert answer.status_code == 200, answer.text
    assert queued(service.ledger) == {"enc-0001-1"}


async def test_unsigned_expired_wrong_audience_unknown_issuer_and_replayed_jwts_get_401(service):
    now = int(time.time())
    stranger = CdsClient(iss="https://stranger.test")  # a key and issuer nobody configured
    impostor = CdsClient()  # the EHR's iss and kid, but not the EHR's key
    replayed = service.ehr.token(AUD)
    assert (await service.hook(discharge("enc-0002-1"), token=replayed)).status_code == 200
    refused = {
        "unsigned": await service.hook(discharge(), token=""),
        "expired": await service.hook(discharge(), exp=now - 120, iat=now - 420),
        "wrong audience": await service.hook(
            discharge(), aud=f"https://other-service.test/cds-services/{SERVICE_ID}"
        ),
        "audience of discovery": await service.hook(discharge(), aud=f"{SERVICE}/cds-services"),
        "unknown issuer": await service.hook(discharge(), token=stranger.token(AUD)),
        "forged signature": await service.hook(discharge(), token=impostor.token(AUD)),
        "replayed": await service.hook(discharge(), token=replayed),
        "no jti": await service.hook(discharge(), jti=None),
        "no exp": await service.hook(discharge(), exp=None),
        "a day long": await service.hook(discharge(), exp=now + 86_400),
        "unknown kid": await service.hook(discharge(), header={"kid": "other-key"}),
        "jku not listed": await service.hook(
            discharge(), header={"jku": "https://attacker.test/jwks.json"}
        ),
        "not a JWT": await service.hook(discharge(), token="not-a-jwt"),  # noqa: S106
    }
    assert {why: answer.status_code for why, answer in refused.items()} == dict.fromkeys(
        refused, 401
    )
    for answer in refused.values():
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert "expired" in refused["expired"].json()["detail"]
    assert "replayed" in refused["replayed"].json()["detail"]
    assert queued(service.ledger) == {"enc-0002-1"}  # nothing refused was queued


async def test_unsafe_algorithms_are_refused(service):
    unsigned = jwt.encode(
        {"iss": service.ehr.iss, "aud": AUD, "exp": int(time.time()) + 60, "jti": "x"},
        key=None,
        algorithm="none",
        headers={"kid": service.ehr.kid},
    )
    hmac = jwt.encode(
        {"iss": service.ehr.iss, "aud": AUD, "exp": int(time.time()) + 60, "jti": "y"},
        key="a-shared-secret-long-enough-for-hs256",
        algorithm="HS256",
        headers={"kid": service.ehr.kid},
    )
    for token in (unsigned, hmac):
        assert (await service.hook(discharge(), token=token)).status_code == 401
    assert queued(service.ledger) == set()


async def test_a_hook_for_another_fhir_server_is_refused(service):
    other = await service.hook(discharge(fhirServer="https://other-ehr.test/fhir"))
    assert other.status_code == 400
    assert "fhirServer" in other.json()["detail"]
    same = await service.hook(discharge(fhirServer="HTTP://SANDBOX.test/fhir/"))
    assert same.status_code == 200  # the same base, written with another case and a slash
    assert queued(service.ledger) == {"enc-0001-1"}


async def test_fhir_authorization_reads_the_encounter_for_that_call_only(service):
    forged = {
        "resourceType": "Encounter",
        "id": "enc-0001-1",
        "meta": {"versionId": "999999"},
        "status": "finished",
    }
    lent = {"access_token": EHR_USER_TOKEN, "token_type": "Bearer", "scope": "user/Encounter.rs"}
    answer = await service.hook(discharge(prefetch={"encounter": forged}, fhirAuthorization=lent))
    assert answer.status_code == 200, answer.text
    (job,) = service.ledger.jobs()
    assert job.version == "1"  # the server's version, read with the EHR's token, not the hint
    assert job.patient == "pat-0001"  # the Encounter's own subject
    narrow = {"access_token": NARROW_TOKEN, "token_type": "Bearer"}
    refused = await service.hook(discharge("enc-0002-1", fhirAuthorization=narrow))
    assert refused.status_code == 403  # that token may not read Encounters: nothing queued
    wrong_patient = await service.hook(
        discharge(
            "enc-0003-1",
            fhirAuthorization=lent,
            context={
                "userId": "Practitioner/p1",
                "patientId": "someone-else",
                "encounterId": "enc-0003-1",
            },
        )
    )
    assert wrong_patient.status_code == 400
    missing = await service.hook(discharge("no-such-encounter", fhirAuthorization=lent))
    assert missing.status_code == 404
    assert queued(service.ledger) == {"enc-0001-1"}


async def test_keys_come_from_the_issuers_url_and_rotate(
    protected_sandbox, coding, tmp_path, jwks_server
):
    ehr = CdsClient()
    jwks_server.document = ehr.jwks()
    issuer = CdsIssuer(iss=ehr.iss, jwks_url=jwks_server.url)
    now = [1000.0]
    key_sets = KeySets(clock=lambda: now[0])  # loopback http:// needs no allowance
    async for service in _service(protected_sandbox, coding, tmp_path, (issuer,), ehr, key_sets):
        assert (await service.hook(discharge("enc-0001-1"))).status_code == 200
        assert (await service.hook(discharge("enc-0002-1"))).status_code == 200
        assert jwks_server.fetches == 1  # kept, not fetched for every call
        rotated = CdsClient(kid="ehr-key-2")
        jwks_server.document = {"keys": [*ehr.jwks()["keys"], *rotated.jwks()["keys"]]}
        service.ehr = rotated
        now[0] += 31  # a new kid is looked for at most every 30 s
        assert (await service.hook(discharge("enc-0003-1"))).status_code == 200
        assert jwks_server.fetches == 2  # a kid not known yet: the set was fetched again
        for _ in range(3):  # made-up kids do not make the service hammer the EHR
            assert (await service.hook(discharge(), header={"kid": "made-up"})).status_code == 401
        assert jwks_server.fetches == 2


async def test_a_jku_is_fetched_only_when_the_issuer_lists_it(
    protected_sandbox, coding, tmp_path, jwks_server
):
    ehr = CdsClient()
    jwks_server.document = ehr.jwks()
    issuer = CdsIssuer(
        iss=ehr.iss, jwks_file=CdsClient().write_jwks(tmp_path / "old.jwks"), jku=(jwks_server.url,)
    )
    async for service in _service(protected_sandbox, coding, tmp_path, (issuer,), ehr):
        listed = await service.hook(discharge(), header={"jku": jwks_server.url})
        assert listed.status_code == 200, listed.text
        other = jwks_server.url.replace("/jwks.json", "/other.json")
        assert (await service.hook(discharge(), header={"jku": other})).status_code == 401
        assert jwks_server.fetches == 1


async def test_a_client_id_outside_the_issuers_list_is_refused(protected_sandbox, coding, tmp_path):
    ehr = CdsClient()
    issuer = CdsIssuer(
        iss=ehr.iss, jwks_file=ehr.write_jwks(tmp_path / "ehr.jwks"), sub=("ehr-client",)
    )
    async for service in _service(protected_sandbox, coding, tmp_path, (issuer,), ehr):
        assert (await service.hook(discharge(), sub="someone-else")).status_code == 401
        assert (await service.hook(discharge())).status_code == 200


async def test_a_tenant_outside_the_issuers_list_is_refused(protected_sandbox, coding, tmp_path):
    # one EHR issuer serving several organisations: only this service's own are coded here
    ehr = CdsClient()
    issuer = CdsIssuer(
        iss=ehr.iss, jwks_file=ehr.write_jwks(tmp_path / "ehr.jwks"), tenant=("org-north",)
    )
    async for service in _service(protected_sandbox, coding, tmp_path, (issuer,), ehr):
        other = await service.hook(discharge(), tenant="org-south")
        unnamed = await service.hook(discharge())
        assert (other.status_code, unnamed.status_code) == (401, 401)
        assert "tenant" in other.json()["detail"]
        assert queued(service.ledger) == set()
        assert (await service.hook(discharge(), tenant="org-north")).status_code == 200
        assert queued(service.ledger) == {"enc-0001-1"}


async def test_a_jwt_used_at_one_serve_is_refused_at_another_sharing_the_ledger(
    protected_sandbox, coding, tmp_path, ledger_db
):
    # two services over one ledger (a file, or PostgreSQL as machines share it), as two
    # serve processes behind one address
    ehr = CdsClient()
    issuer = CdsIssuer(iss=ehr.iss, jwks_file=ehr.write_jwks(tmp_path / "ehr.jwks"))
    token = ehr.token(AUD)
    shared = (protected_sandbox, coding, tmp_path, (issuer,), ehr)
    async for first in _service(*shared, jobs_db=ledger_db):
        assert (await first.hook(discharge(), token=token)).status_code == 200
        async for second in _service(*shared, jobs_db=ledger_db):
            replayed = await second.hook(discharge(), token=token)
            assert replayed.status_code == 401
            assert "replayed" in replayed.json()["detail"]
            assert (await second.hook(discharge())).status_code == 200  # a fresh one is fine


async def test_the_jwt_is_checked_before_the_body_is_parsed(service):
    # not even JSON: a caller who cannot prove who it is gets 401, not a parse of its body
    path = f"/cds-services/{SERVICE_ID}"
    unsigned = await service.client.post(path, content=b"{not json at all")
    assert unsigned.status_code == 401
    signed = await service.client.post(
        path,
        content=b"{not json at all",
        headers={"Authorization": f"Bearer {service.ehr.token(AUD)}"},
    )
    assert signed.status_code == 422  # a proven caller is told what is wrong with its body
