"""Text suggestions: the right code among the top five for common diagnoses in plain words."""

from datetime import date
from pathlib import Path

import pytest

from codesets.suggest import to_classification_words
from fhir_coder.systems import normalise_icd10cm

COMMON = Path(__file__).resolve().parents[1] / "data" / "common_diagnoses.tsv"
ON = date(2026, 1, 15)


def common_diagnoses() -> list[tuple[str, str]]:
    rows = []
    for line in COMMON.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            words, code = line.split("\t")
            rows.append((words, normalise_icd10cm(code)))
    return rows


def test_the_list_holds_two_hundred_diagnoses_with_valid_billable_codes(registry):
    rows = common_diagnoses()
    assert len(rows) >= 200
    for words, code in rows:
        info = registry.lookup("http://hl7.org/fhir/sid/icd-10-cm", code, ON)
        assert info.valid, (words, code)
        assert info.billable, (words, code)


def test_right_code_is_in_the_top_five_for_at_least_80_percent(registry):
    rows = common_diagnoses()
    found = sum(
        1
        for words, code in rows
        if code in [s.code for s in registry.suggest(words, on=ON, limit=5)]
    )
    assert found / len(rows) >= 0.80, f"{found}/{len(rows)}"


def test_suggestions_are_billable_valid_scored_and_say_what_matched(registry):
    offered = registry.suggest("anemia", on=ON, limit=5)
    assert offered[0].code == "D649"
    assert offered[0].matched == "Anemia, unspecified"
    assert all(0 < s.score <= 1 for s in offered)
    assert [s.score for s in offered] == sorted((s.score for s in offered), reverse=True)
    for s in offered:
        info = registry.lookup(s.system, s.code, ON)
        assert info.valid
        assert info.billable


def test_initial_encounter_ranks_before_sequela_for_an_injury(registry):
    offered = [s.code for s in registry.suggest("ankle sprain", on=ON, limit=5)]
    assert offered[0].endswith("A")


@pytest.mark.parametrize(
    ("words", "classification"),
    [
        ("High blood pressure", "hypertension"),
        ("heart attack last week", "myocardial infarction last week"),
        ("patient's shingles", "patient zoster"),
    ],
)
def test_lay_terms_become_the_tabulars_words(words, classification):
    assert to_classification_words(words) == classification


def test_nothing_for_words_that_mean_nothing(registry):
    assert registry.suggest("zzzz qqqq", on=ON) == ()
    assert registry.suggest("", on=ON) == ()
