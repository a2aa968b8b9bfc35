"""Why the patient came: encounter reasons first (codesets/suggest_visits.py).

Phrases written for these tests (none taken from a measured list). A treatment session is
coded first (Guidelines I.C.2.e.2), a visit for a condition under care is the condition (a
refill's Z76.0 after it), a follow-up after completed treatment is Z09 or Z08 (I.C.21.c.8),
an injury's follow-up is the injury with its 7th character (I.C.19.a: D, G, K, P), a newborn's
health check goes by its days, "incarcerated" is a person's imprisonment unless a hernia or an
organ is named, a vaccine is Z23 (refused: Z28.21/Z28.82), an examination with abnormal
findings takes its "with abnormal findings" code.
"""

from __future__ import annotations

from datetime import date

import pytest

from codesets.suggest_variants import wanted_seventh
from codesets.suggest_visits import Visit, arranged, read_visit
from fhir_coder.ports import Suggestion
from fhir_coder.systems import ICD10CM

ON = date(2026, 1, 15)


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("chemo for colon cancer", ("Z5111",)),
        ("here for chemotherapy, lung cancer", ("Z5111",)),
        ("cycle 4 chemo for ovarian cancer", ("Z5111",)),
        ("here for radiation, prostate cancer", ("Z510",)),
        ("radiation session", ("Z510",)),
        ("immunotherapy infusion for melanoma", ("Z5112",)),
        ("chemoradiation for rectal cancer", ("Z510", "Z5111")),
    ],
)
def test_a_treatment_session_is_read(text: str, first: tuple[str, ...]) -> None:
    visit = read_visit(text)
    assert visit is not None
    assert visit.first == first


@pytest.mark.parametrize(
    "text",
    [
        "colon cancer currently on chemotherapy",
        "anemia due to chemo",
        "neutropenia secondary to chemotherapy",
        "chemo induced nausea",
        "radiation dermatitis",
        "history of radiation",
        "s/p chemo",
        "refused chemo",
        "radiation exposure at work",
    ],
)
def test_a_treatments_status_history_or_effect_is_no_session(text: str) -> None:
    visit = read_visit(text)
    assert visit is None or not visit.first, visit


@pytest.mark.parametrize(
    ("text", "words", "after"),
    [
        ("here for med refill, hypertension", "hypertension", ("Z760",)),
        ("med check for anxiety", "anxiety", ()),
        ("follow up hypertension", "hypertension", ()),
        ("recheck ear infection", "ear infection", ()),
        ("reason for visit: gout", "gout", ()),
        ("fx left ankle, here for cast removal, healing normally", "fx left ankle", ()),
        ("laceration right hand, suture removal", "laceration right hand", ("Z4802",)),
    ],
)
def test_visit_words_leave_the_condition(text: str, words: str, after: tuple[str, ...]) -> None:
    visit = read_visit(text)
    assert visit is not None
    assert (visit.words, visit.first, visit.after) == (words, (), after)


@pytest.mark.parametrize(
    "text",
    ["follow-up visit", "prenatal visit", "bp check"],
)
def test_visit_words_stay_where_they_are_the_encounter(text: str) -> None:
    assert read_visit(text) is None


@pytest.mark.parametrize("text", ["refill", "medication refill", "refill request"])
def test_a_refill_alone_is_the_indexs_repeat_prescription(text: str) -> None:
    visit = read_visit(text)
    assert visit is not None
    assert (visit.words, visit.first, visit.after) == ("medication refill", (), ())


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("follow-up after completed treatment for pneumonia", "Z09"),
        ("follow up, kidney infection resolved", "Z09"),
        ("follow-up after completed chemotherapy, breast cancer", "Z08"),
    ],
)
def test_follow_up_after_completed_treatment(text: str, code: str) -> None:
    visit = read_visit(text)
    assert visit is not None
    assert visit.first == (code,)


@pytest.mark.parametrize(
    ("text", "age", "code"),
    [
        ("weight check 5 days old", 0, "Z00110"),
        ("well baby visit 10 days old", 0, "Z00111"),
        ("well baby 2 weeks", None, "Z00111"),
    ],
)
def test_a_newborns_check_by_days(text: str, age: int | None, code: str) -> None:
    visit = read_visit(text, age)
    assert visit is not None
    assert visit.first == (code,)


def test_days_do_not_make_an_older_childs_check_a_newborns() -> None:
    assert read_visit("well child check 10 days after fever", 4) is None
    assert read_visit("well child check, 6 weeks old", 0) is None


@pytest.mark.parametrize(
    ("text", "seventh"),
    [
        ("nonunion left tibia fracture", "K"),
        ("malunion of right radius fracture", "P"),
        ("clavicle fracture, delayed healing", "G"),
        ("wrist fracture, here for cast removal", "D"),
        ("laceration of scalp, sutures out", "D"),
        ("healing fracture of left fibula", "D"),
        ("non-healing wound of left foot", None),
    ],
)
def test_a_fractures_healing_names_its_seventh_character(text: str, seventh: str | None) -> None:
    assert wanted_seventh(text) == seventh


def test_incarcerated_is_a_person_unless_a_hernia_is_named() -> None:
    person = read_visit("incarcerated")
    assert person is not None
    assert "prison" in person.words
    assert read_visit("incarcerated inguinal hernia") is None
    assert read_visit("incarcerated bowel") is None


def test_the_reason_comes_first_and_a_refills_code_after_the_best() -> None:
    found = [Suggestion(ICD10CM, c, c, 0.9, c) for c in ("I10", "I119", "Z760", "I169")]

    def offered(code: str) -> str | None:
        return f"described {code}"

    found_later = [*found[:2], found[3], *(Suggestion(ICD10CM, c, c, 0.5, c) for c in "AB")]
    refill = arranged(found_later, Visit("hypertension", after=("Z760",)), offered, 5)
    assert [s.code for s in refill] == ["I10", "Z760", "I119", "I169", "A"]
    shown = arranged(found, Visit("hypertension", after=("Z760",)), offered, 5)
    assert shown == found  # already offered: left where the ranking put it
    session = arranged(found, Visit("breast cancer", first=("Z5111",)), offered, 3)
    assert [s.code for s in session] == ["Z5111", "I10", "I119"]
    assert arranged(found, Visit("x", first=("Z5111",)), lambda _: None, 5) == found


@pytest.mark.parametrize(
    ("text", "code", "age", "sex"),
    [
        ("chemo for colon cancer", "Z5111", 60, "male"),
        ("here for radiation, prostate cancer", "Z510", 72, "male"),
        ("immunotherapy infusion for melanoma", "Z5112", 66, "female"),
        ("colon cancer currently on chemotherapy", "C189", 60, "male"),
        ("here for med refill, hypertension", "I10", 60, "male"),
        ("med refill for hypothyroidism", "E039", 50, "female"),
        ("med check for anxiety", "F419", 30, "female"),
        ("follow up hypertension", "I10", 60, "male"),
        ("refill", "Z760", 50, "male"),
        ("follow-up after completed chemotherapy, breast cancer", "Z08", 55, "female"),
        ("fracture left ankle healing normally", "S82892D", 40, "female"),
        ("fx right wrist, cast change", "S62101D", 30, "male"),
        ("nonunion left tibia fracture", "S82202K", 40, "male"),
        ("right clavicle fracture with delayed healing", "S42001G", 30, "male"),
        ("laceration left hand, suture removal", "S61412D", 30, "male"),
        ("suture removal", "Z4802", 30, "male"),
        ("well baby visit 10 days old", "Z00111", 0, "female"),
        ("well child 6 months", "Z00129", 0, "male"),
        ("routine labs", "Z0000", 50, "male"),
        ("PPD placement", "Z111", 30, "female"),
        ("Nexplanon insertion", "Z30017", 22, "female"),
        ("mammogram", "Z1231", 50, "female"),
        ("wound check", "Z4800", 30, "male"),
        ("incarcerated", "Z651", 30, "male"),
        ("incarcerated umbilical hernia", "K420", 50, "female"),
        ("recheck blood pressure, hypertension", "I10", 60, "male"),
        ("bp check", "Z0130", 60, "male"),
        ("refill request", "Z760", 50, "female"),
        ("follow up after finishing antibiotics for pneumonia", "Z09", 50, "male"),
        ("post treatment follow up, colon cancer", "Z08", 60, "male"),
        ("tetanus shot", "Z23", 30, "male"),
        ("hep B vaccine", "Z23", 20, "female"),
        ("refused flu shot", "Z2821", 70, "male"),
        ("mom declined vaccines", "Z2882", 1, "female"),
        ("postpartum check 6 weeks", "Z392", 30, "female"),
        ("two week postpartum visit", "Z392", 30, "female"),
        ("postpartum depression follow up", "F530", 30, "female"),
        ("yearly physical with abnormal labs", "Z0001", 45, "male"),
        ("annual physical, no abnormal findings", "Z0000", 50, "male"),
        ("well child check 5 year old with abnormal findings", "Z00121", 5, "female"),
        ("hearing exam with abnormal findings", "Z01118", 40, "male"),
        ("abnormal findings on chest x-ray", "R918", 60, "male"),
        ("kindergarten physical", "Z020", 5, "male"),
        ("PPD read negative", "Z111", 30, "female"),
        ("preoperative EKG", "Z01810", 65, "male"),
        ("released from jail", "Z652", 30, "male"),
        ("subsequent visit healing right wrist fx", "S62101D", 40, "female"),
        ("healing fracture of left fibula", "S82402D", 40, "male"),
        ("left humerus fracture subsequent encounter delayed healing", "S42302G", 50, "male"),
    ],
)
def test_the_encounters_reason_is_offered_first(
    registry, text: str, code: str, age: int, sex: str
) -> None:
    offered = [s.code for s in registry.suggest(text, on=ON, age=age, sex=sex)]
    assert offered[:1] == [code], offered


def test_a_refill_with_a_condition_still_offers_z76_0(registry) -> None:
    offered = [s.code for s in registry.suggest("refill of asthma inhaler", on=ON, age=30)]
    assert offered[0].startswith("J45"), offered
    assert "Z760" in offered, offered


def test_a_vaccine_after_an_injury_follows_the_injury(registry) -> None:
    offered = [
        s.code for s in registry.suggest("tetanus booster after laceration of right hand", on=ON)
    ]
    assert offered[0] == "S61411A", offered
    assert "Z23" in offered, offered


@pytest.mark.parametrize(
    "text", ["fever after flu shot", "allergy shot", "up to date on vaccines", "B12 shot"]
)
def test_a_shot_or_vaccine_word_that_is_no_immunization_visit(text: str) -> None:
    visit = read_visit(text)
    assert visit is None or "Z23" not in visit.first, visit
