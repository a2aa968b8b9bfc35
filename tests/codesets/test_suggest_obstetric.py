"""Pregnancy and the newborn in text suggestions (codesets.suggest_obstetric).

Guidelines I.C.15.a.1 (Chapter 15 first for a condition in pregnancy), I.C.15.a.3 (trimesters
by completed weeks), I.C.15.g (gestational diabetes and its drugs), I.C.16.e (birth weight and
gestational age, weight first); the Tabular's O42 and P07 axes. The phrases are written for
these tests, not taken from a measured list.
"""

from __future__ import annotations

from datetime import date

import pytest

from codesets.suggest_obstetric import (
    chapter_15_for,
    condition_words,
    gestational_diabetes_code,
    gestational_weeks,
    newborn_codes,
    prom_code,
    read_obstetric,
)
from fhir_coder.systems import ICD10CM

ON = date(2026, 1, 15)


def _codes(registry, text: str, age: int | None, sex: str | None) -> list[str]:
    return [s.code for s in registry.suggest(text, on=ON, age=age, sex=sex)]


@pytest.mark.parametrize(
    ("text", "weeks"),
    [
        ("pregnant at 27 wks", 27),
        ("G2P1 33+5 weeks", 33),
        ("IUP 30w2d", 30),
        ("cough x 3 weeks", None),  # a duration
        ("fever for 2 weeks", None),
        ("infant 6 weeks old", None),  # an age
        ("seen 6 weeks postpartum", None),
        ("stopped 2 weeks ago", None),
        ("at 20 weeks, now 21 weeks", None),  # two numbers decide nothing
    ],
)
def test_gestational_weeks_are_not_a_duration_or_an_age(text: str, weeks: int | None) -> None:
    assert gestational_weeks(text) == weeks


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("premature rupture of membranes", "O42.90"),  # nothing more said
        ("PROM at 40 weeks", "O42.92"),  # full-term: 37 completed weeks or more
        ("PROM at 37 weeks", "O42.92"),
        ("PROM at 36 weeks", "O42.913"),  # preterm, third trimester
        ("PROM at 26 wks", "O42.912"),  # preterm, second trimester
        ("PPROM", "O42.919"),  # preterm, no weeks: unspecified trimester
        ("PROM 41 weeks, labor began within 24 hrs", "O42.02"),
        ("PROM at 35 weeks, labor more than 24 hours after", "O42.113"),
        ("PROM, onset of labor after 24 hours", "O42.10"),
        ("preeclampsia at 36 weeks", None),
    ],
)
def test_prom_by_weeks_and_time_to_labor(text: str, code: str | None) -> None:
    """The Tabular's O42 axes; the Index: Rupture, membranes, premature, preterm (< 37 weeks)."""
    assert prom_code(text) == code


def test_prom_is_offered_first_with_its_weeks_after_it(registry) -> None:
    codes = _codes(registry, "PROM at 38 wks", 31, "female")
    assert codes[:2] == ["O4292", "Z3A38"]
    assert _codes(registry, "PPROM at 30 weeks", 31, "female")[0] == "O42913"


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("preterm newborn born at 30 weeks", ("P07.33",)),  # 28 weeks is P07.31
        ("preemie, 28 wks gestational age", ("P07.31",)),
        ("premature infant 36 completed weeks", ("P07.39",)),
        ("extremely premature baby born at 25 weeks", ("P07.24",)),  # 23 weeks is P07.22
        ("preterm infant born at 22 weeks", ("P07.21",)),  # less than 23 completed weeks
        ("infant born at 39 weeks", ()),  # term: no P07 code
        ("newborn weight check at 2 weeks", ()),  # the baby's age, no word of prematurity
        ("newborn, birth weight 1320 g", ("P07.15",)),  # 1250-1499 grams
        ("baby weighing 480 grams", ("P07.01",)),  # less than 500 grams
        ("low birth weight infant 2.2 kg", ("P07.18",)),  # 2000-2499 grams
        ("LBW newborn 4 lb 6 oz", ("P07.17",)),  # 1984 grams: 1750-1999
        ("newborn 3100 grams", ()),  # not low birth weight
        ("preemie born at 31 weeks, 1600 grams", ("P07.16", "P07.34")),  # weight first
        ("preterm labor at 32 weeks", ()),  # the mother's
    ],
)
def test_a_newborns_weeks_and_grams_by_the_tabulars_ranges(
    text: str, codes: tuple[str, ...]
) -> None:
    """P07.0-/P07.1- by grams, P07.2-/P07.3- by completed weeks; I.C.16.e: weight first."""
    assert newborn_codes(text.lower(), 0) == codes


def test_a_newborns_codes_need_a_newborn(registry) -> None:
    assert newborn_codes("born at 30 weeks", 40) == ()  # an adult born preterm: not offered
    assert _codes(registry, "premature baby born at 29 weeks", 0, "male")[0] == "P0732"
    assert _codes(registry, "newborn 1100 g", 0, "female")[0] == "P0714"
    weight_first = _codes(registry, "preemie 33 weeks, birth weight 1900 g", 0, "female")
    assert weight_first[:2] == ["P0717", "P0736"]


@pytest.mark.parametrize(
    ("code", "prefix"),
    [
        ("U07.1", "O98.51"),  # COVID-19: Index, Pregnancy, complicated by, COVID-19 O98.51-
        ("B20", "O98.71"),
        ("A54.00", "O98.21"),  # gonorrhea
        ("B18.2", "O98.41"),  # viral hepatitis
        ("E03.9", "O99.28"),
        ("E11.9", "O24.11"),
        ("I11.9", "O10.11"),
        ("F41.1", "O99.34"),
        ("F12.90", "O99.32"),
        ("G40.909", "O99.35"),
        ("N39.0", "O23.4"),
        ("N30.00", "O23.1"),
        ("S82.001A", "O9A.21"),
        ("M54.50", "O99.89"),
        ("R10.9", None),  # a symptom: left to the ranking
    ],
)
def test_a_conditions_chapter_gives_its_complicating_pregnancy_family(
    code: str, prefix: str | None
) -> None:
    """The Tabular's O98, O99, O9A, O10, O23 and O24 families by the condition's chapter."""
    assert chapter_15_for(code) == prefix


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("influenza, pregnant 10 weeks", "O99511"),  # respiratory: J11.1 -> O99.51-, first
        ("generalized anxiety disorder in pregnancy, 2nd trimester", "O99342"),
        ("epilepsy complicating pregnancy, third trimester", "O99353"),
        ("pregnant 30 weeks, genital herpes", "O98313"),  # A60: predominantly sexual
        ("GERD in pregnancy, first tri", "O99611"),
    ],
)
def test_a_condition_chapter_15_does_not_name_takes_its_family(
    registry, text: str, code: str
) -> None:
    """I.C.15.a.1: Chapter 15 first, the trimester written (I.C.15.a.3), the condition after."""
    codes = _codes(registry, text, 29, "female")
    assert codes[0] == code


def test_the_conditions_own_code_follows_its_chapter_15_code(registry) -> None:
    codes = _codes(registry, "asthma in pregnancy, 20 weeks", 27, "female")
    assert codes[0] == "O99512"
    assert codes[1].startswith("J45")
    assert "Z3A20" in codes


def test_a_condition_chapter_15_names_keeps_its_own_code(registry) -> None:
    """Where the Tabular names the condition in pregnancy, that code, not the O99 family."""
    assert _codes(registry, "hemorrhoids in pregnancy, 3rd trimester", 30, "female")[0] == "O2243"
    assert _codes(registry, "varicose veins of legs in pregnancy", 30, "female")[0] == "O2200"


def test_an_incidental_pregnancy_is_not_chapter_15(registry) -> None:
    """I.C.15.a.1: the provider's "incidental" keeps the condition's own code (with Z33.1)."""
    codes = _codes(registry, "sprained ankle, pregnancy incidental", 25, "female")
    assert not codes[0].startswith("O")


def test_weeks_alone_make_a_pregnancy_only_where_chapter_15_names_the_words(registry) -> None:
    """ "incompetent cervix 21 wks" is the pregnancy's; "headache 2 weeks" stays a headache."""
    assert _codes(registry, "incompetent cervix 21 wks", 30, "female")[0] == "O3432"
    assert _codes(registry, "oligohydramnios 31 weeks", 30, "female")[0] == "O4103X0"
    assert _codes(registry, "headache 2 weeks", 30, "female")[0].startswith("R51")
    assert _codes(registry, "knee pain 6 weeks", 30, "female")[0].startswith("M25")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("gestational diabetes on glyburide", "O24.415"),
        ("GDM managed with oral hypoglycemic", "O24.415"),
        ("GDM on metformin and insulin", "O24.414"),  # both: insulin-controlled (I.C.15.g)
        ("gestational diabetes, postpartum, still on metformin", "O24.435"),
        ("gestational diabetes, diet controlled", None),  # the ranking's
        ("type 2 diabetes on metformin", None),  # pre-existing: not O24.4-
    ],
)
def test_gestational_diabetes_control_by_the_drug(text: str, code: str | None) -> None:
    assert gestational_diabetes_code(text) == code


def test_no_long_term_drug_code_beside_gestational_diabetes(registry) -> None:
    """I.C.15.g: Z79.4 and Z79.84 are not assigned with codes from O24.4-."""
    codes = _codes(registry, "GDM on glyburide", 30, "female")
    assert codes[0] == "O24415"
    assert "Z7984" not in codes


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("fever after delivery", "O864"),  # Index: Fever, postpartum O86.4
        ("thyroiditis after having a baby", "O905"),  # Index: Thyroiditis, postpartum O90.5
        ("psychosis following childbirth", "F531"),  # Index: Psychosis, postpartum F53.1
        ("fever since giving birth", "O864"),
        ("recently delivered, breast engorgement", "O9279"),  # Index: Engorgement, puerperal
    ],
)
def test_after_a_delivery_is_postpartum(registry, text: str, code: str) -> None:
    assert _codes(registry, text, 30, "female")[0] == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("decreased amniotic fluid at 33 weeks", "O4103X0"),
        ("too much amniotic fluid, second trimester", "O402XX0"),
        ("pregnant, low fluid around the baby", "O4100X0"),
    ],
)
def test_amniotic_fluid_in_peoples_words(registry, text: str, code: str) -> None:
    """The Index: Oligohydramnios O41.0-, Polyhydramnios O40.-; 7th character 0, one fetus."""
    assert _codes(registry, text, 30, "female")[0] == code


def test_low_fluid_without_a_pregnancy_is_not_oligohydramnios() -> None:
    reading = read_obstetric("low fluid intake", 30, "female")
    assert reading is None or "oligohydramnios" not in reading.ranked


def test_the_condition_is_what_is_left_of_the_pregnancys_words() -> None:
    assert condition_words("depression complicating pregnancy, 3rd tri") == "depression"
    assert condition_words("pregnant 12 weeks with asthma") == "asthma"
    assert condition_words("G3P2 at 31 wks, migraine") == "migraine"


def test_infant_of_a_diabetic_mother_in_shorthand(registry) -> None:
    """IDM: the Index's Syndrome, infant of diabetic mother P70.1, for a newborn."""
    assert _codes(registry, "IDM, term", 0, "female")[0] == "P701"


def test_an_elderly_primigravida_is_no_first_trimester(registry) -> None:
    """ "primigravida" is the Tabular's own word in O09.51-; no trimester said: unspecified."""
    assert _codes(registry, "AMA primigravida", 38, "female")[0] == "O09519"
    assert _codes(registry, "elderly primigravida, 2nd trimester", 38, "female")[0] == "O09512"


def _every_rule_code() -> list[str]:
    """Every code the module's rules can write, from their own tables and ranges."""
    from codesets.suggest_obstetric import _BIRTH_WEIGHT, _CHAPTER_15  # noqa: PLC0415

    prom = [
        f"O42.{timing}{rest}" for timing in "019" for rest in ("0", "2", "11", "12", "13", "19")
    ]
    weeks = [f"P07.2{d}" for d in range(1, 7)] + [f"P07.3{d}" for d in range(1, 10)]
    grams = [code for _, code in _BIRTH_WEIGHT]
    diabetes = [f"O24.4{when}{control}" for when in "123" for control in "45"]
    gestation = ["Z3A.01", "Z3A.49", "O48.0", "O48.1"] + [f"Z3A.{w:02d}" for w in range(8, 43)]
    normal = [f"Z34.{which}{t}" for which in "089" for t in "0123"]
    return prom + weeks + grams + diabetes + gestation + normal + [o for _, o in _CHAPTER_15]


@pytest.mark.parametrize("code", _every_rule_code())
def test_every_code_the_rules_write_is_in_the_tabular(registry, code: str) -> None:
    """Valid on the coding date: billable, or a header with billable codes below it."""
    info = registry.lookup(ICD10CM, code, ON)
    assert info.valid, code
    assert info.billable or info.billable_children, code


def test_the_weeks_code_has_two_digits(registry) -> None:
    """Z3A.08 and Z3A.09: "8 weeks gestation of pregnancy" (the Tabular pads the weeks)."""
    assert "Z3A09" in _codes(registry, "threatened abortion, pregnant 9 weeks", 26, "female")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("G1P0, routine OB visit, 12 weeks", "Z3401"),  # a primigravida's first trimester
        ("G4P3 at 30 weeks, prenatal visit", "Z3483"),  # a multigravida's third trimester
        ("hyperemesis, 10 weeks pregnant", "O210"),  # Index: Hyperemesis, gravidarum O21.0
        ("A1GDM", "O24410"),  # class A1: diet controlled
        ("group B strep carrier at 37 wks", "O99820"),  # the pregnancy's, not childbirth's
        ("vaginal bleeding, pregnant 11 weeks", "O209"),  # before 20 weeks: O20, not O46
    ],
)
def test_obstetric_shorthand_and_the_pregnancys_own_codes(registry, text: str, code: str) -> None:
    assert _codes(registry, text, 29, "female")[0] == code


def test_nothing_but_a_pregnancy_is_the_pregnant_state(registry) -> None:
    """The Index: Pregnancy Z33.1; the weeks' Z3A code after it."""
    assert _codes(registry, "pregnant, 9 wks", 24, "female")[:2] == ["Z331", "Z3A09"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SGA baby 1900 grams", "P0517"),  # small for gestational age, 1750-1999 grams
        ("light for dates newborn 2600 g", "P0509"),  # 2500 grams and over
        ("jaundice in a preemie", "P590"),  # a preemie is the Index's Preterm, newborn
    ],
)
def test_a_small_or_preterm_newborns_own_codes(registry, text: str, code: str) -> None:
    """P07's Excludes1: a newborn small or light for dates has its weight in P05.0-/P05.1-."""
    assert _codes(registry, text, 0, "male")[0] == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("newborn, delivered by cesarean, in hospital", "Z3801"),  # not P03.4 (no morbidity)
        ("neonatal thrush", "P375"),  # Chapter 16 first: not B37.0
        ("newborn affected by maternal hypertension", "P000"),  # said to affect it: P00-P04
    ],
)
def test_a_newborns_own_codes_first(registry, text: str, code: str) -> None:
    """The Tabular's note at P00-P04; Guidelines I.C.16.a (perinatal conditions in Chapter 16)."""
    assert _codes(registry, text, 0, "female")[0] == code


def test_chapter_15_further_down_comes_before_a_history_code(registry) -> None:
    """A history of preterm labor in a current pregnancy is O09.21- (Z87.51's Excludes1)."""
    codes = _codes(registry, "pregnant 25 weeks, hx of preterm labor", 29, "female")
    assert codes[0] == "O09212"


def test_born_or_delivered_alone_is_not_a_newborn_of_unknown_age() -> None:
    """ "delivered" may be the mother's: only words that name a newborn make one."""
    reading = read_obstetric("delivered 2 days ago, postpartum hemorrhage", None, None)
    assert reading is None or not reading.newborn
    named = read_obstetric("neonatal jaundice", None, None)
    assert named is not None
    assert named.newborn
