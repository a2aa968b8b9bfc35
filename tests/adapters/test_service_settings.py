"""Settings: file, environment and flags, in that order of strength; secrets from files."""

import pytest

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
