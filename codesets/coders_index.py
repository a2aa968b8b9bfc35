"""The coders' index: the part of the ICD-10-CM Alphabetic Index coders use, read as data.

The code set ships only the Tabular; the Alphabetic Index is the coders' own vocabulary (main
terms and subterms, eponyms, "see" references, nonessential modifiers, the code the Index gives
a term with nothing more said). The project writes the part of it coders use as tables, one
file per chapter range, in ``codesets/data/suggest/index/*.tsv``::

    # title: coders' index: chapters 1-5 (A00-F99)
    # version: 2026.12
    term	code	basis
    Fracture, traumatic, radius, lower end (distal)	S52.50-	Index: Fracture, traumatic, ...
    Attack, heart	I21.9	Index: Attack, heart - see Infarction, myocardium

* ``term``: an Index entry as a coder reads it: the main term, then each subterm, separated by
  commas (the words match in any order). Words in parentheses (or brackets) are nonessential
  modifiers (ICD-10-CM Official Guidelines I.A.7): present or absent, the same code. A subterm
  beginning "without" names what must not be said ("Reflux, gastroesophageal, without
  esophagitis"); "NEC", "NOS" and "unspecified" are never needed.
* ``code``: dotted as in the Index: a billable code, or a header ending in ``-`` where the
  Tabular completes it (side, 7th character, more detail): the row leads to that subtree and
  the Tabular's ranking picks inside it.
* ``basis``: the Index entry the row rests on.

This module reads the tables (a malformed row is a :class:`ConfigurationError` naming the
file and line) and indexes each row's words once, so the ranking
(the suggestion ranking) finds the rows a query's words reach without scanning them.
``tests/codesets/test_coders_index.py`` checks every row against the FY2026 Tabular.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from codesets.search import words_of
from codesets.suggest_tables import TABLES, table_rows
from codesets.suggest_words import PERSON_WORDS
from codesets.word_match import SHORT, Start, Whole, short_forms
from fhir_coder.errors import ConfigurationError

__all__ = ["FOLDER", "CodersIndex", "IndexRow", "read_index", "read_table"]

FOLDER: Final = TABLES / "index"
COLUMNS: Final = ("term", "code", "basis")
_CODE: Final = re.compile(r"^([A-Z][0-9][0-9A-Z])(?:\.([0-9A-Z]{0,4}))?(-?)$")
_NEVER_NEEDED: Final = frozenset(("nec", "nos", "unspecified")) | (PERSON_WORDS - {"i"})
"""Words an Index term may carry that a coder's words need not repeat: "not elsewhere
classifiable", "not otherwise specified" and "unspecified" say only that nothing more is known;
a pronoun ("cannot afford them") says who, and the query's pronouns are taken out
(:mod:`codesets.suggest_words`; "I" is also the roman one, "bipolar I")."""
_WITHOUT: Final = re.compile(r"^\s*(?:without|w/o)\b")
_POSSESSIVE: Final = re.compile(r"['\u2019]s\b")
_BRACKET: Final = re.compile(r"[()\[\]]")
_WITHOUT_ANYWHERE: Final = re.compile(r"(?:^|,)\s*(?:without|w/o)\b", re.IGNORECASE)
"""An eponym's possessive ("Hansen's disease"): read as the query is (codesets.suggest)."""
_MAX_CELL: Final = 500
"""A term or basis longer than this is no Index entry (a pasted paragraph, a lost tab)."""


@dataclass(frozen=True, slots=True)
class IndexRow:
    """One row of the coders' index, with the words the ranking reads in its term.

    ``code`` is dotless and upper case; ``subtree`` when the Index leaves the Tabular to
    complete it (written with a trailing ``-``). ``required``: the words outside parentheses
    (each must be said); ``optional``: the nonessential modifiers (they add to a match);
    ``absent``: the words of a "without" subterm (they must not be said).
    """

    term: str
    code: str
    subtree: bool
    basis: str
    required: frozenset[str]
    optional: frozenset[str]
    absent: frozenset[str]
    file: str
    line: int

    @property
    def dotted(self) -> str:
        """The code as the Index writes it (``S52.50-``)."""
        dotted = self.code if len(self.code) <= 3 else f"{self.code[:3]}.{self.code[3:]}"
        return dotted + ("-" if self.subtree else "")

    @property
    def where(self) -> str:
        """``file:line``, for messages."""
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class CodersIndex:
    """Every row of the coders' index, and which rows each word of their terms is in.

    ``vocabulary`` is sorted, so the words a query's word asks for are found by bisection
    (:meth:`words_starting`), as the Tabular's word index finds documents.
    ``needed[w]``: the rows where word ``w`` is needed (a required word, ``_IMPLIED`` aside);
    ``needs[r]``: how many words row ``r`` needs; ``words[r]``: the positions in
    ``vocabulary`` of every word of row ``r``'s term. A row is reached when every word it
    needs is found among the query's (counted over ``needed``, without looking at the rows
    the query's words do not reach).
    """

    rows: tuple[IndexRow, ...]
    vocabulary: tuple[str, ...]
    needed: tuple[tuple[int, ...], ...]
    needs: tuple[int, ...]
    words: tuple[frozenset[int], ...]

    @classmethod
    def of(cls, rows: Iterable[IndexRow]) -> CodersIndex:
        """The index of ``rows``: each word of a term (required or optional) to its rows."""
        kept = tuple(rows)
        vocabulary = tuple(sorted({w for row in kept for w in row.required | row.optional}))
        position = {w: at for at, w in enumerate(vocabulary)}
        needed: list[list[int]] = [[] for _ in vocabulary]
        needs: list[int] = []
        for at, row in enumerate(kept):
            words = needed_words(row)
            for word in words:
                needed[position[word]].append(at)
            needs.append(len(words))
        return cls(
            kept,
            vocabulary,
            tuple(tuple(rows_of) for rows_of in needed),
            tuple(needs),
            tuple(frozenset(position[w] for w in row.required | row.optional) for row in kept),
        )

    def payload(self) -> dict[str, object]:
        """The index as ``marshal``-able data (:mod:`codesets.suggest_cache` keeps it)."""
        return {
            "rows": tuple(
                (
                    r.term,
                    r.code,
                    r.subtree,
                    r.basis,
                    r.required,
                    r.optional,
                    r.absent,
                    r.file,
                    r.line,
                )
                for r in self.rows
            ),
            "vocabulary": self.vocabulary,
            "needed": self.needed,
            "needs": self.needs,
            "words": self.words,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, object]) -> CodersIndex:
        """The index :meth:`payload` gave, without reading or parsing a table again."""
        rows, vocabulary, needed = payload["rows"], payload["vocabulary"], payload["needed"]
        needs, words = payload["needs"], payload["words"]
        if not (
            isinstance(rows, tuple)
            and isinstance(vocabulary, tuple)
            and isinstance(needed, tuple)
            and isinstance(needs, tuple)
            and isinstance(words, tuple)
            and len(rows) == len(needs) == len(words)
            and len(vocabulary) == len(needed)
        ):
            raise ValueError("not a coders' index")
        return cls(tuple(IndexRow(*row) for row in rows), vocabulary, needed, needs, words)

    def words_starting(self, form: str) -> list[int]:
        """The positions of the words ``form`` asks for (:func:`codesets.word_match.same`).

        ``form`` is a query word's form: a complete word's (:class:`~codesets.word_match.Whole`)
        finds the same word ("fractur": "fracture", "fractures"; "depress": "depression",
        "depressive"), never a longer other one ("tetanus" is no "tetany"); a fragment of three
        letters or fewer ("ra", "pe", "2") only itself; a longer fragment every word it starts.
        """
        vocabulary = self.vocabulary
        if type(form) is Whole or (type(form) is not Start and len(form) <= SHORT):
            out = []
            for word in form.same if type(form) is Whole else short_forms(form):
                at = bisect.bisect_left(vocabulary, word)
                if at < len(vocabulary) and vocabulary[at] == word:
                    out.append(at)
            return out
        at = bisect.bisect_left(vocabulary, form)
        found = []
        while at < len(vocabulary) and vocabulary[at].startswith(form):
            found.append(at)
            at += 1
        return found

    def rows_starting(self, stem: str) -> set[int]:
        """The rows with a term word starting with ``stem`` (a single letter or digit: itself)."""
        wanted = self.words_starting(stem)
        return {at for at, words in enumerate(self.words) if not words.isdisjoint(wanted)}


_IMPLIED: Final = frozenset(("traumatic",))
"""Index subdivisions a coder's words never repeat: the Index's entries for an injury are under
"Fracture, traumatic" (Index: Fracture (abduction) (adduction) (separation) - see also
Fracture, traumatic), and a fracture written without a cause is traumatic. In a fracture's
term such a word is matched when said, not needed; elsewhere ("Tear, rotator cuff,
traumatic") it is needed like any other."""


def needed_words(row: IndexRow) -> frozenset[str]:
    """The words a query must hold for ``row`` to lead it: its required ones, implied ones aside."""
    if "fracture" not in row.required:
        return row.required
    needed = row.required - _IMPLIED
    return needed or row.required


def parse_term(term: str, where: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """The required, optional and absent words of an Index term (see :class:`IndexRow`)."""
    text = _POSSESSIVE.sub("", term) if "'" in term or "\u2019" in term else term
    if not _BRACKET.search(text) and not _WITHOUT_ANYWHERE.search(text):  # most terms
        plain = set(words_of(text))
        never = plain & _NEVER_NEEDED
        if plain - never:
            return frozenset(plain - never), frozenset(never), frozenset()
    outside: list[str] = []
    inside: list[str] = []
    depth = 0
    last = 0
    for bracket in _BRACKET.finditer(text):
        (inside if depth else outside).append(text[last : bracket.start()])
        depth += 1 if bracket.group() in "([" else -1
        if depth < 0:
            raise ConfigurationError(f"{where}: a closing parenthesis with none open")
        inside.append(" ")
        last = bracket.end()
    (inside if depth else outside).append(text[last:])
    if depth:
        raise ConfigurationError(f"{where}: a parenthesis left open in {term!r}")
    required: set[str] = set()
    absent: set[str] = set()
    for part in "".join(outside).split(","):
        words = set(words_of(part))
        (absent if _WITHOUT.match(part) else required).update(words)
    optional = set(words_of("".join(inside))) | (required & _NEVER_NEEDED)
    required -= _NEVER_NEEDED
    if not required:
        raise ConfigurationError(
            f"{where}: the term {term!r} has no word outside parentheses: nothing to match"
        )
    return frozenset(required), frozenset(optional - required), frozenset(absent - required)


def _code(cell: str, where: str) -> tuple[str, bool]:
    found = _CODE.match(cell.strip().upper())
    if found is None:
        raise ConfigurationError(
            f"{where}: {cell!r} is no ICD-10-CM code as the Index writes it "
            "(A00.0, or a header to complete ending in '-': S52.50-)"
        )
    category, rest, dash = found.groups()
    if rest is not None and not rest and not dash:  # "S52." is neither a code nor a header
        raise ConfigurationError(f"{where}: {cell!r} ends in a dot")
    return category + (rest or ""), bool(dash)


def read_table(path: Path, *, name: str | None = None) -> list[IndexRow]:
    """The rows of one index file; ``name``: how messages name it (the path by default)."""
    shown = name or str(path)
    out: list[IndexRow] = []
    for number, cells in table_rows(path, COLUMNS, shown=shown, what="coders' index table"):
        where = f"{shown}:{number}"
        term, code_cell, basis = cells
        if not term or not code_cell or not basis:
            empty = next(n for n, c in zip(COLUMNS, (term, code_cell, basis), strict=True) if not c)
            raise ConfigurationError(f"{where}: the {empty} is empty")
        if len(term) > _MAX_CELL or len(basis) > _MAX_CELL:
            raise ConfigurationError(f"{where}: a cell longer than {_MAX_CELL} characters")
        code, subtree = _code(code_cell, where)
        required, optional, absent = parse_term(term, where)
        out.append(IndexRow(term, code, subtree, basis, required, optional, absent, shown, number))
    return out


def read_index(folder: Path) -> CodersIndex:
    """Every ``*.tsv`` of ``folder`` (in name order) as one index; none: an empty index."""
    rows: list[IndexRow] = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.tsv")):
            rows.extend(read_table(path, name=_shown(path)))
    return CodersIndex.of(rows)


def _shown(path: Path) -> str:
    """A table's path from the repository root (``codesets/data/suggest/index/...``)."""
    try:
        return str(path.relative_to(TABLES.parents[2]))
    except ValueError:
        return str(path)
