"""SMART Backend Services end to end: the adapter's flow against the sandbox's token endpoint."""

import json

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from adapters.cli.sandbox_process import running_sandbox
from adapters.fhir.auth import SmartBackendAuth, load_signing_key, public_jwks
from adapters.fhir.client import FhirClient
from adapters.fhir.retry import RetryPolicy
from adapters.gathering.gather import gather_encounter
from fhir_coder.errors import FhirResponseError
from sandbox.app import create_app
from sandbox.auth import AuthConfig
from sandbox.seed import build_seed_bundle, seed_store
from tests.adapters.conftest import ASGI_BASE
from tests.adapters.keys import write_pem
from tests.adapters.synthea_gathering import gather_finished

READ_SCOPE = "system/*.rs"
CLIENT_ID = "fhir-coder"


def key_file(tmp_path, name, key):
    return write_pem(tmp_path / name, key)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP384R1())
    return {
        "RS384": load_signing_key(key_file(folder, "rsa.pem", rsa_key), kid="rsa-1"),
        "ES384": load_signing_key(key_file(folder, "ec.pem", ec_key), kid="ec-1"),
    }


@pytest.fixture(scope="module")
def auth_config(keys):
    return {
        "clients": [
            {"client_id": CLIENT_ID, "jwks": public_jwks(*keys.values()), "scope": READ_SCOPE}
        ],
        "token_lifetime_seconds": 300,
    }


@pytest.fixture
def protected_app(tmp_path, auth_config):
    app = create_app(
        tmp_path / "sandbox.sqlite3", auth=AuthConfig.from_json(auth_config), public_url=ASGI_BASE
    )
    seed_store(app.state.store)
    yield app
    app.state.store.close()


def smart(key, base_url):
    return SmartBackendAuth(client_id=CLIENT_ID, key=key, scope=READ_SCOPE, fhir_base_url=base_url)


@pytest.mark.parametrize("algorithm", ["RS384", "ES384"])
async def test_gathering_with_a_smart_token_over_asgi(protected_app, keys, algorithm):
    auth = smart(keys[algorithm], ASGI_BASE)
    async with FhirClient(
        ASGI_BASE, transport=httpx.ASGITransport(app=protected_app), auth=auth
    ) as fhir:
        encounter = await gather_encounter(fhir, "enc-0001-1")
        await gather_encounter(fhir, "enc-0001-2")
    assert encounter.diagnoses
    assert auth.tokens_issued == 1  # one token serves every request while fresh


async def test_without_a_token_the_sandbox_says_401(protected_app):
    async with FhirClient(
        ASGI_BASE, transport=httpx.ASGITransport(app=protected_app), retry=RetryPolicy.none()
    ) as fhir:
        with pytest.raises(FhirResponseError) as caught:
            await fhir.read("Encounter", "enc-0001-1")
    assert caught.value.status_code == 401


async def test_a_scope_without_claim_write_gets_403(protected_app, keys):
    auth = smart(keys["RS384"], ASGI_BASE)
    async with FhirClient(
        ASGI_BASE, transport=httpx.ASGITransport(app=protected_app), auth=auth
    ) as fhir:
        with pytest.raises(FhirResponseError) as caught:
            await fhir.update({"resourceType": "Claim", "id": "c1", "status": "draft"})
    assert caught.value.status_code == 403


async def test_an_unregistered_key_is_refused_by_the_token_endpoint(protected_app, tmp_path):
    stranger = load_signing_key(
        key_file(tmp_path, "other.pem", ec.generate_private_key(ec.SECP384R1())), kid="ec-1"
    )
    async with FhirClient(
        ASGI_BASE,
        transport=httpx.ASGITransport(app=protected_app),
        auth=smart(stranger, ASGI_BASE),
    ) as fhir:
        with pytest.raises(FhirResponseError, match="refused the client") as caught:
            await fhir.read("Encounter", "enc-0001-1")
    assert caught.value.status_code in (400, 401)


@pytest.mark.parametrize("algorithm", ["RS384", "ES384"])
async def test_every_finished_encounter_over_loopback_with_smart(
    tmp_path, auth_config, keys, algorithm
):
    config = tmp_path / "auth.json"
    config.write_text(json.dumps(auth_config))
    with running_sandbox(
        tmp_path / "sandbox.sqlite3", extra_args=("--auth-config", str(config))
    ) as base_url:
        auth = smart(keys[algorithm], base_url)
        async with FhirClient(base_url, auth=auth) as fhir:  # the production transport
            gathered = await gather_finished(fhir)
    finished = sum(
        1
        for e in build_seed_bundle()["entry"]
        if e["resource"]["resourceType"] == "Encounter" and e["resource"]["status"] == "finished"
    )
    assert len(gathered.encounters) == finished
    assert auth.tokens_issued == 1
