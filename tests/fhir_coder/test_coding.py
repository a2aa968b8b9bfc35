from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from fhir_coder.coding import code_encounter
from fhir_coder.model import CodingMethod, DiagnosisRole, EncounterClass
from fhir_coder.outcome import Severity
from fhir_coder.systems import ICD10CM, SNOMED

from .conftest import condition, office_visit


def rules(coded):
    return [issue.rule for issue in coded.issues]


def test_icd10cm_coding_is_normalised_checked_and_kept_with_its_source(codes):
    visit = office_visit(condition("dm", (SNOMED, "44054006"), (ICD10CM, "e11.9")))
    coded = code_encounter(visit, codes)
    [line] = coded.diagnoses
    assert (line.system, line.code, line.role) == (ICD10CM, "E119", DiagnosisRole.PRINCIPAL)
    assert line.source.reference == "Condition/dm"
    assert line.source_coding is not None
    assert line.source_coding.code == "e11.9"
    assert line.method is CodingMethod.AS_CODED
    assert line.release == "ICD-10-CM FY2026"
    assert line.display == "Type 2 diabetes mellitus without complications"


def test_dotless_and_trailing_dot_forms_reach_the_same_code(codes):
    visit = office_visit(condition("a", (ICD10CM, "I10.")), condition("b", (ICD10CM, " j209 ")))
    assert [line.code for line in code_encounter(visit, codes).diagnoses] == ["I10", "J209"]


def test_header_code_is_not_put_on_the_claim_and_its_children_are_offered(codes):
    coded = code_encounter(office_visit(condition("dm", (ICD10CM, "E11"))), codes)
    assert coded.diagnoses == ()
    [finding] = [i for i in coded.issues if i.rule == "ICD10CM-NOT-BILLABLE"]
    assert finding.severity is Severity.ERROR
    assert "E11.9" in finding.fix
    assert finding.source == "Condition/dm"


def test_invalid_code_is_an_error_naming_code_date_and_release(codes):
    coded = code_encounter(office_visit(condition("x", (ICD10CM, "Z99.999"))), codes)
    [finding] = [i for i in coded.issues if i.rule == "ICD10CM-INVALID-ON-DATE"]
    assert "Z99.999" in finding.message
    assert "2026-01-15" in finding.message
    assert finding.expression == ("Condition.code.coding",)


def test_placeholder_that_is_not_a_code_is_malformed(codes):
    coded = code_encounter(office_visit(condition("imo", (ICD10CM, "IMO0002"))), codes)
    assert "ICD10CM-MALFORMED" in rules(coded)
    assert coded.diagnoses == ()


def test_missing_seventh_character_offers_the_choices(codes):
    coded = code_encounter(office_visit(condition("hip", (ICD10CM, "S72.001"))), codes)
    [finding] = [i for i in coded.issues if i.rule == "ICD10CM-7TH-CHARACTER"]
    assert "S72.001A" in finding.fix


def test_snomed_only_condition_needs_a_coder_and_is_not_dropped_silently(codes):
    coded = code_encounter(office_visit(condition("flu", (SNOMED, "6142004"))), codes)
    [finding] = [i for i in coded.issues if i.rule == "NEEDS-CODER-NO-ICD10CM"]
    assert finding.severity is Severity.WARNING
    assert "6142004" in finding.message


def test_refuted_and_entered_in_error_conditions_are_excluded(codes):
    visit = office_visit(
        condition("real", (ICD10CM, "I10")),
        condition("no", (ICD10CM, "E11.9"), verification="refuted"),
        condition("oops", (ICD10CM, "J20.9"), verification="entered-in-error"),
    )
    coded = code_encounter(visit, codes)
    assert [line.code for line in coded.diagnoses] == ["I10"]
    assert rules(coded).count("DX-EXCLUDED-VERIFICATION") == 2


UNCERTAIN = ("unconfirmed", "provisional", "differential")


@pytest.mark.parametrize("status", UNCERTAIN)
@pytest.mark.parametrize(
    "encounter_class",
    [EncounterClass.AMBULATORY, EncounterClass.EMERGENCY, EncounterClass.OBSERVATION],
)
def test_an_uncertain_diagnosis_is_not_coded_outside_an_inpatient_stay(
    codes, status, encounter_class
):
    suspected = condition("pna", (ICD10CM, "J20.9"), listed_rank=1, verification=status)
    visit = office_visit(
        replace(suspected, text="suspected bronchitis"),
        condition("htn", (ICD10CM, "I10"), listed_rank=2),
        encounter_class=encounter_class,
    )
    coded = code_encounter(visit, codes)
    assert [line.code for line in coded.diagnoses] == ["I10"]
    [finding] = [i for i in coded.issues if i.rule == "NEEDS-CODER-UNCERTAIN-DIAGNOSIS"]
    assert finding.severity is Severity.WARNING
    assert finding.message == (
        f"Condition/pna ('suspected bronchitis') is {status} (an uncertain diagnosis: probable, "
        "suspected, rule out or working): not coded, as the ICD-10-CM Official Guidelines "
        "(Section IV.H) ask for outpatient services: needs a coder"
    )
    assert finding.fix.startswith("code the signs, symptoms or abnormal findings")
    assert finding.expression == ("Condition.verificationStatus",)
    assert finding.source == "Condition/pna"


@pytest.mark.parametrize("status", UNCERTAIN)
def test_an_uncertain_diagnosis_is_coded_as_if_it_existed_for_an_inpatient_stay(codes, status):
    stay = office_visit(
        condition("pna", (ICD10CM, "J20.9"), listed_rank=1, verification=status),
        encounter_class=EncounterClass.INPATIENT,
        period_end=datetime(2026, 1, 18, 11, 0, tzinfo=UTC),
    )
    coded = code_encounter(stay, codes)
    assert [line.code for line in coded.diagnoses] == ["J209"]
    assert "NEEDS-CODER-UNCERTAIN-DIAGNOSIS" not in rules(coded)
    [note] = [i for i in coded.issues if i.rule == "DX-UNCERTAIN-INPATIENT"]
    assert note.severity is Severity.INFORMATION
    assert "Section II.H" in note.message
    assert note.message.startswith(f"Condition/pna is {status}")


def test_a_confirmed_or_unstated_verification_is_coded_without_a_note(codes):
    visit = office_visit(
        condition("a", (ICD10CM, "I10")), condition("b", (ICD10CM, "E11.9"), verification="")
    )
    coded = code_encounter(visit, codes)
    assert [line.code for line in coded.diagnoses] == ["I10", "E119"]
    assert not {"NEEDS-CODER-UNCERTAIN-DIAGNOSIS", "DX-UNCERTAIN-INPATIENT"} & set(rules(coded))


def test_problem_list_item_counts_only_when_the_encounter_lists_it(codes):
    visit = office_visit(
        condition("pl", (ICD10CM, "I10"), category=("problem-list-item",)),
        condition("pl2", (ICD10CM, "E11.9"), category=("problem-list-item",), listed_rank=1),
    )
    coded = code_encounter(visit, codes)
    assert [line.code for line in coded.diagnoses] == ["E119"]
    assert "DX-PROBLEM-LIST-NOT-REFERENCED" in rules(coded)


def test_sequencing_follows_encounter_diagnosis_rank_not_arrival_order(codes):
    visit = office_visit(
        condition("htn", (ICD10CM, "I10"), listed_rank=2),
        condition("bronch", (ICD10CM, "J20.9"), listed_rank=1),
        condition("dm", (ICD10CM, "E11.9")),
    )
    coded = code_encounter(visit, codes)
    assert [line.code for line in coded.diagnoses] == ["J209", "I10", "E119"]
    assert [line.role for line in coded.diagnoses] == [
        DiagnosisRole.PRINCIPAL,
        DiagnosisRole.SECONDARY,
        DiagnosisRole.SECONDARY,
    ]
    [why] = [i for i in coded.issues if i.rule == "DX-SEQUENCING"]
    assert "rank 1" in why.message


def test_admitting_diagnosis_is_not_chosen_as_principal_over_an_equal_rank(codes):
    visit = office_visit(
        condition("adm", (ICD10CM, "J20.9"), listed_rank=1, use="AD"),
        condition("dd", (ICD10CM, "I10"), listed_rank=1, use="DD"),
    )
    assert code_encounter(visit, codes).diagnoses[0].code == "I10"


def test_the_clinicians_choice_wins_among_several_icd10cm_codings(codes):
    visit = office_visit(
        condition("dm", (ICD10CM, "E11.9"), (ICD10CM, "E11.A"), user_selected="E11.A")
    )
    assert code_encounter(visit, codes).diagnoses[0].code == "E11A"


def test_duplicate_codes_are_merged_and_said(codes):
    visit = office_visit(condition("a", (ICD10CM, "I10")), condition("b", (ICD10CM, "I10")))
    coded = code_encounter(visit, codes)
    assert len(coded.diagnoses) == 1
    assert "DX-DUPLICATE-MERGED" in rules(coded)


def test_inpatient_stays_are_coded_for_the_discharge_date(codes):
    stay = office_visit(
        condition("dm", (ICD10CM, "E11.9")),
        encounter_class=EncounterClass.INPATIENT,
        period_start=datetime(2025, 9, 28, tzinfo=UTC),
        period_end=datetime(2025, 10, 2, tzinfo=UTC),
    )
    assert stay.date_of_service == date(2025, 10, 2)
    assert code_encounter(stay, codes).diagnoses[0].code == "E119"


def test_date_outside_every_release_is_an_error_not_a_guess(codes):
    old = office_visit(
        condition("dm", (ICD10CM, "E11.9")), period_start=datetime(2019, 3, 1, tzinfo=UTC)
    )
    coded = code_encounter(old, codes)
    assert coded.diagnoses == ()
    assert "CODESET-NO-RELEASE" in rules(coded)


def test_encounter_without_period_cannot_be_coded(codes):
    coded = code_encounter(office_visit(period_start=None, period_end=None), codes)
    assert rules(coded) == ["ENCOUNTER-NO-DATE"]
    assert codes.calls == 0
