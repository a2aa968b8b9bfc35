"""The server's clock, written as FHIR ``instant`` values (UTC, milliseconds)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache

__all__ = ["http_date", "now_instant"]


def now_instant() -> str:
    """Now, as a FHIR ``instant``: ``2026-01-31T09:30:00.123Z``.

    Formatted once per millisecond (a busy server asks several times in each one).
    """
    millis = time.time_ns() // 1_000_000
    cached = _last[0]
    if cached[0] != millis:
        seconds, rest = divmod(millis, 1000)
        moment = datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest * 1000)
        cached = (millis, moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
        _last[0] = cached
    return cached[1]


_last: list[tuple[int, str]] = [(-1, "")]


@lru_cache(maxsize=1024)
def http_date(instant: str) -> str:
    """A FHIR ``instant`` as an HTTP date, for ``Last-Modified`` (cached: reads repeat)."""
    moment = datetime.fromisoformat(instant).astimezone(UTC)
    return format_datetime(moment, usegmt=True)
