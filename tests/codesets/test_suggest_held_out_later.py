"""Text suggestions on the later held-out lists: issue 17's figures hold, and the lists stay apart.

Each list was written by an engineer who read no suggestion code, without running the
suggestion engine on it, and measured once for the figure recorded in docs/accuracy.md:

* ``held_out_phrases_2.tsv`` (594 phrases): measured once at top-1 401, top-5 438; its misses
  were then used to build the suggestion tables (codesets/data/suggest), so it is held out no
  more and its floors are the figure after those changes.
* ``held_out_phrases_3.tsv`` (499 phrases, its codes checked by a second coder): measured once
  on 2026-12-07 after those changes (top-1 363, top-5 429; 262 and 328 on the ranking before
  them, same day). Its misses were then read to make general rules (side, trimester and
  encounter to choose among a code's family, roman stage numerals, poorly controlled diabetes,
  rule-outs, family history by site; docs/accuracy.md), so it is held out no more: it was
  tuned on from here; its floors are the figure after the coders' index (top-1 443, top-5 479).
* ``held_out_phrases_4.tsv`` (419 phrases, its codes checked by a second coder): measured once
  on 2026-12-07 after those rules (top-1 320, top-5 351; 209 and 260 at the session's start,
  308 and 346 after the tables, same minutes). Then seven engineers who read none of the lists
  wrote the coders' index (codesets/data/suggest/index) and its ranking; measured again on
  2026-12-07 19:13 UTC at 4a302ff: top-1 356, top-5 376, its floors now. Nobody has read its
  misses; whoever tunes on them must say so in docs/accuracy.md.
* ``held_out_phrases_5.tsv`` (501 phrases, its codes checked blind by a second coder): written
  outside the repository while the coders' index was written, and measured once at 4a302ff,
  2026-12-07 19:13 UTC, with every change of the session landed: top-1 433, top-5 463 (382 and
  431 on the session's starting tree, 9b874ce, the same minutes). Its floors are that one
  measurement.
* ``held_out_phrases_6.tsv`` (559 phrases, its codes checked blind by a second coder): written
  outside the repository (/work/sealed6) while five engineers built spelling tolerance, the
  qualifiers, obstetric and site rules and lay-words-2, and measured once at 24b6b23,
  2026-12-07 22:06 UTC, with all of that landed: top-1 483, top-5 524 (432 and 492 on the
  session's starting tree, 25af4df, the same minutes). Its misses were then read by two
  engineers (pronouns and other words that are not the condition's; reasons for the visit and
  injuries by what happened): 496/536 after them, its floors now.
* ``held_out_phrases_7.tsv`` (358 phrases, blind-checked by a second coder): written outside
  the repository (/work/sealed7) in the last hour, measured once at c7f9a53, 2026-12-07 22:30
  UTC: top-1 332, top-5 350 (325 and 347 on the starting tree 25af4df, same minute). A weak
  test: about 250 of its phrases are plain terms of the earlier lists with a context prefix
  ("dx:", "A/P:", "pt w/"), added by the writer to avoid the overlap test, so it mostly
  re-measures phrases tuned on; list 6 is the session's honest figure.
  Session 9 (`context`, then `visits`: encounter reasons first): lists 6 and 7 then measured
  505/541 and 337/352; then `shorthand` (a note's labels "dx:", "A/P:" out, shorthand cut and
  read): 506/542 and 345/355, their floors now.

* ``held_out_phrases_8.tsv`` (348 phrases, blind-checked by a second coder: 348 of 349 agreed
  at once, 1 corrected; "AK" dropped by the lead before measuring, both actinic keratosis and
  above-knee amputation status being defensible): written outside the repository (/work/sealed8)
  with no context prefixes and its overlap with lists 1-7 checked on content words too (189
  phrases reworded by hand), measured once at efefc6f, 2026-12-08 00:55 UTC, with the session's
  nine engineers' work landed: top-1 284, top-5 325 (271 and 314 on the starting tree c9a0216,
  the same minutes). The session's honest figure; its floors are that measurement.

Lists 3-5's floors were raised during that session to what each landing measured (they were
tuned on); list 5 then stood at top-1 481, top-5 499.

With spelling tolerance landed (`spell`, measured on main 16a9ef3 plus docs, 2026-12-07 21:32
UTC): list 3 469/497, list 4 401/412, list 5 474/495.

A change to the ranking that loses one of their phrases fails here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from codesets.mce import MsdrgMce
from codesets.suggest_eval import read_phrases, score
from fhir_coder.ports import MceClaim
from fhir_coder.systems import ICD10CM

DATA = Path(__file__).resolve().parents[1] / "data"
CODESETS = Path(__file__).resolve().parents[2] / "codesets"
ON = date(2026, 1, 15)


@dataclass(frozen=True)
class HeldOut:
    """A later list, the lists written before it, and its recorded figure (the floors)."""

    name: str
    written_after: tuple[str, ...]
    phrases: int
    top_1_at_least: int
    top_5_at_least: int

    @property
    def path(self) -> Path:
        return DATA / self.name


FIRST_LISTS = ("common_diagnoses.tsv", "coder_phrases.tsv", "held_out_phrases.tsv")
LISTS = (
    HeldOut("held_out_phrases_2.tsv", FIRST_LISTS, 594, 567, 591),
    HeldOut("held_out_phrases_3.tsv", (*FIRST_LISTS, "held_out_phrases_2.tsv"), 499, 472, 497),
    HeldOut(
        "held_out_phrases_4.tsv",
        (*FIRST_LISTS, "held_out_phrases_2.tsv", "held_out_phrases_3.tsv"),
        419,
        401,
        412,
    ),
    HeldOut(
        "held_out_phrases_5.tsv",
        (
            *FIRST_LISTS,
            "held_out_phrases_2.tsv",
            "held_out_phrases_3.tsv",
            "held_out_phrases_4.tsv",
        ),
        501,
        478,
        498,
    ),
    HeldOut(
        "held_out_phrases_6.tsv",
        (
            *FIRST_LISTS,
            "held_out_phrases_2.tsv",
            "held_out_phrases_3.tsv",
            "held_out_phrases_4.tsv",
            "held_out_phrases_5.tsv",
        ),
        559,
        508,  # context, visits 23:43 UTC, shorthand 00:25, visits 00:40
        542,
    ),
    HeldOut(
        "held_out_phrases_7.tsv",
        (
            *FIRST_LISTS,
            "held_out_phrases_2.tsv",
            "held_out_phrases_3.tsv",
            "held_out_phrases_4.tsv",
            "held_out_phrases_5.tsv",
            "held_out_phrases_6.tsv",
        ),
        358,
        345,
        355,
    ),
    HeldOut(
        "held_out_phrases_8.tsv",
        (
            *FIRST_LISTS,
            "held_out_phrases_2.tsv",
            "held_out_phrases_3.tsv",
            "held_out_phrases_4.tsv",
            "held_out_phrases_5.tsv",
            "held_out_phrases_6.tsv",
            "held_out_phrases_7.tsv",
        ),
        348,
        284,
        325,
    ),
)
each_list = pytest.mark.parametrize("held_out", LISTS, ids=lambda held_out: held_out.name)


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


@each_list
def test_the_list_holds_valid_billable_codes_for_the_patient(registry, held_out):
    phrases = read_phrases(held_out.path)
    assert len(phrases) >= 240
    for phrase in phrases:
        info = registry.lookup(ICD10CM, phrase.code, ON)
        assert (info.valid, info.billable) == (True, True), phrase
        assert phrase.age is not None, phrase
        assert phrase.sex in ("female", "male"), phrase


@each_list
def test_each_code_fits_the_patient_age_and_sex_by_the_medicare_code_editor(held_out):
    phrases = read_phrases(held_out.path)
    conflicts = []
    with MsdrgMce() as mce:
        for phrase in phrases:
            assert phrase.age is not None, phrase
            assert phrase.sex is not None, phrase
            claim = MceClaim(ON, phrase.age, phrase.sex, phrase.code.replace(".", ""))
            edits = mce.diagnosis_edits(claim, sex_edits=True)
            names = [f.edit for f in edits if f.edit in ("AGE_CONFLICT", "SEX_CONFLICT")]
            if names:
                conflicts.append((phrase, names))
    assert not conflicts


@each_list
def test_no_phrase_comes_from_the_lists_written_before_it(held_out):
    earlier = {
        _words(phrase.words)
        for name in held_out.written_after
        for phrase in read_phrases(DATA / name)
    }
    words = [_words(phrase.words) for phrase in read_phrases(held_out.path)]
    assert not [w for w in words if w in earlier]
    assert len(set(words)) == len(words)


@each_list
def test_the_ranking_does_not_read_the_list(held_out):
    readers = [
        path.name
        for path in CODESETS.rglob("*")
        if path.is_file()
        and path.suffix in (".py", ".tsv", ".json", ".toml", ".txt")
        and held_out.name in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert not readers


@each_list
def test_the_recorded_figure_holds(registry, held_out):
    found = score(registry, read_phrases(held_out.path), on=ON)
    assert found.total == held_out.phrases
    assert found.first >= held_out.top_1_at_least, f"top-1 {found.first}/{found.total}"
    assert found.five >= held_out.top_5_at_least, f"top-5 {found.five}/{found.total}"
