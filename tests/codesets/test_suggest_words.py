"""Words that say who or when are no part of the condition (codesets.suggest_words).

The examples are this module's own (pronouns, "pt", times of day and ages around a condition
a coder would look up by its main term), not phrases of the held-out lists.
"""

from __future__ import annotations

from datetime import date

import pytest

from codesets.suggest_words import without_person_words
from fhir_coder.systems import ICD10CM

ON = date(2026, 1, 15)


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("blister on my heel", "blister on heel"),
        ("pt reports her wrist is swollen", "reports wrist is swollen"),
        ("I twisted my knee yesterday", "twisted knee"),
        ("fever since this morning in 3 yo", "fever since in"),
        ("45-year-old with gout", "with gout"),
        ("type I diabetes", "type I diabetes"),  # the roman I is a number there
        ("grade I sprain of his ankle", "grade i sprain of ankle"),
        ("bipolar I disorder", "bipolar I disorder"),  # roman: no clause starts there
        ("fell and I hit my head", "fell and hit head"),
        ("croup, 18 mo old", "croup,"),
        ("weight check, 6 day old", "weight check, 6 day old"),  # the days choose Z00.11-
        ("HER2 positive breast cancer", "HER2 positive breast cancer"),  # a name, not "her"
        ("me", "me"),  # nothing else written: the words are all there is
    ],
)
def test_person_time_and_age_words_are_taken_out(written, kept):
    assert without_person_words(written) == kept


def _offered(registry, words: str) -> list[str]:
    return [s.code for s in registry.suggest(words, on=ON, age=40, sex="female")]


@pytest.mark.parametrize(
    ("words", "code"),
    [
        ("cellulitis of my left leg", "L03116"),  # Index: Cellulitis, leg: lower limb
        ("rash on my arm", "R21"),
        ("my back hurts", "M549"),
        ("pt with heartburn", "R12"),
        ("pt has cough and fever", "R059"),
    ],
)
def test_a_pronoun_leads_to_no_code_of_its_own(registry, words, code):
    assert registry.lookup(ICD10CM, code, ON).billable
    offered = _offered(registry, words)
    assert offered[:1] == [code]
    # "my" finds no myositis (M60-M61), mycosis (B49) or myelitis (G04); "pt" no ptosis
    # (H02.4), post-transfusion purpura (D69.51) or ptyalism (K11.7).
    assert not [
        c for c in offered if c.startswith(("M60", "M61", "B49", "G04", "H024", "D695", "K117"))
    ]


def test_a_burn_written_with_a_pronoun_finds_no_myositis(registry):
    offered = _offered(registry, "burnt my finger on the stove")
    assert offered
    assert not [c for c in offered if c.startswith(("M60", "M61"))]  # "my": no myositis


@pytest.mark.parametrize(
    ("words", "code"),
    [
        ("hemorrhoyds", "K649"),  # a misspelt plural reads as its singular: Hemorrhoids
        ("migranes", "G43909"),
    ],
)
def test_a_misspelt_plural_is_corrected_like_its_singular(registry, words, code):
    assert code in _offered(registry, words)
