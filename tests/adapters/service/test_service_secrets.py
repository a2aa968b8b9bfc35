"""No token, password or patient name in the logs, the job ledger or the CLI's output.

A real run with authentication on everywhere: the sandbox as a process enforcing SMART
scopes; ``fhir-coder serve`` as a process authenticating with SMART Backend Services from
its settings, requiring its notification token, and accepting CDS Hooks only from an EHR
whose JWTs it verifies; calls that succeed and calls that are refused (a wrong token, a
replayed JWT, a ``fhirAuthorization`` the server refuses, a password the server refuses).
Then everything the run left behind is searched for every secret and every patient's name
and record number: the service's stdout and stderr, every row of every table of the job
ledger, and what ``fhir-coder jobs`` and a failing ``fhir-coder code`` print.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from adapters.cli.commands.serve import READY_PREFIX
from adapters.cli.sandbox_process import read_ready_line, running_sandbox
from adapters.fhir.auth import DEFAULT_SMART_SCOPE, load_signing_key, public_jwks
from adapters.service.cds import SERVICE_ID
from sandbox.seed import build_seed_bundle
from tests.adapters.keys import write_pem
from tests.adapters.service.cds_client import CdsClient

NOTIFY_TOKEN = "notify-secret-3f9a71c2e0"  # noqa: S105 - the test's own secrets, to hunt for
EHR_USER_TOKEN = "ehr-user-token-b81d44e07c"  # noqa: S105
READER = "reader-token-0c5e9d2a11"
PASSWORD = "basic-password-7e21c9f0aa"  # noqa: S105
CLIENT_ID = "coder-service"
KID = "coder-key"


def run_cli(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "adapters.cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return f"{done.stdout}\n{done.stderr}"


def ledger_text(path: Path) -> str:
    """Every value of every row of every table of a SQLite file, as text."""
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(
            repr(row)
            for table in tables
            for row in db.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from the file
        )


def patient_words() -> set[str]:
    found: set[str] = set()
    for entry in build_seed_bundle(patients=3)["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Patient":
            for name in resource.get("name", []):
                found.update([name.get("family", ""), *name.get("given", [])])
            found.update(i["value"] for i in resource.get("identifier", []))
    return {word for word in found if len(word) >= 4}


def _start_serve(
    fhir: str, tmp_path: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "adapters.cli.main", "serve", "--server", fhir]
    command += ["--jobs-db", str(tmp_path / "jobs.sqlite3"), "--port", "0", "--concurrency", "2"]
    with (tmp_path / "serve.log").open("w") as log:
        serve = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=tmp_path
        )
    url = read_ready_line(serve, READY_PREFIX, 120)
    assert url is not None, (tmp_path / "serve.log").read_text()
    return serve, url


def _exercise(url: str, fhir: str, ehr: CdsClient, jwts: list[str]) -> None:
    """Calls that succeed and calls that are refused, each carrying secrets and names."""
    reader = {"Authorization": f"Bearer {READER}"}
    encounters = {
        i: httpx.get(f"{fhir}/Encounter/{i}", headers=reader, timeout=10).json()
        for i in ("enc-0001-1", "enc-0002-1", "enc-0003-1")
    }
    aud = f"{url}/cds-services/{SERVICE_ID}"

    def hook(encounter_id: str, token: str, **extra: object) -> int:
        jwts.append(token)
        encounter = encounters[encounter_id]
        body = {
            "hook": "encounter-discharge",
            "hookInstance": "9d3e7f10-3333-4000-8000-000000000004",
            "fhirServer": fhir,
            "context": {
                "userId": "Practitioner/p1",
                "patientId": encounter["subject"]["reference"].split("/")[1],
                "encounterId": encounter_id,
            },
            "prefetch": {"encounter": encounter},  # its subject's display is the name
            **extra,
        }
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.post(aud, json=body, headers=headers, timeout=30).status_code

    signed = ehr.token(aud)
    assert hook("enc-0001-1", signed) == 200
    assert hook("enc-0001-1", signed) == 401  # replayed
    lent = {"access_token": EHR_USER_TOKEN, "token_type": "Bearer"}
    assert hook("enc-0002-1", ehr.token(aud), fhirAuthorization=lent) == 403  # Patients only
    notify = f"{url}/notify/Encounter/enc-0003-1"
    for token, status in (("not-the-token", 401), (NOTIFY_TOKEN, 202)):
        headers = {"Authorization": f"Bearer {token}"}
        answer = httpx.put(notify, json=encounters["enc-0003-1"], headers=headers, timeout=30)
        assert answer.status_code == status


def _wait_until_processed(jobs_db: Path) -> list[str]:
    deadline = time.monotonic() + 120
    while True:
        with sqlite3.connect(jobs_db) as db:
            states = [row[0] for row in db.execute("SELECT state FROM jobs")]
        if len(states) >= 2 and not {"queued", "running"} & set(states):
            return states
        assert time.monotonic() < deadline, states
        time.sleep(0.2)


def test_a_run_with_auth_on_leaves_no_secret_and_no_patient_name_behind(tmp_path):
    key_path = write_pem(tmp_path / "client.pem")
    config = {
        "bearer_tokens": {READER: "system/*.rs", EHR_USER_TOKEN: "user/Patient.rs"},
        "clients": [
            {
                "client_id": CLIENT_ID,
                "jwks": public_jwks(load_signing_key(key_path, kid=KID)),
                "scope": DEFAULT_SMART_SCOPE,
            }
        ],
    }
    (tmp_path / "auth.json").write_text(json.dumps(config))
    ehr = CdsClient()
    issuers = [{"iss": ehr.iss, "jwks_file": str(ehr.write_jwks(tmp_path / "ehr.jwks"))}]
    jobs_db = tmp_path / "jobs.sqlite3"
    jwts: list[str] = []
    env = {
        **os.environ,
        "FHIR_CODER_NOTIFY_TOKEN": NOTIFY_TOKEN,
        "FHIR_CODER_SMART_CLIENT_ID": CLIENT_ID,
        "FHIR_CODER_SMART_KEY_FILE": str(key_path),
        "FHIR_CODER_SMART_KEY_ID": KID,
        "FHIR_CODER_CDS_ISSUERS": json.dumps(issuers),
    }
    with running_sandbox(
        tmp_path / "sandbox.sqlite3",
        extra_args=("--auth-config", str(tmp_path / "auth.json"), "--patients", "3"),
    ) as fhir:
        serve, url = _start_serve(fhir, tmp_path, env)
        try:
            _exercise(url, fhir, ehr, jwts)
            assert "done" in _wait_until_processed(jobs_db)
        finally:
            serve.terminate()
            serve.wait(30)
            if serve.stdout is not None:
                serve.stdout.close()
        coded = run_cli(  # a password the server refuses: the failure must not repeat it
            "code", "enc-0001-1", "--server", fhir, "--basic-user", "coder",
            "--basic-password-env", "PW", "--ledger", str(tmp_path / "claims.sqlite3"),
            cwd=tmp_path, env={"PW": PASSWORD},
        )  # fmt: skip
    outputs = [
        (tmp_path / "serve.log").read_text(),
        ledger_text(jobs_db),
        run_cli("jobs", "list", "--json", "--jobs-db", str(jobs_db), cwd=tmp_path),
        run_cli("jobs", "show", "1", "--jobs-db", str(jobs_db), cwd=tmp_path),
        coded,
    ]
    everything = "\n".join(outputs)
    assert "fhir-coder serving" in everything  # the logs were written: the search means something
    assert '"state"' in everything  # and the jobs were listed
    assert "HTTP 401" in coded  # and the refused password was reported
    key_lines = [line for line in key_path.read_text().splitlines() if len(line) >= 16]
    secrets = {NOTIFY_TOKEN, EHR_USER_TOKEN, PASSWORD, READER, *jwts, *key_lines}
    found = [s for s in secrets | patient_words() if s in everything]
    found += re.findall(r"Bearer [A-Za-z0-9._~+/-]{12,}|eyJ[A-Za-z0-9_-]{8,}", everything)
    assert found == []
