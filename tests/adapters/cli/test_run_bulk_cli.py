"""``fhir-coder run --bulk`` against the sandbox on loopback: a population in a handful of requests,
killed during the download and during the coding, finished by a rerun without repeats."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from adapters.bulk.export_client import read_state
from adapters.cli.main import main
from adapters.cli.sandbox_process import running_sandbox
from adapters.writeback.ndjson import read_claims
from tests.adapters.conftest import search_all_sync

POPULATION = 100


def finished_count(base):
    answer = httpx.get(f"{base}/Encounter?status=finished&_summary=count", timeout=30)
    return answer.json()["total"]


def bulk_command(base, jobs_db, *extra):
    return [
        sys.executable, "-m", "adapters.cli.main", "run", "--bulk", "--server", base,
        "--source-id", "sb", "--jobs-db", str(jobs_db), *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bulk-sandbox")
    with running_sandbox(
        folder / "sandbox.sqlite3", extra_args=("--patients", str(POPULATION))
    ) as base:
        yield base


def in_process(command, capsys):
    """``command`` run by ``main`` in this process (code sets already loaded): code, summary."""
    code = main(command[3:])
    return code, json.loads(capsys.readouterr().out)


def test_every_finished_encounter_is_coded_with_a_handful_of_requests(population, tmp_path, capsys):
    jobs_db = tmp_path / "jobs.sqlite3"
    code, summary = in_process(bulk_command(population, jobs_db, "--json"), capsys)
    assert code == 0
    finished = finished_count(population)
    assert summary["jobs"]["done"] + summary["jobs"]["held"] == finished
    assert summary["jobs"]["failed"] == summary["jobs"]["parked"] == 0
    assert summary["export"]["unresolved"] == 0
    bulk = summary["bulk"]
    assert bulk["resources"]["Encounter"] > finished
    # kick-off, a few polls, one file per type, the delete: none of it per encounter
    assert bulk["export_requests"] <= 15, bulk
    claims = search_all_sync(population, "Claim?_count=500")
    assert len(claims) == summary["jobs"]["done"]  # written back to the server, once each
    code, second = in_process(bulk_command(population, jobs_db, "--json", "--incremental"), capsys)
    assert code == 0
    assert second["bulk"]["since"] == bulk["transaction_time"]  # only what changed since
    assert second["queued_now"] == 0
    assert len(search_all_sync(population, "Claim?_count=500")) == len(claims)


def kill_when(process, ready, timeout=120.0):
    """SIGKILL ``process`` once ``ready()`` holds; False if it ended first."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if ready():
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.02)
    process.wait()
    return False


def test_killed_during_download_and_during_coding_a_rerun_repeats_nothing(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("FHIR_CODER_LEASE_SECONDS", "2")  # the killed worker's job returns soon
    # Every request waits 300 ms, so the download of the seven files takes seconds.
    slow = ("--patients", str(POPULATION), "--fault-latency-ms", "300")
    jobs_db, claims = tmp_path / "jobs.sqlite3", tmp_path / "claims"
    with running_sandbox(tmp_path / "sandbox.sqlite3", extra_args=slow) as base:
        command = bulk_command(base, jobs_db, "--claims-to", str(claims), "--concurrency", "1")
        folder = jobs_db.parent / "bulk"

        def some_files_fetched():
            states = [read_state(f) for f in folder.glob("*")] if folder.exists() else []
            files = [f for s in states if s for f in s.get("files") or []]
            return any(f["done"] for f in files) and not all(f["done"] for f in files)

        quiet = [*command, "--quiet"]
        first = subprocess.Popen(quiet, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert kill_when(first, some_files_fetched), "the download ended before the kill"
        (state_folder,) = folder.iterdir()
        state = read_state(state_folder)
        status_url = state["status_url"]
        fetched = {f["name"]: (state_folder / f["name"]).stat().st_mtime_ns
                   for f in state["files"] if f["done"]}  # fmt: skip

        def some_coded():
            if not jobs_db.exists():
                return False
            # read-only and without the ledger's set-up writes: the run must not wait for us
            with contextlib.closing(sqlite3.connect(f"file:{jobs_db}?mode=ro", uri=True)) as db:
                try:
                    counts = dict(db.execute("SELECT state, count(*) FROM jobs GROUP BY state"))
                except sqlite3.OperationalError:  # not created yet
                    return False
            return counts.get("done", 0) >= 20 and counts.get("queued", 0) > 20

        second = subprocess.Popen(quiet, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert kill_when(second, some_coded), "the coding ended before the kill"
        state = read_state(state_folder)
        assert all(f["done"] for f in state["files"])
        assert state["status_url"] == status_url  # the same export, picked up, not a new one
        for name, mtime in fetched.items():  # the files of the first run were kept
            assert (state_folder / name).stat().st_mtime_ns == mtime

        code, summary = in_process([*command, "--json"], capsys)
        finished = finished_count(base)
    assert code == 0
    assert summary["bulk"]["resumed"] is True
    assert summary["bulk"]["files_downloaded_now"] == 0
    assert summary["bulk"]["export_requests"] == 0
    assert summary["jobs"]["done"] + summary["jobs"]["held"] == finished
    lines = (claims / "Bundle.ndjson").read_bytes().splitlines()
    assert len(lines) == len(read_claims(claims)) == summary["jobs"]["done"]  # none twice
