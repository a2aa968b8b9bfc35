"""Optional authentication: bearer tokens, SMART scopes and the client_credentials grant."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from sandbox.app import create_app
from sandbox.auth import AuthConfig, Scopes, load_auth_config

BASE = "http://sandbox.test/fhir"
TOKEN_URL = f"{BASE}/auth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())


def _jwk(algorithm: Any, key: Any, kid: str, alg: str) -> dict[str, Any]:
    public = json.loads(algorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "alg": alg}


CONFIG = {
    "bearer_tokens": {"static-read": "system/Patient.rs", "static-v1": "system/*.read"},
    "clients": [
        {
            "client_id": "coder",
            "jwks": {
                "keys": [
                    _jwk(RSAAlgorithm, RSA_KEY, "rsa-1", "RS384"),
                    _jwk(ECAlgorithm, EC_KEY, "ec-1", "ES384"),
                ]
            },
            "scope": "system/Encounter.rs system/Claim.cu system/Patient.rs",
        }
    ],
    "token_lifetime_seconds": 300,
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        tmp_path / "sandbox.sqlite3", auth=AuthConfig.from_json(CONFIG), public_url=BASE
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE + "/"
    ) as http:
        yield http
    app.state.store.close()


def _assertion(**overrides: Any) -> str:
    key, alg, kid = overrides.pop("key", RSA_KEY), overrides.pop("alg", "RS384"), "rsa-1"
    if alg == "ES384":
        kid = "ec-1"
    kid = overrides.pop("kid", kid)
    claims = {
        "iss": "coder",
        "sub": "coder",
        "aud": TOKEN_URL,
        "exp": int(time.time()) + 240,
        "jti": str(uuid4()),
        **overrides,
    }
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


async def _token(http: httpx.AsyncClient, assertion: str, scope: str) -> httpx.Response:
    return await http.post(
        "auth/token",
        data={
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )


async def test_without_a_token_only_discovery_and_metadata_answer(client):
    refused = await client.get("Patient")
    metadata = await client.get("metadata")
    discovery = (await client.get(".well-known/smart-configuration")).json()

    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert metadata.status_code == 200
    assert discovery["token_endpoint"] == TOKEN_URL
    assert discovery["grant_types_supported"] == ["client_credentials"]
    assert discovery["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert discovery["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    assert "system/Encounter.rs" in discovery["scopes_supported"]
    assert discovery["capabilities"] == ["client-confidential-asymmetric"]


async def test_a_static_token_is_limited_to_its_scopes(client):
    headers = {"Authorization": "Bearer static-read"}

    search = await client.get("Patient", headers=headers)
    create = await client.post("Patient", json={"resourceType": "Patient"}, headers=headers)
    other = await client.get("Encounter", headers=headers)
    wrong = await client.get("Patient", headers={"Authorization": "Bearer nope"})

    assert search.status_code == 200
    assert create.status_code == 403
    assert other.status_code == 403
    assert create.json()["issue"][0]["code"] == "forbidden"
    assert wrong.status_code == 401


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
async def test_client_credentials_grant_gives_the_requested_registered_scopes(client, alg):
    key = RSA_KEY if alg == "RS384" else EC_KEY
    response = await _token(
        client, _assertion(key=key, alg=alg), "system/Encounter.rs system/Patient.cud"
    )

    assert response.status_code == 200, response.text
    grant = response.json()
    assert grant["token_type"] == "bearer"  # noqa: S105 - the OAuth token type, not a secret
    assert grant["scope"] == "system/Encounter.rs"
    assert 0 < grant["expires_in"] <= 300
    headers = {"Authorization": f"Bearer {grant['access_token']}"}
    assert (await client.get("Encounter", headers=headers)).status_code == 200
    assert (await client.get("Claim", headers=headers)).status_code == 403


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"aud": "http://elsewhere.test/token"}, 401, "invalid_client"),
        ({"exp": int(time.time()) + 3600}, 401, "invalid_client"),
        ({"exp": int(time.time()) - 120}, 401, "invalid_client"),
        ({"sub": "someone-else"}, 401, "invalid_client"),
        ({"iss": "stranger", "sub": "stranger"}, 401, "invalid_client"),
        ({"kid": "unknown"}, 401, "invalid_client"),
        ({"key": EC_KEY, "alg": "ES384", "kid": "rsa-1"}, 401, "invalid_client"),
    ],
)
async def test_bad_assertions_are_refused(client, overrides, status, error):
    response = await _token(client, _assertion(**overrides), "system/Encounter.rs")

    assert response.status_code == status
    assert response.json()["error"] == error


async def test_a_replayed_assertion_and_bad_requests_are_refused(client):
    assertion = _assertion()
    first = await _token(client, assertion, "system/Encounter.rs")
    replay = await _token(client, assertion, "system/Encounter.rs")
    no_scope = await _token(client, _assertion(), "system/Observation.rs")
    wrong_grant = await client.post("auth/token", data={"grant_type": "password"})

    assert first.status_code == 200
    assert replay.status_code == 401
    assert no_scope.status_code == 400
    assert no_scope.json()["error"] == "invalid_scope"
    assert wrong_grant.status_code == 400
    assert wrong_grant.json()["error"] == "unsupported_grant_type"


async def test_transaction_entries_need_their_own_scopes(client):
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {"resourceType": "Patient"},
                "request": {"method": "POST", "url": "Patient"},
            }
        ],
    }

    response = await client.post("", json=bundle, headers={"Authorization": "Bearer static-read"})

    assert response.status_code == 403


def test_scopes_read_smart_v1_and_v2():
    v1 = Scopes.parse("system/*.read patient/Claim.write")
    v2 = Scopes.parse("system/Encounter.rs user/Claim.cu nonsense")

    assert v1.allows("Encounter", "r")
    assert v1.allows("Encounter", "s")
    assert not v1.allows("Encounter", "c")
    assert v1.allows("Claim", "u")
    assert v2.allows("Encounter", "s")
    assert not v2.allows("Encounter", "u")
    assert v2.allows("Claim", "c")
    assert not v2.allows("Claim", "r")


def test_the_config_file_is_read_and_checked(tmp_path: Path):
    good, bad = tmp_path / "auth.json", tmp_path / "bad.json"
    good.write_text(json.dumps(CONFIG), encoding="utf-8")
    bad.write_text(json.dumps({"clients": [{"client_id": "x"}]}), encoding="utf-8")

    assert load_auth_config(good).clients[0].client_id == "coder"
    with pytest.raises(Exception, match="jwks"):
        load_auth_config(bad)
