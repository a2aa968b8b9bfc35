"""The encounter-level engine over small rule tables and a small code table.

The shipped tables are checked against the real Tabular in ``tests/codesets`` and measured
on the development set of whole encounters (``docs/gold/encounters.tsv``) in
``tests/adapters/cli``; here each kind of row is driven on its own, so a failure names the
engine, not the data.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from fhir.resources.R4B.claim import Claim
from fhir.resources.R4B.provenance import Provenance

from fhir_coder.claim import GUIDELINE_EXTENSION, build_claim
from fhir_coder.coding import code_encounter
from fhir_coder.coding.guidelines import compile_rulebook, load_rulebook
from fhir_coder.coding.guidelines.patterns import CodeSet
from fhir_coder.errors import ConfigurationError
from fhir_coder.model import (
    Coding,
    Diagnosis,
    EncounterClass,
    Observation,
    PatientFacts,
    Procedure,
    SourceRef,
)
from fhir_coder.provenance import GUIDELINE_POLICY, build_provenance
from fhir_coder.systems import CPT, ICD10CM, SNOMED

from .conftest import TableCodeSet, office_visit

CODES = {
    "E119": "Type 2 diabetes mellitus without complications",
    "E109": "Type 1 diabetes mellitus without complications",
    "E1122": "Type 2 diabetes mellitus with diabetic chronic kidney disease",
    "E1022": "Type 1 diabetes mellitus with diabetic chronic kidney disease",
    "E1142": "Type 2 diabetes mellitus with diabetic polyneuropathy",
    "G629": "Polyneuropathy, unspecified",
    "N1830": "Chronic kidney disease, stage 3 unspecified",
    "N185": "Chronic kidney disease, stage 5",
    "I10": "Essential (primary) hypertension",
    "I110": "Hypertensive heart disease with heart failure",
    "I129": "Hypertensive chronic kidney disease with stage 1-4 CKD",
    "I130": "Hypertensive heart and chronic kidney disease with heart failure and stage 1-4",
    "I509": "Heart failure, unspecified",
    "R079": "Chest pain, unspecified",
    "I214": "Non-ST elevation (NSTEMI) myocardial infarction",
    "R519": "Headache, unspecified",
    "N390": "Urinary tract infection, site not specified",
    "A419": "Sepsis, unspecified organism",
    "O2340": "Unspecified infection of urinary tract in pregnancy, unspecified trimester",
    "O2342": "Unspecified infection of urinary tract in pregnancy, second trimester",
    "Z3490": "Encounter for supervision of normal pregnancy, unspecified, unspecified trimester",
    "Z3492": "Encounter for supervision of normal pregnancy, unspecified, second trimester",
    "Z3A20": "20 weeks gestation of pregnancy",
    "C50911": "Malignant neoplasm of unspecified site of right female breast",
    "Z853": "Personal history of malignant neoplasm of breast",
    "R05": "Cough",
    "U071": "COVID-19",
    "G309": "Alzheimer's disease, unspecified",
    "F0280": "Dementia in other diseases classified elsewhere, unspecified severity",
    "S83511A": "Sprain of anterior cruciate ligament of right knee, initial encounter",
    "S83511D": "Sprain of anterior cruciate ligament of right knee, subsequent encounter",
    "S83512A": "Sprain of anterior cruciate ligament of left knee, initial encounter",
    "S83519A": "Sprain of anterior cruciate ligament of unspecified knee, initial encounter",
    "S83519D": "Sprain of anterior cruciate ligament of unspecified knee, subsequent encounter",
    "Z09": "Encounter for follow-up examination after completed treatment",
    "E669": "Obesity, unspecified",
    "Z6836": "Body mass index [BMI] 36.0-36.9, adult",
    "Z0000": "Encounter for general adult medical examination without abnormal findings",
}
HEADERS = {
    "S8351": ("S83511A", "S83511D", "S83512A", "S83519A", "S83519D"),
    "S835": ("S83511A", "S83511D", "S83512A", "S83519A", "S83519D"),
}

RULES = {
    "combinations.toml": """
[[combination]]
id = "DM-CKD"
citation = "I.A.15"
fact = "Index: Diabetes, with, chronic kidney disease E11.22"
anchor = ["E08-E13"]
needs = [["N18"]]
suffix = "22"
replace = ["E10.9", "E11.9"]

[[combination]]
id = "DM-POLYNEUROPATHY"
citation = "I.A.15"
fact = "Index: Diabetes, with, polyneuropathy E11.42"
anchor = ["E08-E13"]
needs = [["G62.9"]]
suffix = "42"
replace = ["E10.9", "E11.9"]
drop = ["G62.9"]

[[combination]]
group = "hypertension"
id = "HTN-HF-CKD"
citation = "I.C.9.a.3"
fact = "I13.0"
anchor = ["I10-I13"]
needs = [["I50", "I11.0"], ["N18", "I12"]]
target = "I13.0"
replace = ["I10-I13"]

[[combination]]
group = "hypertension"
id = "HTN-HF"
citation = "I.C.9.a.1"
fact = "I11.0"
anchor = ["I10-I13"]
needs = [["I50"]]
target = "I11.0"
replace = ["I10-I13"]

[[combination]]
group = "hypertension"
id = "HTN-CKD"
citation = "I.C.9.a.2"
fact = "I12.9"
anchor = ["I10-I13"]
needs = [["N18"]]
target = "I12.9"
replace = ["I10-I13"]
""",
    "symptoms.toml": """
[[drop]]
id = "SX-CHEST-PAIN"
citation = "I.B.5"
fact = "chest pain is routinely associated with myocardial infarction"
codes = ["R07"]
when = ["I21"]

[[drop]]
id = "SX-COVID"
citation = "I.B.5"
fact = "cough is routinely associated with COVID-19"
codes = ["R05"]
when = ["U07.1"]
""",
    "status.toml": """
[[status]]
id = "HISTORY-NEOPLASM-BREAST"
citation = "I.C.2.d"
fact = "Z85.3"
codes = ["C50"]
status = ["resolved", "inactive"]
to = "Z85.3"

[[status]]
id = "UNCERTAIN-COVID-19"
citation = "II.H"
fact = "U07.1 only when confirmed"
codes = ["U07.1"]
verification = ["provisional"]
setting = "inpatient"
note = "coded only when confirmed"
""",
    "conversions.toml": """
[[conversion]]
id = "PREGNANCY-UTI"
citation = "I.C.15.a.1"
fact = "O23.4-"
codes = ["N39.0"]
to = "O23.4"
pregnancy = true

[[drop]]
id = "PREGNANCY-Z34"
citation = "I.C.15.b.1"
fact = "no Z34 with a complication"
codes = ["Z34"]
when = ["O00-O9A"]
""",
    "pairs.toml": """
[[add]]
id = "PAIR-ALZHEIMER"
citation = "I.A.13"
fact = "G30.9 [F02.80]"
codes = ["G30"]
add = "F02.80"
unless = ["F01-F03"]
""",
    "sequencing.toml": """
[[order]]
id = "SEQ-Z-FIRST"
citation = "I.C.21.c.16"
fact = "Z00 first"
move = ["Z00", "!Z00.6"]
to = "first"

[[order]]
id = "SEQ-SEPSIS"
citation = "I.C.1.d.4"
fact = "sepsis first when present on admission"
move = ["A41"]
to = "before"
of = ["N39.0"]
unless_not_poa = true

[[order]]
id = "SEQ-CH15"
citation = "I.C.15.a.1"
fact = "Chapter 15 first"
move = ["O00-O9A"]
to = "first"
pregnancy = true
""",
    "encounter.toml": """
[[seventh]]
id = "INJURY-7TH"
citation = "I.C.19.a"
fact = "A active, D subsequent, S sequela"
codes = ["S00-T88"]
subsequent = { A = "D" }
sequela = "S"
follow_up_types = ["390906007"]
follow_up_words = ["follow-up"]
aftercare = ["Z09"]
sequela_words = ["sequela"]

[[laterality]]
id = "LATERALITY"
citation = "I.B.13"
fact = "the side documented selects the lateral code"
left = ["7771000"]
right = ["24028007"]
bilateral = ["51440002"]
unspecified_words = ["unspecified"]
ignored_words = ["unspecified", "right", "left", "bilateral", "of"]

[[bmi]]
id = "BMI"
citation = "I.B.14"
fact = "Z68 only with a weight diagnosis"
bmi_codes = ["39156-5"]
percentile_codes = ["59576-9"]
weight_diagnoses = ["E66"]
adult_age = 20
pediatric_age = 2
adult = [[36, "Z68.35"], [37, "Z68.36"]]
pediatric = []
""",
}


@pytest.fixture
def codes() -> TableCodeSet:
    return TableCodeSet(billable=dict(CODES), headers=dict(HEADERS))


@pytest.fixture(scope="module")
def book():
    return compile_rulebook(RULES)


def dx(cid: str, code: str, rank: int, **facts: object) -> Diagnosis:
    system = SNOMED if code.isdigit() else ICD10CM
    base = Diagnosis(
        source=SourceRef(f"Condition/{cid}"),
        codings=(Coding(system, code, str(facts.pop("display", ""))),),
        category=("encounter-diagnosis",),
        verification="confirmed",
        listed_on_encounter=True,
        rank=rank,
    )
    return replace(base, **facts)  # type: ignore[arg-type]


def coded(codes, book, *diagnoses: Diagnosis, **encounter: object):
    return code_encounter(office_visit(*diagnoses, **encounter), codes, rules=book)


def codes_of(result) -> list[str]:
    return [line.code for line in result.diagnoses]


def test_a_combination_replaces_the_uncomplicated_code_and_records_why(codes, book):
    result = coded(codes, book, dx("dm", "E11.9", 1), dx("ckd", "N18.30", 2))
    assert codes_of(result) == ["E1122", "N1830"]
    (change,) = result.diagnoses[0].changes
    assert (change.rule, change.citation) == ("DM-CKD", "I.A.15")
    assert change.replaced == ("E11.9 from Condition/dm",)
    assert "N18.30 from Condition/ckd" in change.note


def test_the_combination_follows_the_diabetes_type_and_stands_where_the_first_condition_stood(
    codes, book
):
    result = coded(codes, book, dx("ckd", "N18.30", 1), dx("dm", "E10.9", 2))
    assert codes_of(result) == ["E1022", "N1830"]


def test_a_second_complication_is_added_beside_the_first_and_an_included_partner_goes(codes, book):
    result = coded(codes, book, dx("dm", "E11.9", 1), dx("ckd", "N18.30", 2), dx("pn", "G62.9", 3))
    assert codes_of(result) == ["E1122", "E1142", "N1830"]
    added = result.diagnoses[1]
    assert [c.rule for c in added.changes] == ["DM-POLYNEUROPATHY"]
    assert "GUIDELINE-DM-POLYNEUROPATHY" in {i.rule for i in result.issues}


def test_a_target_missing_from_the_tabular_leaves_the_lines_as_they_were(codes, book):
    del codes.billable["E1122"]
    result = coded(codes, book, dx("dm", "E11.9", 1), dx("ckd", "N18.30", 2))
    assert codes_of(result) == ["E119", "N1830"]


def test_only_the_first_row_of_a_group_acts(codes, book):
    result = coded(codes, book, dx("htn", "I10", 1), dx("hf", "I50.9", 2), dx("ckd", "N18.30", 3))
    assert codes_of(result) == ["I130", "I509", "N1830"]
    assert [c.rule for c in result.diagnoses[0].changes] == ["HTN-HF-CKD"]


def test_an_integral_symptom_goes_and_one_not_routinely_associated_stays(codes, book):
    result = coded(codes, book, dx("cp", "R07.9", 1), dx("mi", "I21.4", 2), dx("ha", "R51.9", 3))
    assert codes_of(result) == ["I214", "R519"]
    assert result.diagnoses[0].changes[0].replaced == ("R07.9 from Condition/cp",)


def test_a_resolved_condition_becomes_its_history_code(codes, book):
    result = coded(codes, book, dx("ca", "C50.911", 1, clinical_status="resolved"))
    assert codes_of(result) == ["Z853"]


def test_a_condition_that_abated_after_the_visit_began_is_still_current(codes, book):
    result = coded(
        codes,
        book,
        dx("ca", "C50.911", 1, clinical_status="resolved", abatement=date(2026, 2, 1)),
    )
    assert codes_of(result) == ["C50911"]


def test_a_resolved_condition_without_a_history_code_is_left_out_with_a_note(codes, book):
    result = coded(
        codes, book, dx("ha", "R51.9", 1, clinical_status="inactive"), dx("htn", "I10", 2)
    )
    assert codes_of(result) == ["I10"]
    assert "DX-RESOLVED-NOT-CODED" in {i.rule for i in result.issues}


def test_an_inpatient_uncertain_covid_is_left_for_a_coder_and_its_symptom_stays(codes, book):
    result = coded(
        codes,
        book,
        dx("covid", "U07.1", 1, verification="provisional"),
        dx("cough", "R05", 2),
        encounter_class=EncounterClass.INPATIENT,
    )
    assert codes_of(result) == ["R05"]
    assert "GUIDELINE-UNCERTAIN-COVID-19" in {i.rule for i in result.issues}


def test_a_condition_in_pregnancy_takes_its_chapter_15_code_first_with_the_trimester(codes, book):
    result = coded(codes, book, dx("z34", "Z34.92", 1), dx("uti", "N39.0", 2))
    assert codes_of(result) == ["O2342"]
    weeks = coded(codes, book, dx("w", "Z3A.20", 1), dx("uti", "N39.0", 2))
    assert codes_of(weeks) == ["O2342", "Z3A20"]
    unknown = coded(codes, book, dx("z34", "Z34.90", 1), dx("uti", "N39.0", 2))
    assert codes_of(unknown) == ["O2340"]


def test_a_male_patients_stray_pregnancy_code_converts_nothing(codes, book):
    male = PatientFacts("Patient/p1", "male", date(1960, 5, 17))
    result = coded(codes, book, dx("z34", "Z34.92", 1), dx("uti", "N39.0", 2), patient=male)
    assert codes_of(result) == ["Z3492", "N390"]


def test_a_paired_code_is_added_unless_already_coded(codes, book):
    assert codes_of(coded(codes, book, dx("ad", "G30.9", 1))) == ["G309", "F0280"]


def test_sepsis_goes_before_the_localized_infection_unless_it_arose_after_admission(codes, book):
    stay = {
        "encounter_class": EncounterClass.INPATIENT,
        "period_start": date(2026, 1, 10),
        "period_end": date(2026, 1, 15),
    }
    present = coded(codes, book, dx("uti", "N39.0", 1), dx("sepsis", "A41.9", 2), **stay)
    assert codes_of(present) == ["A419", "N390"]
    later = coded(
        codes,
        book,
        dx("uti", "N39.0", 1),
        dx("sepsis", "A41.9", 2, onset=date(2026, 1, 12)),
        **stay,
    )
    assert codes_of(later) == ["N390", "A419"]


def test_a_first_listed_only_z_code_goes_first(codes, book):
    result = coded(codes, book, dx("htn", "I10", 1), dx("exam", "Z00.00", 2))
    assert codes_of(result) == ["Z0000", "I10"]
    assert result.diagnoses[0].changes[-1].rule == "SEQ-Z-FIRST"


def test_a_follow_up_visit_takes_the_subsequent_7th_character_and_aftercare_goes(codes, book):
    follow_up = (Coding(SNOMED, "390906007", "Follow-up encounter"),)
    result = coded(codes, book, dx("acl", "S83.511A", 1), types=follow_up)
    assert codes_of(result) == ["S83511D"]
    aftercare = coded(codes, book, dx("acl", "S83.511A", 1), dx("z09", "Z09", 2))
    assert codes_of(aftercare) == ["S83511D"]
    emergency = coded(
        codes,
        book,
        dx("acl", "S83.511A", 1),
        types=follow_up,
        encounter_class=EncounterClass.INPATIENT,
    )
    assert codes_of(emergency) == ["S83511A"]


def test_the_documented_side_selects_the_lateral_code(codes, book):
    left = (Coding(SNOMED, "7771000", "Left"),)
    result = coded(codes, book, dx("acl", "S83.519A", 1, body_sites=left))
    assert codes_of(result) == ["S83512A"]
    assert result.diagnoses[0].changes[0].rule == "LATERALITY"
    in_words = coded(codes, book, dx("acl", "S83.519A", 1, display="Sprain of ACL of right knee"))
    assert codes_of(in_words) == ["S83511A"]
    assert codes_of(coded(codes, book, dx("acl", "S83.519A", 1))) == ["S83519A"]


def test_bmi_is_reported_only_beside_a_weight_diagnosis(codes, book):
    bmi = (Observation(SourceRef("Observation/b"), (Coding("http://loinc.org", "39156-5"),), 36.4),)
    with_obesity = coded(codes, book, dx("ob", "E66.9", 1), observations=bmi)
    assert codes_of(with_obesity) == ["E669", "Z6836"]
    assert with_obesity.diagnoses[1].source == SourceRef("Observation/b")
    without = coded(codes, book, dx("htn", "I10", 1), observations=bmi)
    assert codes_of(without) == ["I10"]
    assert "GUIDELINE-BMI" in {i.rule for i in without.issues}


def test_a_malformed_rule_is_a_configuration_error_naming_its_row():
    broken = {"x.toml": '[[combination]]\nid = "A"\ncitation = "I"\nfact = "f"\nanchor = ["E11"]\n'}
    with pytest.raises(ConfigurationError, match=r"x.toml \[\[combination\]\] row 1 \(A\)"):
        compile_rulebook(broken)
    with pytest.raises(ConfigurationError, match="unknown table"):
        compile_rulebook({"x.toml": '[[combine]]\nid = "A"\n'})
    with pytest.raises(ConfigurationError, match="same length"):
        compile_rulebook(
            {"x.toml": '[[drop]]\nid="A"\ncitation="I"\nfact="f"\ncodes=["E1-E13"]\nwhen=["E"]\n'}
        )
    with pytest.raises(ConfigurationError, match="whole number of days"):
        compile_rulebook(
            {
                "x.toml": '[[status]]\nid="A"\ncitation="I"\nfact="f"\ncodes=["I21"]\n'
                'older_than_days="four weeks"\n'
            }
        )


def test_the_shipped_tables_are_loaded_once_and_every_family_is_there():
    book = load_rulebook()
    assert book is load_rulebook()
    tables = (book.combinations, book.drops, book.conversions, book.status, book.adds)
    assert all(tables)
    assert all((book.prompts, book.orders, book.seventh, book.laterality, book.bmi))


def test_the_claim_and_its_provenance_say_which_rule_made_a_diagnosis(codes, book):
    result = coded(codes, book, dx("dm", "E11.9", 1), dx("ckd", "N18.30", 2))
    created = datetime(2026, 1, 16, tzinfo=UTC)
    claim = build_claim(result, (), created=created)
    Claim.model_validate(claim)
    first, second = claim["diagnosis"]
    assert first["extension"] == [
        {
            "url": GUIDELINE_EXTENSION,
            "valueString": "DM-CKD [I.A.15] (replaced E11.9 from Condition/dm): "
            "with N18.30 from Condition/ckd",
        }
    ]
    assert "extension" not in second
    provenance = build_provenance(claim, result, recorded=created)
    Provenance.model_validate(provenance)
    assert provenance["policy"] == [f"{GUIDELINE_POLICY}DM-CKD"]


def test_a_procedure_done_for_a_symptom_left_off_points_at_the_diagnosis_that_took_its_place(
    codes, book
):
    ecg = Procedure(
        SourceRef("Procedure/ecg"),
        (Coding(CPT, "93000"),),
        status="completed",
        performed=date(2026, 1, 15),
        reason_references=("Condition/cp",),
    )
    result = coded(
        codes,
        book,
        dx("ha", "R51.9", 1),
        dx("cp", "R07.9", 2),
        dx("mi", "I21.4", 3),
        procedures=(ecg,),
    )
    assert codes_of(result) == ["R519", "I214"]
    claim = build_claim(result, (), created=datetime(2026, 1, 16, tzinfo=UTC))
    (item,) = claim["item"]
    assert item["diagnosisSequence"] == [2]


def test_the_sequencing_note_names_the_rule_that_put_a_code_first(codes, book):
    result = coded(codes, book, dx("htn", "I10", 1), dx("exam", "Z00.00", 2))
    (note,) = [i for i in result.issues if i.rule == "DX-SEQUENCING"]
    assert "SEQ-Z-FIRST, I.C.21.c.16" in note.message
    ranked = coded(codes, book, dx("htn", "I10", 1))
    (plain,) = [i for i in ranked.issues if i.rule == "DX-SEQUENCING"]
    assert "Encounter.diagnosis rank 1" in plain.message


def test_a_status_row_whose_code_does_not_exist_leaves_the_condition_as_it_came(codes, book):
    del codes.billable["Z853"]
    result = coded(codes, book, dx("ca", "C50.911", 1, clinical_status="resolved"))
    assert codes_of(result) == ["C50911"]


def _every_row_naming(code: str, sets: list) -> tuple[int, ...]:
    return tuple(position for position, codes in enumerate(sets) if code in codes)


def test_the_rows_a_code_sets_off_are_every_row_that_names_it_found_once():
    # The index by category and the rows remembered per code must give what asking every
    # row gives, for codes at, inside and around every pattern of the shipped tables.
    book = load_rulebook()
    triggers = {
        "combinations": [r.anchor for r in book.combinations],
        "drops": [r.codes for r in book.drops],
        "conversions": [r.codes for r in book.conversions],
        "adds": [r.codes for r in book.adds],
        "prompts": [r.codes for r in book.prompts],
        "orders": [r.move for r in book.orders],
    }
    patterns = {
        end.lstrip("!").replace(".", "")
        for rule in book.rules()
        for codes in _code_sets(rule)
        for pattern in codes.patterns
        for end in pattern.split("-")
    }
    codes = {p + tail for p in patterns for tail in ("", "0", "9", "1A", "X")} | {"Q999", "A"}
    for code in sorted(codes):
        found = book.by_code[code]
        assert book.by_code[code] is found  # remembered
        for phase, sets in triggers.items():
            assert getattr(found, phase) == _every_row_naming(code, sets), (code, phase)
        status = _every_row_naming(code, [r.codes for r in book.status])
        assert found.status == tuple(book.status[p] for p in status), code
        if not any(getattr(found, phase) for phase in triggers):
            assert not found.acts or found.seventh or found.pregnancy, code


def _code_sets(rule) -> list[CodeSet]:
    found: list[CodeSet] = []
    for name in rule.__slots__:
        value = getattr(rule, name)
        values = value if isinstance(value, tuple) else (value,)
        found += [v for v in values if isinstance(v, CodeSet)]
    return found


def test_a_code_a_combination_makes_sets_off_the_rows_after_it():
    # Each row is asked of the lines as they are when its turn comes: I12.9, made by the
    # first row from I10 and N18, is the anchor of the second (a category no line had).
    rules = {
        "combinations.toml": """
[[combination]]
id = "HTN-CKD"
citation = "I.C.9.a.2"
fact = "I12.9"
anchor = ["I10"]
needs = [["N18"]]
target = "I12.9"
replace = ["I10"]

[[combination]]
id = "HTN-CKD-HF"
citation = "I.C.9.a.3"
fact = "I13.0"
anchor = ["I12"]
needs = [["I50"]]
target = "I13.0"
replace = ["I12"]
"""
    }
    table = TableCodeSet(billable=dict(CODES), headers=dict(HEADERS))
    book = compile_rulebook(rules)
    result = coded(table, book, dx("htn", "I10", 1), dx("ckd", "N18.30", 2), dx("hf", "I50.9", 3))
    assert codes_of(result) == ["I130", "N1830", "I509"]
    assert [c.rule for c in result.diagnoses[0].changes] == ["HTN-CKD", "HTN-CKD-HF"]
    # Nothing in these tables is about an encounter without those codes: left as it came.
    alone = coded(table, book, dx("ha", "R51.9", 1))
    assert codes_of(alone) == ["R519"]
    assert not alone.diagnoses[0].changes
