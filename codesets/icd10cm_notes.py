"""ICD-10-CM instructional notes: excludes, code first, use additional code, inclusion terms.

They are needed by the claim edits (Excludes1 pairs, etiology/manifestation order) but
not by a validity lookup, so they live in their own cache file, read the first time
someone asks. A note written at a category, section or chapter applies to every code
below it; :meth:`Icd10cmNotes.describe` returns the code's own notes first and then
those it inherits, each saying where it is written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast

from codesets.cache import CorruptCacheError, read_payload

__all__ = ["NOTES_FORMAT", "CodeDescription", "Icd10cmNotes", "Note", "Notes"]

Notes = dict[str, tuple[str, ...]]
"""Note kind (``excludes1``...) -> texts, as written at one code, section or chapter."""

NOTES_FORMAT: Final = 1


@dataclass(frozen=True, slots=True)
class Note:
    """One instructional note: its ``kind`` (``excludes1``...), text, and where it is written.

    ``source`` is a dotless code (``E11``), a section (``E08-E13``) or a chapter number.
    """

    kind: str
    text: str
    source: str


@dataclass(frozen=True, slots=True)
class CodeDescription:
    """Everything the tabular says about one code, independent of dates."""

    system: str
    code: str
    description: str
    billable: bool
    parent: str | None
    children: tuple[str, ...]
    section: str
    chapter: str
    notes: tuple[Note, ...]
    """The code's own notes, then its ancestors', its section's and its chapter's."""
    seventh_characters: tuple[tuple[str, str], ...]
    """The ``(character, meaning)`` pairs that apply below or at this code, if any."""

    def notes_of(self, kind: str) -> tuple[Note, ...]:
        """The notes of one kind (``excludes1``, ``code_first``...)."""
        return tuple(note for note in self.notes if note.kind == kind)


class Icd10cmNotes:
    """The loaded notes file."""

    __slots__ = ("_codes", "_groupings", "_sections", "_seventh")

    def __init__(self, payload: Mapping[str, object]) -> None:
        self._codes = cast("dict[str, Notes]", payload["codes"])
        self._seventh = cast("dict[str, tuple[tuple[str, str], ...]]", payload["seventh"])
        self._sections = cast("dict[str, str]", payload["sections"])
        self._groupings = cast(
            "dict[str, tuple[str, str | None, Notes | None]]", payload["groupings"]
        )

    @classmethod
    def read(cls, path: Path, key: str) -> Icd10cmNotes | None:
        """The notes stored at ``path`` for cache ``key``, or None if absent or untrustworthy."""
        try:
            payload = read_payload(path)
        except (OSError, CorruptCacheError):  # missing, unreadable or damaged
            return None
        if not (
            isinstance(payload, dict)
            and payload.get("format") == NOTES_FORMAT
            and payload.get("key") == key
        ):
            return None
        return cls(payload)

    def notes_for(self, lineage: tuple[str, ...]) -> tuple[tuple[Note, ...], str, str]:
        """Notes along ``lineage`` (the code, then its ancestors up to its category).

        Returns the notes, the section key and the chapter key.
        """
        notes: list[Note] = []
        for code in lineage:
            notes.extend(_flatten(self._codes.get(code), code))
        section = self._sections.get(lineage[-1], "") if lineage else ""
        chapter = ""
        if section in self._groupings:
            _, parent, section_notes = self._groupings[section]
            notes.extend(_flatten(section_notes, section))
            chapter = parent or ""
            if chapter in self._groupings:
                notes.extend(_flatten(self._groupings[chapter][2], chapter))
        return tuple(notes), section, chapter

    def inclusion_terms(self) -> Iterator[tuple[str, str]]:
        """Every ``(code, inclusion term)`` of the tabular, for the word search."""
        for code, notes in self._codes.items():
            for text in notes.get("inclusion_term", ()):
                yield code, text

    def seventh_for(self, lineage: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        """The nearest 7th-character definition along ``lineage``, or ``()``."""
        for code in lineage:
            found = self._seventh.get(code)
            if found:
                return found
        return ()


def _flatten(notes: Notes | None, source: str) -> list[Note]:
    if not notes:
        return []
    return [Note(kind, text, source) for kind, texts in notes.items() for text in texts]
