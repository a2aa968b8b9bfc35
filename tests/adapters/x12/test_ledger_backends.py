"""The submission ledger on SQLite and PostgreSQL: one contract, and machines that share it.

Each "machine" is a ledger object of its own (its own connections), in a thread: two of
them submitting the same Claims at the same moment send each Claim in one interchange and
mark it submitted once.
"""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from adapters.writeback.claim_ledger import ClaimLedger
from adapters.x12 import submit
from adapters.x12.handoff import OutboxHandoff
from adapters.x12.ledger import SubmissionLedger
from adapters.x12.submit import submit_837
from fhir_coder.errors import ConfigurationError
from tests.adapters.x12.conftest import chargemaster
from tests.adapters.x12.golden_claims import golden_source
from tests.postgres import drop_database, fresh_database


class CountingClaimLedger(ClaimLedger):
    """The Claim ledger, counting ``mark_submitted`` calls per Claim."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.marked: list[str] = []
        self._guard = threading.Lock()

    def mark_submitted(self, destination, encounter_key):
        with self._guard:
            self.marked.append(encounter_key)
        return super().mark_submitted(destination, encounter_key)


def _claims_target(ledger_db, tmp_path):
    return ledger_db if isinstance(ledger_db, str) else tmp_path / "claims.sqlite3"


def test_two_machines_submitting_the_same_claims_send_each_once(
    ledger_db, parties, tmp_path, monkeypatch
):
    source = golden_source("emergency_visit", "inpatient_stay")
    both_looked = threading.Barrier(2, timeout=30)
    real_ready = submit._ready

    def ready_then_wait(*args):  # both machines see every Claim unsent before either takes one
        found = real_ready(*args)
        both_looked.wait()
        return found

    monkeypatch.setattr(submit, "_ready", ready_then_wait)
    claims = CountingClaimLedger(_claims_target(ledger_db, tmp_path))
    machines = [SubmissionLedger(ledger_db), SubmissionLedger(ledger_db)]
    outboxes = [tmp_path / "outbox-a", tmp_path / "outbox-b"]

    def run(index):
        return submit_837(
            golden_source("emergency_visit", "inpatient_stay"),
            parties,
            machines[index],
            OutboxHandoff(outboxes[index], parties.sender_id),
            claim_ledger=claims,
            price=chargemaster,
        )

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(run, range(2)))
    ids = sorted(claim["id"] for claim in source.claims)
    sent = sorted(f.claim_id for report in reports for f in report.sent)
    assert sent == ids  # each Claim sent, by one machine
    # ... and found taken by the other, which had looked and seen it unsent
    assert sorted(k for report in reports for k in report.already_sent) == ids
    files = sorted(p.name for folder in outboxes if folder.exists() for p in folder.iterdir())
    assert len(files) == len({r.interchange for r in reports if r.sent})
    assert sorted(claims.marked) == ids  # marked submitted once each
    with machines[0].read() as db:
        statuses = db.all("SELECT claim_id, status, interchange FROM submissions")
    assert sorted(row[1] for row in statuses) == ["submitted", "submitted"]
    for claim_id in ids:  # one "submitted" step each
        assert [e.status for e in machines[1].history(claim_id)] == ["submitted"]
    for machine in machines:
        machine.close()
    claims.close()


def test_interchange_numbers_are_never_handed_out_twice_across_machines(ledger_db):
    machines = [SubmissionLedger(ledger_db), SubmissionLedger(ledger_db)]
    with ThreadPoolExecutor(2) as pool:
        taken = list(pool.map(lambda m: [m.next_control_number() for _ in range(40)], machines))
    numbers = [n for batch in taken for n in batch]
    assert sorted(numbers) == list(range(1, 81))
    for machine in machines:
        machine.close()


def test_a_ledger_file_from_before_migrations_keeps_its_rows_and_gains_the_new_tables(
    tmp_path,
):
    path = tmp_path / "x12.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        (submit.Path(submit.__file__).parent / "schema" / "sqlite" / "001_x12.sql").read_text()
    )
    old.execute(
        "INSERT INTO submissions (claim_id, pcn, base_id, destination, kind, frequency, charge,"
        " interchange, status, submitted_at) VALUES ('c1', 'P1', 'c1', 'd', 'professional',"
        " '1', '10.00', 7, 'submitted', 0)"
    )
    old.execute("INSERT INTO counters VALUES ('interchange', 7)")
    old.commit()
    old.close()
    with SubmissionLedger(path) as ledger:
        assert ledger.submission("c1").status == "submitted"
        assert ledger.count("interchanges") == 0  # migration 002 applied
        assert ledger.next_control_number() == 8


def test_a_postgresql_database_not_migrated_is_refused_with_the_command_to_run(postgres_server):
    url = fresh_database(postgres_server)
    try:
        with pytest.raises(ConfigurationError, match="jobs migrate"):
            SubmissionLedger(url)
        assert SubmissionLedger.migrate(url) == ["001_x12", "002_handoff"]
        with SubmissionLedger(url) as ledger:
            assert ledger.next_control_number() == 1
    finally:
        drop_database(postgres_server, url)


def test_one_835_read_on_two_machines_at_once_is_recorded_once(ledger_db, parties, tmp_path):
    from adapters.x12.intake import record_x12_text  # noqa: PLC0415
    from adapters.x12.submit import write_837  # noqa: PLC0415
    from tests.adapters.x12.test_intake import hand_made  # noqa: PLC0415

    machines = [SubmissionLedger(ledger_db), SubmissionLedger(ledger_db)]
    sent = write_837(
        golden_source("emergency_visit"),
        parties,
        machines[0],
        out=tmp_path / "a.837",
        price=chargemaster,
    )
    era = hand_made(sent.sent[0].pcn)
    start = threading.Barrier(2, timeout=30)

    def read(machine):
        start.wait()
        return record_x12_text(era, machine, source="era.835")

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(read, machines))
    assert sorted(r.already_recorded for r in reports) == [False, True]
    recorded = next(r for r in reports if not r.already_recorded)
    claim_id = sent.sent[0].claim_id
    assert len(machines[1].remit_lines(claim_id)) == recorded.lines_recorded > 0
    # the file reverses the claim and pays it anew: two steps, once each
    assert [e.status for e in machines[0].history(claim_id)] == [
        "submitted",
        "reversed",
        "partially-paid",
    ]
    for machine in machines:
        machine.close()
