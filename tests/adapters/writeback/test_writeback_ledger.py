"""The claim ledger and the fee schedule file: the local state and configuration of write-back."""

from decimal import Decimal

import pytest

from adapters.claim_options import load_fee_schedule
from adapters.writeback.claim_ledger import ClaimLedger, LedgerEntry
from fhir_coder.errors import ConfigurationError
from tests.adapters.writeback_claims import coded_visit


def test_a_reservation_keeps_a_second_run_out_until_it_ends(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    with ClaimLedger(path) as one, ClaimLedger(path) as two:
        assert one.reserve("dest", "fc-1") == LedgerEntry("fc-1")
        assert two.reserve("dest", "fc-1") is None  # busy
        assert two.reserve("elsewhere", "fc-1") is not None  # another destination
        one.record("dest", LedgerEntry("fc-1", "fc-1", "fc-1", "1", "abc", written=True))
        seen = two.reserve("dest", "fc-1")
        assert seen is not None
        assert (seen.version, seen.content_hash, seen.written) == ("1", "abc", True)


def test_an_expired_reservation_does_not_block(tmp_path):
    with ClaimLedger(tmp_path / "l.sqlite3", lease_seconds=-1) as ledger:
        assert ledger.reserve("dest", "fc-1") is not None
        assert ledger.reserve("dest", "fc-1") is not None


def test_only_a_written_claim_can_be_marked_submitted():
    with ClaimLedger() as ledger:
        assert not ledger.mark_submitted("dest", "fc-1")
        ledger.reserve("dest", "fc-1")
        ledger.record("dest", LedgerEntry("fc-1", "fc-1", "fc-1", "1", "abc", written=True))
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
