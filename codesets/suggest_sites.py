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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Final

from codesets.search import stem, words_of
from codesets.suggest_leads import Lead, QueryWord
from codesets.suggest_tables import TABLES, table_rows

__all__ = [
    "Levels",
    "SiteWords",
    "Sites",
    "alternates",
    "is_limb_site",
    "lead_weight",
    "level_cost",
    "level_factor",
    "site_cost",
    "site_phrases",
    "site_words",
    "sites_of",
    "spinal_levels",
    "tolerated",
    "weighed",
    "without_size",
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
    """``text`` with each written site phrase of the table in the Tabular's words.

    A wound's length is left out too (see :func:`without_size`).
    """
    text = without_size(text)
    table = site_words()
    if table.pattern is None:
        return text
    return table.pattern.sub(lambda m: table.phrases[" ".join(m.group(1).lower().split())], text)


_SIZE: Final = re.compile(
    r"[,;]?\s*\b\d+(?:\.\d+)?\s*(?:cm|mm|centimet(?:er|re)s?|millimet(?:er|re)s?)\b"
    r"(?:\s+(?:long|deep|wide|in length))?",
    re.IGNORECASE,
)
_GRADED_BY_SIZE: Final = re.compile(
    r"\b(?:spleen|splenic|liver|hepatic|kidney|renal)\b", re.IGNORECASE
)


def without_size(text: str) -> str:
    """``text`` without a length in centimetres or millimetres, unless an organ is graded by it.

    The Tabular grades by length only the spleen's, liver's and kidney's contusions and
    lacerations (S36.02-, S36.03-, S36.11-, S37.0-: "Laceration of spleen 1 to 3 cm"); a skin
    wound's length decides its repair's procedure code, not its ICD-10-CM code ("scalp
    laceration, 2 cm" is S01.01XA), so elsewhere it is no word to match.
    """
    if _GRADED_BY_SIZE.search(text):
        return text
    return _SIZE.sub("", text)


_RIGHT_OR_LEFT: Final = ("right", "left")
_BOTH: Final = frozenset(("both", "bilateral", "bilat"))
_UNILATERAL: Final = "unilateral"


def alternates(words: Sequence[str], levels: Levels | None = None) -> dict[str, tuple[str, ...]]:
    """The Tabular's words that also find each query word (its site's head words), by word.

    ``words``: the query's words as written (not stemmed). A side named alone also finds
    "unilateral" (see the module's docstring); a spine's region said with levels also finds
    the levels' own words (``levels``, :func:`spinal_levels`).
    """
    table = site_words().words
    out: dict[str, tuple[str, ...]] = dict(levels.forms) if levels is not None else {}
    for word in words:
        names = table.get(stem(word))
        if names:
            out[word] = (*out.get(word, ()), *dict.fromkeys(name[-1] for name in names))
    if "bilateral" in words:  # the Tabular's "both eyes" (H54.0-, H54.3): both ways
        out["bilateral"] = (*out.get("bilateral", ()), "both")
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


@dataclass(frozen=True, slots=True)
class Levels:
    """The spinal levels a query names (:func:`spinal_levels`)."""

    forms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Each region word said with levels -> the level words that also find it ("t11", "t12",
    "second")."""
    names: tuple[str, ...] = ()
    """Every word naming a level said: its own ("t12", "l1"), its pair's in the Tabular
    ("t11"), its ordinal ("first" lumbar vertebra)."""


_LEVEL: Final = re.compile(r"^([clts])(\d{1,2})$")
_REGIONS_OF: Final = {
    "c": ("cervical", "cervicothoracic"),
    "t": ("thoracic", "thoracolumbar", "cervicothoracic"),
    "l": ("lumbar", "thoracolumbar", "lumbosacral"),
    "s": ("sacral", "lumbosacral"),
}
"""The regions a level's reading may name (``codesets.suggest._REGIONS``: "L5-S1" is
lumbosacral)."""
_ORDINALS: Final = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh")
_BY_ORDINAL: Final = {"c": 7, "t": 4, "l": 5}
"""The vertebrae the Tabular names by ordinal: the seven cervical (S12.0-S12.6), the first
four thoracic (S22.01-S22.04) and the five lumbar (S32.01-S32.05)."""
_THORACIC_PAIRS: Final = {5: 6, 6: 5, 7: 8, 8: 7, 9: 10, 10: 9, 11: 12, 12: 11}
"""The thoracic vertebrae the Tabular names by pair: S22.05- "T5-T6", S22.06- "T7-T8",
S22.07- "T9-T10", S22.08- "T11-T12"."""


def spinal_levels(words: Sequence[str]) -> tuple[list[str], Levels]:
    """``words`` without the spinal levels said beside their region, and those levels.

    The reading spells a level as its region and itself ("T12": "thoracic t12", see
    ``codesets.suggest._region``): the region is the word asked (the Tabular names most
    spinal conditions by region: M48.54-, M51.36). The level's own words also find the region:
    its pair ("Wedge compression fracture of T11-T12 vertebra") or its ordinal (the cervical,
    the first four thoracic and the lumbar vertebrae: "second lumbar vertebra", and the
    Index's "Fracture, traumatic, vertebra, lumbar, second"); a code of the region naming no
    level costs a little
    (:func:`level_cost`, also a code the coders' index leads to), so the level's code comes
    first (Index: Fracture, traumatic, vertebra, thoracic, T11-T12 S22.08-; lumbar, second
    S32.02-).
    """
    found: dict[str, list[str]] = {}
    names: list[str] = []
    for word in words:
        level = _LEVEL.match(word)
        region = (
            None
            if level is None
            else next((r for r in _REGIONS_OF[level.group(1)] if r in words), None)
        )
        if level is None or region is None:
            continue
        letter, number = level.group(1), int(level.group(2))
        own = [word]
        if letter == "t" and number in _THORACIC_PAIRS:
            own.append(f"t{_THORACIC_PAIRS[number]}")
        if 1 <= number <= _BY_ORDINAL.get(letter, 0):
            own.append(_ORDINALS[number - 1])
        found.setdefault(region, []).extend(own)
        names.extend(own)
    if not names:
        return list(words), Levels()
    said = {w for w in words if _LEVEL.match(w) and w in names}
    return [w for w in words if w not in said], Levels(
        tuple((region, tuple(dict.fromkeys(f))) for region, f in found.items()),
        tuple(dict.fromkeys(names)),
    )


_NO_LEVEL: Final = 0.05


def level_cost(names: tuple[str, ...], ordered: tuple[str, ...]) -> float:
    """What a code naming none of the levels said costs: a little (see :func:`spinal_levels`)."""
    return 0.0 if any(_holds(ordered, name) for name in names) else _NO_LEVEL


def level_factor(names: tuple[str, ...], description: str) -> float:
    """:func:`level_cost` as a factor of a score (a code the coders' index leads to)."""
    if not names:
        return 1.0
    ordered = tuple(sorted(set(words_of(description))))
    return 1.0 / (1.0 + level_cost(names, ordered))


_LIMB_SITES: Final = frozenset(
    stem(w)
    for w in (
        "nail", "toenail", "fingernail", "toe", "toes", "finger", "fingers", "thumb", "hand",
        "foot", "feet", "heel", "wrist", "ankle", "knee", "hip", "elbow", "shoulder", "arm",
        "forearm", "leg", "thigh", "calf", "shin", "armpit", "axilla", "great", "big",
    )
)  # fmt: skip
"""Sites of the limbs and digits, and the words of "great toe", "big toe" (see
:func:`weighed`)."""
_SIDE_SLOT: Final = {"eye": 0.5, "eyes": 0.5, "ears": 0.5}
"""In an Index lead, "eye(s)" and "ears" weigh as "ear" does (``codesets.suggest``: "right
eye", "unspecified ear" are the Tabular's side slot, chosen after the condition)."""
_LIMB_SITE: Final = 0.25


def is_limb_site(word: str) -> bool:
    """Whether a query word (its stem) names a site of a limb or digit (see :func:`weighed`)."""
    return word in _LIMB_SITES


def lead_weight(word: str) -> float:
    """A query word's weight in an Index lead, where nothing else gives it one (1: a word)."""
    if word in _LIMB_SITES:
        return _LIMB_SITE
    return _SIDE_SLOT.get(word, 1.0)


Subtree = Callable[[str], tuple[tuple[int, str, tuple[str, ...]], ...]]


def weighed(
    lead: Lead, words: tuple[QueryWord, ...], subtree: Subtree
) -> tuple[Lead, tuple[QueryWord, ...]] | None:
    """``lead`` and the words it is scored with: a site it lacks weighs little or in full.

    An Index entry leads to a condition; the Tabular completes its site as it does its side,
    or names none: Ingrowing, nail L60.0 for any toe or finger. Where the entry's category
    names no side ("right", "left") the Tabular codes the condition whatever the limb, and a
    limb's site the entry lacks counts as little as a side does, so the condition's code comes
    before other conditions' codes at that site ("ingrowing toenail, right great toe"). Where
    the entry holds the site ("Gout, foot"), or its category names sides (M10: gout of the
    right foot, M10.071), the site counts in full, as before: the code holding the site is
    the coder's. None: the lead holds too few words then.
    """
    if not any(w.site for w in words):
        return lead, words
    unheld = any(w.site and not h for w, h in zip(words, lead.held, strict=True))
    if unheld and not _sided(lead.row.code[:3], subtree):
        return lead, words
    full = tuple(replace(w, weight=1.0, site=False) if w.site else w for w in words)
    share = _share(full, lead.held)
    if share < _AT_LEAST:
        return None
    before = _share(words, lead.held)
    return replace(lead, strength=lead.strength - before * before + share * share), full


_AT_LEAST: Final = 0.5
"""As :data:`codesets.suggest_leads._AT_LEAST`: a row holding less than half leads nowhere."""


def _share(words: tuple[QueryWord, ...], held: tuple[bool, ...]) -> float:
    total = sum(w.weight for w in words)
    return sum(w.weight for w, h in zip(words, held, strict=True) if h) / total if total else 0.0


@functools.lru_cache(maxsize=4096)
def _sided(category: str, subtree: Subtree) -> bool:
    """Whether a category's billable codes name a side (right, left)."""
    return any(_SIDED.search(description) for _, description, _ in subtree(category))


_SIDED: Final = re.compile(r"\b(?:right|left)\b", re.IGNORECASE)
