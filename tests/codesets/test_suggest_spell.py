"""Spelling tolerance of text suggestions (codesets/suggest_spell.py): British spellings and
misspelt words, as a coder's search in a mature tool forgives them.

The distance and the rules are tested on their own; the speller on a small vocabulary whose
answers are known; the registry on phrases written for these tests (none from the held-out
lists), each a misspelling or British spelling of a term whose code a coder would take.
"""

from __future__ import annotations

import time
from datetime import date

import pytest

from codesets.suggest import spelling
from codesets.suggest_spell import (
    Speller,
    british_to_american,
    damerau_levenshtein,
    plain_words,
)

ON = date(2026, 1, 15)


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("asthma", "asthma", 0),
        ("asthma", "astma", 1),  # a letter dropped
        ("pneumonia", "pnuemonia", 1),  # two letters swapped: one edit, not two
        ("eczema", "exzema", 1),  # a letter changed
        ("hemorrhoids", "hemmorhoids", 2),  # one letter doubled, another not
        ("bronchitis", "bronkitis", 2),
        ("gout", "asthma", 3),  # beyond two: "more than two", not counted on
    ],
)
def test_damerau_levenshtein_counts_adds_drops_changes_and_swaps(a, b, distance):
    assert damerau_levenshtein(a, b) == distance
    assert damerau_levenshtein(b, a) == distance


def test_british_spellings_are_rules_taken_only_where_the_american_word_is_known():
    known = {"anemia", "esophageal", "hemorrhagic", "tumors", "hospitalized", "fiber", "sulfa"}
    assert british_to_american("anaemia", known.__contains__) == "anemia"
    assert british_to_american("oesophageal", known.__contains__) == "esophageal"
    assert british_to_american("haemorrhagic", known.__contains__) == "hemorrhagic"
    assert british_to_american("tumours", known.__contains__) == "tumors"
    assert british_to_american("hospitalised", known.__contains__) == "hospitalized"
    assert british_to_american("fibre", known.__contains__) == "fiber"
    # A rule that gives no known word changes nothing: "poet" is not "pet".
    assert british_to_american("poet", known.__contains__) is None
    assert british_to_american("asthma", known.__contains__) is None


def _speller(*others: str) -> Speller:
    tabular = sorted(
        {"asthma", "pneumonia", "pneumonitis", "migraine", "fracture", "diabetes", "anemia",
         "abscess", "access", "night", "fever", "hemorrhoids", "hemorrhage"}
    )  # fmt: skip
    uses = {"abscess": 300, "access": 4, "pneumonia": 200, "pneumonitis": 20}
    return Speller(tabular, lambda w: uses.get(w, 1), others)


def test_a_misspelt_word_is_corrected_to_the_nearest_and_most_used_word():
    speller = _speller()
    assert speller.corrected("community acquired pnuemonia") == "community acquired pneumonia"
    assert speller.corrected("migrane") == "migraine"
    # "abcess" is one edit from both "abscess" and "access": the Tabular's commoner word wins.
    assert speller.corrected("buttock abcess") == "buttock abscess"
    # Two edits only for a long word; a short one is left alone past one.
    assert speller.corrected("hemmorhoids") == "hemorrhoids"
    assert speller.corrected("amenia") is None  # two letters changed in a six-letter word


def test_known_words_prefixes_short_words_and_plain_words_are_never_corrected():
    speller = _speller("might")
    assert speller.corrected("asthma") is None
    assert speller.corrected("fractures of ribs") is None  # the search's own plural
    assert speller.corrected("diabet") is None  # the start of a word: a search for it
    assert speller.corrected("fevr") is None  # four letters: shorthand more often than not
    assert speller.corrected("t2dmx") is None  # holds a digit: shorthand
    assert speller.corrected("might have asthma") is None  # a plain word, not "night"
    assert speller.corrected("x" * 40) is None  # no word of a diagnosis


def test_words_written_together_are_read_apart_where_no_word_is_one_edit_away():
    speller = _speller("chest", "pain", "back", "low", "knee")
    assert speller.corrected("chestpain") == "chest pain"
    assert speller.corrected("lowbackpain x") == "low back pain x"  # three words at most
    assert speller.corrected("pneumoniaa") == "pneumonia"  # one edit first: not "pneumonia a"
    assert speller.corrected("kneexyz") is None  # a part that is no word: nothing


def test_a_words_english_form_reads_as_the_word_unless_the_search_finds_it():
    speller = _speller("dizzy")
    assert speller.corrected("dizzyness") == "dizzy"
    assert speller.corrected("fractured ribs") is None  # "fractur" starts "fracture": found


def test_british_spelling_is_rewritten_in_place_not_offered_as_a_guess():
    speller = _speller()
    assert speller.american("Iron deficiency anaemia") == "iron deficiency anemia"
    assert speller.american("asthma") == "asthma"  # unchanged text as given
    assert speller.corrected("anaemia") is None  # not guessed at as a misspelling


def test_plain_words_are_lower_case_words_long_enough_to_be_corrected():
    words = plain_words()
    assert len(words) >= 300
    assert all(w.isalpha() and w.islower() for w in words)
    assert {"might", "would", "could", "where"} <= words


def _codes(registry, text: str, **patient) -> list[str]:
    return [s.code for s in registry.suggest(text, on=ON, **patient)]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("pnemonia", "J18.9"),  # Index: Pneumonia (acute)(...) J18.9
        ("gastroentritis", "K52.9"),  # Gastroenteritis (noninfectious) K52.9
        ("cellulits", "L03.90"),  # Cellulitis NOS L03.90
        ("tonsilitis", "J03.90"),  # Tonsillitis (acute) J03.90
        ("conjuctivitis", "H10.9"),  # Conjunctivitis NOS H10.9
        ("bronkitis", "J40"),  # Bronchitis NOS J40
        ("urinary tract infecton", "N39.0"),  # Infection, urinary (tract) N39.0
        ("chestpain", "R07.9"),  # Pain, chest R07.9
        ("sorethroat", "J02.9"),  # Pharyngitis (acute) J02.9 ("sore throat")
        ("dizzyness", "R42"),  # Dizziness R42
    ],
)
def test_a_misspelt_diagnosis_offers_the_words_code_first(registry, text, code):
    assert _codes(registry, text)[0] == code.replace(".", "")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("oesophagitis", "K20.90"),  # Esophagitis K20.90
        ("haematuria", "R31.9"),  # Hematuria R31.9
        ("hypoglycaemia", "E16.2"),  # Hypoglycemia E16.2
        ("coeliac disease", "K90.0"),  # Disease, celiac K90.0
        ("faecal incontinence", "R15.9"),  # Incontinence, feces R15.9
        ("hospitalised for heart failure", "I50.9"),  # Failure, heart I50.9
        ("sulphonamide allergy", "Z88.2"),  # Allergy, sulfonamides (status) Z88.2
    ],
)
def test_a_british_spelling_reads_as_the_american(registry, text, code):
    assert _codes(registry, text)[0] == code.replace(".", "")


def test_the_registry_speller_knows_the_tabular_and_plain_words(registry):
    speller = spelling(registry._searcher())
    assert speller.corrected("eczema of hands") is None
    assert speller.corrected("ecezma of hands") == "eczema of hands"
    assert speller.corrected("might have asthma") is None


def test_spelling_costs_little_per_query(registry):
    speller = spelling(registry._searcher())
    words = [f"pnuemoniax{chr(97 + i)}" for i in range(26)]  # misspelt, never memoised before
    started = time.process_time()
    for word in words:
        speller.corrected(f"acute {word}")
    assert (time.process_time() - started) / len(words) < 0.05
