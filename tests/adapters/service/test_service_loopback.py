"""``fhir-coder serve`` as a process on loopback, fed by the sandbox, killed and restarted."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import httpx
import pytest

from adapters.cli.commands.serve import READY_PREFIX
from adapters.cli.sandbox_process import read_ready_line, running_sandbox
from adapters.jobs import JobLedger, JobState
from sandbox.seed import build_seed_bundle
from tests.adapters.conftest import CRASH_PATIENTS, search_all_sync
from tests.adapters.service.cds_client import CdsClient

TOKEN = "loopback-notify-token"  # noqa: S105 - the test's own
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def sandbox_500(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve-crash-sandbox")
    with running_sandbox(
        folder / "sandbox.sqlite3", extra_args=("--patients", str(CRASH_PATIENTS))
    ) as base:
        yield base


@pytest.fixture(scope="module")
def sandbox_64(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve-sandbox")
    with running_sandbox(folder / "sandbox.sqlite3", extra_args=("--patients", "25")) as base:
        yield base


class Service:
    """``fhir-coder serve`` in a child process; ``url`` once it said it is ready."""

    def __init__(self, fhir, jobs_db, log, **env_extra):
        # a short lease, so the job a killed process held is taken up again within seconds
        env = {**os.environ, "FHIR_CODER_NOTIFY_TOKEN": TOKEN, "FHIR_CODER_LEASE_SECONDS": "3"}
        env.update(env_extra)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "adapters.cli.main",
                "serve",
                "--server",
                fhir,
                "--source-id",
                "sb",
                "--jobs-db",
                str(jobs_db),
                "--port",
                "0",
                "--concurrency",
                "4",
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
        )
        self.url = read_ready_line(self.process, READY_PREFIX, 60)
        assert self.url is not None, "serve did not start"

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(30)
        self.process.stdout.close()


def claims(base):
    return search_all_sync(base, "Claim?_count=500")


def wait_for(check, timeout=60):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_the_sandbox_subscription_reaches_serve_and_the_claim_appears(sandbox_64, tmp_path):
    log = (tmp_path / "serve.log").open("w")
    ehr = CdsClient()
    issuers = [{"iss": ehr.iss, "jwks_file": str(ehr.write_jwks(tmp_path / "ehr.jwks"))}]
    service = Service(
        sandbox_64, tmp_path / "jobs.sqlite3", log, FHIR_CODER_CDS_ISSUERS=json.dumps(issuers)
    )
    try:
        env = {**os.environ, "FHIR_CODER_NOTIFY_TOKEN": TOKEN}
        made = subprocess.run(
            [
                sys.executable,
                "-m",
                "adapters.cli.main",
                "subscribe",
                "--server",
                sandbox_64,
                "--endpoint",
                f"{service.url}/notify",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
        assert made.returncode == 0, made.stderr
        shown = json.loads(made.stdout)
        assert shown["form"] == "rest-hook"  # the sandbox declares no backport topic
        assert TOKEN not in made.stdout
        before = len(claims(sandbox_64))
        encounter = httpx.get(f"{sandbox_64}/Encounter/enc-0001-1", timeout=10).json()
        httpx.put(f"{sandbox_64}/Encounter/enc-0001-1", json=encounter, timeout=10)
        wait_for(lambda: len(claims(sandbox_64)) == before + 1)
        hook = {
            "hook": "encounter-discharge",
            "hookInstance": "6a1c0f6e-1111-4000-8000-000000000002",
            "fhirServer": sandbox_64,
            "context": {"userId": "Practitioner/1", "patientId": "x", "encounterId": "enc-0003-1"},
        }
        cds = httpx.post(
            f"{service.url}/cds-services/fhir-coder-encounter-discharge",
            json=hook,
            headers=ehr.headers(service.url),
            timeout=10,
        )
        assert cds.status_code == 200
        assert cds.json()["cards"][0]["indicator"] == "info"
        wait_for(lambda: len(claims(sandbox_64)) == before + 2)
        ready = httpx.get(f"{service.url}/readyz", timeout=10)
        assert ready.json() == {"status": "ready", "queue_depth": 0}
    finally:
        service.stop()
        log.close()
    logged = (tmp_path / "serve.log").read_text()
    assert "fhir-coder serving" in logged  # the log was written, so searching it means something
    patients = [
        e["resource"]
        for e in build_seed_bundle(patients=25)["entry"]
        if e["resource"]["resourceType"] == "Patient"
    ]
    secrets = {TOKEN} | {i["value"] for p in patients for i in p.get("identifier", [])}
    secrets |= {n["family"] for p in patients for n in p.get("name", [])}
    assert [s for s in secrets if s in logged] == []


def test_killed_mid_stream_with_duplicate_and_late_notifications_no_claim_is_lost_or_doubled(
    sandbox_500, tmp_path
):
    resources = search_all_sync(sandbox_500, "Encounter?status=finished&_count=200")
    assert len(resources) >= 500
    sends = []
    with httpx.Client(timeout=30) as client:
        for resource in resources:  # a second version of each, as a clinician's edit makes
            answer = client.put(f"{sandbox_500}/Encounter/{resource['id']}", json=resource)
            newer = answer.raise_for_status().json()
            assert newer["meta"]["versionId"] != resource["meta"]["versionId"]
            sends += [newer, newer, resource]  # a duplicate, then the older version, late
    rng = random.Random()  # noqa: S311 - when to kill, not a secret
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    rng.shuffle(sends)  # out of order across encounters too
    jobs_db = tmp_path / "jobs.sqlite3"
    log = (tmp_path / "serve.log").open("w")
    service = Service(sandbox_500, jobs_db, log)
    kill_after = rng.randrange(20, len(sends) - 20)
    try:
        for number, resource in enumerate(sends):
            if number == kill_after:
                service.stop(signal.SIGKILL)
                service = Service(sandbox_500, jobs_db, log)
            url = f"{service.url}/notify/Encounter/{resource['id']}"
            answer = httpx.put(url, json=resource, headers=AUTH, timeout=30)
            assert answer.status_code in (200, 202), (seed, answer.text)
        with JobLedger(jobs_db) as ledger:
            wait_for(lambda: ledger.pending() == 0, timeout=300)
            counts = ledger.counts()
            skipped = len(ledger.skips())
    finally:
        service.stop()
        log.close()
    assert counts[JobState.FAILED] == counts[JobState.PARKED] == 0, seed
    written = claims(sandbox_500)
    ids = [c["id"] for c in written]
    assert len(ids) == len(set(ids)), seed  # no encounter's Claim twice
    with JobLedger(jobs_db) as ledger:
        done = {j.claim_id for j in ledger.jobs(state=JobState.DONE, limit=100_000) if j.claim_id}
    assert set(ids) == done, seed  # every encounter coded has its Claim: none lost
    assert len(ids) >= 500, seed
    assert not [c for c in written if c.get("related")]
    assert counts[JobState.DONE] + counts[JobState.HELD] <= len(resources) * 2  # v1 before v2
    assert skipped >= len(resources)  # every duplicate of a version 2 was recorded and skipped
