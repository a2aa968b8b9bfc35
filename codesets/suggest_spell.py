"""Spelling tolerance for text suggestions: British spellings and misspelt words.

A coder's search in a mature tool forgives the way people type: "pnuemonia", "migrane",
"hypertention", "diarrhoea". The Tabular is written in American spelling and the word index
(:mod:`codesets.search`) matches words by their starts, so one wrong letter loses the word.
This module reads a query's words against the vocabulary the suggestions know (the Tabular's
words, the coders' index's terms, the suggestion tables' words and a short list of plain
English words, ``codesets/data/suggest/plain_words.tsv``) and corrects only the words found
nowhere in it:

* **British spellings** are rules, not guesses (the spellings of British and international
  English, which ICD-10 itself uses): ``ae`` and ``oe`` are ``e`` (anaemia, haemorrhage,
  paediatric, oedema, oesophagus, diarrhoea, foetal), ``-our`` is ``-or`` (tumour,
  behaviour), ``-ise``/``-isation`` are ``-ize``/``-ization`` (hospitalised), ``-yse`` is
  ``-yze`` (paralysed), ``-tre``/``-bre`` are ``-ter``/``-ber`` (centre, fibre), ``sulph`` is
  ``sulf``. A British word is the word itself: it is rewritten in place (:meth:`Speller.american`).
* **Misspellings** are corrected to the nearest vocabulary word by Damerau-Levenshtein
  distance (a letter added, dropped, changed or two swapped): one edit for words of 5 to 8
  letters, two from 9 letters; the nearest first, then the word the Tabular uses most. A word
  of fewer than 5 letters is never corrected (abbreviations: "cmc", "snhl"), nor one holding
  a digit, nor one the vocabulary knows (as a word or the start of one: "diabet" is a
  search for "diabetes"). The correction is a guess: the caller ranks it as a second reading,
  after the words as written (:meth:`Speller.corrected`).

One edit is found by trying every word one edit away (about 55 a letter) against the sorted
vocabulary; two edits, rarer, by measuring the words of the same first letter and a length
within two. Both are memoised per word, so a query pays only for the words it misspells.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from codesets import suggest_tables
from codesets.search import Icd10cmSearch, stem
from codesets.suggest_cache import coders_index
from codesets.suggest_tables import TABLES, table_rows

__all__ = [
    "Speller",
    "british_to_american",
    "damerau_levenshtein",
    "plain_words",
    "speller_for",
]

_CORRECT_FROM: Final = 5
"""Shorter words are abbreviations more often than misspellings: never corrected."""
_CORRECT_UNTIL: Final = 30
"""Longer is no word of a diagnosis (a pasted string): left as written, not measured."""
_MEMO_LIMIT: Final = 65_536
"""Words whose correction is kept; past this the memo starts again (a server's queries)."""
_TWO_EDITS_FROM: Final = 9
"""From this length a word may be two edits from the one meant ("hemmorhoids")."""
_ENGLISH_ENDINGS: Final = (
    ("ally", "al"), ("ily", "y"), ("ly", ""), ("ness", ""), ("ments", ""), ("ment", ""),
    ("ful", ""), ("less", ""), ("ers", ""), ("er", ""), ("ing", ""), ("ing", "e"), ("ed", ""),
    ("ed", "e"), ("ies", "y"), ("es", ""), ("s", ""),
)  # fmt: skip
"""English endings on a vocabulary word make a word, not a misspelling ("completely",
"dizzyness"): read as the word itself where the search does not find them (ending, what the
word ends in without it)."""
_ENDINGS_SHORTEST_FIRST: Final = tuple(sorted(_ENGLISH_ENDINGS, key=lambda e: len(e[0])))
"""The nearest base first: "golfers" is "golfer", not "golf"."""
_BASE_AT_LEAST: Final = 4
_SPLITS: Final = 3
"""Words written together are read as at most this many ("lowbackpain": low back pain)."""
_PART_AT_LEAST: Final = 3
_LETTERS: Final = "abcdefghijklmnopqrstuvwxyz"
_WORD: Final = re.compile(r"(?<![a-z0-9])[a-z]+(?![a-z0-9])")
_BRITISH: Final = (
    (re.compile(r"ae"), "e"),  # anaemia, haemorrhage, paediatric, leukaemia, caesarean
    (re.compile(r"oe"), "e"),  # oedema, oesophagus, diarrhoea, foetal, coeliac, dyspnoea
    (re.compile(r"our(?=s?$|ed$|ing$|al$|ally$)"), "or"),  # tumour, behavioural, labour
    (re.compile(r"is(?=e$|es$|ed$|ing$|ation$|ations$)"), "iz"),  # hospitalised, immunisation
    (re.compile(r"ys(?=e$|es$|ed$|ing$)"), "yz"),  # paralysed, analyse
    (re.compile(r"([bctv])re(?=s?$)"), r"\1er"),  # fibre, centre, manoeuvre
    (re.compile(r"sulph"), "sulf"),  # sulphonamide
    (re.compile(r"ogue(?=s?$)"), "og"),  # analogue
    (re.compile(r"ll(?=ed$|ing$)"), "l"),  # travelled, labelled
    (re.compile(r"ence(?=s?$)"), "ense"),  # licence, defence
    (re.compile(r"^grey"), "gray"),
    (re.compile(r"^mould"), "mold"),
    (re.compile(r"aluminium"), "aluminum"),
    (re.compile(r"ageing"), "aging"),
)
"""British spelling -> American, each a rule of the two spellings (not of one word)."""


def british_to_american(word: str, known: Callable[[str], bool]) -> str | None:
    """``word``'s American spelling that ``known`` knows, or None (none applies or is known).

    Every rule that applies at once first ("haemorrhoidal", "oesophageal"), then each alone.
    """
    tried: list[str] = []
    together = word
    for pattern, american in _BRITISH:
        changed = pattern.sub(american, word)
        if changed != word:
            tried.append(changed)
            together = pattern.sub(american, together)
    if together != word:
        tried.insert(0, together)
    return next((w for w in tried if known(w)), None)


def damerau_levenshtein(a: str, b: str, most: int = 2) -> int:
    """The optimal string alignment distance between ``a`` and ``b``, or ``most + 1`` beyond.

    Edits are a letter inserted, deleted or replaced, or two neighbours swapped; the count
    stops as soon as it must exceed ``most``.
    """
    if abs(len(a) - len(b)) > most:
        return most + 1
    before: list[int] = []
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            value = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, before[j - 2] + 1)
            current[j] = value
        if min(current) > most:
            return most + 1
        before, row = row, current
    return row[-1] if row[-1] <= most else most + 1


def _one_edit(word: str) -> Iterable[str]:
    """Every string one edit from ``word``: deletions, swaps, replacements, insertions."""
    splits = [(word[:at], word[at:]) for at in range(len(word) + 1)]
    for left, right in splits:
        if right:
            yield left + right[1:]
            if len(right) > 1:
                yield left + right[1] + right[0] + right[2:]
            for letter in _LETTERS:
                if letter != right[0]:
                    yield left + letter + right[1:]
        for letter in _LETTERS:
            yield left + letter + right


@functools.cache
def plain_words() -> frozenset[str]:
    """The plain English words of ``plain_words.tsv``: words, never misspellings."""
    path = TABLES / "plain_words.tsv"
    return frozenset(
        word.lower()
        for _, cells in table_rows(path, ("words", "kind"), what="suggestion table")
        for word in cells[0].split()
    )


class Speller:
    """Corrects a query's words the vocabulary does not know (see the module's docstring).

    ``tabular``: the Tabular's words, sorted; ``frequency``: how many of the Tabular's
    documents hold a word (the more, the likelier it is the word meant); ``others``: the
    words of the coders' index, the suggestion tables and plain English.
    """

    def __init__(
        self, tabular: Sequence[str], frequency: Callable[[str], int], others: Iterable[str]
    ) -> None:
        self._tabular = tabular
        self._frequency = frequency
        self._others = tuple(sorted(set(others)))
        self._other_set = frozenset(self._others)
        self._americans: dict[str, str | None] = {}
        self._corrections: dict[str, str | None] = {}

    def known(self, word: str) -> bool:
        """Whether ``word`` is a vocabulary word, or the start of one (as the search reads it)."""
        if word in self._other_set:
            return True
        for words in (self._tabular, self._others):  # the start of a word: "diabet"
            at = bisect.bisect_left(words, word)
            if at < len(words) and words[at].startswith(word):
                return True
        return False

    def american(self, text: str) -> str:
        """``text`` with its British spellings in American (words it knows left as written)."""
        return self._rewrite(text, self._american, self._americans) or text

    def corrected(self, text: str) -> str | None:
        """``text`` with its misspelt words corrected, or None when it has none to correct."""
        return self._rewrite(text, self._nearest, self._corrections)

    def _rewrite(
        self, text: str, fix: Callable[[str], str | None], memo: dict[str, str | None]
    ) -> str | None:
        lowered = text.lower()
        changed = False

        def one(found: re.Match[str]) -> str:
            nonlocal changed
            word = found.group(0)
            if not _CORRECT_FROM <= len(word) <= _CORRECT_UNTIL:
                return word
            if word not in memo:
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                memo[word] = None if self.known(word) else fix(word)
            better = memo[word]
            if better is None:
                return word
            changed = True
            return better

        out = _WORD.sub(one, lowered)
        return out if changed else None

    def _american(self, word: str) -> str | None:
        return british_to_american(word, self._is_word)

    def _nearest(self, word: str) -> str | None:
        """What ``word`` was meant to be, or None.

        Its base word ("dizzyness": dizzy), the vocabulary word one edit away, the words written
        together ("chestpain": chest pain), the word two edits away (a long word); among as
        near, the most used, then the first.
        """
        if self._american(word) is not None:
            return None  # a British spelling: rewritten in place, not guessed at
        base = self._base(word)
        if base is not None:  # a word's English form: the word, unless the search reads it so
            return None if self._searchable(word) else base
        near = set()
        if word.endswith("s") and not word.endswith("ss") and len(word) > _CORRECT_FROM:
            # A misspelt plural ("migranes") is corrected as its singular ("migraine"), before
            # a word one edit from the plural itself ("migrans").
            near = {w for w in _one_edit(word[:-1]) if self._is_word(w)}
        if not near:
            near = {w for w in _one_edit(word) if self._is_word(w)}
        if not near:  # no word one edit away: words written together, then two edits
            joined = self._split(word, _SPLITS)
            if joined is not None:
                return joined
        if not near and len(word) >= _TWO_EDITS_FROM:
            apart = {w: damerau_levenshtein(word, w) for w in self._same_start(word)}
            best = min(apart.values(), default=3)
            near = {w for w, d in apart.items() if d == best <= 2}
        if not near:
            return None
        return min(near, key=lambda w: (-self._frequency(w), w))

    def _base(self, word: str) -> str | None:
        """The vocabulary word ``word`` is with an English ending ("dizzyness": dizzy), or None."""
        for ending, base in _ENDINGS_SHORTEST_FIRST:
            if word.endswith(ending) and len(word) - len(ending) >= _BASE_AT_LEAST:
                root = word[: len(word) - len(ending)] + base
                if self._is_word(root):
                    return root
        return None

    def _searchable(self, word: str) -> bool:
        """Whether the word index reads ``word`` already: its stem starts a Tabular word."""
        form = stem(word)
        at = bisect.bisect_left(self._tabular, form)
        return at < len(self._tabular) and self._tabular[at].startswith(form)

    def _split(self, word: str, parts: int) -> str | None:
        """``word`` as vocabulary words written together ("chestpain"), at most ``parts`` of them.

        Each part at least three letters; between two ways, the one whose rarest part the
        Tabular uses most.
        """
        best: tuple[int, str] | None = None
        for at in range(_PART_AT_LEAST, len(word) - _PART_AT_LEAST + 1):
            left, right = word[:at], word[at:]
            if not self._is_word(left):
                continue
            if self._is_word(right):
                found: str | None = right
            elif parts > 2:  # one part taken, more may follow
                found = self._split(right, parts - 1)
            else:
                found = None
            if found is not None:
                uses = min(self._frequency(w) for w in (left, *found.split()))
                if best is None or uses > best[0]:
                    best = (uses, f"{left} {found}")
        return best[1] if best else None

    def _same_start(self, word: str) -> Iterable[str]:
        """The vocabulary's words of ``word``'s first letter, within two letters of its length."""
        for words in (self._tabular, self._others):
            at = bisect.bisect_left(words, word[0])
            end = bisect.bisect_left(words, chr(ord(word[0]) + 1))
            for candidate in words[at:end]:
                if abs(len(candidate) - len(word)) <= 2:
                    yield candidate

    def _is_word(self, word: str) -> bool:
        if word in self._other_set:
            return True
        at = bisect.bisect_left(self._tabular, word)
        return at < len(self._tabular) and self._tabular[at] == word


_SPELLERS: Final[weakref.WeakKeyDictionary[Icd10cmSearch, Speller]] = weakref.WeakKeyDictionary()


def speller_for(search: Icd10cmSearch, words: Callable[[], Iterable[str]]) -> Speller:
    """The speller of ``search``'s vocabulary, made on first use and kept with it.

    ``words``: the caller's own vocabulary (abbreviations, lay terms) beside the coders'
    index's, the suggestion tables' and the plain words this module adds.
    """
    found = _SPELLERS.get(search)
    if found is None:
        tables = (
            *suggest_tables.abbreviations(),
            *suggest_tables.synonyms(),
            *suggest_tables.drugs(),
            *suggest_tables.defaults(),
        )
        others = itertools.chain(
            coders_index().vocabulary,
            plain_words(),
            (w for key in tables for w in _WORD.findall(key.lower())),
            (w for key in words() for w in _WORD.findall(key.lower())),
        )
        found = Speller(search.vocabulary, search.frequency, others)
        _SPELLERS[search] = found
    return found
