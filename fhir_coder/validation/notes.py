"""Edits from the tabular's instructional notes: Excludes1 pairs, code first, use additional.

Notes come through :class:`fhir_coder.ports.CodeNotesPort`, each naming the codes or ranges
its text mentions (``E08``, ``P70-P74``); a code on the claim matches a named code when it
starts with it, or falls in the range. Excludes1 is a warning, not an error: the 2018
guidelines allow both codes when the conditions are unrelated. A note group whose heading
says "if applicable", "if known" or "any associated" is optional and only its sequencing
is checked.

Each code's notes are compiled once into :class:`CompiledNotes` (a scrubber keeps them in a
memo): asking the port and reading the note texts costs more than every other edit of a
claim together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from fhir_coder.errors import CodeSetError
from fhir_coder.outcome import Issue
from fhir_coder.ports import CodeNote, CodeNotesPort
from fhir_coder.systems import ICD10CM, display_icd10cm, normalise_icd10cm
from fhir_coder.validation._finding import finding
from fhir_coder.validation.form import DiagnosisEntry

__all__ = ["CompiledNotes", "compile_notes", "matches", "note_edits"]

_OPTIONAL: Final = ("if applicable", "if known", "any associated", "if present")
_MEMO_LIMIT: Final = 20_000
_PAIR_LIMIT: Final = 1_000
_SHOWN: Final = 6

Named = tuple[str, str]
"""A named code as the bounds of the prefixes it covers: ``E08`` -> (E08, E08)."""


def _named(text: str) -> Named:
    text = text.rstrip("-")
    low, _, high = text.partition("-")
    return (low, high or low)


def _in(code: str, named: Named) -> bool:
    low, high = named
    return low <= code[: len(low)] and code[: len(high)] <= high


def matches(code: str, named: str) -> bool:
    """Whether dotless ``code`` is ``named`` (a code, a category or a range ``A00-B99``)."""
    return _in(code, _named(named))


def _any(code: str, named: Iterable[Named]) -> bool:
    return any(_in(code, one) for one in named)


@dataclass(frozen=True, slots=True)
class CompiledNotes:
    """One code's notes, ready for pairing with the other codes of a claim."""

    excludes1: tuple[tuple[Named, str], ...]
    code_first: tuple[Named, ...]
    code_first_shown: str
    code_first_heading: str
    code_first_optional: bool
    use_additional: tuple[Named, ...]
    use_additional_shown: str
    use_additional_optional: bool
    _seen: dict[str, tuple[str | None, bool, bool]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def against(self, other: str) -> tuple[str | None, bool, bool]:
        """What this code's notes say of ``other``: (Excludes1 text, code first, use additional).

        The Excludes1 text is None when no Excludes1 note names ``other``. Answers are kept
        per other code: the same pairs come back claim after claim.
        """
        found = self._seen.get(other)
        if found is None:
            excluded = next((text for named, text in self.excludes1 if _in(other, named)), None)
            found = (excluded, _any(other, self.code_first), _any(other, self.use_additional))
            if len(self._seen) > _PAIR_LIMIT:
                self._seen.clear()
            self._seen[other] = found
        return found


def compile_notes(notes: tuple[CodeNote, ...]) -> CompiledNotes:
    """The notes of one code, compiled."""

    def group(kind: str) -> list[CodeNote]:
        return [note for note in notes if note.kind == kind]

    first, additional = group("code_first"), group("use_additional")
    return CompiledNotes(
        excludes1=tuple(
            (_named(code), note.text) for note in group("excludes1") for code in note.codes
        ),
        code_first=tuple(_named(code) for note in first for code in note.codes),
        code_first_shown=_shown(code for note in first for code in note.codes),
        code_first_heading=first[0].text if first else "",
        code_first_optional=_optional(first),
        use_additional=tuple(_named(code) for note in additional for code in note.codes),
        use_additional_shown=_shown(code for note in additional for code in note.codes),
        use_additional_optional=_optional(additional),
    )


def _optional(group: list[CodeNote]) -> bool:
    return any(word in note.text.lower() for note in group for word in _OPTIONAL)


def _shown(codes: Iterable[str]) -> str:
    unique = list(dict.fromkeys(codes))
    more = "..." if len(unique) > _SHOWN else ""
    return ", ".join(display_icd10cm(code) for code in unique[:_SHOWN]) + more


def note_edits(
    diagnoses: tuple[DiagnosisEntry, ...],
    notes: CodeNotesPort,
    memo: dict[str, CompiledNotes] | None = None,
) -> list[Issue]:
    """Excludes1, code-first and use-additional findings among the claim's diagnoses.

    ``memo`` keeps the compiled notes of codes seen before (a scrubber passes its own).
    """
    coded = [
        (entry, code)
        for entry in diagnoses
        if entry.system == ICD10CM and (code := normalise_icd10cm(entry.code)) is not None
    ]
    found: list[Issue] = []
    reported: set[frozenset[str]] = set()
    for position, (entry, code) in enumerate(coded):
        compiled = memo.get(code) if memo is not None else None
        if compiled is None:
            try:
                compiled = compile_notes(notes.notes(ICD10CM, code))
            except CodeSetError:
                continue
            if memo is not None:
                if len(memo) > _MEMO_LIMIT:
                    memo.clear()
                memo[code] = compiled
        if compiled.excludes1 and len(coded) > 1:
            found.extend(_excludes1(entry, code, compiled, coded, reported))
        if compiled.code_first_heading:
            found.extend(_code_first(entry, code, position, compiled, coded))
        if compiled.use_additional and not compiled.use_additional_optional:
            found.extend(_use_additional(entry, code, compiled, coded))
    return found


def _excludes1(
    entry: DiagnosisEntry,
    code: str,
    compiled: CompiledNotes,
    coded: list[tuple[DiagnosisEntry, str]],
    reported: set[frozenset[str]],
) -> list[Issue]:
    found: list[Issue] = []
    for other, other_code in coded:
        if other is entry or other_code == code:
            continue
        text = compiled.against(other_code)[0]
        if text is None:
            continue
        pair = frozenset((code, other_code))
        if pair in reported:
            continue
        reported.add(pair)
        found.append(
            finding(
                "ICD10CM-EXCLUDES1",
                f"Excludes1: {display_icd10cm(code)} (diagnosis {entry.sequence}) "
                f"excludes {display_icd10cm(other_code)} (diagnosis {other.sequence}): {text}",
                entry.expression,
                other.expression,
                fix="keep both only if the conditions are unrelated; else remove one",
            )
        )
    return found


def _code_first(
    entry: DiagnosisEntry,
    code: str,
    position: int,
    compiled: CompiledNotes,
    coded: list[tuple[DiagnosisEntry, str]],
) -> list[Issue]:
    named = compiled.code_first
    later = [(o, c) for o, c in coded[position + 1 :] if compiled.against(c)[1]]
    earlier = any(compiled.against(c)[1] for _, c in coded[:position])
    shown = display_icd10cm(code)
    if later and not earlier:
        other, other_code = later[0]
        return [
            finding(
                "ICD10CM-CODE-FIRST",
                f"{shown} (diagnosis {entry.sequence}) says code first "
                f"{display_icd10cm(other_code)}, but it is sequenced after it "
                f"(diagnosis {other.sequence})",
                entry.expression,
                other.expression,
                fix=f"sequence {display_icd10cm(other_code)} before {shown}",
            )
        ]
    if compiled.code_first_optional or earlier:
        return []
    if named:
        return [
            finding(
                "ICD10CM-CODE-FIRST",
                f"{shown} (diagnosis {entry.sequence}) says code first the underlying "
                f"condition ({compiled.code_first_shown}); none is on the claim",
                entry.expression,
                fix="code the underlying condition and sequence it first",
            )
        ]
    if position == 0:
        return [
            finding(
                "ICD10CM-CODE-FIRST",
                f"{shown} (diagnosis {entry.sequence}) says code first the "
                f"{compiled.code_first_heading}; it cannot be listed first",
                entry.expression,
                fix="code the underlying condition and sequence it first",
            )
        ]
    return []


def _use_additional(
    entry: DiagnosisEntry,
    code: str,
    compiled: CompiledNotes,
    coded: list[tuple[DiagnosisEntry, str]],
) -> list[Issue]:
    if any(compiled.against(other_code)[2] for _, other_code in coded):
        return []
    return [
        finding(
            "ICD10CM-USE-ADDITIONAL",
            f"{display_icd10cm(code)} (diagnosis {entry.sequence}) asks for an additional "
            f"code ({compiled.use_additional_shown}); none is on the claim",
            entry.expression,
            fix="add the additional code when the record supports it",
        )
    ]
