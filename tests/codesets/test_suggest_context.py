"""Who has it, whether they have it, which eye or ear: the context a coder reads first.

The phrases are written for these tests, not taken from a measured list. Each rule's basis is
in :mod:`codesets.suggest_context`.
"""

from __future__ import annotations

from datetime import date

import pytest

from codesets.suggest_context import (
    as_itis,
    as_one_word,
    as_the_patient,
    default_first,
    in_context,
    needs_as_written,
    sides_spelt_out,
    with_diabetes,
    without_denied,
)

ON = date(2026, 1, 15)


def _codes(registry, text: str, age: int, sex: str) -> list[str]:
    return [s.code for s in registry.suggest(text, on=ON, age=age, sex=sex)]


# --- People words: the patient unless the words say family history -------------------------


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("my daughter has strep throat", "strep throat"),
        ("new mom with insomnia", "insomnia"),
        ("mother of 2 with migraine", "migraine"),
        ("first-time dad, anxiety", "anxiety"),
        ("dad with gout", "gout"),
        ("grandpa fell and hurt his wrist", "fell and hurt his wrist"),
        ("ringworm in my daughter", "ringworm"),
        ("my son's eczema", "eczema"),
    ],
)
def test_a_person_who_has_it_is_the_patient(text: str, kept: str) -> None:
    assert as_the_patient(text) == kept


@pytest.mark.parametrize(
    "text",
    [
        "mother with dementia, caregiver stress",  # Z63.6: the relative needs care
        "mom declined vaccines",  # Z28.82: a caregiver's refusal
        "infant of a mother with diabetes",  # P70: the newborn affected by its mother
        "father is deceased",
        "sister had strep, sore throat",  # contact with an infection, not the patient's
        "conflict with my son",  # Z63: the family's circumstances
    ],
)
def test_a_relative_who_is_the_subject_of_a_code_of_their_own_stays(text: str) -> None:
    assert as_the_patient(text) == text


@pytest.mark.parametrize(
    ("text", "condition"),
    [
        ("mom had breast cancer", "breast cancer"),
        ("dad has hx of colon cancer", "colon cancer"),
        ("FH: dad with diabetes", "diabetes"),
        ("sister was diagnosed with lupus", "lupus"),
        ("heart disease in grandfather", "heart disease"),
    ],
)
def test_family_history_words_still_make_a_family_history(text: str, condition: str) -> None:
    read = in_context(text)
    assert read.startswith("family history of ")
    assert read.endswith(condition)


@pytest.mark.parametrize(
    ("text", "code", "age", "sex"),
    [
        ("my daughter has strep throat", "J020", 8, "female"),
        ("new mom with insomnia", "G4700", 29, "female"),
        ("dad with gout", "M109", 60, "male"),
        ("mother of 2 with migraine", "G43909", 35, "female"),
        ("grandpa with shingles", "B029", 80, "male"),
        ("ringworm in my daughter", "B359", 7, "female"),
        ("my mom has asthma", "J45909", 70, "female"),  # she HAS it: the patient's
        ("mom has hx of breast cancer", "Z803", 40, "female"),  # history words: the family's
        ("grandma died of colon cancer", "Z800", 45, "male"),
    ],
)
def test_people_words_codes(registry, text: str, code: str, age: int, sex: str) -> None:
    assert _codes(registry, text, age, sex)[0] == code


# --- Denied findings and needs said in the negative -----------------------------------------


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("cough, denies fever", "cough"),
        ("denies chest pain, has cough", "has cough"),
        ("sore throat but denies fever", "sore throat"),
        ("negative for strep, sore throat", "sore throat"),
        ("rash; pt denies itching", "rash"),
    ],
)
def test_a_denied_clause_is_not_the_condition(text: str, kept: str) -> None:
    assert without_denied(text) == kept


@pytest.mark.parametrize("text", ["denies chest pain", "chest pain, no fever", "AAA, no rupture"])
def test_a_denial_alone_or_a_no_clause_stays(text: str) -> None:
    assert without_denied(text) == text


@pytest.mark.parametrize(
    ("text", "rewritten"),
    [
        ("don't have a place to live", "no place to live"),
        ("dont have anywhere to live", "no place to live"),
        ("i have nowhere to stay", "i have no place to stay"),
        ("doesn't have enough food", "no food"),
        ("has no car", "no car"),
        ("does not have health insurance", "no health insurance"),
    ],
)
def test_a_need_said_in_the_negative_is_the_index_s_no(text: str, rewritten: str) -> None:
    assert needs_as_written(text) == rewritten


def test_a_symptom_said_in_the_negative_is_no_need() -> None:
    assert needs_as_written("doesn't have a fever") == "doesn't have a fever"


@pytest.mark.parametrize(
    ("text", "code", "age", "sex"),
    [
        ("cough, denies fever", "R059", 40, "male"),
        ("denies chest pain, has cough", "R059", 40, "male"),
        ("rash; pt denies itching", "R21", 30, "female"),
        ("I don't have a place to live", "Z5900", 40, "male"),
        ("doesn't have enough food at home", "Z5941", 50, "male"),
        ("doesn't have a car to get to appointments", "Z5982", 70, "female"),
        ("nobody to take care of him at home", "Z742", 80, "male"),
        ("no caregiver", "Z742", 85, "female"),
    ],
)
def test_denials_and_needs_codes(registry, text: str, code: str, age: int, sex: str) -> None:
    assert _codes(registry, text, age, sex)[0] == code


# --- Eye and ear shorthand -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spelt"),
    [
        ("chalazion OS", "chalazion left eye"),
        ("pterygium OU", "pterygium both eyes"),
        ("blepharitis, od", "blepharitis, right eye"),
        ("otitis externa AD", "otitis externa right ear"),
        ("impacted cerumen AS", "impacted cerumen left ear"),
        ("SNHL AU", "SNHL both ears"),
    ],
)
def test_eye_and_ear_shorthand_is_the_side(text: str, spelt: str) -> None:
    assert sides_spelt_out(text) == spelt


@pytest.mark.parametrize(
    "text",
    [
        "pt OD'd on sertraline",  # an overdose: no eye's word
        "AS, heart murmur",  # aortic stenosis: no ear's word
        "ear pain as well as fever",  # "as" inside a clause, lower case: English
    ],
)
def test_shorthand_without_an_eye_or_ear_condition_stays(text: str) -> None:
    assert sides_spelt_out(text) == text


@pytest.mark.parametrize(
    ("text", "code", "age", "sex"),
    [
        ("chalazion OS", "H0016", 30, "female"),
        ("hordeolum OD", "H00013", 30, "female"),
        ("pterygium OU", "H11003", 50, "male"),
        ("otitis externa AD", "H6091", 30, "female"),
        ("impacted cerumen AS", "H6122", 60, "male"),
        ("SNHL AU", "H903", 70, "male"),
        ("AS, heart murmur", "I350", 70, "male"),
    ],
)
def test_eye_and_ear_shorthand_codes(registry, text: str, code: str, age: int, sex: str) -> None:
    assert _codes(registry, text, age, sex)[0] == code


# --- Diabetes with peripheral vascular disease (Index: Diabetes, with, peripheral angiopathy) -


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("diabetes with peripheral vascular disease", "E1151"),  # no type said: type 2
        ("diabetic PAD", "E1151"),
        ("type 1 diabetes and peripheral arterial disease", "E1051"),
        ("PVD", "I739"),  # no diabetes word: the vessels' disease alone
    ],
)
def test_a_diabetic_s_peripheral_vascular_disease_is_the_angiopathy(
    registry, text: str, code: str
) -> None:
    assert _codes(registry, text, 68, "male")[0] == code


def test_peripheral_vascular_words_without_diabetes_stay() -> None:
    assert with_diabetes("PAD of both legs") == "PAD of both legs"


# --- The setting: uncertain diagnoses outpatient (IV.H) and inpatient (II.H) ----------------


@pytest.mark.parametrize(
    ("text", "outpatient", "inpatient"),
    [
        ("probable pneumonia, fever", "R509", "J189"),
        ("wheezing, suspected asthma", "R062", "J45909"),
        ("snoring r/o sleep apnea", "R0683", "G4730"),
    ],
)
def test_an_uncertain_diagnosis_by_setting(
    registry, text: str, outpatient: str, inpatient: str
) -> None:
    assert _codes(registry, text, 50, "male")[0] == outpatient
    inpatient_codes = [
        s.code for s in registry.suggest(text, on=ON, age=50, sex="male", setting="inpatient")
    ]
    assert inpatient_codes[0] == inpatient


def test_a_condition_ruled_out_is_not_coded_inpatient_either(registry) -> None:
    codes = registry.suggest("chest pain, MI ruled out", on=ON, age=50, setting="inpatient")
    assert codes[0].code == "R079"


def test_an_unknown_setting_is_a_clear_error(registry) -> None:
    with pytest.raises(ValueError, match="unknown setting 'emergency'"):
        registry.suggest("cough", on=ON, setting="emergency")


# --- A modifier that is no subterm: the main term's default first ---------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("chronic hypertension", "I10"),  # not I87.309 chronic VENOUS hypertension
        ("chronic headache", "R519"),  # not G44.029 chronic CLUSTER headache
        ("chronic edema", "R609"),  # not J81.1 chronic PULMONARY edema
        ("chronic diabetes", "E119"),  # not E11.22 diabetic chronic KIDNEY disease
        # the modifier is the code's own: it stays first
        ("chronic gout", "M1A9XX1"),
        ("chronic pancreatitis", "K861"),
        ("acute cystitis", "N3000"),
        ("acute asthma", "J45901"),  # "... with (acute) exacerbation"
        ("chronic sinusitis", "J329"),
    ],
)
def test_a_modifier_that_is_no_subterm_leaves_the_default_first(
    registry, text: str, code: str
) -> None:
    assert _codes(registry, text, 55, "female")[0] == code


def test_the_default_is_not_offered_when_it_says_the_opposite() -> None:
    class _S:
        def __init__(self, code: str, description: str, score: float) -> None:
            self.code, self.description, self.score = code, description, score

    found = [_S("K861", "Other chronic pancreatitis", 0.7)]
    acute = [_S("K8590", "Acute pancreatitis without necrosis or infection, unspecified", 1.0)]
    assert default_first(found, "chronic pancreatitis", lambda _: acute) == found
    plain = [_S("K859", "Pancreatitis, unspecified", 1.0)]
    assert default_first(found, "chronic pancreatitis", lambda _: plain)[0].code == "K859"


# --- "Not" as the Tabular's "non-" ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("cutting her arms, not suicidal", "cutting her arms, nonsuicidal"),
        ("non-displaced fracture of left fifth metatarsal", "nondisplaced fracture of left"),
        ("non toxic goiter", "nontoxic goiter"),
        ("not intractable migraine", "not intractable migraine"),  # the Tabular's own words
        ("not sure, headache", "not sure, headache"),
    ],
)
def test_not_is_the_tabular_s_non_where_it_has_the_word(text: str, read: str) -> None:
    vocabulary = {"nonsuicidal", "nondisplaced", "nontoxic"}
    assert as_one_word(text, lambda w: int(w in vocabulary)).startswith(read)


@pytest.mark.parametrize(
    ("text", "code", "age", "sex"),
    [
        ("non-displaced fracture of left fifth metatarsal", "S92355A", 40, "male"),
        ("non toxic goiter", "E049", 50, "female"),
    ],
)
def test_not_as_non_codes(registry, text: str, code: str, age: int, sex: str) -> None:
    assert _codes(registry, text, age, sex)[0] == code


# --- An uncertain diagnosis "with" what was found (IV.H) -----------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("suspected UTI with dysuria", "R300"),
        ("rule out DVT with leg swelling", "R600"),
        ("possible pneumonia with fever", "R509"),
    ],
)
def test_an_uncertain_diagnosis_with_a_finding_is_the_finding(
    registry, text: str, code: str
) -> None:
    assert _codes(registry, text, 45, "female")[0] == code


def test_inpatient_the_uncertain_diagnosis_with_its_finding_is_the_diagnosis(registry) -> None:
    codes = registry.suggest("suspected UTI with dysuria", on=ON, age=45, setting="inpatient")
    assert codes[0].code == "N390"


# --- An organ's inflammation is its "-itis" -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("acute gallbladder inflammation", "acute cholecystitis"),
        ("inflammation of the pancreas", "pancreatitis"),
        ("inflamed appendix", "appendicitis"),
        ("my tonsils are inflamed", "my tonsillitis"),
        ("inflamed seborrheic keratosis", "inflamed seborrheic keratosis"),  # no organ's word
    ],
)
def test_an_organ_s_inflammation_is_its_itis(text: str, read: str) -> None:
    assert as_itis(text) == read


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("acute gallbladder inflammation", "K810"),
        ("inflamed appendix", "K37"),
        ("bladder inflammation", "N3090"),
        ("inflamed gums", "K0510"),
        ("inflammation of the colon", "K529"),
    ],
)
def test_inflammation_codes(registry, text: str, code: str) -> None:
    assert _codes(registry, text, 40, "female")[0] == code
