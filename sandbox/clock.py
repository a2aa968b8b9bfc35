"""The server's clock, written as FHIR ``instant`` values (UTC, milliseconds)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

__all__ = ["http_date", "now_instant"]


def now_instant() -> str:
    """Now, as a FHIR ``instant``: ``2026-01-31T09:30:00.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def http_date(instant: str) -> str:
    """A FHIR ``instant`` as an HTTP date, for ``Last-Modified``."""
    moment = datetime.fromisoformat(instant).astimezone(UTC)
    return format_datetime(moment, usegmt=True)
