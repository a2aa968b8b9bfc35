"""The coding facts text suggestions read, as tables an auditor can check row by row.

Each table is a tab-separated file in ``codesets/data/suggest/`` with ``#`` comment lines, a
header line, and a ``basis`` on every row: the ICD-10-CM Index entry or Tabular note the row
rests on. ``tests/codesets/test_suggest_tables.py`` checks every row: each code valid and
billable in FY2026, each expansion's words found in the Tabular.

* ``abbreviations.tsv``: ``abbreviation, expansion, code, when, basis``. An abbreviation with
  several meanings has a row for each, in the order a coder reads them when nothing decides;
  ``when`` holds ``;``-separated conditions (``sex=male``, ``age>=15``, ``age<18``, and
  ``with=word|word``: one of those words elsewhere in the text). ``code`` is what the
  expansion alone is coded as (empty for a qualifier such as a side or a site).
* ``synonyms.tsv``: ``words, classification, code, basis``: plain and lay words to the
  Index's and Tabular's own (``low potassium`` -> ``hypokalemia``).
* ``drugs.tsv``: ``drug, table, long_term, allergy, basis``: a drug or drug class to its
  category in the Table of Drugs and Chemicals (T36-T50, the code before the intent and
  encounter characters), its Z79 long-term use code and its Z88 allergy status code.
* ``phrases.tsv``: ``pattern, code, basis``: status, history and social needs as patients and
  problem lists word them (a regular expression over the lower-cased text) to their Z code.
* ``defaults.tsv``: ``words, code, basis``: the Index's code for a main term written alone
  (``bronchitis`` is J40, ``sinusitis`` J32.9, ``fatigue`` R53.83), where the Tabular's
  words alone would rank a narrower code first.
* ``index/*.tsv``: ``term, code, basis``: the coders' index, the part of the Alphabetic Index
  coders use, one file per chapter range: an entry (main term, subterms; nonessential
  modifiers in parentheses) to its code, or to a header ending in ``-`` whose subtree the
  Tabular's ranking completes. Read and indexed by word by :mod:`codesets.coders_index`,
  checked by ``tests/codesets/test_coders_index.py``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fhir_coder.errors import ConfigurationError

__all__ = [
    "TABLES",
    "Drug",
    "Expansion",
    "PhraseCode",
    "Synonym",
    "abbreviations",
    "defaults",
    "drugs",
    "phrases",
    "synonyms",
    "table_rows",
]

TABLES: Final = Path(__file__).resolve().parent / "data" / "suggest"
_WHEN: Final = re.compile(r"^(sex)=(female|male)$|^(age)(>=|<)(\d{1,3})$|^(with)=([a-z0-9 |/]+)$")


@dataclass(frozen=True, slots=True)
class Expansion:
    """One meaning of an abbreviation and the patients and words it is read for."""

    abbreviation: str
    words: str
    code: str
    sex: str | None
    min_age: int | None
    below_age: int | None
    context: frozenset[str]
    line: int

    def fits(self, age: int | None, sex: str | None) -> bool:
        """Whether the patient can be meant (an unknown age or sex fits every row)."""
        if sex is not None and self.sex is not None and sex != self.sex:
            return False
        if age is not None and self.min_age is not None and age < self.min_age:
            return False
        return not (age is not None and self.below_age is not None and age >= self.below_age)


@dataclass(frozen=True, slots=True)
class Synonym:
    """Plain words and the classification's words for them."""

    words: str
    classification: str
    code: str
    line: int


@dataclass(frozen=True, slots=True)
class Drug:
    """A drug or class: its Table of Drugs category, Z79 and Z88 codes (dotless; "" for none)."""

    name: str
    table: str
    long_term: str
    allergy: str
    line: int


@dataclass(frozen=True, slots=True)
class PhraseCode:
    """A way of writing a status, a history or a social need, and its code."""

    pattern: re.Pattern[str]
    code: str
    line: int


def table_rows(
    path: Path, columns: tuple[str, ...], *, shown: str | None = None, what: str = "table"
) -> list[tuple[int, list[str]]]:
    """The data rows of a tab-separated table: ``(line number, stripped cells)``.

    ``#`` comment lines and blank lines are skipped; the first other line must be the
    header ``columns``, and every row has as many cells. ``shown`` names the file in
    messages (the path by default), ``what`` the kind of table when it cannot be read.
    Shared by the suggestion tables here and the coders' index (:mod:`codesets.coders_index`).
    """
    shown = shown or str(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read the {what} {path}: {exc}") from exc
    out: list[tuple[int, list[str]]] = []
    header_seen = False
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split("\t")]
        if not header_seen:
            if tuple(cells) != columns:
                raise ConfigurationError(
                    f"{shown}:{number}: expected the header {'<tab>'.join(columns)}"
                )
            header_seen = True
            continue
        if len(cells) != len(columns):
            raise ConfigurationError(
                f"{shown}:{number}: expected {len(columns)} tab-separated cells "
                f"({', '.join(columns)}), found {len(cells)}"
            )
        out.append((number, cells))
    if not header_seen:
        raise ConfigurationError(f"{shown}: no header line ({'<tab>'.join(columns)})")
    return out


def _rows(name: str, columns: tuple[str, ...]) -> list[tuple[int, list[str]]]:
    path = TABLES / name
    rows = table_rows(path, columns, what="suggestion table")
    for number, cells in rows:
        if not cells[0] or not cells[-1]:
            raise ConfigurationError(f"{path}:{number}: the {columns[0]} or the basis is empty")
    return rows


def _code(cell: str) -> str:
    return cell.replace(".", "").upper()


def _expansion(number: int, cells: list[str]) -> Expansion:
    abbreviation, words, code, when, _ = cells
    sex: str | None = None
    min_age: int | None = None
    below_age: int | None = None
    context: frozenset[str] = frozenset()
    for condition in filter(None, (c.strip() for c in when.split(";"))):
        found = _WHEN.match(condition)
        if found is None:
            raise ConfigurationError(
                f"{TABLES / 'abbreviations.tsv'}:{number}: unknown condition {condition!r}"
            )
        if found.group(1):
            sex = found.group(2)
        elif found.group(3):
            if found.group(4) == ">=":
                min_age = int(found.group(5))
            else:
                below_age = int(found.group(5))
        else:
            context = frozenset(found.group(7).split("|"))
    return Expansion(
        abbreviation.lower(), words.lower(), _code(code), sex, min_age, below_age, context, number
    )


@functools.cache
def abbreviations() -> dict[str, tuple[Expansion, ...]]:
    """Abbreviation -> its meanings, in the table's order."""
    columns = ("abbreviation", "expansion", "code", "when", "basis")
    found: dict[str, list[Expansion]] = {}
    for number, cells in _rows("abbreviations.tsv", columns):
        expansion = _expansion(number, cells)
        found.setdefault(expansion.abbreviation, []).append(expansion)
    return {key: tuple(rows) for key, rows in found.items()}


@functools.cache
def synonyms() -> dict[str, Synonym]:
    """Plain words -> the classification's words."""
    columns = ("words", "classification", "code", "basis")
    return {
        cells[0].lower(): Synonym(cells[0].lower(), cells[1].lower(), _code(cells[2]), number)
        for number, cells in _rows("synonyms.tsv", columns)
    }


@functools.cache
def drugs() -> dict[str, Drug]:
    """Drug or class name (lower case) -> its codes."""
    columns = ("drug", "table", "long_term", "allergy", "basis")
    return {
        cells[0].lower(): Drug(
            cells[0].lower(), _code(cells[1]), _code(cells[2]), _code(cells[3]), number
        )
        for number, cells in _rows("drugs.tsv", columns)
    }


@functools.cache
def phrases() -> tuple[PhraseCode, ...]:
    """The status, history and social-need patterns, in the table's order."""
    out = []
    for number, (pattern, code, _) in _rows("phrases.tsv", ("pattern", "code", "basis")):
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ConfigurationError(
                f"{TABLES / 'phrases.tsv'}:{number}: not a regular expression: {exc}"
            ) from exc
        out.append(PhraseCode(compiled, _code(code), number))
    return tuple(out)


@functools.cache
def defaults() -> dict[str, tuple[str, int]]:
    """Main term written alone -> (the Index's code for it, the table's line)."""
    return {
        " ".join(_WORDS.findall(cells[0].lower())): (_code(cells[1]), number)
        for number, cells in _rows("defaults.tsv", ("words", "code", "basis"))
    }


_WORDS: Final = re.compile(r"[a-z0-9]+")
