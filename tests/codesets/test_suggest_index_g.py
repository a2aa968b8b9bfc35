"""The coders' index in patients' and lay words (codesets/data/suggest/index/lay-words-2.tsv).

The file extends lay-words.tsv with the words people write for symptoms, social needs,
poisonings, findings of tests and infections named by organism; every row is checked
against the FY2026 Tabular by test_coders_index.py. Here: the file keeps its promises
(its size, no term of lay-words.tsv written again with another code, no row its own term
cannot reach), and phrases written for these tests, not taken from a measured list, find
the code a coder would give them first.
"""

from __future__ import annotations

import re

import pytest

from codesets.coders_index import FOLDER, read_table
from tests.codesets.suggesting import first_code, same_term

FILE = FOLDER / "lay-words-2.tsv"


def test_the_file_has_the_rows_it_promises():
    rows = read_table(FILE)
    assert len(rows) >= 800
    sections = [
        line for line in FILE.read_text(encoding="utf-8").splitlines() if line.startswith("# (")
    ]
    assert len(sections) == 5, sections  # symptoms, social needs, tests, organisms, poisonings


def test_no_term_of_the_first_lay_words_file_is_written_again():
    """The file extends lay-words.tsv: a term written twice would be two rows to keep true."""
    first = {same_term(row.term) for row in read_table(FOLDER / "lay-words.tsv")}
    again = [row.where for row in read_table(FILE) if same_term(row.term) in first]
    assert not again, again


def test_no_term_holds_a_clause_the_ranking_reads_as_absent():
    """A query's "not ..." or "without ..." words are what is absent (codesets.suggest): a
    term needing them could never be reached, so a patient's "does not exercise" is written
    "no exercise". Words in parentheses are never needed and may hold them."""
    clause = re.compile(r"\b(not|without)\b", re.IGNORECASE)
    outside = [
        row.where for row in read_table(FILE) if clause.search(re.sub(r"\([^)]*\)", " ", row.term))
    ]
    assert not outside, outside


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # Index: Pain, by site; the side said chooses in the Tabular
        ("my tummy hurts", "R109"),
        ("my left knee hurts", "M25562"),
        ("it hurts to pee", "R309"),
        ("peeing often at night", "R351"),  # Index: Nocturia
        ("baby is colicky", "R1083"),  # Index: Colic, infantile
        ("cannot poop for a week", "K5900"),
        ("my heart is racing", "R002"),
        ("I can't fall asleep at night", "G4700"),
        ("trouble focusing in class", "R41840"),
    ],
)
def test_symptoms_in_patients_words(registry, text: str, code: str) -> None:
    assert first_code(registry, text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # Guidelines I.B.14: social needs from the patient's own words
        ("laid off from the factory", "Z560"),
        ("living in a tent by the river", "Z5902"),
        ("she might lose her job", "Z562"),
        ("needs help bathing and dressing", "Z741"),
        ("eats fast food every day", "Z724"),
        ("rations his insulin because of the cost", "Z91120"),
    ],
)
def test_social_needs_in_peoples_words(registry, text: str, code: str) -> None:
    assert first_code(registry, text, 45, "male") == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # Guidelines I.C.19.e.5.b: no intent written is accidental; a suicide attempt by
        # poisoning is the Table's intentional self-harm column; the encounter word chooses
        # the 7th character
        ("took too many of her sleeping pills", "T4271XA"),
        ("overdosed on benzos", "T424X1A"),
        ("intentional antidepressant overdose", "T43202A"),
        ("benzo overdose, suicide attempt", "T424X2A"),
        ("overdose of blood pressure pills", "T465X1A"),
        ("overdose of blood pressure pills, suicide attempt", "T465X2A"),
        ("drank bleach, subsequent encounter", "T5491XD"),
        ("child ate a dishwasher pod", "T551X1A"),
        ("toddler swallowed a magnet", "T189XXA"),
        ("stung by a wasp", "T63461A"),
    ],
)
def test_poisonings_in_lay_words(registry, text: str, code: str) -> None:
    assert first_code(registry, text, 30, "female") == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("high CRP", "R7982"),
        ("elevated sed rate", "R700"),
        ("abnormal thyroid blood test", "R946"),
        ("ketones in the urine", "R824"),
        ("white blood cells in urine", "R8281"),
        ("hidden blood in stool", "R195"),
        ("low ferritin", "E611"),
        # Guidelines I.C.1.g.1.a: a positive test is a confirmed case, symptoms or none
        ("tested positive for covid, no symptoms", "U071"),
        ("positive rapid strep", "J020"),
    ],
)
def test_findings_of_tests(registry, text: str, code: str) -> None:
    assert first_code(registry, text, 50, "female") == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("klebsiella pneumonia", "J150"),
        ("norovirus outbreak", "A0811"),
        # Index: Infection, Helicobacter pylori A04.8; with gastritis, the gastritis first
        # and B96.81 beside it
        ("Helicobacter pylori infection", "A048"),
        ("H pylori gastritis", "K2970"),
    ],
)
def test_infections_named_by_organism(registry, text: str, code: str) -> None:
    assert first_code(registry, text, 40, "male") == code
