"""Sites as people write them, read as the Tabular names them (text suggestions).

The Tabular names sites its own way: the armpit is the "axilla", the calf the "lower leg",
a hand's skin cancer is "of skin of upper limb, including shoulder" (C44.6-), both lids of
one eye are its "upper and lower eyelids" (H01.00A). ``codesets/data/suggest/sites.tsv``
holds the site words people write and the Tabular's words for them, each row with the Index
entry, Neoplasm Table row or Tabular title it rests on:

* a written word stays in the query, and the Tabular's word also finds it
  (:func:`alternates`), as another spelling does: a code naming the written site itself
  ("Pain in right hand") still ranks first, for it holds no word more; where the Tabular's
  codes name only the broader site (C44.62-, L03.11-) the broader site's code is found. The
  Tabular's words before the last ("lower", "upper") do not count against a code holding
  them (:func:`tolerated`);
* a written phrase of several words is replaced before anything else is read
  (:func:`site_phrases`): "both eyelids" names no side of the body, so the side read
  afterwards (:mod:`codesets.suggest_variants`) is the eye's.

One side named (right or left, not both) is a unilateral condition: the Tabular's families
"unilateral ..., right ear" (H90.1-, H90.4-), "Unilateral primary osteoarthritis of ..., left
hand" (M16.1-, M17.1-, M18.1-) and the Index's "unilateral" subterms are found by the side
(ICD-10-CM Official Guidelines I.B.13: the side documented is coded).
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from codesets.search import stem, words_of
from codesets.suggest_tables import TABLES, table_rows

__all__ = [
    "SiteWords",
    "Sites",
    "alternates",
    "site_cost",
    "site_phrases",
    "site_words",
    "sites_of",
    "tolerated",
]

_COLUMNS: Final = ("written", "tabular", "basis")


@dataclass(frozen=True, slots=True)
class SiteWords:
    """The sites table, read: one written word to the Tabular's words; phrases to replace."""

    words: dict[str, tuple[tuple[str, ...], ...]]
    """The stem of a written word -> each of the Tabular's names for its site, as stems, the
    head last ("calf": ``(("lower", "leg"),)``; "hand": ``(("upper", "limb"), ("arm",))``)."""
    phrases: dict[str, str]
    """A written phrase (lower case, words separated by single spaces) -> the Tabular's words."""
    pattern: re.Pattern[str] | None
    """The written phrases, longest first, as whole words."""
    lines: dict[str, int]
    """Each written word or phrase -> its line in the table (for tests and messages)."""


@functools.cache
def site_words() -> SiteWords:
    """The sites table (``codesets/data/suggest/sites.tsv``), read once."""
    words: dict[str, tuple[tuple[str, ...], ...]] = {}
    phrases: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, (written, tabular, _) in table_rows(
        TABLES / "sites.tsv", _COLUMNS, shown="sites.tsv", what="sites table"
    ):
        said = " ".join(written.lower().split())
        lines[said] = number
        if " " in said:
            phrases[said] = tabular.lower()
        else:
            words[stem(said)] = tuple(
                tuple(stem(w) for w in words_of(name)) for name in tabular.split("|")
            )
    pattern = (
        re.compile(
            r"\b("
            + "|".join(
                re.escape(p).replace(r"\ ", r"\s+") for p in sorted(phrases, key=len, reverse=True)
            )
            + r")\b",
            re.IGNORECASE,
        )
        if phrases
        else None
    )
    return SiteWords(words, phrases, pattern, lines)


def site_phrases(text: str) -> str:
    """``text`` with each written site phrase of the table in the Tabular's words."""
    table = site_words()
    if table.pattern is None:
        return text
    return table.pattern.sub(lambda m: table.phrases[" ".join(m.group(1).lower().split())], text)


_RIGHT_OR_LEFT: Final = ("right", "left")
_BOTH: Final = frozenset(("both", "bilateral", "bilat"))
_UNILATERAL: Final = "unilateral"


def alternates(words: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The Tabular's words that also find each query word (its site's head words), by word.

    ``words``: the query's words as written (not stemmed). A side named alone also finds
    "unilateral" (see the module's docstring).
    """
    table = site_words().words
    out: dict[str, tuple[str, ...]] = {}
    for word in words:
        names = table.get(stem(word))
        if names:
            out[word] = tuple(dict.fromkeys(name[-1] for name in names))
    sides = [w for w in _RIGHT_OR_LEFT if w in words]
    if len(sides) == 1 and _BOTH.isdisjoint(words):
        out[sides[0]] = (*out.get(sides[0], ()), _UNILATERAL)
    return out


def tolerated(words: Sequence[str]) -> tuple[str, ...]:
    """The Tabular's words before a site's head ("lower" leg): said of it, never extra."""
    table = site_words().words
    return tuple(
        dict.fromkeys(w for word in words for name in table.get(stem(word), ()) for w in name[:-1])
    )


Sites = tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]
"""A query's site words: each word's stem with the Tabular's names for its site."""


def sites_of(words: Sequence[str]) -> Sites:
    """The query's words the sites table names, with the Tabular's names for each."""
    table = site_words().words
    return tuple((stem(w), table[stem(w)]) for w in dict.fromkeys(words) if stem(w) in table)


_WHOLE_NAME: Final = 0.05
_HEAD_ONLY: Final = 0.15


def site_cost(sites: Sites, ordered: tuple[str, ...]) -> float:
    """What a code's words (``ordered``: sorted) cost for the sites it names in others' words.

    Nothing where it holds the written word itself ("Pain in right wrist" for "wrist"); a
    little where it holds one of the Tabular's names whole ("Pain in left lower leg" for
    "calf"); more where it holds only a name's last word ("Pain in left leg"): the nearer
    name first. A site the code does not hold at all costs nothing here (it is not matched).
    """
    cost = 0.0
    for written, names in sites:
        if _holds(ordered, written):
            continue
        if any(all(_holds(ordered, w) for w in name) for name in names):
            cost += _WHOLE_NAME
        elif any(_holds(ordered, name[-1]) for name in names):
            cost += _HEAD_ONLY
    return cost


def _holds(ordered: tuple[str, ...], start: str) -> bool:
    """Whether a word of ``ordered`` (sorted) starts with ``start``."""
    at = bisect.bisect_left(ordered, start)
    return at < len(ordered) and ordered[at].startswith(start)
