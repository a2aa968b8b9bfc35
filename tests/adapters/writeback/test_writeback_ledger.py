"""The claim ledger and the fee schedule file: the local state and configuration of write-back.

The ledger tests taking ``ledger_db`` run on SQLite and on PostgreSQL (``tests/postgres.py``).
"""

import sqlite3
import threading
from decimal import Decimal

import pytest

from adapters.claim_options import load_fee_schedule
from adapters.writeback.claim_ledger import ClaimLedger, LedgerEntry, ReservationLostError
from fhir_coder.errors import ConfigurationError
from tests.adapters.writeback_claims import coded_visit


def test_a_reservation_keeps_a_second_run_out_until_it_ends(ledger_db):
    path = ledger_db
    with ClaimLedger(path) as one, ClaimLedger(path) as two:
        mine = one.reserve("dest", "fc-1")
        assert mine.entry == LedgerEntry("fc-1")
        assert two.reserve("dest", "fc-1") is None  # busy
        assert two.reserve("elsewhere", "fc-1") is not None  # another destination
        one.record(
            "dest", LedgerEntry("fc-1", "fc-1", "fc-1", "1", "abc", written=True), mine.fence
        )
        seen = two.reserve("dest", "fc-1")
        assert seen is not None
        assert (seen.entry.version, seen.entry.content_hash, seen.entry.written) == (
            "1",
            "abc",
            True,
        )


def test_a_lapsed_reservation_taken_over_cannot_be_recorded_or_released_by_its_old_owner(
    ledger_db,
):
    path = ledger_db
    with ClaimLedger(path, lease_seconds=-1) as slow, ClaimLedger(path) as rival:
        first = slow.reserve("dest", "fc-1")  # lapses at once
        second = rival.reserve("dest", "fc-1")
        assert second is not None
        assert second.fence > first.fence
        assert not slow.release("dest", "fc-1", first.fence)  # the rival's lease stands
        assert rival.reserve("dest", "fc-1") is None
        assert not slow.renew("dest", "fc-1", first.fence)
        late = LedgerEntry("fc-1", "fc-1", "fc-1", "7", "old", written=True)
        with pytest.raises(ReservationLostError, match="taken over"):
            slow.record("dest", late, first.fence)
        assert slow.entry("dest", "fc-1") is None  # nothing recorded over the rival
        rival.record(
            "dest", LedgerEntry("fc-1", "fc-1", "fc-1", "8", "new", written=True), second.fence
        )
        assert rival.entry("dest", "fc-1").version == "8"


def test_renewing_keeps_a_reservation_past_its_first_lease(ledger_db):
    with ClaimLedger(ledger_db, lease_seconds=60) as ledger:
        held = ledger.reserve("dest", "fc-1")
        ledger.lease_seconds = -1
        assert ledger.renew("dest", "fc-1", held.fence)  # now lapsed...
        assert ledger.reserve("dest", "fc-1") is not None  # ...so another may take it
        ledger.lease_seconds = 60
        assert not ledger.renew("dest", "fc-1", held.fence)  # and the first owner lost it


def test_a_ledger_file_from_before_owners_gains_the_fence_column(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE claims (destination TEXT NOT NULL, encounter_key TEXT NOT NULL,"
            " claim_id TEXT NOT NULL DEFAULT '', server_id TEXT NOT NULL DEFAULT '',"
            " version TEXT NOT NULL DEFAULT '', content_hash TEXT NOT NULL DEFAULT '',"
            " revision INTEGER NOT NULL DEFAULT 0, submitted INTEGER NOT NULL DEFAULT 0,"
            " task_open INTEGER NOT NULL DEFAULT 0, written INTEGER NOT NULL DEFAULT 0,"
            " replaces TEXT NOT NULL DEFAULT '', lease_until REAL NOT NULL DEFAULT 0,"
            " PRIMARY KEY (destination, encounter_key))"
        )
        db.execute(
            "INSERT INTO claims (destination, encounter_key, claim_id, version, written)"
            " VALUES ('dest', 'fc-1', 'fc-1', '3', 1)"
        )
    with ClaimLedger(path) as ledger:
        held = ledger.reserve("dest", "fc-1")
        assert held.entry.version == "3"
        assert held.fence == 1


def test_an_expired_reservation_does_not_block(ledger_db):
    with ClaimLedger(ledger_db, lease_seconds=-1) as ledger:
        assert ledger.reserve("dest", "fc-1") is not None
        assert ledger.reserve("dest", "fc-1") is not None


def test_racing_reservations_on_many_connections_let_one_run_write(ledger_db):
    """Runs on several machines reserving the same encounter: exactly one gets it."""
    won: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def reserve():
        with ClaimLedger(ledger_db) as own:
            barrier.wait()
            got = own.reserve("dest", "fc-1") is not None
            with lock:
                won.append(got)

    threads = [threading.Thread(target=reserve) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won) == [False] * 5 + [True]


def test_only_a_written_claim_can_be_marked_submitted(ledger_db):
    for target in (None, ledger_db):  # in memory, then in the file or database
        with ClaimLedger(target) as ledger:
            assert not ledger.mark_submitted("dest", "fc-1")
            held = ledger.reserve("dest", "fc-1")
            entry = LedgerEntry("fc-1", "fc-1", "fc-1", "1", "abc", written=True)
            ledger.record("dest", entry, held.fence)
            assert ledger.mark_submitted("dest", "fc-1")
            assert ledger.entry("dest", "fc-1").submitted


def test_fee_schedule_reads_codes_modifiers_and_prices(tmp_path):
    path = tmp_path / "fees.csv"
    path.write_text("code,modifier,price\n99213,,95.10\n99213,25,99.00\n")
    fees = load_fee_schedule(path)
    line = coded_visit("fees", 1).procedures[0]
    assert fees.price(line) == Decimal("95.10")
    assert fees.price(type(line)(**{**_fields(line), "modifiers": ("25",)})) == Decimal("99.00")
    assert fees.currency == "USD"


def _fields(line):
    return {name: getattr(line, name) for name in line.__slots__}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("code,price\n99213,1\n", "missing: modifier"),
        ("code,modifier,price\n99213,,abc\n", "line 2"),
        ("code,modifier,price\n99213,,-4\n", "line 2"),
        ("code,modifier,price,currency\n1,,1,USD\n2,,1,EUR\n", "mixes currencies"),
    ],
)
def test_a_bad_fee_schedule_names_what_is_wrong(tmp_path, text, says):
    path = tmp_path / "fees.csv"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=says):
        load_fee_schedule(path)


def test_the_encounter_version_a_claim_was_coded_from_is_kept(ledger_db):
    with ClaimLedger(ledger_db) as ledger:
        held = ledger.reserve("dest", "fc-9")
        entry = LedgerEntry("fc-9", "fc-9", "fc-9", "2", "abc", written=True, source_version="7")
        ledger.record("dest", entry, held.fence)
        assert ledger.entry("dest", "fc-9").source_version == "7"
        assert ledger.reserve("dest", "fc-9").entry.source_version == "7"
