"""How often text suggestions agree with a coder, over a list of phrases a coder has coded.

A phrase list is a TSV of ``words<TAB>code[<TAB>age<TAB>sex]`` with ``#`` comment lines
(``tests/data/*.tsv``). Each phrase is searched as the workbench searches it: the coding date,
five suggestions, and the patient's age and sex where the list gives them. The tests assert the
recorded figures with :func:`score`, and ``benchmarks/suggestions.py`` prints them with the time a
query takes, so the figure in ``docs/accuracy.md`` and the one the tests hold are the same count.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fhir_coder.ports import TextSearchPort
from fhir_coder.systems import normalise_icd10cm

__all__ = ["Phrase", "Score", "read_phrases", "score"]


@dataclass(frozen=True, slots=True)
class Phrase:
    """One line of a phrase list: the words, the coder's code (dotless) and the patient."""

    words: str
    code: str
    age: int | None = None
    sex: str | None = None


@dataclass(frozen=True, slots=True)
class Score:
    """Top-1 and top-5 agreement over ``total`` phrases, the CPU seconds spent, the misses."""

    total: int
    first: int
    five: int
    seconds: float
    missed: tuple[tuple[Phrase, tuple[str, ...]], ...]

    @property
    def ms_per_query(self) -> float:
        """CPU milliseconds a query took on average."""
        return self.seconds * 1000 / self.total if self.total else 0.0


def read_phrases(path: Path) -> list[Phrase]:
    """The phrases of ``path``; a line of another shape raises ValueError naming the line."""
    phrases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) not in (2, 4) or not fields[0].strip() or not fields[1].strip():
            raise ValueError(f"{path}:{number}: expected words<TAB>code[<TAB>age<TAB>sex]")
        code = normalise_icd10cm(fields[1]) or fields[1]
        age = sex = None
        if len(fields) == 4:
            age = int(fields[2]) if fields[2] else None
            sex = fields[3] or None
        phrases.append(Phrase(fields[0], code, age, sex))
    return phrases


def score(registry: TextSearchPort, phrases: list[Phrase], *, on: date) -> Score:
    """Search every phrase as a coder would (five suggestions, the patient's age and sex)."""
    first = five = 0
    missed = []
    started = time.process_time()  # CPU time: a shared machine's load does not count
    for phrase in phrases:
        offered = tuple(
            s.code
            for s in registry.suggest(phrase.words, on=on, limit=5, age=phrase.age, sex=phrase.sex)
        )
        if offered[:1] == (phrase.code,):
            first += 1
        else:
            missed.append((phrase, offered))
        five += phrase.code in offered
    seconds = time.process_time() - started
    return Score(len(phrases), first, five, seconds, tuple(missed))
