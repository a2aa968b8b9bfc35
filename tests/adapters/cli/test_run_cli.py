"""``fhir-coder run`` and ``jobs`` over real loopback HTTP, killed at random and resumed."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import httpx
import pytest

from adapters.cli.main import main
from adapters.cli.sandbox_process import running_sandbox
from adapters.jobs import JobLedger, JobState
from adapters.writeback.ndjson import read_claims
from tests.adapters.conftest import CRASH_PATIENTS, search_all_sync

PATIENTS = 25  # 64 finished encounters, 62 of them with a codable diagnosis


@pytest.fixture(scope="module")
def sandbox_500(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crash-sandbox")
    with running_sandbox(
        folder / "sandbox.sqlite3", extra_args=("--patients", str(CRASH_PATIENTS))
    ) as base:
        yield base


def finished_encounters(base):
    return httpx.get(f"{base}/Encounter?status=finished&_summary=count", timeout=30).json()["total"]


@pytest.fixture(scope="module")
def sandbox_60(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run-sandbox")
    with running_sandbox(
        folder / "sandbox.sqlite3", extra_args=("--patients", str(PATIENTS))
    ) as base:
        yield base


def run_command(base, jobs_db, *extra):
    return [
        sys.executable, "-m", "adapters.cli.main", "run", "--server", base,
        "--jobs-db", str(jobs_db), "--source-id", "sb", *extra,
    ]  # fmt: skip


def claims_on(base):
    """Every Claim on the server (their ids derive from the source and the encounter)."""
    return search_all_sync(base, "Claim?_count=500")


def test_killed_at_random_and_restarted_every_encounter_ends_with_exactly_one_claim(
    sandbox_500, tmp_path
):
    jobs_db = tmp_path / "jobs.sqlite3"
    rng = random.Random()  # noqa: S311 - where to kill, not a secret
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    env = {**os.environ, "FHIR_CODER_LEASE_SECONDS": "2"}  # orphaned jobs return quickly
    finished_total = finished_encounters(sandbox_500)
    assert finished_total >= 500
    targets = sorted(rng.sample(range(10, finished_total - 20), 3))  # kill after this many
    ended_at_kill = []
    for target in targets:
        process = subprocess.Popen(
            run_command(sandbox_500, jobs_db, "--quiet"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        while process.poll() is None:
            if jobs_db.exists():
                with JobLedger(jobs_db) as ledger:
                    counts = ledger.counts()
                ended = counts[JobState.DONE] + counts[JobState.HELD]
                if ended >= target:
                    process.send_signal(signal.SIGKILL)
                    ended_at_kill.append(ended)
                    break
            time.sleep(0.01)
        process.wait()
    finished = subprocess.run(
        [*run_command(sandbox_500, jobs_db, "--json"), "--concurrency", "8"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert finished.returncode == 0, (seed, finished.stderr)
    summary = json.loads(finished.stdout)
    done_count, held_count = summary["jobs"]["done"], summary["jobs"]["held"]
    assert done_count + held_count == finished_total, seed  # every encounter ended once
    assert done_count >= 500, seed
    claims = claims_on(sandbox_500)
    assert len(claims) == done_count, seed
    assert not [c for c in claims if c.get("related")]  # no second Claim replacing a first
    with JobLedger(jobs_db) as ledger:
        assert ledger.pending() == 0
        done = {job.claim_id for job in ledger.jobs(state=JobState.DONE)}
    assert {c["id"] for c in claims} == done  # one per encounter done, none lost
    assert len(ended_at_kill) == 3, seed
    assert all(n < finished_total for n in ended_at_kill), (seed, ended_at_kill)  # mid-run


def test_a_second_run_redoes_nothing_and_jobs_lists_them(sandbox_60, tmp_path, capsys):
    jobs_db = tmp_path / "jobs.sqlite3"
    first = subprocess.run(
        run_command(sandbox_60, jobs_db, "--json", "--since", "2000-01-01"),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""  # no progress line into a captured log, and --json stays pure
    assert json.loads(first.stdout)["jobs"]["done"] > 0
    again = subprocess.run(
        run_command(sandbox_60, jobs_db, "--json"),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert json.loads(again.stdout)["queued_now"] == 0
    assert main(["jobs", "list", "--jobs-db", str(jobs_db), "--state", "held"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 3  # two held jobs and the counts
    assert listed[-1].startswith("0 queued, 0 running, 62 done, 2 held")
    job_id = int(listed[0].split()[0])
    assert main(["jobs", "show", str(job_id), "--jobs-db", str(jobs_db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "held"


def test_jobs_retry_queues_parked_jobs_again(tmp_path, capsys):
    jobs_db = tmp_path / "jobs.sqlite3"
    with JobLedger(jobs_db) as ledger:
        ledger.enqueue("sb", "e1", "1")
        job = ledger.claim()
        ledger.finish(job.id, JobState.PARKED, error="5 attempts; last: FhirTransportError: x")
    assert main(["jobs", "list", "--jobs-db", str(jobs_db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["last_error"].startswith("5 attempts")
    assert main(["jobs", "retry", "--jobs-db", str(jobs_db)]) == 0
    assert "1 job(s) queued again" in capsys.readouterr().out
    with JobLedger(jobs_db) as ledger:
        assert ledger.counts()[JobState.QUEUED] == 1


def test_jobs_without_a_ledger_is_a_configuration_error(tmp_path, capsys):
    assert main(["jobs", "list", "--jobs-db", str(tmp_path / "none.sqlite3")]) == 8
    assert "no job ledger" in capsys.readouterr().err


def test_with_a_fifth_of_requests_failing_on_loopback_every_encounter_is_coded_once(tmp_path):
    faults = (
        "--fault-rate", "0.2", "--fault", "429", "--fault", "503", "--fault", "drop",
        "--fault-seed", "11",
    )  # fmt: skip
    with running_sandbox(tmp_path / "sandbox.sqlite3", extra_args=faults) as base:
        finished = subprocess.run(
            [*run_command(base, tmp_path / "jobs.sqlite3", "--json"), "--concurrency", "8"],
            capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        assert finished.returncode == 0, finished.stderr
        jobs = json.loads(finished.stdout)["jobs"]
        with httpx.Client(timeout=30) as client:
            written = []
            for _ in range(20):  # reading through the faults too
                answer = client.get(f"{base}/Claim?_count=500")
                if answer.status_code == 200 and answer.content.endswith(b"}"):
                    written = answer.json().get("entry", [])
                    break
    assert jobs["failed"] == jobs["parked"] == jobs["queued"] == 0
    assert len(written) == jobs["done"] > 20
    assert {e["resource"]["meta"]["versionId"] for e in written} == {"1"}  # none written twice


def test_the_settings_file_names_where_claims_go(sandbox_60, tmp_path):
    """``claims_to`` in the file sends Claims to an NDJSON folder; the flag still wins."""
    folder, flagged = tmp_path / "from-settings", tmp_path / "from-flag"
    config = tmp_path / "fhir-coder.toml"
    config.write_text(f'claims_to = "{folder}"\nserver = "{sandbox_60}"\n', encoding="utf-8")
    written = subprocess.run(
        [sys.executable, "-m", "adapters.cli.main", "run", "--config", str(config),
         "--jobs-db", str(tmp_path / "a.sqlite3"), "--since", "2000-01-01", "--quiet"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    lines = (folder / "Bundle.ndjson").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(read_claims(folder)) == 62  # every codable encounter, once each
    firsts = [json.loads(line)["entry"][0]["resource"] for line in lines]
    assert all(resource["resourceType"] == "Claim" for resource in firsts)
    overridden = subprocess.run(
        [sys.executable, "-m", "adapters.cli.main", "run", "--config", str(config),
         "--jobs-db", str(tmp_path / "b.sqlite3"), "--since", "2000-01-01", "--quiet",
         "--claims-to", str(flagged)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert overridden.returncode == 0, overridden.stderr
    assert len(read_claims(flagged)) == len(read_claims(folder)) == 62
