"""Word search over ICD-10-CM descriptions and inclusion terms, for people and suggestions.

Built on the first search (about 0.75 s: every description and inclusion term is split
into words), never at start-up, and kept in the cache folder for the next process
(:mod:`codesets.suggest_cache`, :meth:`Icd10cmSearch.payload`). A document is a code's
description or one of its inclusion terms; a query matches a document when every query word
is the start of one of its words (``diab`` finds ``diabetes``), stop words aside. The score
is the share of the document's words the query covers, so ``type 2 diabetes mellitus`` ranks
``E11`` above its long-tailed children; ties go to the shorter text, then tabular order.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from codesets.word_match import SHORT as _SHORT
from codesets.word_match import Start, Vocabulary, Whole
from codesets.word_match import short_forms as _short_forms

__all__ = ["Hit", "Icd10cmSearch", "stem", "words_of"]

_WORD: Final = re.compile(r"[a-z0-9]+")
_STOP: Final = frozenset(
    ("a", "an", "and", "as", "at", "by", "due", "for", "from", "in", "into", "of", "on", "or",
     "other", "the", "to", "with", "without")
)  # fmt: skip


def words_of(text: str) -> list[str]:
    """The searchable words of ``text``: lower case, accents folded, stop words dropped.

    The Tabular writes a few eponyms with their accents ("Ménière's disease", "Guillain-Barré
    syndrome", "Sjögren syndrome", "Behçet's disease") and people type them without: both read
    as the same letters, not as the letters around an accented one.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    found = _WORD.findall(text.lower())
    if "a" not in found:  # the common case: nothing to tell apart
        return [word for word in found if word not in _STOP]
    return [
        word
        for at, word in enumerate(found)
        if word not in _STOP or (word == "a" and at > 0 and found[at - 1] in _NAMED_BY_LETTER)
    ]


_NAMED_BY_LETTER: Final = frozenset(("hepatitis", "hep", "vitamin", "group", "type"))
"""Words whose letter after them is a name, not the article: hepatitis A (B15) is not
hepatitis NOS (K75.9), vitamin A deficiency (E50) not vitamin deficiency, streptococcus
group A (B95.0) not any streptococcus. The other letters (B, C, D, E) are no stop words."""


_STEMS: Final = (
    # (longer than, ending, how many letters to drop): the first that applies.
    (7, "ations", 6), (7, "ation", 5), (6, "us", 2), (5, "ing", 3), (5, "ed", 2),
    (6, "ey", 0), (6, "y", 1), (6, "e", 1), (5, "ss", 0), (5, "is", 0), (5, "ies", 3),
    (4, "es", 2), (4, "s", 1),
)  # fmt: skip


def stem(word: str) -> str:
    """A prefix that also finds other forms of ``word``.

    ``allergies`` -> ``allerg``, ``calculus`` -> ``calcul``, ``elevated`` -> ``elevat``,
    ``abnormality`` -> ``abnormalit``, ``menopause`` -> ``menopaus``, ``twins`` -> ``twin``.
    """
    for longer_than, ending, drop in _STEMS:
        if len(word) > longer_than and word.endswith(ending):
            return word[: len(word) - drop]
    return word


@dataclass(frozen=True, slots=True)
class Hit:
    """One matching document: the row of its code, the text matched and the score."""

    row: int
    text: str
    score: float


class Icd10cmSearch:
    """An inverted index of words -> documents."""

    def __init__(self, documents: Iterable[tuple[int, str]]) -> None:
        self._docs: list[tuple[int, str, int]] = []
        self._doc_words: list[tuple[str, ...]] = []
        postings: dict[str, list[int]] = {}
        for row, text in documents:
            words = words_of(text)
            doc = len(self._docs)
            self._docs.append((row, text, max(len(set(words)), 1)))
            self._doc_words.append(tuple(dict.fromkeys(words)))
            for word in set(words):
                postings.setdefault(word, []).append(doc)
        self._words = sorted(postings)
        self._postings = [postings[word] for word in self._words]
        self._vocabulary: Vocabulary | None = None

    def search(
        self, query: str, *, keep: Callable[[int], bool] | None = None, limit: int = 20
    ) -> list[Hit]:
        """Best documents for ``query``, at most one per code, best first."""
        own = self._own_vocabulary()
        wanted = list(dict.fromkeys(own.form(word) for word in words_of(query)))
        if not wanted:
            return []
        found: set[int] | None = None
        for word in wanted:
            docs = self._docs_for(word)
            found = docs if found is None else found & docs
            if not found:
                return []
        best: dict[int, Hit] = {}
        for doc in found or ():
            row, text, size = self._docs[doc]
            if keep is not None and not keep(row):
                continue
            hit = Hit(row, text, min(1.0, len(wanted) / size))
            earlier = best.get(row)
            if earlier is None or _key(hit) < _key(earlier):
                best[row] = hit
        return sorted(best.values(), key=_key)[:limit]

    def matches(self, words: list[str]) -> dict[int, set[str]]:
        """Every document holding at least one of ``words`` (as a word start), with which."""
        found: dict[int, set[str]] = {}
        for word in words:
            for doc in self._docs_for(word):
                found.setdefault(doc, set()).add(word)
        return found

    def counts(self, groups: Iterable[Iterable[str]]) -> Counter[int]:
        """For each document, how many of ``groups`` it holds a word of (as a word start).

        A group is one query word and its other spellings; counting whole posting sets
        keeps the per-document work in C, which matters for common words.
        """
        total: Counter[int] = Counter()
        for forms in groups:
            docs: set[int] = set()
            for word in forms:
                docs |= self._docs_for(word)
            total.update(docs)
        return total

    @property
    def size(self) -> int:
        """How many documents (descriptions and inclusion terms) the index holds."""
        return len(self._docs)

    def payload(self) -> dict[str, object]:
        """The index as ``marshal``-able data (:mod:`codesets.suggest_cache` keeps it)."""
        return {
            "docs": self._docs,
            "doc_words": self._doc_words,
            "words": self._words,
            "postings": self._postings,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, object]) -> Icd10cmSearch:
        """The index :meth:`payload` gave, without splitting any text again."""
        docs, doc_words = payload["docs"], payload["doc_words"]
        words, postings = payload["words"], payload["postings"]
        if not (
            isinstance(docs, list)
            and isinstance(doc_words, list)
            and isinstance(words, list)
            and isinstance(postings, list)
            and len(docs) == len(doc_words)
            and len(words) == len(postings)
        ):
            raise ValueError("not a word index")
        made = cls(())
        made._docs, made._doc_words, made._words, made._postings = docs, doc_words, words, postings
        return made

    @property
    def vocabulary(self) -> list[str]:
        """Every distinct searchable word of the documents, sorted."""
        return self._words

    def frequency(self, word: str) -> int:
        """How many documents hold ``word`` itself (none: 0)."""
        at = bisect.bisect_left(self._words, word)
        if at < len(self._words) and self._words[at] == word:
            return len(self._postings[at])
        return 0

    def document(self, doc: int) -> tuple[int, str, tuple[str, ...]]:
        """The row of document ``doc``'s code, its text and its distinct searchable words."""
        row, text, _ = self._docs[doc]
        return row, text, self._doc_words[doc]

    def _own_vocabulary(self) -> Vocabulary:
        """The index's own words, for :meth:`search` (which no speller's vocabulary serves)."""
        if self._vocabulary is None:
            self._vocabulary = Vocabulary(self._words)
        return self._vocabulary

    def _docs_for(self, form: str) -> set[int]:
        """The documents holding a word ``form`` asks for (:func:`codesets.word_match.same`)."""
        words, postings = self._words, self._postings
        out: set[int] = set()
        if type(form) is Whole or (type(form) is not Start and len(form) <= _SHORT):
            for word in form.same if type(form) is Whole else _short_forms(form):
                at = bisect.bisect_left(words, word)
                if at < len(words) and words[at] == word:
                    out.update(postings[at])
            return out
        for at in range(bisect.bisect_left(words, form), len(words)):
            if not words[at].startswith(form):
                break
            out.update(postings[at])
        return out


def _key(hit: Hit) -> tuple[float, int, int]:
    return (-hit.score, len(hit.text), hit.row)
