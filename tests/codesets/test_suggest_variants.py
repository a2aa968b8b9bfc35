"""The side and trimester the words give choose among codes that differ only by them.

Guidelines I.C.15.a.3 (trimesters by completed weeks) and I.B.13 (laterality); the phrases
here are written for these tests, not taken from a measured list.
"""

from __future__ import annotations

from datetime import date

import pytest

from codesets.suggest_obstetric import in_pregnancy
from codesets.suggest_variants import (
    SIDE,
    TRIMESTER,
    slot_keys,
    wanted_seventh,
    wanted_side,
    wanted_trimester,
)

ON = date(2026, 1, 15)


@pytest.mark.parametrize(
    ("text", "trimester"),
    [
        ("threatened abortion at 9 weeks", "first"),
        ("13 wks", "first"),
        ("14 weeks", "second"),  # 14 weeks 0 days begins the second
        ("27w", "second"),
        ("28 weeks", "third"),  # 28 weeks 0 days begins the third
        ("pregnant, 3rd tri", "third"),
        ("first trimester bleeding", "first"),
        ("second trimester, 30 weeks", "second"),  # the trimester named outright wins
        ("cough for 2 weeks ago", None),
        ("fever", None),
        ("twins 20 weeks and 30 weeks", None),  # two ages: none taken
    ],
)
def test_the_trimester_comes_from_weeks_or_its_name(text: str, trimester: str | None) -> None:
    assert wanted_trimester(text) == trimester


@pytest.mark.parametrize(
    ("text", "side"),
    [
        ("otitis media R ear", "right"),
        ("cataract OS", "left"),
        ("dry eye OU", "bilateral"),
        ("hearing loss, both ears", "bilateral"),
        ("knee pain right and left", "bilateral"),
        ("cough, r/o pneumonia", None),  # "r/o" is rule out, not right
        ("right hand, left foot", None),
        ("compression fracture L1", None),  # a vertebra, not a side
    ],
)
def test_the_side_comes_from_words_and_eye_and_ear_abbreviations(
    text: str, side: str | None
) -> None:
    assert wanted_side(text) == side


def test_codes_of_one_family_share_a_key_and_differ_in_the_slot() -> None:
    right = slot_keys("Acute serous otitis media, right ear", SIDE)
    unspecified = slot_keys("Acute serous otitis media, unspecified ear", SIDE)
    assert right[0][0] == unspecified[0][0]
    assert (right[0][1], unspecified[0][1]) == ("right", "unspecified")
    third = slot_keys("Pre-eclampsia, third trimester", TRIMESTER)
    assert third == [("pre-eclampsia, \0", "third")]
    assert slot_keys("Pre-eclampsia, unspecified trimester", TRIMESTER)[0][0] == third[0][0]
    assert slot_keys("Essential (primary) hypertension", TRIMESTER) == []


def _codes(registry, text: str, age: int, sex: str) -> list[str]:
    return [s.code for s in registry.suggest(text, on=ON, age=age, sex=sex)]


def test_weeks_choose_the_trimester_of_a_pregnancy_code(registry) -> None:
    assert _codes(registry, "polyhydramnios 25w", 30, "female")[0] == "O402XX0"
    assert _codes(registry, "gestational hypertension, 1st tri", 30, "female")[0] == "O131"
    codes = _codes(registry, "placenta previa at 31 weeks", 30, "female")
    assert codes[0].startswith("O44")
    assert codes[0].endswith("3")


def test_weeks_of_gestation_come_after_the_pregnancy_condition(registry) -> None:
    """The Tabular's note at Z3A: code first the complication of pregnancy (O09-O9A)."""
    codes = _codes(registry, "oligohydramnios, 33 weeks", 30, "female")
    assert codes[0] == "O4103X0"


def test_a_side_chooses_among_codes_that_differ_by_it(registry) -> None:
    assert _codes(registry, "ocular hypertension both eyes", 60, "male")[0] == "H40053"
    assert _codes(registry, "hypertensive retinopathy OD", 60, "male")[0] == "H35031"
    assert _codes(registry, "acute serous otitis media AU", 4, "male")[0] == "H6503"


def test_a_side_moves_no_code_without_one(registry) -> None:
    """Low back pain has no side in the Tabular: the side said pushes it down not at all."""
    assert _codes(registry, "low back pain, right", 40, "male")[0] == "M5450"


def test_roman_numerals_of_a_stage_are_the_tabulars_numbers(registry) -> None:
    assert _codes(registry, "CKD stage IV", 60, "male")[0] == "N184"
    assert _codes(registry, "pressure ulcer of sacral region stage IV", 80, "male")[0] == "L89154"
    assert _codes(registry, "type II DM", 60, "male")[0] == "E119"


@pytest.mark.parametrize(
    ("text", "seventh"),
    [
        ("aftercare of femur fracture", "D"),
        ("f/u wrist fracture", "D"),
        ("scar, late effect of burn", "S"),
        ("ankle sprain", None),
        ("initial encounter, follow up", None),
        ("non-healing wound", None),
    ],
)
def test_the_encounter_words_give_the_seventh_character(text: str, seventh: str | None) -> None:
    assert wanted_seventh(text) == seventh


def test_aftercare_of_an_injury_is_its_code_with_d(registry) -> None:
    """Guidelines I.C.21.c.7: aftercare of an injury is the injury code, 7th character D."""
    assert _codes(registry, "aftercare of left hip fracture", 80, "female")[0] == "S72002D"
    assert _codes(registry, "sprain of left ankle, follow-up", 30, "male")[0] == "S93402D"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("hypothyroid in pregnancy", "O99280"),  # endocrine, unspecified trimester
        ("anemia in pregnancy, 25 weeks", "O99012"),
        ("type 2 diabetes, pregnant at 30 weeks", "O24113"),  # pre-existing type 2, third
        ("current smoker, pregnant", "O99330"),
    ],
)
def test_a_condition_in_pregnancy_is_first_its_chapter_15_code(
    registry, text: str, code: str
) -> None:
    """Guidelines I.C.15.a.1 (Chapter 15 codes first); the Tabular's O99 and O24.0-/O24.1-."""
    assert _codes(registry, text, 28, "female")[0] == code


def test_not_pregnant_leaves_the_condition_alone(registry) -> None:
    assert not in_pregnancy("migraine, not pregnant")
    assert _codes(registry, "migraine, not pregnant", 30, "female")[0].startswith("G43")
