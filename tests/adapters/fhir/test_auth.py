"""Authentication flows against a respx token endpoint: every step of SMART Backend Services."""

from urllib.parse import parse_qs

import httpx
import jwt
import orjson
import pytest
import respx
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from adapters.fhir.auth import (
    AuthSettings,
    BasicAuth,
    BearerAuth,
    SmartBackendAuth,
    build_auth,
    load_signing_key,
    public_jwks,
)
from adapters.fhir.auth.smart import ASSERTION_TYPE
from adapters.fhir.client import FhirClient
from adapters.fhir.retry import RetryPolicy
from fhir_coder.errors import ConfigurationError, FhirResponseError
from tests.adapters.keys import write_pem

BASE = "https://ehr.test/fhir"
TOKEN_URL = f"{BASE}/auth/token"
CLIENT_ID = "fhir-coder-backend"


def pem_file(tmp_path, key, name):
    return write_pem(tmp_path / name, key)


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(params=["RS384", "ES384"])
def signing_key(request, tmp_path, rsa_key, ec_key):
    key = rsa_key if request.param == "RS384" else ec_key
    return load_signing_key(pem_file(tmp_path, key, "key.pem"), kid=f"kid-{request.param}")


class TokenServer:
    """A token endpoint that checks assertions like a real one and issues numbered tokens."""

    def __init__(self, key, clock, *, lifetime=300, algorithms=("RS384", "ES384")):
        self.clock = clock
        self.public = jwt.PyJWK(key.public_jwk()).key
        self.lifetime = lifetime
        self.algorithms = list(algorithms)
        self.issued = []
        self.jtis = set()
        self.headers = []
        self.revoked = set()

    def discovery(self, _request):
        return httpx.Response(
            200,
            json={
                "token_endpoint": TOKEN_URL,
                "token_endpoint_auth_signing_alg_values_supported": self.algorithms,
            },
        )

    def token(self, request):
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        assert form["grant_type"] == "client_credentials"
        assert form["client_assertion_type"] == ASSERTION_TYPE
        assertion = form["client_assertion"]
        header = jwt.get_unverified_header(assertion)
        self.headers.append(header)
        claims = jwt.decode(
            assertion,
            self.public,
            algorithms=[header["alg"]],
            audience=TOKEN_URL,
            options={"verify_exp": False, "verify_iat": False},  # checked on the test's clock
        )
        assert self.clock() <= claims["exp"] <= self.clock() + 300
        assert claims["iss"] == claims["sub"] == CLIENT_ID
        assert claims["exp"] - claims["iat"] <= 300
        assert claims["jti"] not in self.jtis
        self.jtis.add(claims["jti"])
        token = f"token-{len(self.issued) + 1}"
        self.issued.append(token)
        return httpx.Response(
            200,
            json={
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.lifetime,
                "scope": form["scope"],
            },
        )

    def protected(self, request):
        sent = request.headers.get("Authorization", "")
        token = sent.removeprefix("Bearer ")
        if token not in self.issued or token in self.revoked:
            return httpx.Response(401, headers={"WWW-Authenticate": "Bearer"})
        return httpx.Response(
            200,
            json={"resourceType": "Encounter", "id": "e1"},
            headers={"Content-Type": "application/fhir+json"},
        )


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


def smart_setup(signing_key, clock, **server_options):
    server = TokenServer(signing_key, clock, **server_options)
    router = respx.MockRouter(assert_all_called=False)
    discovery = router.get(f"{BASE}/.well-known/smart-configuration").mock(
        side_effect=server.discovery
    )
    token = router.post(TOKEN_URL).mock(side_effect=server.token)
    router.get(f"{BASE}/Encounter/e1").mock(side_effect=server.protected)
    auth = SmartBackendAuth(
        client_id=CLIENT_ID,
        key=signing_key,
        scope="system/Encounter.rs system/Claim.cu",
        fhir_base_url=BASE,
        clock=clock,
    )
    client = FhirClient(
        BASE,
        transport=httpx.MockTransport(router.async_handler),
        auth=auth,
        retry=RetryPolicy.none(),
    )
    return server, auth, client, discovery, token


async def test_smart_discovers_signs_and_caches_the_token(signing_key, clock):
    server, _, client, discovery, token = smart_setup(signing_key, clock)
    async with client:
        await client.read("Encounter", "e1")
        await client.read("Encounter", "e1")
    assert discovery.call_count == 1
    assert token.call_count == 1
    assert server.headers[0] == {"alg": signing_key.algorithm, "kid": signing_key.kid, "typ": "JWT"}


async def test_smart_renews_before_expiry_with_a_fresh_jti(signing_key, clock):
    server, _, client, _, token = smart_setup(signing_key, clock, lifetime=300)
    async with client:
        await client.read("Encounter", "e1")
        clock.now += 250  # inside the renewal margin (30 s before 300 s)
        await client.read("Encounter", "e1")
        clock.now += 100
        await client.read("Encounter", "e1")
    assert token.call_count == 2
    assert len(server.jtis) == 2


async def test_smart_renews_once_on_401(signing_key, clock):
    server, _, client, _, token = smart_setup(signing_key, clock)
    async with client:
        await client.read("Encounter", "e1")
        server.revoked.add("token-1")  # the server restarted and forgot the token
        assert (await client.read("Encounter", "e1"))["id"] == "e1"
    assert token.call_count == 2


async def test_smart_gives_up_after_one_renewal(signing_key, clock):
    server, _, client, _, token = smart_setup(signing_key, clock)
    server.revoked.update(f"token-{n}" for n in range(1, 5))  # every token refused
    async with client:
        with pytest.raises(FhirResponseError) as caught:
            await client.read("Encounter", "e1")
    assert caught.value.status_code == 401
    assert token.call_count == 2  # the first token, then exactly one renewal


async def test_a_refused_client_is_a_typed_error_without_the_assertion(signing_key, clock):
    router = respx.MockRouter(assert_all_called=False)
    router.post(TOKEN_URL).mock(
        return_value=httpx.Response(
            400, json={"error": "invalid_client", "error_description": "unknown kid"}
        )
    )
    auth = SmartBackendAuth(client_id=CLIENT_ID, key=signing_key, scope="s", token_url=TOKEN_URL)
    async with FhirClient(
        BASE, transport=httpx.MockTransport(router.async_handler), auth=auth
    ) as client:
        with pytest.raises(FhirResponseError) as caught:
            await client.read("Encounter", "e1")
    assert "invalid_client unknown kid" in str(caught.value)
    assert "eyJ" not in str(caught.value)  # no JWT in the message
    assert caught.value.status_code == 400


async def test_a_server_that_does_not_take_the_keys_algorithm_is_a_configuration_error(
    signing_key, clock
):
    other = "ES384" if signing_key.algorithm == "RS384" else "RS384"
    _, _, client, _, _ = smart_setup(signing_key, clock, algorithms=(other,))
    async with client:
        with pytest.raises(ConfigurationError, match=f"not {signing_key.algorithm}"):
            await client.read("Encounter", "e1")


def test_assertions_live_at_most_five_minutes(signing_key):
    with pytest.raises(ConfigurationError):
        SmartBackendAuth(
            client_id=CLIENT_ID,
            key=signing_key,
            scope="s",
            token_url=TOKEN_URL,
            assertion_seconds=301,
        )


def test_keys_load_from_jwk_and_jwks_files_with_their_kid(tmp_path, rsa_key, ec_key):
    rsa_jwk = {**RSAAlgorithm.to_jwk(rsa_key, as_dict=True), "kid": "r1"}
    ec_jwk = {**ECAlgorithm.to_jwk(ec_key, as_dict=True), "kid": "e1"}
    (tmp_path / "rsa.json").write_bytes(orjson.dumps(rsa_jwk))
    (tmp_path / "set.json").write_bytes(orjson.dumps({"keys": [ec_jwk]}))
    loaded_rsa = load_signing_key(tmp_path / "rsa.json")
    loaded_ec = load_signing_key(tmp_path / "set.json")
    assert (loaded_rsa.kid, loaded_rsa.algorithm) == ("r1", "RS384")
    assert (loaded_ec.kid, loaded_ec.algorithm) == ("e1", "ES384")
    published = public_jwks(loaded_rsa, loaded_ec)
    assert [k["kid"] for k in published["keys"]] == ["r1", "e1"]
    assert all("d" not in k for k in published["keys"])


def test_pem_keys_without_a_kid_get_their_thumbprint(tmp_path, rsa_key):
    first = load_signing_key(pem_file(tmp_path, rsa_key, "a.pem"))
    second = load_signing_key(pem_file(tmp_path, rsa_key, "b.pem"))
    assert first.kid == second.kid
    assert len(first.kid) == 43  # base64url of a SHA-256


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a key", "not a PEM private key"),
        (b"{not json", "not valid JSON"),
        (b'{"kty": "RSA", "n": "AQAB", "e": "AQAB"}', "public key"),
    ],
)
def test_unusable_key_files_are_configuration_errors_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError, match=message) as caught:
        load_signing_key(path)
    assert str(path) in str(caught.value)


def test_a_p256_key_is_refused_for_es384(tmp_path):
    path = pem_file(tmp_path, ec.generate_private_key(ec.SECP256R1()), "p256.pem")
    with pytest.raises(ConfigurationError, match="P-384"):
        load_signing_key(path)


def test_no_secret_appears_in_reprs(signing_key, tmp_path):
    bearer = BearerAuth("s3cret-token")
    basic = BasicAuth("user", "s3cret-password")
    smart = SmartBackendAuth(client_id=CLIENT_ID, key=signing_key, scope="s", token_url=TOKEN_URL)
    shown = " ".join(repr(x) for x in (bearer, basic, smart, signing_key))
    assert "s3cret" not in shown
    assert "PRIVATE" not in shown
    assert CLIENT_ID in shown


async def test_bearer_and_basic_set_the_header():
    router = respx.MockRouter(assert_all_called=False)
    route = router.get(f"{BASE}/Encounter/e1").mock(
        return_value=httpx.Response(
            200,
            json={"resourceType": "Encounter", "id": "e1"},
        )
    )
    for auth, expected in (
        (BearerAuth("abc"), "Bearer abc"),
        (BasicAuth("u", "p"), "Basic dTpw"),
    ):
        async with FhirClient(
            BASE, transport=httpx.MockTransport(router.async_handler), auth=auth
        ) as client:
            await client.read("Encounter", "e1")
        assert route.calls.last.request.headers["Authorization"] == expected


SECRET = "t0ken-not-for-logs"  # noqa: S105 - a test value


def test_settings_build_exactly_one_kind_of_auth(tmp_path, rsa_key):
    key = pem_file(tmp_path, rsa_key, "k.pem")
    assert build_auth(AuthSettings(), fhir_base_url=BASE) is None
    assert isinstance(build_auth(AuthSettings(bearer_token=SECRET), fhir_base_url=BASE), BearerAuth)
    assert isinstance(
        build_auth(AuthSettings(basic_user="u", basic_password=SECRET), fhir_base_url=BASE),
        BasicAuth,
    )
    smart = build_auth(
        AuthSettings(smart_client_id="c", smart_key_file=key, smart_key_id="k1"),
        fhir_base_url=BASE,
    )
    assert isinstance(smart, SmartBackendAuth)
    with pytest.raises(ConfigurationError, match="not bearer and smart"):
        build_auth(AuthSettings(bearer_token=SECRET, smart_client_id="c"), fhir_base_url=BASE)
    with pytest.raises(ConfigurationError, match="a user and a password"):
        build_auth(AuthSettings(basic_password=SECRET), fhir_base_url=BASE)
    assert SECRET not in repr(AuthSettings(bearer_token=SECRET))
