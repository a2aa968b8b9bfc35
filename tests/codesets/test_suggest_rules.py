"""General coding rules the suggestions follow, each with its basis.

The phrases are written for these tests, not taken from a measured list.
"""

from __future__ import annotations

from datetime import date

import pytest

from codesets.search import words_of
from codesets.suggest import readings, without_rule_out

ON = date(2026, 1, 15)


def _codes(registry, text: str, age: int, sex: str) -> list[str]:
    return [s.code for s in registry.suggest(text, on=ON, age=age, sex=sex)]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("DM2 poorly controlled", "E1165"),
        ("type 1 diabetes out of control", "E1065"),
        ("diabetes not well controlled", "E1165"),
    ],
)
def test_poorly_controlled_diabetes_is_with_hyperglycemia(registry, text: str, code: str) -> None:
    """Index: Diabetes, poorly controlled / out of control - code to type, with hyperglycemia."""
    assert _codes(registry, text, 60, "male")[0] == code


def test_control_words_of_another_condition_are_left_alone(registry) -> None:
    assert _codes(registry, "poorly controlled asthma", 30, "male")[0].startswith("J45")


def test_a_rule_out_after_the_finding_leaves_the_finding(registry) -> None:
    """Guidelines IV.H: an uncertain diagnosis is not coded outpatient; the symptom is."""
    assert without_rule_out("sore throat, r/o strep") == "sore throat"
    assert without_rule_out("Headache (rule out migraine)") == "Headache"
    assert without_rule_out("r/o pneumonia") == "r/o pneumonia"  # nothing found before it
    assert _codes(registry, "sore throat, r/o strep", 20, "male")[0] == "J029"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("family history of stomach cancer", "Z800"),
        ("FHx prostate ca", "Z8042"),
        ("mother had ovarian cancer", "Z8041"),
        ("family hx of breast carcinoma", "Z803"),
    ],
)
def test_a_family_history_of_cancer_is_coded_by_its_site(registry, text: str, code: str) -> None:
    """Index: History, family, malignant neoplasm, by site (Z80.0-Z80.52)."""
    assert _codes(registry, text, 50, "female" if "ovarian" in text else "male")[0] == code


def test_a_raised_blood_glucose_is_hyperglycemia(registry) -> None:
    """Index: Hyperglycemia R73.9."""
    assert _codes(registry, "elevated glucose", 50, "male")[0] == "R739"


@pytest.mark.parametrize(
    "text", ["never graduated from high school", "dropped out of school", "no HS diploma"]
)
def test_less_than_a_high_school_diploma_in_the_patients_words(registry, text: str) -> None:
    """Tabular Z55.5 Less than a high school diploma (Guidelines I.B.14: from any words)."""
    assert _codes(registry, text, 40, "male")[0] == "Z555"


def test_contractions_and_due_to_shorthand_are_read_as_words() -> None:
    """Their letters alone ("t", "d") are no word, and matched thousands of codes."""
    assert readings("can't sleep")[0] == "insomnia"  # the synonyms table row, read alike
    assert "cannot" in readings("can't open jars")[0]
    assert "did not" in readings("didn't take insulin")[0]
    assert "due to" in readings("dermatitis d/t nickel")[0]
    assert "due to" in readings("anemia 2/2 CKD")[0]


@pytest.mark.parametrize(
    ("text", "code"),
    [("Meniere disease, right ear", "H8101"), ("Ménière's disease, right ear", "H8101")],
)
def test_an_accented_eponym_reads_with_or_without_accents(registry, text: str, code: str) -> None:
    """The Tabular writes "Ménière's disease"; people type it either way."""
    assert words_of("Ménière Guillain-Barré") == ["meniere", "guillain", "barre"]
    assert _codes(registry, text, 50, "male")[0] == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("fracture of left hip", "S72002A"),  # Index: Fracture, hip - see Fracture, femur, neck
        ("fracture of right hip, initial", "S72001A"),
        ("RLQ pain", "R1031"),  # a lay term holding its side keeps it
    ],
)
def test_a_side_inside_a_lay_phrase_does_not_break_it(registry, text: str, code: str) -> None:
    assert _codes(registry, text, 70, "female")[0] == code
