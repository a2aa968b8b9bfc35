"""Settings: file, environment and flags, in that order of strength; secrets from files."""

import pytest

from adapters.fhir.auth import DEFAULT_SMART_SCOPE, BearerAuth
from adapters.jobs.runner import source_client
from adapters.settings import load_settings
from fhir_coder.errors import ConfigurationError


def test_flags_beat_the_environment_which_beats_the_file(tmp_path, monkeypatch):
    config = tmp_path / "coder.toml"
    config.write_text('server = "https://file.example/fhir"\nconcurrency = 3\nport = 9000\n')
    monkeypatch.setenv("FHIR_CODER_CONCURRENCY", "6")
    settings = load_settings(config, port=None, max_attempts=2)
    assert settings.server == "https://file.example/fhir"
    assert settings.concurrency == 6
    assert settings.port == 9000
    assert settings.max_attempts == 2
    assert settings.workers().concurrency == 6


def test_secrets_come_from_files_and_are_never_shown(tmp_path, monkeypatch):
    secret = tmp_path / "token"
    secret.write_text("tok-from-file\n")
    monkeypatch.setenv("FHIR_CODER_NOTIFY_TOKEN_FILE", str(secret))
    settings = load_settings(None)
    assert settings.notify_token.get_secret_value() == "tok-from-file"
    assert "tok-from-file" not in repr(settings)
    assert "tok-from-file" not in str(settings.model_dump())


def test_bad_settings_are_configuration_errors(tmp_path, monkeypatch):
    with pytest.raises(ConfigurationError, match="no settings file"):
        load_settings(tmp_path / "missing.toml")
    monkeypatch.setenv("FHIR_CODER_CONCURRENCY", "0")
    with pytest.raises(ConfigurationError, match="concurrency"):
        load_settings(None)
    monkeypatch.delenv("FHIR_CODER_CONCURRENCY")
    config = tmp_path / "coder.toml"
    config.write_text("unknown_thing = 1\n")
    with pytest.raises(ConfigurationError, match="unknown_thing"):
        load_settings(config)
    monkeypatch.setenv("FHIR_CODER_NOTIFY_TOKEN_FILE", str(tmp_path / "nope"))
    with pytest.raises(ConfigurationError, match="NOTIFY_TOKEN_FILE"):
        load_settings(None)


def test_without_a_server_the_source_key_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="no FHIR server"):
        load_settings(None).source_key()


def test_fhir_token_still_gives_a_bearer_client(monkeypatch):
    monkeypatch.setenv("FHIR_CODER_FHIR_TOKEN", "tok-for-the-ehr")
    settings = load_settings(None, server="https://ehr.example/fhir")
    assert settings.source_auth().kind == "bearer"
    assert isinstance(source_client(settings)._auth, BearerAuth)
    assert "tok-for-the-ehr" not in repr(settings) + repr(settings.source_auth())


def test_smart_settings_come_from_the_file_and_the_environment(tmp_path, monkeypatch):
    config = tmp_path / "coder.toml"
    config.write_text(
        'server = "https://ehr.example/fhir"\nsmart_client_id = "coder"\n'
        'smart_token_url = "https://ehr.example/oauth2/token"\n'
        'claims_basic_user = "biller"\n'
    )
    monkeypatch.setenv("FHIR_CODER_SMART_KEY_FILE", str(tmp_path / "client.pem"))
    monkeypatch.setenv("FHIR_CODER_SMART_KEY_ID", "kid-1")
    password = tmp_path / "password"
    password.write_text("pw-of-the-biller\n")
    monkeypatch.setenv("FHIR_CODER_CLAIMS_BASIC_PASSWORD_FILE", str(password))
    settings = load_settings(config)
    source = settings.source_auth()
    assert (source.kind, source.smart_client_id, source.smart_key_id) == ("smart", "coder", "kid-1")
    assert source.smart_key_file == tmp_path / "client.pem"
    assert source.smart_token_url == "https://ehr.example/oauth2/token"  # noqa: S105 - a URL
    assert source.smart_scope == DEFAULT_SMART_SCOPE
    assert settings.source_auth(default_scope="system/Subscription.c").smart_scope == (
        "system/Subscription.c"
    )
    claims = settings.claims_auth()
    assert (claims.kind, claims.basic_user, claims.basic_password) == (
        "basic",
        "biller",
        "pw-of-the-biller",
    )
    assert "pw-of-the-biller" not in repr(settings) + str(settings.model_dump())


def test_the_default_scope_allows_every_resource_a_write_back_writes():
    scopes = DEFAULT_SMART_SCOPE.split()
    assert "system/*.rs" in scopes
    for resource_type in (
        "Claim",
        "Provenance",
        "Task",
    ):  # adapters/writeback/destinations.py writes
        assert f"system/{resource_type}.cu" in scopes


def test_two_kinds_of_authentication_are_one_configuration_error(monkeypatch):
    monkeypatch.setenv("FHIR_CODER_FHIR_TOKEN", "tok")
    monkeypatch.setenv("FHIR_CODER_SMART_CLIENT_ID", "coder")
    with pytest.raises(ConfigurationError, match="not bearer and smart"):
        load_settings(None)
    monkeypatch.delenv("FHIR_CODER_SMART_CLIENT_ID")
    monkeypatch.setenv("FHIR_CODER_CLAIMS_TOKEN", "tok2")
    monkeypatch.setenv("FHIR_CODER_CLAIMS_BASIC_USER", "u")
    with pytest.raises(ConfigurationError, match=r"claims_\*.*not bearer and basic"):
        load_settings(None)


def test_cds_issuers_from_the_file_and_the_environment(tmp_path, monkeypatch):
    config = tmp_path / "coder.toml"
    config.write_text(
        'server = "https://ehr.example/fhir"\n'
        "[[cds_issuers]]\n"
        'iss = "https://ehr.example/cds"\n'
        'jwks_url = "https://ehr.example/.well-known/jwks.json"\n'
        'sub = ["epic-client"]\n'
    )
    settings = load_settings(config)
    (issuer,) = settings.cds_issuers
    assert (issuer.iss, issuer.jwks_url, issuer.sub) == (
        "https://ehr.example/cds",
        "https://ehr.example/.well-known/jwks.json",
        ("epic-client",),
    )
    monkeypatch.setenv(
        "FHIR_CODER_CDS_ISSUERS",
        '[{"iss": "https://other.example", "jku": ["https://other.example/k"]}]',
    )
    assert [i.iss for i in load_settings(config).cds_issuers] == ["https://other.example"]
    monkeypatch.setenv("FHIR_CODER_CDS_ISSUERS", '[{"iss": "https://keyless.example"}]')
    with pytest.raises(ConfigurationError, match="needs jwks_url, jwks_file or jku"):
        load_settings(config)


def test_plain_http_to_another_host_is_refused_unless_named(monkeypatch):
    with pytest.raises(ConfigurationError, match=r"refusing plain http:// to ehr\.lab"):
        load_settings(None, server="http://ehr.lab/fhir")
    named = load_settings(None, server="http://ehr.lab/fhir", allow_insecure_http=("ehr.lab",))
    assert named.server == "http://ehr.lab/fhir"
    monkeypatch.setenv("FHIR_CODER_ALLOW_INSECURE_HTTP", "ehr.lab, other.lab")
    assert load_settings(None, server="http://ehr.lab/fhir").allow_insecure_http == (
        "ehr.lab",
        "other.lab",
    )
    monkeypatch.delenv("FHIR_CODER_ALLOW_INSECURE_HTTP")
    assert load_settings(None, server="http://127.0.0.1:8080/fhir").server  # loopback: fine
    assert load_settings(None, server="http://[::1]:8080/fhir").server
    with pytest.raises(ConfigurationError, match="token endpoint"):
        load_settings(
            None,
            server="https://ehr.example/fhir",
            smart_token_url="http://idp.example/token",  # noqa: S106
        )
    with pytest.raises(ConfigurationError, match="Claims server"):
        load_settings(
            None, server="https://ehr.example/fhir", claims_to="http://payer.example/fhir"
        )
    with pytest.raises(ConfigurationError, match="JWK Set of the CDS issuer"):
        load_settings(
            None,
            server="https://ehr.example/fhir",
            cds_issuers=[{"iss": "x", "jwks_url": "http://ehr.example/jwks"}],
        )


def test_what_is_safe_on_loopback_only_is_refused_elsewhere():
    on_loopback = load_settings(None, host="127.0.0.1", cds_allow_unsigned=True)
    on_loopback.check_serving()  # no token, unsigned CDS calls: fine on this machine only
    with pytest.raises(ConfigurationError, match="set the notification token"):
        load_settings(None, host="0.0.0.0").check_serving()  # noqa: S104
    with pytest.raises(ConfigurationError, match="cds_allow_unsigned is refused"):
        load_settings(
            None,
            host="10.1.2.3",
            notify_token="t",  # noqa: S106 - a test value
            cds_allow_unsigned=True,
        ).check_serving()
    load_settings(None, host="10.1.2.3", notify_token="t").check_serving()  # noqa: S106
    issuers = [{"iss": "https://ehr.example", "jwks_url": "https://ehr.example/jwks"}]
    with pytest.raises(ConfigurationError, match="set public_url"):
        load_settings(
            None,
            host="10.1.2.3",
            notify_token="t",  # noqa: S106 - a test value
            cds_issuers=issuers,
        ).check_serving()
