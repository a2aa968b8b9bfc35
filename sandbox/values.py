"""Date and string search values, normalised so SQLite can compare them as plain text.

A FHIR date, dateTime or instant is a range at its precision (``1970`` is the whole year);
both ends become UTC instants in one fixed-width form, ``1970-01-01T00:00:00.000Z``, so
text order is time order. Values without a time zone are taken as UTC. Strings are
matched case- and accent-insensitively, so they are indexed folded.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import lru_cache

__all__ = ["DATE_PREFIXES", "date_range", "fold", "split_prefix"]

DATE_PREFIXES = frozenset({"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"})

_DATE = re.compile(
    r"(?P<year>[0-9]{4})(?:-(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2})"
    r"(?:T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?P<fraction>\.[0-9]+)?)?"
    r"(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?"
)


def _text(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _zone(text: str | None) -> timedelta:
    if not text or text == "Z":
        return timedelta(0)
    sign = -1 if text[0] == "-" else 1
    return sign * timedelta(hours=int(text[1:3]), minutes=int(text[4:6]))


@lru_cache(maxsize=4096)
def date_range(value: str) -> tuple[str, str] | None:
    """The ``(low, high)`` instants a FHIR date/dateTime/instant covers; None if malformed.

    Cached: the same dates (birth dates, today's instants) come back on many writes.
    """
    match = _DATE.fullmatch(value.strip())
    if match is None:
        return None
    parts = match.groupdict()
    try:
        year = int(parts["year"])
        if parts["month"] is None:
            low = datetime(year, 1, 1, tzinfo=UTC)
            high = datetime(year + 1, 1, 1, tzinfo=UTC)
        elif parts["day"] is None:
            month = int(parts["month"])
            low = datetime(year, month, 1, tzinfo=UTC)
            high = low + timedelta(days=calendar.monthrange(year, month)[1])
        elif parts["hour"] is None:
            low = datetime(year, int(parts["month"]), int(parts["day"]), tzinfo=UTC)
            high = low + timedelta(days=1)
        else:
            low = datetime(
                year,
                int(parts["month"]),
                int(parts["day"]),
                int(parts["hour"]),
                int(parts["minute"]),
                int(parts["second"] or 0),
                int(float(parts["fraction"] or 0) * 1_000_000),
                tzinfo=UTC,
            ) - _zone(parts["zone"])
            step = timedelta(seconds=1) if parts["second"] is not None else timedelta(minutes=1)
            if parts["fraction"]:
                step = timedelta(milliseconds=1)
            high = low + step
    except ValueError:
        return None
    return _text(low), _text(high - timedelta(milliseconds=1))


def split_prefix(value: str) -> tuple[str, str]:
    """``("ge", "2020-01-01")`` from ``ge2020-01-01``; the prefix defaults to ``eq``."""
    if len(value) > 2 and value[:2] in DATE_PREFIXES and not value[:2].isdigit():
        return value[:2], value[2:]
    return "eq", value


def fold(text: str) -> str:
    """``text`` lower-cased without accents: how string search compares by default."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
