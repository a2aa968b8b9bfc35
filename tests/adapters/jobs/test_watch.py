"""Polling by ``_lastUpdated``: overlap window, checkpoint, de-duplication on id and versionId."""

import json
import subprocess
import sys

import httpx

from adapters.fhir.client import FhirClient
from adapters.jobs import JobLedger, JobState
from adapters.jobs.polling import checkpoint_name, poll_once

FHIR = "http://sandbox.test/fhir"


async def test_polls_queue_each_version_once_and_keep_a_checkpoint(seeded_app, tmp_path):
    async with FhirClient(FHIR, transport=httpx.ASGITransport(app=seeded_app)) as fhir:
        with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
            first = await poll_once(fhir, ledger, "sb", overlap_seconds=3600)
            finished = await fhir.count("Encounter", {"status": "finished"})
            assert first.queued == first.seen == finished
            again = await poll_once(fhir, ledger, "sb", overlap_seconds=3600)
            assert again.seen == finished  # the overlap window reads them again...
            assert again.queued == 0  # ...and the ledger drops them
            assert ledger.skips() == []  # expected repeats are not noise
            encounter = await fhir.read("Encounter", "enc-0001-1")
            await fhir.update(encounter)  # a new version of a finished encounter
            third = await poll_once(fhir, ledger, "sb", overlap_seconds=0)
            assert (third.seen, third.queued) == (1, 1)
            assert ledger.checkpoint(checkpoint_name("sb")) == third.checkpoint
            assert third.checkpoint > first.checkpoint
            versions = [j.version for j in ledger.jobs() if j.encounter_id == "enc-0001-1"]
            assert versions == ["1", "2"]


def test_watch_once_over_loopback_codes_and_resumes_from_its_checkpoint(
    loopback_base_url, tmp_path
):
    jobs_db = tmp_path / "jobs.sqlite3"
    command = [
        sys.executable, "-m", "adapters.cli.main", "watch", "--once", "--server", loopback_base_url,
        "--jobs-db", str(jobs_db), "--overlap", "0",
    ]  # fmt: skip
    first = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    with JobLedger(jobs_db) as ledger:
        counts = ledger.counts()
        checkpoint = ledger.checkpoint(checkpoint_name(loopback_base_url))
    assert counts[JobState.DONE] > 20
    assert counts[JobState.QUEUED] == counts[JobState.FAILED] == 0
    second = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert second.stdout.startswith("0 seen, 0 queued"), second.stdout
    assert checkpoint in second.stdout
    claims = httpx.get(f"{loopback_base_url}/Claim?_summary=count", timeout=10)
    assert json.loads(claims.text)["total"] == counts[JobState.DONE]
