"""Compiling the rows of CMS PTP files into a :class:`~codesets.ptp_table.PtpTable`.

A few million rows repeat a few tens of thousands of codes and a few hundred
combinations of dates, modifier indicator and rationale. So each distinct raw cell is
checked and converted once (memos keyed by the cell as read), a row costs a few dictionary
look-ups and one integer until :meth:`PtpTableBuilder.build`, which sorts each column-1
code's rows (CMS's own files come sorted, which Python's sort finishes in one pass).

Row layout (docs/codesets.md)::

    Column 1 | Column 2 | * = in existence prior to 1996 | Effective Date (CCYYMMDD)
    | Deletion Date (CCYYMMDD, * = none) | Modifier (0 not allowed, 1 allowed,
    9 not applicable) | PTP Edit Rationale

Rows whose first two cells are not codes (headings, notes) are skipped; an effective date
left blank is 1996-01-01.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Final, cast

from codesets.ncci_tables import CODE
from codesets.ptp_table import ModifierIndicator, PtpTable, PtpTerms, packed
from fhir_coder.errors import ConfigurationError
from fhir_coder.ports import Setting

__all__ = ["PtpTableBuilder"]

_BEFORE_1996: Final = date(1996, 1, 1)
# Rows are kept per column-1 code, each as one integer packing its column-2 number, its
# position among that code's rows and its terms number: sorting a code's rows then orders
# them by column 2 and keeps the rows of one pair in file order (the first in force answers).
# 32 bits hold any count of rows or terms a file of a few gigabytes can have.
_TERMS_BITS: Final = 32
_POSITION_BITS: Final = 32
_SECOND_SHIFT: Final = _POSITION_BITS + _TERMS_BITS
_TERMS_MASK: Final = (1 << _TERMS_BITS) - 1
_NOT_A_CODE: Final = -1


class PtpTableBuilder:
    """Collects the PTP rows of one setting, file after file, then builds the table."""

    def __init__(self, setting: Setting) -> None:
        self.setting: Final = setting
        self._numbers: dict[str, int] = {}
        self._codes: list[str] = []
        self._terms: dict[PtpTerms, int] = {}
        self._rows: list[list[int]] = []  # per column-1 number, its rows packed

    def add_rows(self, rows: Iterable[Sequence[str]], path: Path) -> int:
        """Add the edits among ``rows`` (cells as read from ``path``); how many there were."""
        numbers: dict[str, int] = {}  # raw cell -> code number, or _NOT_A_CODE
        terms: dict[tuple[str, ...], int] = {}  # raw cells 4 to 7 -> terms number
        by_first = self._rows
        before = sum(map(len, by_first))
        for row in rows:
            if len(row) < 6:
                continue
            first = numbers.get(row[0])
            if first is None:
                first = numbers[row[0]] = self._code_number(row[0])
            second = numbers.get(row[1])
            if second is None:
                second = numbers[row[1]] = self._code_number(row[1])
            if first < 0 or second < 0:
                continue
            cells = tuple(row[3:7])
            number = terms.get(cells)
            if number is None:
                number = terms[cells] = self._terms_number(_terms(cells, path))
            same_first = by_first[first]
            same_first.append((second << _POSITION_BITS | len(same_first)) << _TERMS_BITS | number)
        return sum(map(len, by_first)) - before

    def build(self) -> PtpTable:
        """The table of every row added (the builder is emptied)."""
        by_first, self._rows = self._rows, []
        starts = [0]
        column2: list[int] = []
        terms_of: list[int] = []
        for rows in by_first:
            rows.sort()
            column2 += [row >> _SECOND_SHIFT for row in rows]
            terms_of += [row & _TERMS_MASK for row in rows]
            starts.append(len(column2))
            rows.clear()
        return PtpTable(
            self.setting,
            self._codes,
            packed(starts),
            packed(column2),
            packed(terms_of),
            list(self._terms),
        )

    def _code_number(self, cell: str) -> int:
        code = cell.strip()
        if not CODE.fullmatch(code):
            return _NOT_A_CODE
        found = self._numbers.get(code)
        if found is None:
            found = self._numbers[code] = len(self._codes)
            self._codes.append(code)
            self._rows.append([])
        return found

    def _terms_number(self, terms: PtpTerms) -> int:
        found = self._terms.get(terms)
        if found is None:
            found = self._terms[terms] = len(self._terms)
        return found


def _terms(cells: tuple[str, ...], path: Path) -> PtpTerms:
    effective, deleted, modifier = (cell.strip() for cell in cells[:3])
    if modifier not in ("0", "1", "9"):
        raise ConfigurationError(f"{path}: modifier indicator {modifier!r} is not 0/1/9")
    return PtpTerms(
        modifier_indicator=cast("ModifierIndicator", modifier),
        effective=_date(effective, path) or _BEFORE_1996,
        deleted=_date(deleted, path),
        rationale=cells[3].strip() if len(cells) > 3 else "",
    )


def _date(text: str, path: Path) -> date | None:
    if not text or text == "*":
        return None
    if not (len(text) == 8 and text.isdigit()):
        raise ConfigurationError(f"{path}: {text!r} is not a CCYYMMDD date")
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
