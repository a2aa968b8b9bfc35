"""Real data in: after ``fhir-coder run`` over the Synthea sample bundles loaded into the sandbox,
every held encounter is a work item whose reasons ``jobs show`` prints and the worklist shows.

The 6 public Synthea bundles (139 encounters, SNOMED CT only, no ICD-10-CM, no Coverage) are
loaded into a sandbox process; ``run`` codes them as a hospital's batch would.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from adapters.cli.main import main
from adapters.cli.sandbox_process import running_sandbox
from adapters.jobs import JobLedger, JobState
from adapters.workbench import Workbench, create_workbench
from adapters.workbench.accounts import Accounts
from tests.shared_data import shared_data_dir

from .conftest import client_for, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def synthea_run(tmp_path_factory):
    bundles = shared_data_dir("synthea-bundles")
    folder = tmp_path_factory.mktemp("synthea-run")
    jobs = folder / "jobs.sqlite3"
    loading = ("--no-seed", "--load", str(bundles))
    with running_sandbox(folder / "sandbox.sqlite3", extra_args=loading, start_timeout=300) as base:
        done = subprocess.run(
            [
                sys.executable, "-m", "adapters.cli.main", "run", "--server", base,
                "--source-id", "synthea", "--jobs-db", str(jobs), "--quiet", "--max-attempts", "1",
            ],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr  # 1: some jobs failed (dates no release covers)
    return jobs


def test_every_held_encounter_is_a_work_item_with_its_reasons(synthea_run, capsys):
    with JobLedger(synthea_run) as ledger:
        held = ledger.jobs(state=JobState.HELD)
        items = ledger.work.for_jobs([job.id for job in held])
    assert len(held) > 50
    assert {job.id for job in held} == set(items)
    assert all(items[job.id].reasons for job in held)
    assert all(items[job.id].encounter_id == job.encounter_id for job in held)
    job = held[0]
    assert main(["jobs", "show", str(job.id), "--jobs-db", str(synthea_run)]) == 0
    shown = capsys.readouterr().out
    assert f"reasons: {' '.join(items[job.id].reasons)}" in shown
    assert "finding:" in shown


async def test_the_worklist_and_the_encounter_show_the_reasons(synthea_run, coding, accounts_file):
    with JobLedger(synthea_run) as ledger:
        held = ledger.jobs(state=JobState.HELD)
        items = ledger.work.for_jobs([job.id for job in held])
        bench = Workbench(ledger=ledger, accounts=Accounts.from_file(accounts_file), coding=coding)
        async with client_for(create_workbench(bench)) as client:
            await sign_in(client, "aud")  # an auditor reads everything
            page = await client.get("/", params={"per_page": "200"})
            assert page.status_code == 200
            assert f"{len(items)} items" in page.text
            for item in items.values():
                assert item.encounter_id in page.text
            first = next(iter(items.values()))
            opened = await client.get(f"/items/{first.id}")
            assert opened.status_code == 200
            for reason in first.reasons:
                assert f"chip-{reason}" in opened.text
            assert "No codable diagnosis" in opened.text or "No coverage" in opened.text
