"""One setting's NCCI procedure-to-procedure edits, held in a few flat arrays.

CMS's practitioner and hospital tables hold millions of rows over a few tens of thousands
of codes, and almost every row repeats the same few hundred combinations of effective
date, deletion date, modifier indicator and rationale. So a row is kept as two small
integers and nothing else:

- every code gets a number once (``codes``, ``numbers``);
- rows are grouped by their column-1 code: those of code number ``n`` are the positions
  ``starts[n]`` to ``starts[n + 1]``, sorted by column-2 number (bisected), rows of the same
  pair in the order of the files, since the first one in force answers;
- ``column2[i]`` is row ``i``'s column-2 number and ``terms_of[i]`` the number of its
  :class:`PtpTerms` in ``terms``, each distinct combination stored once.

Three to eight bytes a row (two or four per number, by how many codes and terms there
are) instead of a dataclass, its strings and a dict entry (~700 bytes), and no Python
object a row, so the garbage collector has nothing to walk. The arrays also
serialise as plain bytes (:meth:`PtpTable.payload`) for the compiled cache.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal, cast

from fhir_coder.ports import PtpEdit, Setting

__all__ = ["ModifierIndicator", "PtpTable", "PtpTerms", "packed"]

ModifierIndicator = Literal["0", "1", "9"]

_TYPECODES: Final = ("B", "H", "I", "Q")
_MADE_LIMIT: Final = 16_384
"""Edits answered are kept by row (a claim's pairs recur), at most this many (~2 MiB)."""


@dataclass(frozen=True, slots=True)
class PtpTerms:
    """What a PTP row says besides its two codes; rows share equal terms."""

    modifier_indicator: ModifierIndicator
    effective: date
    deleted: date | None
    rationale: str


def _typecode_for(largest: int) -> str:
    """The smallest unsigned ``array`` typecode that holds ``largest``."""
    for typecode in _TYPECODES:
        if largest < 1 << (8 * array(typecode).itemsize):
            return typecode
    raise OverflowError(f"{largest} does not fit in 64 bits")


def packed(values: list[int]) -> array[int]:
    """``values`` (not negative) in the narrowest unsigned array that holds them."""
    return array(_typecode_for(max(values, default=0)), values)


class PtpTable:
    """The PTP edits of one setting: the answers of :meth:`edit`, in flat arrays."""

    __slots__ = (
        "_column2",
        "_made",
        "_numbers",
        "_starts",
        "_terms",
        "_terms_of",
        "codes",
        "setting",
    )

    def __init__(
        self,
        setting: Setting,
        codes: list[str],
        starts: array[int],
        column2: array[int],
        terms_of: array[int],
        terms: list[PtpTerms],
    ) -> None:
        if len(starts) != len(codes) + 1 or not len(column2) == len(terms_of) == starts[-1]:
            raise ValueError("the PTP arrays do not agree in length")
        self.setting: Final = setting
        self.codes: Final = codes
        self._numbers = {code: number for number, code in enumerate(codes)}
        self._starts = starts
        self._column2 = column2
        self._terms_of = terms_of
        self._terms = terms
        self._made: dict[int, PtpEdit] = {}

    def __len__(self) -> int:
        """Number of rows (edits over all dates)."""
        return len(self._column2)

    def edit(self, column1: str, column2: str, on: date) -> PtpEdit | None:
        """The first row of the pair in force on ``on`` (codes already stripped, upper case)."""
        first = self._numbers.get(column1)
        if first is None:
            return None
        second = self._numbers.get(column2)
        if second is None:
            return None
        stop = self._starts[first + 1]
        at = bisect_left(self._column2, second, self._starts[first], stop)
        while at < stop and self._column2[at] == second:
            terms = self._terms[self._terms_of[at]]
            if terms.effective <= on and (terms.deleted is None or on <= terms.deleted):
                made = self._made.get(at)
                return made if made is not None else self._remember(at, column1, column2, terms)
            at += 1
        return None

    def _remember(self, at: int, column1: str, column2: str, terms: PtpTerms) -> PtpEdit:
        made = PtpEdit(
            column1=column1,
            column2=column2,
            modifier_indicator=terms.modifier_indicator,
            effective=terms.effective,
            deleted=terms.deleted,
            rationale=terms.rationale,
            setting=self.setting,
        )
        if len(self._made) >= _MADE_LIMIT:
            self._made.clear()
        self._made[at] = made
        return made

    def payload(self) -> dict[str, object]:
        """The table as ``marshal``-able data (arrays as typecode and bytes)."""
        return {
            "codes": self.codes,
            "starts": (self._starts.typecode, self._starts.tobytes()),
            "column2": (self._column2.typecode, self._column2.tobytes()),
            "terms_of": (self._terms_of.typecode, self._terms_of.tobytes()),
            "terms": [
                (
                    t.modifier_indicator,
                    t.effective.toordinal(),
                    t.deleted.toordinal() if t.deleted else 0,
                    t.rationale,
                )
                for t in self._terms
            ],
        }

    @classmethod
    def from_payload(cls, setting: Setting, payload: dict[str, object]) -> PtpTable:
        """The table :meth:`payload` wrote; ``ValueError``/``TypeError`` if it is not one."""
        codes = payload["codes"]
        if not (isinstance(codes, list) and all(isinstance(code, str) for code in codes)):
            raise TypeError("codes is not a list of strings")
        terms: list[PtpTerms] = []
        for modifier, effective, deleted, rationale in cast(
            "list[tuple[str, int, int, str]]", payload["terms"]
        ):
            if modifier not in ("0", "1", "9") or not isinstance(rationale, str):
                raise ValueError(f"PTP terms {modifier!r}, {rationale!r}")
            terms.append(
                PtpTerms(
                    modifier_indicator=cast("ModifierIndicator", modifier),
                    effective=date.fromordinal(effective),
                    deleted=date.fromordinal(deleted) if deleted else None,
                    rationale=rationale,
                )
            )
        return cls(
            setting,
            codes,
            _unpacked(payload["starts"]),
            _unpacked(payload["column2"]),
            _unpacked(payload["terms_of"]),
            terms,
        )


def _unpacked(stored: object) -> array[int]:
    """The array :meth:`PtpTable.payload` stored as (typecode, bytes)."""
    if not (
        isinstance(stored, tuple)
        and len(stored) == 2
        and stored[0] in _TYPECODES
        and isinstance(stored[1], bytes)
    ):
        raise TypeError("not a stored array")
    column = array(stored[0])
    column.frombytes(stored[1])
    return column
