from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from codesets.nlm_map import NlmMap, evaluate_rule
from fhir_coder.errors import ConfigurationError
from fhir_coder.systems import ICD10CM, SNOMED

FIXTURE = Path(__file__).parent / "fixtures" / "der2_iisssccRefset_ExtendedMapFull_synthetic.txt"
ON = date(2026, 1, 1)
AGE = "IFA 445518008 | Age at onset of clinical finding (observable entity) |"


@pytest.fixture(scope="module")
def nlm() -> NlmMap:
    return NlmMap(FIXTURE)


def codes(nlm, concept, **patient):
    return [
        (t.code, t.map_group, t.needs_review)
        for t in nlm.translate(SNOMED, concept, ICD10CM, on=ON, **patient)
    ]


@pytest.mark.parametrize(
    ("rule", "age", "sex", "verdict"),
    [
        ("TRUE", None, None, True),
        ("OTHERWISE TRUE", None, None, True),
        ("IFA 248152002 | Female (finding) |", None, "female", True),
        ("IFA 248152002 | Female (finding) |", None, "male", False),
        ("IFA 248153007 | Male (finding) |", None, None, None),
        (f"{AGE} < 18.0 years", 17, None, True),
        (f"{AGE} < 18.0 years", 18, None, False),
        (f"{AGE} >= 65.0 years", 65, None, True),
        (f"{AGE} < 18.0 years", None, "female", None),
        (f"{AGE} >= 1.0 years AND {AGE} < 18.0 years", 0, None, False),
        (f"{AGE} >= 1.0 years AND {AGE} < 18.0 years", 5, None, True),
        (f"{AGE} < 6.0 months", 0, None, None),
        (f"{AGE} < 6.0 months", 1, None, False),
        ("IFA 14669001 | Acute renal failure syndrome (disorder) |", 40, "male", None),
    ],
)
def test_rules(rule, age, sex, verdict):
    assert evaluate_rule(rule, age, sex) is verdict


def test_sex_rule_chooses_the_target(nlm):
    assert codes(nlm, "1000001", sex="female") == [("N979", 1, False)]
    assert codes(nlm, "1000001", sex="male") == [("N469", 1, False)]
    # unknown sex: both guarded targets for review; OTHERWISE has no target (cannot classify)
    assert codes(nlm, "1000001") == [("N979", 1, True), ("N469", 1, True)]


def test_age_rule_and_otherwise(nlm):
    assert codes(nlm, "1000002", age=10) == [("R6251", 1, False)]
    assert codes(nlm, "1000002", age=40) == [("R627", 1, False)]
    assert codes(nlm, "1000002") == [("R6251", 1, True), ("R627", 1, True)]


def test_every_map_group_gives_a_code(nlm):
    assert codes(nlm, "1000003") == [("E119", 1, False), ("Z794", 2, False)]


def test_other_conditions_and_context_dependent_targets_need_review(nlm):
    found = nlm.translate(SNOMED, "1000004", ICD10CM, on=ON, age=50, sex="male")
    assert [(t.code, t.needs_review) for t in found] == [("N179", True), ("I10", True)]
    assert found[0].rule == (
        "NLM map group 1 priority 1: IFA 14669001 | Acute renal failure syndrome (disorder) |"
    )


def test_full_file_keeps_the_latest_active_row(nlm):
    assert codes(nlm, "1000005") == [("J4520", 1, False)]
    assert nlm.version == "20250301"


def test_and_rules_then_sex_then_otherwise(nlm):
    assert codes(nlm, "1000006", age=5, sex="male") == [("R6251", 1, False)]
    assert codes(nlm, "1000006", age=40, sex="female") == [("N979", 1, False)]
    assert codes(nlm, "1000006", age=40, sex="male") == [("R627", 1, False)]


def test_other_systems_and_unknown_concepts(nlm):
    assert nlm.translate(SNOMED, "42", ICD10CM, on=ON) == ()
    assert nlm.translate(ICD10CM, "1000003", SNOMED, on=ON) == ()
    assert len(nlm) == 6
    assert nlm.source.startswith("NLM SNOMED CT to ICD-10-CM map 20250301")


def test_a_file_that_is_not_the_map(tmp_path):
    path = tmp_path / "map.txt"
    path.write_text("a\tb\n1\t2\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not an NLM extended map"):
        NlmMap(path)
    with pytest.raises(ConfigurationError):
        NlmMap(tmp_path / "absent.txt")
