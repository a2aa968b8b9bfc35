"""The port through which the core asks for code-set facts; ``codesets`` implements it.

The core never loads a code set itself: it is handed something that satisfies
:class:`CodeSetPort`, so tests can pass a small table and production the compiled index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

__all__ = ["CodeInfo", "CodeSetPort"]


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """What a code set says about one code on one date.

    ``valid`` is whether the code exists in the release in force on that date (headers
    such as ``E11`` are valid but not ``billable``). ``billable_children`` lists, for a
    header, the billable codes below it, for suggested fixes. ``release`` names the
    release consulted (``ICD-10-CM FY2026``), so each coded line can record it.
    """

    system: str
    code: str
    valid: bool
    billable: bool
    description: str
    release: str
    billable_children: tuple[str, ...] = ()
    needs_seventh_character: bool = False


class CodeSetPort(Protocol):
    """Answers questions about codes for a system and a date of service."""

    def lookup(self, system: str, code: str, on: date) -> CodeInfo:
        """Facts about ``code`` of ``system`` on ``on``.

        ``code`` is normalised (dotless upper case for ICD-10-CM). An unknown code gives
        ``valid=False``; an unknown system raises ``UnknownCodeSystemError``; a date that no
        loaded release covers raises ``ReleaseNotAvailableError``.
        """
        ...
