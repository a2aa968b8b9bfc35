"""How clinicians' shorthand is cut into the abbreviations the tables spell out.

Problem lists, ED notes and coders' searches write shorthand the abbreviation tables hold, but
not always as separate words (issue 17, "Text suggestions as a coder searches"):

- A stage or type glued to its abbreviation: "CKD3a", "CKD4", "stage3", "type2", "CIN3",
  "GOLD3". The Tabular writes the stage apart ("Chronic kidney disease, stage 3a"), and so
  does the table ("cin 3"); the abbreviation and its number are cut apart where the letters
  are shorthand the tables know (or a stage word) and the whole token is not itself one
  ("DM2", "T2DM" and "O2" stay as written: the tables spell them out whole). One digit only,
  with a sub-stage letter: a lab value glued to its name ("CA125") is not a stage.
- A plus sign on a word ("+PPD", "HIV+", "strep+") is "positive", as a lab result is written
  (Index: Positive, PPD R76.11; HIV Z21); one on a number ("2+ edema") is a grade and stays.
- A note's section label before the condition ("A/P:", "Dx:", "CC:", "Assessment:", "reason
  for visit:", "(problem list)"): it says where the words were written, not what the patient
  has (Guidelines IV.D: the condition the encounter is for is what is coded). It is taken out
  before anything else reads the words: the uncertain-diagnosis rule keeps what comes before
  "probable ..." as the finding, and a label there is none.
- Slashed shorthand ("s/p", "h/o", "c/o"): an abbreviation's meaning may be called for by one
  ("s/p appy" is the appendectomy, "acute appy" the appendicitis), so the words a meaning's
  ``with=`` condition is checked against hold them as written, not only their letters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

__all__ = ["context_words", "plus_as_positive", "unglued", "without_labels"]

_GLUED: Final = re.compile(r"\b([a-z]{2,})(\d[ab]?)\b")
_STAGE_WORDS: Final = frozenset(("stage", "grade", "type", "class", "gold", "tanner"))
"""Words a stage or grade follows: "stage3" is "stage 3" whatever comes before it."""
_SLASHED: Final = re.compile(r"(?<![a-z0-9/])[a-z0-9]+/[a-z0-9]+(?![a-z0-9/])")
_WORD: Final = re.compile(r"[a-z0-9]+")


def unglued(lowered: str, known: Callable[[str], bool]) -> str:
    """``lowered`` with a stage glued to its shorthand cut off ("ckd3a": "ckd 3a").

    ``known(term)``: whether ``term`` is shorthand or a lay term the tables spell out.
    """
    if not any(c.isdigit() for c in lowered):
        return lowered

    def cut(found: re.Match[str]) -> str:
        letters, number = found.group(1), found.group(2)
        if known(found.group(0)):
            return found.group(0)
        if letters in _STAGE_WORDS or known(letters) or known(f"{letters} {number}"):
            return f"{letters} {number}"
        return found.group(0)

    return _GLUED.sub(cut, lowered)


def context_words(lowered: str) -> set[str]:
    """The words an abbreviation's meaning is called for by.

    Each word, and slashed shorthand as written ("s/p", "h/o") beside its letters.
    """
    return set(_WORD.findall(lowered)) | set(_SLASHED.findall(lowered))


_PLUS: Final = re.compile(r"(?<=[a-z])\s?\+(?![a-z0-9+])|(?<![a-z0-9+])\+(?=[a-z])", re.IGNORECASE)


def plus_as_positive(lowered: str) -> str:
    """``lowered`` with a plus sign on a word read as "positive" ("+ppd": " positive ppd")."""
    if "+" not in lowered:
        return lowered
    return _PLUS.sub(" positive ", lowered)


_LABEL: Final = re.compile(
    r"^\s*(?:(?:assessment(?:\s*(?:and|&)\s*plan)?|a\s*/\s*p|a&p|dx|diagnosis|diagnoses|"
    r"impression|imp|cc|chief complaint|reason for (?:the )?(?:visit|encounter)|rfv|hpi|pmh|"
    r"pmhx|problem list|pl)\s*[:\-]\s*"
    r"|(?:assessment|dx|diagnosis|impression|chief complaint|reason for (?:the )?(?:visit|"
    r"encounter))\s+(?=[a-z0-9?+]))",
    re.IGNORECASE,
)
_PROBLEM_LIST: Final = re.compile(r"\s*[(\[]\s*(?:problem list|pl|pmh)\s*[)\]]", re.IGNORECASE)


def without_labels(text: str) -> str:
    """``text`` without a note's section label ("A/P: CHF": "CHF"), a plus on a word read.

    Both before anything else reads the words (see the module): a "+PPD" is a test's
    result, not the test.

    Unchanged when nothing else would be left: the label is then all there is to rank.
    """
    kept = _PROBLEM_LIST.sub("", _LABEL.sub("", text, count=1))
    kept = kept if _WORD.search(kept.lower()) else text
    return plus_as_positive(kept)  # read before the visit's words: "+PPD" is a result
