"""Real parts for the X12 tests: the seeded sandbox coded by the pipeline, our parties, a ledger."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.claim_options import shared_grouper
from adapters.x12.ledger import SubmissionLedger
from adapters.x12.parties import X12Parties
from fhir_coder.claim import ClaimOptions
from fhir_coder.claim_parts import AccommodationRate, FeeSchedule

PARTIES = {
    "sender_id": "RIVERBEND",
    "receiver_id": "CLEARHOUSE",
    "submitter_name": "RIVERBEND COMMUNITY HOSPITAL",
    "submitter_id": "RIVERBEND01",
    "contact_name": "BILLING OFFICE",
    "contact_phone": "5555550100",
    "receiver_name": "SANDBOX CLEARINGHOUSE",
    "receiver_etin": "CLEARHOUSE",
    "billing_name": "RIVERBEND COMMUNITY HOSPITAL",
    "billing_npi": "1526018159",
    "billing_tax_id": "12-3456789",
    "billing_address": "1 RIVER RD",
    "billing_city": "RIVERTON",
    "billing_state": "OH",
    "billing_postal_code": "432150001",
}
"""The parties of a small hospital (the sandbox's own NPI), as its settings file would hold them."""


@pytest.fixture
def parties() -> X12Parties:
    return X12Parties(**PARTIES)


@pytest.fixture
def ledger(ledger_db):
    """The submission ledger on each backend: a SQLite file, then a PostgreSQL database."""
    with SubmissionLedger(ledger_db) as opened:
        yield opened


def chargemaster(code: str, modifiers: tuple[str, ...]) -> Decimal:
    """A test chargemaster: a price from the code's digits, so lines differ and totals add up."""
    digits = "".join(c for c in code if c.isdigit()) or "1"
    return Decimal(50 + int(digits) % 400).quantize(Decimal("0.01")) + (
        Decimal(10) if modifiers else Decimal(0)
    )


ROOMS = FeeSchedule(
    name="test-chargemaster.csv",
    accommodations=(
        AccommodationRate("0120", Decimal("1850.00")),  # the usual room: semi-private
        AccommodationRate("0200", Decimal("4200.00"), "Location/micu"),  # medical ICU
    ),
)
"""A hospital chargemaster's room rates, and no procedure: every ancillary is a finding."""


def with_rooms(**revenue_codes: tuple[str, Decimal]) -> ClaimOptions:
    """Claim options with :data:`ROOMS` and ``revenue_codes`` (code -> revenue, price)."""
    schedule = FeeSchedule(
        prices={(code, ""): price for code, (_, price) in revenue_codes.items()},
        name=ROOMS.name,
        revenue_codes={code: revenue for code, (revenue, _) in revenue_codes.items()},
        accommodations=ROOMS.accommodations,
    )
    return ClaimOptions(fee_schedule=schedule, drg=shared_grouper())
