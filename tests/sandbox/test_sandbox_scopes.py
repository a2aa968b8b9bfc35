"""SMART scopes that do not leak: includes, ``$events``, conditional references, the audience.

Each token here may do a little; the tests ask for more through the side doors a FHIR
server has (``_include``, ``_revinclude``, a topic's ``$events``, a conditional reference
that a transaction resolves by searching, a conditional create) and check that nothing
the token may not read comes back, and that a token assertion made for another server is
refused whatever Host header carries it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from jwt.algorithms import ECAlgorithm

from sandbox.app import create_app
from sandbox.auth import AuthConfig
from sandbox.seed import seed_store

PUBLIC = "https://sandbox.hospital.test/fhir"  # where the server is configured to be reached
KEY = ec.generate_private_key(ec.SECP384R1())
TOKENS = {
    "encounters": "system/Encounter.rs",
    "encounters-and-conditions": "system/Encounter.rs system/Condition.rs",
    "subscriptions": "system/Subscription.crus",
    "subscriptions-and-encounters": "system/Subscription.crus system/Encounter.rs",
    "claims-write": "system/Claim.cu",
    "claims-and-patients": "system/Claim.cus system/Patient.s",
    "everything": "system/*.cruds",
}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    public = dict(ECAlgorithm.to_jwk(KEY.public_key(), as_dict=True))
    config = {
        "bearer_tokens": TOKENS,
        "clients": [
            {
                "client_id": "coder",
                "jwks": {"keys": [{**public, "kid": "ec-1", "alg": "ES384"}]},
                "scope": "system/Encounter.rs",
            }
        ],
    }
    application = create_app(
        tmp_path / "sandbox.sqlite3", auth=AuthConfig.from_json(config), public_url=PUBLIC
    )
    seed_store(application.state.store)
    yield application
    application.state.store.close()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC + "/") as http:
        yield http
    await app.state.notifier.aclose()  # its deliveries (to nowhere) and their HTTP session


def as_(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def types_in(bundle: dict[str, Any], mode: str) -> set[str]:
    return {
        entry["resource"]["resourceType"]
        for entry in bundle.get("entry", [])
        if entry.get("search", {}).get("mode") == mode
    }


async def test_included_resources_outside_the_scopes_are_not_returned(client):
    asked = {"_id": "enc-0001-1", "_include": "Encounter:subject"}
    narrow = await client.get("Encounter", params=asked, headers=as_("encounters"))
    assert narrow.status_code == 200
    bundle = narrow.json()
    assert types_in(bundle, "match") == {"Encounter"}
    assert types_in(bundle, "include") == set()  # the Patient is left out, not leaked
    (warning,) = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert "Patient" in warning["resource"]["issue"][0]["details"]["text"]
    full = await client.get("Encounter", params=asked, headers=as_("everything"))
    assert types_in(full.json(), "include") == {"Patient"}  # the same search with the scope


async def test_naming_a_type_the_token_may_not_read_is_refused(client):
    targeted = {"_id": "enc-0001-1", "_include": "Encounter:subject:Patient"}
    reverse = {"_id": "enc-0001-1", "_revinclude": "Condition:encounter"}
    assert (
        await client.get("Encounter", params=targeted, headers=as_("encounters"))
    ).status_code == 403
    assert (
        await client.get("Encounter", params=reverse, headers=as_("encounters"))
    ).status_code == 403
    allowed = await client.get(
        "Encounter", params=reverse, headers=as_("encounters-and-conditions")
    )
    assert allowed.status_code == 200
    assert types_in(allowed.json(), "include") == {"Condition"}


async def test_events_give_their_focus_only_to_who_may_read_it(client):
    subscription = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "test",
        "criteria": "http://hl7.org/fhir/us/core/SubscriptionTopic/encounter-complete",
        "channel": {
            "type": "rest-hook",
            "endpoint": "http://nowhere.invalid/notify",
            "payload": "application/fhir+json",
            "_payload": {
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
                        "backport-payload-content",
                        "valueCode": "full-resource",
                    }
                ]
            },
        },
    }
    made = await client.post("Subscription", json=subscription, headers=as_("everything"))
    assert made.status_code == 201, made.text
    encounter = (await client.get("Encounter/enc-0001-1", headers=as_("everything"))).json()
    await client.put(
        "Encounter/enc-0001-1",
        json={**encounter, "status": "in-progress"},
        headers=as_("everything"),
    )
    await client.put(
        "Encounter/enc-0001-1", json={**encounter, "status": "finished"}, headers=as_("everything")
    )
    events = f"Subscription/{made.json()['id']}/$events"
    narrow = (await client.get(events, headers=as_("subscriptions"))).json()
    wide = (await client.get(events, headers=as_("subscriptions-and-encounters"))).json()
    assert [e["resource"]["resourceType"] for e in narrow["entry"]] == ["Parameters"]
    assert "Encounter" in [e.get("resource", {}).get("resourceType") for e in wide["entry"]]


def _claim_transaction(patient: str) -> dict[str, Any]:
    claim = {
        "resourceType": "Claim",
        "status": "draft",
        "use": "claim",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/claim-type",
                    "code": "professional",
                }
            ]
        },
        "patient": {"reference": patient},
        "created": "2026-01-01",
        "provider": {"display": "a clinic"},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "a plan"}}],
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": claim, "request": {"method": "POST", "url": "Claim"}}],
    }


async def test_a_conditional_reference_needs_the_search_scope_of_its_type(client):
    patient = (await client.get("Patient/pat-0001", headers=as_("everything"))).json()
    identifier = patient["identifier"][0]
    condition = f"Patient?identifier={identifier['system']}|{identifier['value']}"
    bundle = _claim_transaction(condition)
    refused = await client.post("", json=bundle, headers=as_("claims-write"))
    assert refused.status_code == 403  # resolving it would search Patients: an oracle
    taken = await client.post("", json=bundle, headers=as_("claims-and-patients"))
    assert taken.status_code == 200, taken.text


async def test_a_conditional_create_needs_the_search_scope(client):
    claim = _claim_transaction("Patient/pat-0001")["entry"][0]["resource"]
    headers = {**as_("claims-write"), "If-None-Exist": "identifier=x|1"}
    assert (await client.post("Claim", json=claim, headers=headers)).status_code == 403
    headers = {**as_("claims-and-patients"), "If-None-Exist": "identifier=x|1"}
    assert (await client.post("Claim", json=claim, headers=headers)).status_code == 201


def _assertion(aud: str) -> str:
    claims = {
        "iss": "coder",
        "sub": "coder",
        "aud": aud,
        "exp": int(time.time()) + 120,
        "jti": str(uuid4()),
    }
    return jwt.encode(claims, KEY, algorithm="ES384", headers={"kid": "ec-1"})


async def test_the_token_audience_is_the_configured_url_not_the_host_header(client):
    form = {
        "grant_type": "client_credentials",
        "scope": "system/Encounter.rs",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    }
    # an assertion made for another server, replayed here with that server's Host header
    elsewhere = "https://other-ehr.test/fhir/auth/token"
    replayed = await client.post(
        "auth/token",
        data={**form, "client_assertion": _assertion(elsewhere)},
        headers={"Host": "other-ehr.test"},
    )
    assert replayed.status_code == 401
    configured = await client.post(
        "auth/token",
        data={**form, "client_assertion": _assertion(f"{PUBLIC}/auth/token")},
        headers={"Host": "anything.test"},
    )
    assert configured.status_code == 200, configured.text
    discovery = (
        await client.get(".well-known/smart-configuration", headers={"Host": "x.test"})
    ).json()
    assert discovery["token_endpoint"] == f"{PUBLIC}/auth/token"
