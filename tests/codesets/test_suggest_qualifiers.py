"""Uncertain diagnoses, family and personal history, status: the qualifiers a coder reads first.

The phrases are written for these tests, not taken from a measured list. Each rule's basis
is in :mod:`codesets.suggest_qualifiers`.
"""

from __future__ import annotations

from datetime import date

import pytest

from codesets.suggest_qualifiers import (
    as_indexed,
    classifiable_ranges,
    history_code,
    names_any,
    qualified,
    without_uncertain,
)

ON = date(2026, 1, 15)


def _codes(registry, text: str, age: int, sex: str) -> list[str]:
    return [s.code for s in registry.suggest(text, on=ON, age=age, sex=sex)]


# --- Uncertain diagnoses (Guidelines IV.H) -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("possible pneumonia, fever", "fever"),  # the qualifier first, the symptom after
        ("fever, probable influenza", "fever"),
        ("r/o appendicitis - nausea", "nausea"),
        ("rule out migraine; headache", "headache"),
        ("concern for sepsis, hypotension", "hypotension"),
        ("snoring r/o sleep apnea", "snoring"),  # part-way through a clause
        ("cough likely viral", "cough"),
        ("weakness (?stroke)", "weakness"),  # "?" before the diagnosis
        ("TIA? slurred speech", "slurred speech"),  # "?" after it
        ("numbness, stroke?", "numbness"),
        ("cough, pneumonia vs bronchitis", "cough"),  # a differential is uncertain
        ("back pain, kidney stone ruled out", "back pain"),
    ],
)
def test_an_uncertain_clause_leaves_the_symptom(text: str, kept: str) -> None:
    assert without_uncertain(text) == kept


@pytest.mark.parametrize(
    "text",
    [
        "possible pneumonia",  # nothing else written: the coder decides
        "r/o fracture, initial encounter",  # an encounter is nothing to code on its own
        "suspected child neglect, initial encounter",  # T76: the Tabular's own code
        "possible exposure to tuberculosis",  # Z20: (suspected) exposure
        "newborn observed for sepsis, ruled out",  # Z05: observation, condition ruled out
        "pneumonia, fever",  # nothing uncertain
    ],
)
def test_words_without_a_symptom_beside_them_stay(text: str) -> None:
    assert without_uncertain(text) == text


@pytest.mark.parametrize(
    ("text", "code", "age", "sex"),
    [
        ("possible pneumonia, shortness of breath", "R0602", 60, "male"),
        ("r/o appendicitis - nausea", "R110", 20, "male"),
        ("concern for DVT, leg swelling", "R600", 55, "female"),
        ("headache, ?meningitis", "R519", 19, "female"),
        ("dysuria, probable cystitis", "R300", 30, "female"),
        ("palpitations - afib vs flutter", "R002", 70, "male"),
    ],
)
def test_the_symptom_is_suggested_not_the_uncertain_diagnosis(
    registry, text: str, code: str, age: int, sex: str
) -> None:
    assert _codes(registry, text, age, sex)[0] == code


def test_the_tabular_s_suspected_codes_are_still_offered(registry) -> None:
    assert _codes(registry, "suspected child neglect, initial encounter", 3, "male")[0] == (
        "T7602XA"
    )
    assert _codes(registry, "possible exposure to tuberculosis", 30, "male")[0] == "Z201"


# --- Family history (Index: History, family (of); Z80-Z84) ----------------------------------


@pytest.mark.parametrize(
    ("text", "rewritten"),
    [
        ("fam hx of lung cancer", "family history of lung cancer"),
        ("father and brother had prostate cancer", "family history of prostate cancer"),
        ("sister had ovarian cancer", "family history of ovarian cancer"),
        ("heart disease runs in my family", "family history of heart disease"),
        ("glaucoma in mother", "family history of glaucoma"),
        ("grandpa died of a stroke", "family history of stroke"),
    ],
)
def test_family_words_are_the_index_s_family_history(text: str, rewritten: str) -> None:
    assert as_indexed(text) == rewritten


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("infant of a diabetic mother", 0),  # P70.1: the newborn affected by the mother
        ("mother with dementia, caregiver stress", 50),  # Z63.6: the patient's burden
        ("father abused me as a child", 30),  # abuse, not heredity
        ("sister had strep, sore throat", 8),  # contact with an infection
        ("mother had HIV", 0),
        ("father is deceased", 50),  # the relative's own state
        ("mother here with pt, cough", 6),  # the relative's presence
    ],
)
def test_a_relative_s_condition_that_is_no_family_history_is_left_alone(
    text: str, age: int
) -> None:
    assert not as_indexed(text, age).startswith("family history")


@pytest.mark.parametrize(
    ("text", "code", "age", "sex"),
    [
        ("fam hx of lung cancer", "Z801", 50, "male"),
        ("father and brother had prostate cancer", "Z8042", 55, "male"),
        ("heart disease runs in my family", "Z8249", 45, "male"),
        ("glaucoma in mother", "Z83511", 60, "female"),
        ("FH: mom with type 2 diabetes", "Z833", 40, "female"),
        ("both parents are diabetic", "Z833", 40, "female"),
    ],
)
def test_family_history_codes(registry, text: str, code: str, age: int, sex: str) -> None:
    assert _codes(registry, text, age, sex)[0] == code


# --- Personal history (Index: History, personal (of); Z85-Z87; I.C.2.d) ---------------------


@pytest.mark.parametrize(
    ("text", "code", "age", "sex"),
    [
        ("leukemia survivor", "Z856", 25, "male"),
        ("prostate cancer, completed radiation, no evidence of disease", "Z8546", 70, "male"),
        ("lung cancer 8 years ago", "Z85118", 66, "female"),
        ("had pneumonia 2 years ago", "Z8701", 40, "female"),
        ("previous pulmonary embolism", "Z86711", 55, "female"),
    ],
)
def test_personal_history_codes(registry, text: str, code: str, age: int, sex: str) -> None:
    assert _codes(registry, text, age, sex)[0] == code


def test_a_current_condition_is_not_made_history() -> None:
    assert as_indexed("lung cancer with bone metastases") == "lung cancer with bone metastases"
    assert as_indexed("fell and hurt wrist yesterday") == "fell and hurt wrist yesterday"


# --- Status (Index: Status (post), Absence (acquired), Presence) ----------------------------


@pytest.mark.parametrize(
    ("text", "code", "age", "sex"),
    [
        ("history of left shoulder arthroplasty", "Z96612", 68, "male"),
        ("s/p right knee replacement", "Z96651", 72, "female"),
        ("s/p cervical fusion", "Z981", 60, "male"),
        ("status post L4-L5 spinal fusion", "Z981", 58, "female"),
        ("amputated left thumb", "Z89012", 50, "male"),
        ("s/p right below the knee amputation", "Z89511", 64, "male"),
        ("had my spleen removed", "Z9081", 30, "male"),
        ("got a stent in a heart artery last year", "Z955", 62, "male"),
        ("had a pacemaker put in 3 yrs ago", "Z950", 80, "female"),
    ],
)
def test_status_codes(registry, text: str, code: str, age: int, sex: str) -> None:
    assert _codes(registry, text, age, sex)[0] == code


def test_an_amputation_by_injury_is_the_injury(registry) -> None:
    """Index: Amputation, traumatic - by site (S-codes); otherwise Absence, by site, acquired."""
    codes = _codes(registry, "traumatic amputation of left thumb, initial encounter", 40, "male")
    assert codes[0].startswith("S68")
    assert not as_indexed("crush amputation of finger at work").startswith("acquired absence")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("HIV positive", "Z21"),  # I.C.1.a.2.d: "HIV positive" without symptoms
        ("known HIV, no symptoms", "Z21"),
        ("asymptomatic HIV+", "Z21"),
    ],
)
def test_hiv_without_symptoms_is_the_status(registry, text: str, code: str) -> None:
    assert _codes(registry, text, 35, "male")[0] == code


def test_hiv_with_an_illness_is_not_the_asymptomatic_status() -> None:
    assert as_indexed("HIV positive with oral thrush") == "HIV positive with oral thrush"


def test_a_drug_for_the_menopause_is_its_long_term_use(registry) -> None:
    """Index: Long-term (current) drug therapy, hormone replacement (postmenopausal) Z79.890."""
    assert _codes(registry, "postmenopausal estrogen", 58, "female")[0] == "Z79890"


def test_qualified_drops_the_uncertain_clause_before_indexing() -> None:
    assert qualified("r/o recurrence, had colon cancer 5 years ago") == ("history of colon cancer")


# --- Family history by the chapter the condition is classifiable to -----------------------


@pytest.mark.parametrize(
    ("condition", "code"),
    [
        ("C250", "Z800"),  # pancreas: digestive organs C15-C26
        ("C3490", "Z801"),
        ("C439", "Z808"),  # melanoma: "other organs or systems"
        ("C920", "Z806"),
        ("G20A1", "Z820"),  # Parkinson's: nervous system G00-G99
        ("F200", "Z818"),  # schizophrenia: elsewhere in F01-F99
        ("F1020", "Z811"),  # alcohol: its own range before "elsewhere"
        ("H4010X0", "Z8351"),
        ("I639", "Z823"),
        ("I10", "Z824"),
        ("E109", "Z833"),
        ("Z8673", None),  # a history is no condition of a chapter
    ],
)
def test_the_tabular_s_classifiable_notes_name_the_family_code(
    registry, condition: str, code: str | None
) -> None:
    searcher = registry._searcher()
    notes = [
        (registry.index.code(h.row), h.text)
        for h in searcher.search("conditions classifiable", limit=1000)
    ]
    assert history_code(condition, classifiable_ranges(notes)) == code


@pytest.mark.parametrize(
    ("text", "code", "age", "sex"),
    [
        ("family history of schizophrenia", "Z818", 30, "female"),
        ("dad had parkinson's", "Z820", 50, "male"),
        ("uncle had melanoma", "Z808", 40, "female"),
        ("father had emphysema", "Z825", 45, "male"),
    ],
)
def test_a_family_history_the_index_rows_miss_follows_the_condition_s_chapter(
    registry, text: str, code: str, age: int, sex: str
) -> None:
    assert _codes(registry, text, age, sex)[0] == code


# --- Status and long-term drugs as the tables write them -----------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("takes warfarin (coumadin) every day", "Z7901"),  # the brand beside the drug
        ("liver transplant recipient", "Z944"),
        ("has a permanent pacemaker", "Z950"),
        ("s/p gastric sleeve", "Z9884"),
        ("h/o falls", "Z9181"),
        ("on baby aspirin", "Z7982"),
        ("HIV", "B20"),  # Index: HIV - see also Human, immunodeficiency virus disease B20
    ],
)
def test_status_and_drug_words(registry, text: str, code: str) -> None:
    assert _codes(registry, text, 60, "male")[0] == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("history of gout", "Z8739"),  # M10 in M00-M99: the header's closing "other" code
        ("h/o pancreatitis", "Z8719"),
        ("hx of anxiety", "Z8659"),  # F41 in F40-F59
        ("history of hypothyroidism", "Z8639"),
    ],
)
def test_a_personal_history_the_words_do_not_name_follows_the_condition_s_chapter(
    registry, text: str, code: str
) -> None:
    assert _codes(registry, text, 50, "female")[0] == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("history of MI", "I252"),  # Index: History, personal, myocardial infarction (old)
        ("history of colon polyps", "Z860100"),  # the words name the code wholly
        ("h/o hip fracture", "Z8781"),  # Z87.82's note excepts traumatic fractures
    ],
)
def test_the_index_s_own_code_for_a_history_stands(registry, text: str, code: str) -> None:
    assert _codes(registry, text, 60, "male")[0] == code


def test_within_a_header_a_code_naming_another_condition_gives_way_to_other(registry) -> None:
    """Z87.5-: Z87.51 names pre-term labor; a postpartum hemorrhage's history is Z87.59."""
    assert _codes(registry, "history of postpartum hemorrhage", 35, "female")[0] == "Z8759"


def test_names_any_compares_the_condition_s_own_words() -> None:
    assert names_any("Family history of colonic polyps", "colon polyps")
    assert not names_any("Personal history of pre-term labor", "eclampsia, unspecified trimester")
