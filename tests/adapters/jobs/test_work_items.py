"""Work items: each encounter that needs a person is kept in the ledger, with why, for good.

The tests taking ``ledger_db`` run on SQLite and on PostgreSQL (``tests/postgres.py``).
"""

import json

import httpx
import pytest

from adapters.cli.main import main
from adapters.fhir.client import FhirClient
from adapters.jobs import JobLedger, JobState, WorkerSettings
from adapters.jobs.work_items import (
    ItemKind,
    ItemLockedError,
    ItemState,
    RevisionConflictError,
    WorkItemDraft,
    WorklistQuery,
)
from adapters.jobs.workers import WorkerPool
from adapters.pipeline import Pipeline
from fhir_coder.model import Encounter
from fhir_coder.snapshot import from_plain
from tests.adapters.held_cases import put_header_encounter

from .test_jobs_workers import BASE, enqueue_finished

FAST = WorkerSettings(concurrency=2, retry_base_seconds=0.01, max_attempts=3)


async def _drain(fhir, ledger, coding):
    await WorkerPool(ledger, Pipeline(fhir, coding), "sb", FAST).drain()


async def test_a_held_header_encounter_becomes_a_work_item_with_its_reasons_and_suggestions(
    seeded_app, coding, tmp_path
):
    path = tmp_path / "jobs.sqlite3"
    async with FhirClient(BASE, transport=httpx.ASGITransport(app=seeded_app)) as fhir:
        version = await put_header_encounter(fhir)
        with JobLedger(path) as ledger:
            ledger.enqueue("sb", "enc-e03", version)
            await _drain(fhir, ledger, coding)
            assert ledger.jobs()[0].state is JobState.HELD
    with JobLedger(path) as ledger:  # a restart: nothing lost
        item = ledger.work.find("sb", "enc-e03")
        assert item is not None
        assert item.state is ItemState.OPEN
        assert item.kind is ItemKind.HELD
        assert "header-code" in item.reasons
        assert "ICD10CM-NOT-BILLABLE" in item.rules
        assert item.version == version
        assert item.encounter_class == "AMB"
        assert item.patient == "Patient/pat-0003"
        assert item.service_date == "2025-11-04"
        assert item.payer  # the patient's coverage names its payer
        (offered,) = item.payload["suggestions"]
        assert offered["source"] == "Condition/enc-e03-dx1"
        best = offered["options"][0]
        assert (best["shown"], best["matched"]) == ("E03.9", ["hypothyroidism"])
        assert all(o["code"].startswith("E03") for o in offered["options"][:3])
        encounter = from_plain(Encounter, item.payload["encounter"])
        assert encounter.id == "enc-e03"
        assert encounter.diagnoses[0].codings[0].code == "E03"


async def test_jobs_show_and_list_print_the_reasons_of_a_held_job(
    seeded_app, coding, tmp_path, capsys
):
    path = tmp_path / "jobs.sqlite3"
    async with FhirClient(BASE, transport=httpx.ASGITransport(app=seeded_app)) as fhir:
        version = await put_header_encounter(fhir)
        with JobLedger(path) as ledger:
            ledger.enqueue("sb", "enc-e03", version)
            await _drain(fhir, ledger, coding)
            job_id = ledger.jobs()[0].id
    assert main(["jobs", "show", str(job_id), "--jobs-db", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "reasons: header-code" in shown
    assert "ICD10CM-NOT-BILLABLE" in shown
    assert "fix: choose a billable code below it: E03.0" in shown
    assert main(["jobs", "list", "--jobs-db", str(path)]) == 0
    assert "reasons: header-code" in capsys.readouterr().out
    assert main(["jobs", "show", str(job_id), "--json", "--jobs-db", str(path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"header-code", "no-codable-diagnosis"} <= set(data["reasons"])
    assert "ICD10CM-NOT-BILLABLE" in [f["rule"] for f in data["findings"]]


async def test_every_held_job_of_the_seeded_sandbox_has_a_work_item(seeded_app, coding, tmp_path):
    async with FhirClient(BASE, transport=httpx.ASGITransport(app=seeded_app)) as fhir:
        with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
            await enqueue_finished(fhir, ledger)
            await _drain(fhir, ledger, coding)
            held = ledger.jobs(state=JobState.HELD)
            items = ledger.work.for_jobs([job.id for job in held])
            assert held
            assert {job.id for job in held} == set(items)
            assert all(item.reasons for item in items.values())
            page = ledger.work.worklist(WorklistQuery(per_page=500))
            assert page.total >= len(held)
            assert sum(page.by_reason.values()) >= page.total


async def test_a_new_version_updates_the_item_and_keeps_the_coders_work(
    seeded_app, coding, tmp_path
):
    async with FhirClient(BASE, transport=httpx.ASGITransport(app=seeded_app)) as fhir:
        with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
            first = await put_header_encounter(fhir)
            ledger.enqueue("sb", "enc-e03", first)
            await _drain(fhir, ledger, coding)
            item = ledger.work.find("sb", "enc-e03")
            assert item is not None
            ledger.work.lock(item.id, "ada")
            item = ledger.work.get(item.id)
            assert item is not None
            saved = ledger.work.save_work(
                item.id, "ada", {"lines": ["E039"]}, revision=item.revision, action="edit"
            )
            second = await put_header_encounter(fhir, words="Hypothyroidism, unspecified")
            ledger.enqueue("sb", "enc-e03", second)
            await _drain(fhir, ledger, coding)
            updated = ledger.work.get(item.id)
            assert updated is not None
            assert updated.version == second != first
            assert updated.work == {"lines": ["E039"]}  # the coder's work is kept
            assert updated.revision > saved.revision
            assert [e.action for e in ledger.work.events(item.id)][-1] == "recoded"
            third = await put_header_encounter(fhir, code="E03.9")
            ledger.enqueue("sb", "enc-e03", third)
            await _drain(fhir, ledger, coding)
            billable = ledger.work.get(item.id)
            assert billable is not None
            # E03.9 bills; only the visit's E/M level (a table row) is left to confirm
            assert (billable.kind, billable.reasons) == (ItemKind.REVIEW, ("line-review",))
            assert billable.version == third
            assert billable.claim_id


def test_a_version_the_engine_finishes_resolves_the_item_and_an_older_one_is_ignored(ledger_db):
    with JobLedger(ledger_db) as ledger:
        item = ledger.work.record(_draft("e1", version="2"))
        assert ledger.work.record(_draft("e1", version="1", reasons=("x",))).reasons == (
            "header-code",
        )
        assert not ledger.work.settle("sb", "e1", "1", outcome="written")
        assert ledger.work.settle("sb", "e1", "3", outcome="written")
        resolved = ledger.work.get(item.id)
        assert resolved is not None
        assert (resolved.state, resolved.version) == (ItemState.RESOLVED, "3")
        assert ledger.work.worklist(WorklistQuery()).total == 0


def _draft(encounter_id, **changes):
    facts = {
        "source": "sb",
        "encounter_id": encounter_id,
        "version": "1",
        "kind": ItemKind.HELD,
        "reasons": ("header-code",),
        "encounter_class": "AMB",
        "payer": "Medicare",
        "patient": f"Patient/p-{encounter_id}",
        "service_date": "2025-01-02",
    }
    return WorkItemDraft(**{**facts, **changes})


def test_a_second_coder_is_refused_while_the_first_holds_the_item_and_a_stale_save_is_refused(
    ledger_db,
):
    with JobLedger(ledger_db) as ledger:
        item = ledger.work.record(_draft("e1"))
        ledger.work.lock(item.id, "ada")
        with pytest.raises(ItemLockedError, match="being worked by ada"):
            ledger.work.lock(item.id, "bob")
        opened = ledger.work.get(item.id)
        assert opened is not None
        ledger.work.save_work(item.id, "ada", {"n": 1}, revision=opened.revision, action="edit")
        ledger.work.unlock(item.id, "ada")
        ledger.work.lock(item.id, "bob")
        with pytest.raises(RevisionConflictError, match="changed since you opened it"):
            ledger.work.save_work(item.id, "bob", {"n": 2}, revision=opened.revision, action="e")
        assert ledger.work.get(item.id).work == {"n": 1}  # nothing lost


def test_the_worklist_filters_counts_sorts_and_pages(ledger_db):
    with JobLedger(ledger_db) as ledger:
        for n in range(30):
            ledger.work.record(
                _draft(
                    f"e{n:02d}",
                    reasons=("header-code", "no-coverage") if n % 3 == 0 else ("needs-coder",),
                    encounter_class="IMP" if n % 2 else "AMB",
                    service_date=f"2025-01-{n + 1:02d}",
                )
            )
        page = ledger.work.worklist(WorklistQuery(reason="header-code", per_page=4))
        assert page.total == 10
        assert page.pages == 3
        assert len(page.items) == 4
        assert page.by_reason == {"header-code": 10, "no-coverage": 10, "needs-coder": 20}
        imp = ledger.work.worklist(WorklistQuery(encounter_class="IMP", sort="service-desc"))
        assert imp.total == 15
        assert imp.items[0].service_date == "2025-01-30"
        ranged = ledger.work.worklist(
            WorklistQuery(service_from="2025-01-05", service_to="2025-01-07")
        )
        assert ranged.total == 3
        found = ledger.work.worklist(WorklistQuery(search="Patient/p-e07"))
        assert [i.encounter_id for i in found.items] == ["e07"]
        assert ledger.work.worklist(WorklistQuery(search="e1")).total == 10
        assert ledger.work.worklist(WorklistQuery(older_than_days=1)).total == 0


def test_a_denial_reopens_a_released_item_with_the_payers_codes(ledger_db):
    with JobLedger(ledger_db) as ledger:
        item = ledger.work.record(_draft("e1"))
        ledger.work.close(item.id, "ada", ItemState.RELEASED, revision=item.revision)
        denied = ledger.work.record_denial(
            "sb", "e1", claim_id="fc-1", reasons=["CARC:16", "RARC:N290"], detail={"paid": "0"}
        )
        assert denied.id == item.id
        assert denied.state is ItemState.OPEN
        assert denied.kind is ItemKind.DENIAL
        assert denied.reasons == ("denial",)
        assert denied.rules == ("CARC:16", "RARC:N290")
        assert denied.payload["denial"] == {"paid": "0"}
        fresh = ledger.work.record_denial(
            "sb", "e9", claim_id="fc-9", reasons=["CARC:50"], detail={}
        )
        assert fresh.kind is ItemKind.DENIAL
        assert ledger.work.worklist(WorklistQuery(reason="denial")).total == 2


def test_a_released_item_reopens_from_the_engines_lines_when_a_new_version_needs_a_person(
    tmp_path,
):
    with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
        item = ledger.work.record(_draft("e1"))
        ledger.work.lock(item.id, "ada")
        saved = ledger.work.save_work(item.id, "ada", {"n": 1}, revision=item.revision, action="e")
        ledger.work.close(item.id, "ada", ItemState.RELEASED, revision=saved.revision)
        again = ledger.work.record(_draft("e1", version="2"))
        assert (again.state, again.work, again.version) == (ItemState.OPEN, None, "2")
        assert ledger.work.events(item.id)[-1].action == "reopened"


def test_the_payer_filter_matches_a_part_of_the_name_in_any_case(tmp_path):
    with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
        ledger.work.record(_draft("e1", payer="Medicare (sandbox)"))
        ledger.work.record(_draft("e2", payer="Blue_Valley 100%"))
        assert [
            i.encounter_id for i in ledger.work.worklist(WorklistQuery(payer="medicare")).items
        ] == ["e1"]
        assert ledger.work.worklist(WorklistQuery(payer="_valley 100%")).total == 1
        literal = ledger.work.worklist(WorklistQuery(payer="%"))  # a percent sign, not "any"
        assert [i.encounter_id for i in literal.items] == ["e2"]
