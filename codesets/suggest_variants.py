"""The side and trimester the words give, to choose among codes that differ only by them.

Many ICD-10-CM codes come in families whose descriptions differ only in one slot: the side
("Acute serous otitis media, right ear" / "left ear" / "bilateral" / "unspecified ear") or the
trimester ("Pre-eclampsia, first trimester" ... "unspecified trimester"). The ranking scores
words, so a slot the words do not spell as the Tabular does ("R", "OU", "3rd tri", "at 36
weeks") leaves the unspecified member first. This module reads the slot from the words and
names the member of a family to take; it never moves a code that has no such family, so a
code without a trimester or a side is never pushed down by one said.

- Trimester: ICD-10-CM Official Guidelines I.C.15.a.3 (trimesters counted from the first day
  of the last menstrual period: first less than 14 weeks 0 days, second 14 weeks 0 days to
  less than 28 weeks 0 days, third 28 weeks 0 days until delivery); the weeks are written
  "16 wks", "at 39 weeks", "30w" or the trimester itself ("3rd tri", "first trimester").
- Encounter: an injury's 7th character (Guidelines I.C.19.a): "D" for the encounters after
  active treatment, aftercare and follow-up included (I.C.21.c.7: aftercare of an injury is
  the injury code with 7th character D, not a Z code; its sutures' removal too), "S" for a
  sequela; a fracture's delayed healing, nonunion and malunion are G, K and P.
- Side: the Tabular's laterality (Guidelines I.B.13): the side documented is coded, both
  sides as "bilateral" where the Tabular has it; the eye and ear abbreviations OD/OS/OU
  (oculus dexter/sinister/uterque) and AU (auris utraque) read as right, left and both.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "slot_keys",
    "wanted_seventh",
    "wanted_side",
    "wanted_trimester",
]

_TRIMESTER_WORDS: Final = re.compile(
    r"\b(1st|first|2nd|second|3rd|third)\s*(?:tri|trimester|trim)\b", re.IGNORECASE
)
_ORDINAL: Final = {
    "1st": "first",
    "first": "first",
    "2nd": "second",
    "second": "second",
    "3rd": "third",
    "third": "third",
}
_WEEKS: Final = re.compile(
    r"\b(\d{1,2})(?:\s*(?:\+|and\s+)\d(?:/7)?)?\s*(?:w|wk|wks|week|weeks)\b"
    r"(?!\s+(?:ago|postpartum|post\s+partum|after|old|of\s+life))",
    re.IGNORECASE,
)
_RIGHT: Final = re.compile(r"\b(?:right|rt|r(?![/\-]\w)|od)\b", re.IGNORECASE)
_LEFT: Final = re.compile(r"\b(?:left|lt|l(?![/\-]\w)|os)\b", re.IGNORECASE)
_BOTH: Final = re.compile(r"\b(?:bilateral|bilat|both|ou|au)\b", re.IGNORECASE)

SIDE: Final = re.compile(r"\b(right|left|bilateral|unspecified)(?: (?:eye|ear|side))?\b")
"""The side slot in a Tabular description ("right ear", "bilateral", "unspecified eye")."""
TRIMESTER: Final = re.compile(r"\b(first|second|third|unspecified) trimester\b")
"""The trimester slot in a Tabular description."""


def wanted_trimester(text: str) -> str | None:
    """The trimester the words give ("first", "second", "third"), or None.

    A trimester named outright wins over weeks; weeks over 42 are not a pregnancy's.
    """
    named = {_ORDINAL[m.group(1).lower()] for m in _TRIMESTER_WORDS.finditer(text)}
    if len(named) == 1:
        return named.pop()
    if named:
        return None
    weeks = {int(m.group(1)) for m in _WEEKS.finditer(text)}
    if len(weeks) != 1:
        return None
    week = weeks.pop()
    if week < 1 or week > 42:
        return None
    return "first" if week < 14 else "second" if week < 28 else "third"


def wanted_side(text: str) -> str | None:
    """The side the words give ("right", "left", "bilateral"), or None.

    Both sides named are "bilateral"; a side named for one thing and another for another
    ("right hand, left foot") is not one side, so none is taken.
    """
    right = _RIGHT.search(text) is not None
    left = _LEFT.search(text) is not None
    if _BOTH.search(text) or (right and left and _AND_SIDES.search(text)):
        return "bilateral"
    if right and not left:
        return "right"
    if left and not right:
        return "left"
    return None


_AND_SIDES: Final = re.compile(r"\b(?:right|r|rt) and (?:left|l|lt)\b", re.IGNORECASE)


def slot_keys(description: str, slot: re.Pattern[str]) -> list[tuple[str, str]]:
    """Each way ``description`` can fill ``slot``: the key and the word found there.

    The key is the description with that one place blanked: two codes of a family share a
    key and differ in the word.
    """
    lowered = description.lower()
    return [
        (f"{lowered[: m.start()]}\0{lowered[m.end() :]}", m.group(1))
        for m in slot.finditer(lowered)
    ]


_SUBSEQUENT: Final = re.compile(
    r"\b(?:aftercare|after care|subsequent|f/u|follow(?:ing)?[ -]?up|routine healing|"
    r"recheck|re check|cast (?:check|change|removal|off)|(?:removal|change) of (?:the )?cast|"
    # I.C.19.a: cast change or removal and a healing fracture's check are subsequent care
    r"heal(?:ing|s)? (?:normally|well|as expected)|(?<!non )(?<!non-)healing|"
    # a healing injury's sutures out is its follow-up (I.C.21.c.7: no aftercare Z code)
    r"(?:sutures?|stitch(?:es)?|staples?) (?:removal|removed|out)|"
    r"removal of (?:the )?(?:sutures?|stitch(?:es)?|staples?))\b",
    re.IGNORECASE,
)
_HEALING: Final = (
    (re.compile(r"\b(?:delayed (?:healing|union)|slow(?:ly)? healing)\b", re.IGNORECASE), "G"),
    (re.compile(r"\b(?:non ?union|nonunited|not healed|failure to heal)\b", re.IGNORECASE), "K"),
    (
        re.compile(
            r"\b(?:mal ?union|malunited|healed (?:in|with) (?:bad|poor) alignment)\b", re.IGNORECASE
        ),
        "P",
    ),
)
"""A fracture's healing the Tabular's 7th characters name for a subsequent encounter (closed
fracture): G delayed healing, K nonunion, P malunion (the Index: Nonunion, fracture - see
Fracture, by site; Malunion, fracture - see Fracture, by site)."""
_SEQUELA: Final = re.compile(r"\b(?:sequela|sequelae|late effects?|residual)\b", re.IGNORECASE)
_INITIAL: Final = re.compile(r"\b(?:initial|new|acute|active treatment)\b", re.IGNORECASE)


def wanted_seventh(text: str) -> str | None:
    """The 7th character an injury's encounter words give ("D", "G", "K", "P", "S"), or None.

    None is the initial encounter. A fracture's delayed healing, nonunion or malunion names
    its own (G, K, P); otherwise words of both a later encounter and a sequela, or of the
    initial encounter beside them, decide nothing.
    """
    healing = next((c for pattern, c in _HEALING if pattern.search(text)), None)
    if healing is not None:
        return healing
    subsequent = _SUBSEQUENT.search(text) is not None
    sequela = _SEQUELA.search(text) is not None
    if subsequent == sequela or _INITIAL.search(text):
        return None
    return "D" if subsequent else "S"
