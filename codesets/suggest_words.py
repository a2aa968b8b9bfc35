"""Words of a phrase that say who or when, never what: they are taken out before ranking.

People write "burnt my tongue", "stung by a bee on my hand this morning", "pt c/o heartburn",
"croup in a 2 yr old". The word index matches a query word as the start of a Tabular word
(:mod:`codesets.search`), so "my" finds myositis, mycosis and myelitis, "pt" finds ptosis and
"her" finds hernia: words that name the patient, the speaker, the time of day or the age are
no part of the condition and are taken out, as the Index's entries hold none of them (a
coder looks up the condition's main term, Guidelines I.A / the Index's conventions). The
patient's age is given to the suggestions apart (``age=``), so an age written in the text
says nothing the ranking needs.

A pronoun that is also a name stays where it is one: the roman "I" after type, grade, stage,
class, phase or degree ("type I diabetes", "grade I sprain"; :mod:`codesets.suggest` reads
those as numbers), and nothing is taken when only such words were written.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["PERSON_WORDS", "without_person_words"]

PERSON_WORDS: Final = frozenset(
    """i me my mine myself im we us our ours ourselves you your yours yourself he him his
    himself she her hers herself they them their theirs themselves pt pts""".split()  # noqa: SIM905 - a word list reads best as text
)
"""Pronouns and "pt": who has the condition, never the condition (one list: the direct
codes' filler words, :mod:`codesets.suggest_direct`, include it)."""

_NUMBERED: Final = r"(?:type|grade|stage|class|phase|degree|level|gravida|para|part|category)"
_PERSON: Final = re.compile(
    r"(?<![\w/'])("
    + _NUMBERED
    + r"\s+)?("
    + "|".join(sorted(PERSON_WORDS, key=len, reverse=True))
    + r")(?:'m|'ve|'d|'ll)?(?![\w/'])"
)
_CLAUSE_END: Final = re.compile(r"(?:[,;:.!?(]|\b(?:and|but|so|because|when|then|since|if|that))$")
_WHEN: Final = re.compile(
    r"\b(?:this (?:morning|afternoon|evening|week)|last (?:night|evening|week)|yesterday|"
    r"today|tonight|(?:earlier|later) today)\b"
)
_AGE: Final = re.compile(
    r"\b\d+(?:\.\d+)?\s*(?:-\s*)?(?:yo|y/o|y\.o\.|yr|yrs|year|years)(?:\s*-?\s*old)?"
    r"(?:\s*[mf])?\b\.?"
    r"|\b(?:a |an )?\d+(?:\.\d+)?\s*-?\s*(?:month|mo)s?\s*-?\s*old\b"
)
"""An age as written ("6 yo", "2 yr old", "45-year-old", "3 yo M", "6 mo old"): the age comes
as ``age=``, and "old" would otherwise find "old myocardial infarction". A newborn's days stay:
they choose the code (Z00.110 under 8 days, Z00.111 8 to 28 days)."""


def _unless_numbered(found: re.Match[str]) -> str:
    """A pronoun out, but a roman "I" stays ("type I", "bipolar I disorder").

    "I" is the pronoun only where a clause starts: the text's start, after punctuation or
    after a conjunction ("fell and I hit my head").
    """
    numbered = found.group(1)
    if found.group(2) == "i":
        before = found.string[: found.start()].rstrip()
        if numbered is None and (not before or _CLAUSE_END.search(before)):
            return " "
        return found.group(0)
    return " " if numbered is None else numbered


def without_person_words(text: str) -> str:
    """``text`` without its pronouns, "pt", times of day and ages (see the module).

    Unchanged when nothing else would be left ("I"): the words are all there is to rank.
    """
    lowered = text.lower()
    kept = _AGE.sub(" ", _WHEN.sub(" ", _PERSON.sub(_unless_numbered, lowered)))
    if kept == lowered:
        return text
    cleaned = " ".join(kept.split())
    return cleaned if re.search(r"[a-z]{2}", cleaned) else text
