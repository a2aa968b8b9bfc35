"""The probe with authentication, against the sandbox's token endpoint, and the secrets test.

No token, password or private key may appear in anything the probe prints, writes or
logs, whatever way the run ends.
"""

import json
import logging

import pytest

from adapters.cli.main import main
from adapters.cli.sandbox_process import running_sandbox
from adapters.exit_codes import ExitCode
from adapters.fhir.auth import load_signing_key, public_jwks
from adapters.probe.render import REDACTED, scrub
from tests.adapters.keys import write_pem

CLIENT_ID = "fhir-coder-probe"
BEARER = "probe-bearer-token-4f9a8c7e2b1d"
PASSWORD = "probe-password-9d8c7b6a"  # noqa: S105 - a test secret to look for


@pytest.fixture(scope="module")
def key_path(tmp_path_factory):
    return write_pem(tmp_path_factory.mktemp("probe-keys") / "client.pem")


@pytest.fixture(scope="module")
def protected_base_url(tmp_path_factory, key_path):
    folder = tmp_path_factory.mktemp("protected-sandbox")
    config = {
        "bearer_tokens": {BEARER: "system/*.rs"},
        "clients": [
            {
                "client_id": CLIENT_ID,
                "jwks": public_jwks(load_signing_key(key_path, kid="probe-1")),
                # no delete: the probe's clean-up must fall back to entered-in-error
                "scope": "system/*.rs system/Claim.cu",
            }
        ],
    }
    config_path = folder / "auth.json"
    config_path.write_text(json.dumps(config))
    with running_sandbox(
        folder / "sandbox.sqlite3", extra_args=("--auth-config", str(config_path))
    ) as base_url:
        yield base_url


def secrets_in(text, key_path):
    lines = [line for line in key_path.read_text().splitlines() if len(line) >= 16]
    return [s for s in (BEARER, PASSWORD, *lines) if s in text]


def run(capsys, caplog, tmp_path, *args):
    report = tmp_path / "report.md"
    with caplog.at_level(logging.DEBUG):
        code = main([*args, "--report", str(report)])
    captured = capsys.readouterr()
    everything = f"{captured.out}\n{captured.err}\n{report.read_text()}\n{caplog.text}"
    return code, captured.out, everything


def test_a_smart_backend_client_probes_writes_and_marks_its_claim(
    protected_base_url, key_path, capsys, caplog, tmp_path
):
    code, out, everything = run(
        capsys,
        caplog,
        tmp_path,
        "probe",
        "--server",
        protected_base_url,
        "--write",
        "--json",
        "--smart-client-id",
        CLIENT_ID,
        "--smart-key",
        str(key_path),
        "--smart-key-id",
        "probe-1",
    )
    result = json.loads(out)
    checks = {c["id"]: c for c in result["checks"]}
    assert code == ExitCode.OK, result["verdict"]
    assert checks["declared.smart"]["status"] == "pass"
    assert checks["declared.smart"]["required"] is True
    assert checks["tried.write.Claim"]["status"] == "pass"
    cleanup = checks["tried.write.cleanup"]
    assert "delete refused (HTTP 403): marked entered-in-error" in cleanup["detail"]
    token_requests = [
        e for c in result["checks"] for e in c["exchanges"] if e["url"].endswith("/auth/token")
    ]
    assert token_requests  # the token request is in the record, in short
    assert secrets_in(everything, key_path) == []


def test_a_bearer_token_from_the_environment(
    protected_base_url, key_path, capsys, caplog, tmp_path, monkeypatch
):
    monkeypatch.setenv("PROBE_TOKEN", BEARER)
    code, out, everything = run(
        capsys,
        caplog,
        tmp_path,
        "probe",
        "--server",
        protected_base_url,
        "--bearer-token-env",
        "PROBE_TOKEN",
    )
    assert code == ExitCode.OK, out
    assert "n/a      write a test Claim" in out
    assert secrets_in(everything, key_path) == []


def test_refused_credentials_stop_the_probe_with_the_server_words(
    protected_base_url, key_path, capsys, caplog, tmp_path, monkeypatch
):
    monkeypatch.setenv("PROBE_PASSWORD", PASSWORD)
    code, out, everything = run(
        capsys,
        caplog,
        tmp_path,
        "probe",
        "--server",
        protected_base_url,
        "--basic-user",
        "coder",
        "--basic-password-env",
        "PROBE_PASSWORD",
    )
    assert code == ExitCode.FINDINGS
    assert "A valid bearer token is required" in out
    assert "-> HTTP 401" in out
    assert "check the URL and the credentials" in out
    assert "not tried: the server let nothing through" in out
    assert secrets_in(everything, key_path) == []


def test_a_missing_environment_variable_is_a_configuration_error(capsys):
    code = main(["probe", "--server", "http://127.0.0.1:9/fhir", "--bearer-token-env", "NOPE_X"])
    assert code == ExitCode.CONFIGURATION
    assert "NOPE_X" in capsys.readouterr().err


def test_two_kinds_of_auth_are_refused(capsys, key_path, monkeypatch):
    monkeypatch.setenv("PROBE_TOKEN", BEARER)
    code = main(
        [
            "probe",
            "--server",
            "http://127.0.0.1:9/fhir",
            "--bearer-token-env",
            "PROBE_TOKEN",
            "--smart-client-id",
            CLIENT_ID,
            "--smart-key",
            str(key_path),
        ]
    )
    assert code == ExitCode.CONFIGURATION
    assert "choose one kind of authentication" in capsys.readouterr().err


def test_scrub_replaces_every_secret():
    assert scrub(f"a {BEARER} b {PASSWORD}", [BEARER, PASSWORD, ""]) == (
        f"a {REDACTED} b {REDACTED}"
    )
