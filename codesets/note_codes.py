"""Turn the tabular's notes into :class:`fhir_coder.ports.CodeNote` values, codes parsed out.

The tabular writes the codes a note names inside its text, in parentheses, in the dotted
form people read: ``type 1 diabetes mellitus (E10.-)``, ``(E08-E13)``, ``(O24.4-)``,
``(E11.0- E11.9)``. The claim edits need them as data (an Excludes1 pair is two codes on
one claim), so they are read here once per note: dotless, a trailing ``.-`` or ``-``
dropped (``E10`` then means the category and everything below it), a range kept as
``first-last`` (``E08-E13``). Text that names no code gives a note with no codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from codesets.icd10cm_notes import Note
from fhir_coder.ports import CodeNote, NoteKind

__all__ = ["KIND_OF", "codes_named", "to_code_notes"]

KIND_OF: Final[dict[str, NoteKind]] = {
    "excludes1": "excludes1",
    "excludes2": "excludes2",
    "code_first": "code_first",
    "use_additional_code": "use_additional",
    "code_also": "code_also",
    "includes": "includes",
    "inclusion_term": "inclusion",
}
"""Note kinds of :mod:`codesets.icd10cm_source` -> the port's kinds. Free-standing notes
and 7th-character notes have no port kind: the 7th characters are in ``describe``."""

_CODE: Final = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{0,4})?"
_NAMED: Final = re.compile(rf"\b({_CODE})(?:\s*-\s*({_CODE})\b)?")


def codes_named(text: str) -> tuple[str, ...]:
    """The codes and ranges ``text`` names, dotless, in order, without repeats."""
    found: list[str] = []
    for first, last in _NAMED.findall(text):
        code = _dotless(first)
        if last:
            code = f"{code}-{_dotless(last)}"
        if code not in found:
            found.append(code)
    return tuple(found)


def to_code_notes(notes: Iterable[Note]) -> tuple[CodeNote, ...]:
    """The notes the port knows a kind for, each with the codes its text names."""
    return tuple(
        CodeNote(
            kind=KIND_OF[note.kind],
            text=note.text,
            codes=codes_named(note.text),
            written_at=note.source,
        )
        for note in notes
        if note.kind in KIND_OF
    )


def _dotless(code: str) -> str:
    return code.replace(".", "")
