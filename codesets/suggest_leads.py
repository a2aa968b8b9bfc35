"""Where the coders' index leads a query's words, as the Alphabetic Index leads a coder.

A coder looks a diagnosis up in the Index first: the main term, then each subterm the
documentation names, to a code or to the place in the Tabular where the code is completed.
:mod:`codesets.coders_index` holds the project's tables of that Index; this module finds the
rows a query's words reach and how strongly each leads:

* a row is reached when the query holds every word its term needs (the words outside
  parentheses; nonessential modifiers in parentheses may add to the match, never needed), and
  holds none of the words of a "without" subterm;
* its strength is the share of the query's words the term holds (required or nonessential),
  squared as the Tabular's ranking squares its share (:mod:`codesets.suggest`): a more
  specific term, holding more of the words said, leads more strongly, and a query with words
  the term lacks still counts, scaled: a lead ranks with the Tabular's codes holding as many
  of the words (first among equals, for it costs nothing for words the term has and the
  query lacks). Words that choose only among a code's family (sides, encounters) count a
  quarter (the caller counts them held where the code it takes holds them: the Tabular
  completes what the Index leaves open); words that only say little ("acute", "disease",
  "unspecified") count half;
* a row holding less than half of them leads nowhere; between rows holding as much, the one
  needing more words (deeper in the Index) leads.

The caller (:func:`codesets.suggest.rank_suggestions`) turns each lead into codes: the row's
code, or the codes of its subtree ranked by the Tabular's words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from codesets.coders_index import CodersIndex, IndexRow
from codesets.word_match import same

__all__ = ["Lead", "QueryWord", "find_leads"]


@dataclass(frozen=True, slots=True)
class QueryWord:
    """One word of the query: its forms, its weight, whether it is said to be absent.

    The forms are the word's stem and its other spellings (:mod:`codesets.suggest`); a word
    of a "without" clause ("without esophagitis") is absent.
    """

    forms: tuple[str, ...]
    weight: float
    absent: bool = False
    site: bool = False
    """A limb's or digit's site: it weighs little until the lead is known to name sides
    (:func:`codesets.suggest_sites.weighed`)."""


@dataclass(frozen=True, slots=True)
class Lead:
    """A row of the coders' index the query reaches, and how strongly it leads (0 to 1)."""

    row: IndexRow
    strength: float
    held: tuple[bool, ...]
    """Which of the query's words the term holds (in the query's order)."""


_AT_LEAST: Final = 0.5
"""A row holding less than half the query's words leads nowhere ("paroxysmal supraventricular
tachycardia" is no lead to "Tachycardia"): the Tabular's ranking asks as much of a code."""
_SPECIFIC: Final = 0.001
"""Between rows holding the same share of the words, the one needing more of them (a subterm
deeper in the Index) leads first."""


def find_leads(index: CodersIndex, words: Sequence[QueryWord], limit: int) -> list[Lead]:
    """The ``limit`` strongest leads of ``words``, strongest first (ties: file order)."""
    total = sum(w.weight for w in words)
    if not index.rows or total <= 0:
        return []
    reached: list[frozenset[int]] = []
    for word in words:
        positions: set[int] = set()
        for form in word.forms:
            positions.update(index.words_starting(form))
        reached.append(frozenset(positions))
    present = set().union(*(r for r, w in zip(reached, words, strict=True) if not w.absent))
    counts: Counter[int] = Counter()
    for position in present:
        counts.update(index.needed[position])
    needs = index.needs
    found: list[Lead] = []
    for at, count in counts.items():
        if count != needs[at]:
            continue
        row = index.rows[at]
        if row.absent and _says(row.absent, words):
            continue
        row_words = index.words[at]
        held = tuple(
            _held_absent(row, w) if w.absent else not r.isdisjoint(row_words)
            for w, r in zip(words, reached, strict=True)
        )
        share = sum(w.weight for w, h in zip(words, held, strict=True) if h) / total
        if share < _AT_LEAST:
            continue
        unsaid = len(row.required) - needs[at]  # an implied word the query did not say
        found.append(Lead(row, share * share + _SPECIFIC * (needs[at] - unsaid), held))
    found.sort(key=lambda lead: (-lead.strength, lead.row.file, lead.row.line))
    return found[:limit]


def _says(absent: frozenset[str], words: Sequence[QueryWord]) -> bool:
    """Whether the query says (not "without") a word a row's "without" subterm excludes."""
    return any(_starts(term_word, w.forms) for w in words if not w.absent for term_word in absent)


def _held_absent(row: IndexRow, word: QueryWord) -> bool:
    """Whether a word the query says is absent is one the row's "without" subterm names."""
    return any(_starts(term_word, word.forms) for term_word in row.absent)


def _starts(term_word: str, forms: tuple[str, ...]) -> bool:
    return any(same(f, term_word) for f in forms)
