"""Authentication of every command that talks to a FHIR server, against the SMART sandbox.

The sandbox checks RS384 client assertions against a registered JWKS and enforces SMART
v2 scopes per type and interaction, so a write-back that needs a scope it was not granted
fails for real. Credentials come from settings, the environment and key files only, and no
secret (key, token, assertion) may reach the output or the logs.
"""

import json
import logging

import httpx
import pytest

from adapters.cli.main import main
from adapters.cli.sandbox_process import running_sandbox
from adapters.exit_codes import ExitCode
from adapters.fhir.auth import DEFAULT_SMART_SCOPE, SmartBackendAuth, load_signing_key, public_jwks
from adapters.gathering.gather import gather_encounter
from adapters.jobs import JobLedger, JobState
from adapters.jobs.runner import source_client
from adapters.settings import load_settings
from sandbox.app import create_app
from sandbox.auth import AuthConfig
from sandbox.seed import seed_store
from tests.adapters.conftest import ASGI_BASE
from tests.adapters.keys import write_pem

CLIENT_ID = "fhir-coder-backend"
NARROW_ID = "fhir-coder-narrow"  # registered with the old default: no Provenance, no Task
KID = "coder-1"
READER = "reader-token-5b1e0c9d7a"  # to look at what was written
WRITER = "claims-writer-token-8e2f4a6c1b"  # only Claim, Provenance and Task at the destination
OLD_SCOPE = "system/*.rs system/Claim.cu"


@pytest.fixture(scope="module")
def key_path(tmp_path_factory):
    return write_pem(tmp_path_factory.mktemp("coder-keys") / "client.pem")


@pytest.fixture(scope="module")
def auth_config(key_path):
    jwks = public_jwks(load_signing_key(key_path, kid=KID))
    return {
        "bearer_tokens": {
            READER: "system/*.rs",
            WRITER: "system/Claim.crus system/Provenance.cu system/Task.cus",
        },
        "clients": [
            {"client_id": CLIENT_ID, "jwks": jwks, "scope": DEFAULT_SMART_SCOPE},
            {"client_id": NARROW_ID, "jwks": jwks, "scope": OLD_SCOPE},
        ],
        "token_lifetime_seconds": 300,
    }


@pytest.fixture(scope="module")
def smart_base_url(tmp_path_factory, auth_config):
    folder = tmp_path_factory.mktemp("smart-sandbox")
    config = folder / "auth.json"
    config.write_text(json.dumps(auth_config))
    with running_sandbox(
        folder / "sandbox.sqlite3",
        extra_args=("--auth-config", str(config), "--patients", "3"),
    ) as base_url:
        yield base_url


def read_all(base_url, query):
    headers = {"Authorization": f"Bearer {READER}"}
    found, url = [], f"{base_url}/{query}"
    while url:
        bundle = httpx.get(url, headers=headers, timeout=30).raise_for_status().json()
        found += [entry["resource"] for entry in bundle.get("entry", [])]
        url = next((x["url"] for x in bundle.get("link", []) if x["relation"] == "next"), None)
    return found


def cli(capsys, caplog, *argv):
    """Run the CLI in process; its exit code, stdout, and everything it printed or logged."""
    with caplog.at_level(logging.DEBUG):
        caplog.set_level(logging.DEBUG, logger="httpx")  # the CLI quiets it; here it may speak
        code = main(list(argv))
    captured = capsys.readouterr()
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    return code, captured.out, f"{captured.out}\n{captured.err}\n{logged}"


def leaked(text, key_path, *secrets):
    """Secrets found in ``text``: the key's lines, tokens, any bearer header or JWT."""
    lines = [line for line in key_path.read_text().splitlines() if len(line) >= 16]
    found = [s for s in (*lines, *secrets) if s in text]
    return found + [marker for marker in ("Bearer ", "eyJ") if marker in text]


def test_run_codes_and_writes_back_with_smart_from_settings_only(
    smart_base_url, key_path, tmp_path, monkeypatch, capsys, caplog
):
    config = tmp_path / "coder.toml"
    config.write_text(
        f'server = "{smart_base_url}"\nsource_id = "smart-ehr"\n'
        f'smart_client_id = "{CLIENT_ID}"\nsmart_key_file = "{key_path}"\n'
    )
    monkeypatch.setenv("FHIR_CODER_SMART_KEY_ID", KID)  # file and environment together
    argv = ("run", "--config", str(config), "--jobs-db", str(tmp_path / "jobs.db"), "--json")
    code, out, everything = cli(capsys, caplog, *argv, "--quiet")
    summary = json.loads(out)
    assert code == ExitCode.OK, summary
    done = summary["jobs"]["done"]
    assert done > 0
    assert summary["jobs"]["failed"] == summary["jobs"]["parked"] == 0
    with JobLedger(tmp_path / "jobs.db") as ledger:
        written = {job.claim_id for job in ledger.jobs(state=JobState.DONE)}
    claims = [c for c in read_all(smart_base_url, "Claim?_count=200") if c["id"] in written]
    assert len(claims) == len(written) == done
    provenance = read_all(smart_base_url, "Provenance?_count=200")
    targets = {t["reference"] for p in provenance for t in p.get("target", [])}
    assert {f"Claim/{c['id']}" for c in claims} <= targets  # each Claim with its Provenance
    drafts = {f"Claim/{c['id']}" for c in claims if c["status"] == "draft"}
    tasks = read_all(smart_base_url, "Task?_count=200")
    assert drafts <= {t["focus"]["reference"] for t in tasks}  # each draft with its Task
    assert leaked(everything, key_path) == []


def test_code_authenticates_with_flags_and_the_destination_with_its_own(
    smart_base_url, key_path, tmp_path, monkeypatch, capsys, caplog
):
    monkeypatch.setenv("CLAIMS_WRITER", WRITER)
    smart_flags = (
        "--smart-client-id",
        CLIENT_ID,
        "--smart-key",
        str(key_path),
        "--smart-key-id",
        KID,
    )
    args = ("code", "enc-0001-1", "--server", smart_base_url, "--source-id", "to-billing")
    # the destination gets none of the source's credentials: refused without its own
    code, _, refused = cli(capsys, caplog, *args, *smart_flags, "--claims-to", smart_base_url)
    assert code == ExitCode.SERVER_ERROR
    assert "401" in refused
    code, out, everything = cli(
        capsys,
        caplog,
        *args,
        *smart_flags,
        "--claims-to",
        smart_base_url,
        "--claims-bearer-token-env",
        "CLAIMS_WRITER",
        "--json",
    )
    assert code in (ExitCode.OK, ExitCode.FINDINGS), everything
    result = json.loads(out)
    assert result["outcome"] == "written"
    assert [
        c for c in read_all(smart_base_url, "Claim?_count=200") if c["id"] == result["claim_id"]
    ]
    assert leaked(everything, key_path, WRITER) == []


def test_the_old_default_scope_cannot_write_back(smart_base_url, key_path, capsys, caplog):
    code, _, everything = cli(
        capsys,
        caplog,
        "code",
        "enc-0001-2",
        "--server",
        smart_base_url,
        "--smart-client-id",
        NARROW_ID,
        "--smart-key",
        str(key_path),
        "--smart-key-id",
        KID,
    )
    assert code == ExitCode.SERVER_ERROR, everything
    assert "403" in everything
    assert leaked(everything, key_path) == []


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (
            ("run", "--server", "http://127.0.0.1:9/fhir", "--smart-client-id", "c"),
            {"FHIR_CODER_FHIR_TOKEN": "tok-in-env"},
            "choose one kind of authentication, not bearer and smart",
        ),
        (
            ("code", "e1", "--server", "http://127.0.0.1:9/fhir", "--basic-user", "u"),
            {"PW": "pw"},
            "basic authentication needs a user and a password",
        ),
        (
            ("watch", "--once", "--server", "http://127.0.0.1:9/fhir"),
            {"FHIR_CODER_CLAIMS_TOKEN": "tok-in-env"},
            "credentials for a --claims-to server are set, but Claims go back to the source",
        ),
        (
            ("subscribe", "--server", "https://x.test/fhir", "--endpoint", "http://y.test/notify"),
            {"FHIR_CODER_BASIC_PASSWORD": "pw", "FHIR_CODER_SMART_CLIENT_ID": "c"},
            "not basic and smart",
        ),
        (
            ("serve", "--server", "https://x.test/fhir", "--bearer-token-env", "NOT_SET_ANYWHERE"),
            {},
            "NOT_SET_ANYWHERE (bearer token) is not set",
        ),
        (  # credentials in clear text to another machine, unless the operator names it
            ("run", "--server", "http://ehr.example/fhir", "--bearer-token-env", "T"),
            {"T": "tok-in-env"},
            "refusing plain http:// to ehr.example for the FHIR server (server)",
        ),
        (
            ("code", "e1", "--server", "http://ehr.example/fhir", "--bearer-token-env", "T"),
            {"T": "tok-in-env"},
            "refusing plain http:// to ehr.example for the FHIR server",
        ),
        (
            ("subscribe", "--server", "https://x.test/fhir", "--endpoint", "http://y.test/notify"),
            {"FHIR_CODER_NOTIFY_TOKEN": "tok-in-env"},
            "refusing plain http:// to y.test for the notification endpoint (--endpoint)",
        ),
        (
            ("serve", "--server", "https://x.test/fhir", "--host", "0.0.0.0"),  # noqa: S104
            {},
            "serve binds 0.0.0.0, not loopback: set the notification token",
        ),
        (
            ("serve", "--server", "https://x.test/fhir", "--host", "192.0.2.1"),
            {"FHIR_CODER_NOTIFY_TOKEN": "tok-in-env", "FHIR_CODER_CDS_ALLOW_UNSIGNED": "true"},
            "cds_allow_unsigned is refused there",
        ),
    ],
)
def test_bad_authentication_settings_are_one_line(
    argv, env, message, monkeypatch, capsys, tmp_path
):
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(list(argv)) == ExitCode.CONFIGURATION
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "tok-in-env" not in err


async def test_a_long_running_client_gets_a_new_token_after_a_restart(
    tmp_path, auth_config, key_path, monkeypatch
):
    """The settings-built client of serve/watch: the server forgets its token, a 401 renews it.

    Renewal before expiry is proven step by step in ``test_auth.py``
    (``test_smart_renews_before_expiry_with_a_fresh_jti``); here the real token endpoint.
    """
    monkeypatch.setenv("FHIR_CODER_SMART_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("FHIR_CODER_SMART_KEY_FILE", str(key_path))
    monkeypatch.setenv("FHIR_CODER_SMART_KEY_ID", KID)
    # the in-process sandbox has a made-up host: named, so plain http:// is allowed to it
    settings = load_settings(None, server=ASGI_BASE, allow_insecure_http=("sandbox.test",))
    db = tmp_path / "sandbox.sqlite3"
    first = create_app(db, auth=AuthConfig.from_json(auth_config), public_url=ASGI_BASE)
    seed_store(first.state.store)
    transport = httpx.ASGITransport(app=first)
    async with source_client(settings, transport=transport) as fhir:
        auth = fhir._auth  # to count its tokens
        assert isinstance(auth, SmartBackendAuth)
        await gather_encounter(fhir, "enc-0001-1")
        assert auth.tokens_issued == 1
        first.state.store.close()
        restarted = create_app(
            db, auth=AuthConfig.from_json(auth_config), public_url=ASGI_BASE
        )  # tokens forgotten
        transport.app = restarted
        encounter = await gather_encounter(fhir, "enc-0001-2")
        restarted.state.store.close()
    assert encounter.diagnoses is not None
    assert auth.tokens_issued == 2  # one 401, one new assertion, and on it went
