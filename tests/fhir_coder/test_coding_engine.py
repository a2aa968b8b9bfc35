"""The coding engine beyond codes as sent: crosswalks, words, visits, laterality, etiology."""

from datetime import date

from fhir_coder.coding import CodingPolicy, VisitCode, code_encounter
from fhir_coder.coding.diagnoses import snomed_in_text
from fhir_coder.coding.procedures import laterality_modifier
from fhir_coder.model import (
    Coding,
    CodingMethod,
    Diagnosis,
    EncounterClass,
    PatientFacts,
    Procedure,
    SourceRef,
)
from fhir_coder.ports import CodeNote, Suggestion, Translation
from fhir_coder.systems import CPT, ICD10CM, SNOMED

from .conftest import TableCrosswalk, TableNotes, TableText, condition, office_visit

ASTHMA = Translation(
    ICD10CM, "J45909", "Unspecified asthma", "curated:195967001", "curated 2026-11"
)


def rules(coded):
    return [issue.rule for issue in coded.issues]


def test_snomed_only_condition_is_coded_through_the_crosswalk_with_its_provenance(codes):
    crosswalk = TableCrosswalk({("195967001", ICD10CM): (ASTHMA,)})
    visit = office_visit(condition("asthma", (SNOMED, "195967001")))
    [line] = code_encounter(visit, codes, crosswalks=crosswalk).diagnoses
    assert (line.code, line.method) == ("J45909", CodingMethod.CROSSWALK)
    assert line.source_coding is not None
    assert line.source_coding.code == "195967001"
    assert line.rule == "curated 2026-11: curated:195967001"
    assert line.release == "ICD-10-CM FY2026"
    assert 0 < line.confidence < 1


def test_map_rules_use_the_patients_sex_and_unknown_sex_needs_review(codes):
    crosswalk = TableCrosswalk()
    female = office_visit(condition("dm", (SNOMED, "73211009")))
    assert code_encounter(female, codes, crosswalks=crosswalk).diagnoses[0].code == "O99810"
    unknown = office_visit(
        condition("dm", (SNOMED, "73211009")), patient=PatientFacts("Patient/p", "unknown")
    )
    coded = code_encounter(unknown, codes, crosswalks=crosswalk)
    assert coded.diagnoses == ()
    assert "NEEDS-CODER-REVIEW" in rules(coded)


def test_crosswalk_target_that_is_not_billable_is_refused_not_emitted(codes):
    header = Translation(ICD10CM, "E11", "", "curated:x", "curated")
    crosswalk = TableCrosswalk({("44054006", ICD10CM): (header,)})
    coded = code_encounter(
        office_visit(condition("dm", (SNOMED, "44054006"))), codes, crosswalks=crosswalk
    )
    assert coded.diagnoses == ()
    [finding] = [i for i in coded.issues if i.rule == "ICD10CM-NOT-BILLABLE"]
    assert "from the crosswalk for SNOMED CT 44054006" in finding.message


T2DM = Translation(ICD10CM, "E119", "", "curated:44054006", "curated 2026-11")


def test_a_header_sent_with_snomed_is_completed_by_the_concept_when_they_agree(codes):
    """E11 (a header) beside type 2 diabetes: the concept's own code lies within it."""
    crosswalk = TableCrosswalk({("44054006", ICD10CM): (T2DM,), ("195967001", ICD10CM): (ASTHMA,)})
    visit = office_visit(
        condition("dm", (ICD10CM, "E11"), (SNOMED, "44054006")),
        condition("mixed", (ICD10CM, "E11"), (SNOMED, "195967001")),
        condition("bare", (ICD10CM, "E11")),
    )
    coded = code_encounter(visit, codes, crosswalks=crosswalk)
    [line] = coded.diagnoses
    assert (line.code, line.source.reference) == ("E119", "Condition/dm")
    assert line.method is CodingMethod.CROSSWALK
    assert line.rule.endswith("E11 sent as incomplete")
    by_source = {(i.source, i.rule): i for i in coded.issues}
    note = by_source[("Condition/dm", "DX-COMPLETED-FROM-CONCEPT")]
    assert "E11 was sent" in note.message
    assert "E11.9" in note.message
    assert ("Condition/dm", "ICD10CM-NOT-BILLABLE") not in by_source
    # the two codings disagree (asthma is not within E11), or there is no concept: a coder
    assert ("Condition/mixed", "ICD10CM-NOT-BILLABLE") in by_source
    assert ("Condition/bare", "ICD10CM-NOT-BILLABLE") in by_source


def test_a_header_is_not_completed_from_a_target_for_review_or_the_header_itself(codes):
    review = Translation(ICD10CM, "E119", "", "curated:x", "curated", needs_review=True)
    itself = Translation(ICD10CM, "E11", "", "curated:y", "curated")
    crosswalk = TableCrosswalk({("1", ICD10CM): (review,), ("2", ICD10CM): (itself,)})
    visit = office_visit(
        condition("a", (ICD10CM, "E11"), (SNOMED, "1")),
        condition("b", (ICD10CM, "E11"), (SNOMED, "2")),
    )
    coded = code_encounter(visit, codes, crosswalks=crosswalk)
    assert coded.diagnoses == ()
    assert [i.source for i in coded.issues if i.rule == "ICD10CM-NOT-BILLABLE"] == [
        "Condition/a",
        "Condition/b",
    ]
    assert "DX-COMPLETED-FROM-CONCEPT" not in rules(coded)


def test_unmapped_and_unmatched_concepts_need_a_coder_with_the_reason(codes):
    unmatched = Translation(
        ICD10CM, "", "", "a finding, not a diagnosis", "curated", equivalence="unmatched"
    )
    crosswalk = TableCrosswalk({("314529007", ICD10CM): (unmatched,)})
    visit = office_visit(
        condition("finding", (SNOMED, "314529007")), condition("rare", (SNOMED, "999999999"))
    )
    coded = code_encounter(visit, codes, crosswalks=crosswalk)
    found = [i for i in coded.issues if i.rule == "NEEDS-CODER-UNMAPPED"]
    assert len(found) == 2
    assert "a finding, not a diagnosis" in found[0].message
    assert "no crosswalk entry" in found[1].message


def test_snomed_written_inside_the_text_is_found():
    assert snomed_in_text("Angina Pectoris (SCT 194828000)") == "194828000"
    assert snomed_in_text("Asthma (SNOMED CT: 195967001)") == "195967001"
    assert snomed_in_text("Asthma") is None


def test_text_only_diagnosis_gets_suggestions_never_a_line_by_default(codes):
    text = TableText((Suggestion(ICD10CM, "J45909", "Unspecified asthma", 0.97, "asthma"),))
    words = Diagnosis(
        SourceRef("Condition/t"), (), text="asthma", category=("encounter-diagnosis",)
    )
    coded = code_encounter(office_visit(words), codes, text=text)
    assert coded.diagnoses == ()
    [finding] = [i for i in coded.issues if i.rule == "NEEDS-CODER-TEXT-ONLY"]
    assert "J45.909 Unspecified asthma (0.97)" in finding.fix


def test_text_match_above_the_configured_score_becomes_a_line(codes):
    text = TableText((Suggestion(ICD10CM, "J45909", "Unspecified asthma", 0.97, "asthma"),))
    words = Diagnosis(
        SourceRef("Condition/t"), (), text="asthma", category=("encounter-diagnosis",)
    )
    policy = CodingPolicy(text_accept_score=0.95)
    [line] = code_encounter(office_visit(words), codes, text=text, policy=policy).diagnoses
    assert line.method is CodingMethod.TEXT_MATCH
    assert line.confidence == 0.97


def test_manifestation_goes_after_its_etiology(codes):
    notes = TableNotes(
        {
            "G63": (
                CodeNote(
                    "code_first",
                    "underlying disease, such as: diabetes (E08-E13)",
                    ("E08-E13",),
                    "G63",
                ),
            )
        }
    )
    visit = office_visit(
        condition("neuro", (ICD10CM, "G63"), listed_rank=1),
        condition("dm", (ICD10CM, "E11.9"), listed_rank=2),
    )
    coded = code_encounter(visit, codes, notes=notes)
    assert [line.code for line in coded.diagnoses] == ["E119", "G63"]
    assert "DX-ETIOLOGY-FIRST" in rules(coded)


def test_visit_table_adds_an_em_line_marked_for_review(codes):
    policy = CodingPolicy(
        visit_codes=(VisitCode("AMB", "*", CPT, "99213"), VisitCode("EMER", "*", CPT, "99284"))
    )
    coded = code_encounter(office_visit(condition("a", (ICD10CM, "I10"))), codes, policy=policy)
    [visit] = coded.procedures
    assert (visit.code, visit.method, visit.needs_review) == ("99213", CodingMethod.TABLE, True)
    assert "VISIT-LEVEL-UNCONFIRMED" in rules(coded)
    stay = office_visit(condition("a", (ICD10CM, "I10")), encounter_class=EncounterClass.INPATIENT)
    assert code_encounter(stay, codes, policy=policy).procedures == ()


def test_specific_visit_type_row_wins_over_the_catch_all(codes):
    policy = CodingPolicy(
        visit_codes=(
            VisitCode("AMB", "*", CPT, "99213"),
            VisitCode("AMB", "185349003", CPT, "99395", confirmed=True),
        )
    )
    checkup = office_visit(condition("a", (ICD10CM, "I10")), types=(Coding(SNOMED, "185349003"),))
    [visit] = code_encounter(checkup, codes, policy=policy).procedures
    assert visit.code == "99395"
    assert not visit.needs_review


def knee(pid, side_code, side_word):
    return Procedure(
        SourceRef(f"Procedure/{pid}"),
        (Coding(CPT, "20610"),),
        status="completed",
        performed=date(2026, 1, 15),
        body_sites=(Coding(SNOMED, side_code, f"{side_word} knee"),),
    )


def test_laterality_becomes_modifiers_and_repeats_become_units(codes):
    visit = office_visit(
        condition("a", (ICD10CM, "I10")),
        procedures=(
            knee("p1", "7771000", "Left"),
            knee("p2", "24028007", "Right"),
            knee("p3", "7771000", "Left"),
        ),
    )
    lines = {(line.modifiers, line.units) for line in code_encounter(visit, codes).procedures}
    assert lines == {(("LT",), 2), (("RT",), 1)}


def test_laterality_words():
    assert laterality_modifier((Coding(SNOMED, "1", "Structure of left knee"),)) == "LT"
    assert laterality_modifier((Coding(SNOMED, "51440002", ""),)) == "50"
    assert laterality_modifier((Coding(SNOMED, "1", "left"), Coding(SNOMED, "2", "right"))) == "50"
    assert laterality_modifier((Coding(SNOMED, "1", "Knee"),)) is None


def test_procedure_without_billing_code_is_crosswalked_from_snomed(codes):
    crosswalk = TableCrosswalk(
        {("73761001", CPT): (Translation(CPT, "45378", "", "curated:73761001", "curated"),)}
    )
    colonoscopy = Procedure(
        SourceRef("Procedure/c"),
        (Coding(SNOMED, "73761001", "Colonoscopy"),),
        performed=date(2026, 1, 15),
    )
    visit = office_visit(condition("a", (ICD10CM, "I10")), procedures=(colonoscopy,))
    [line] = code_encounter(visit, codes, crosswalks=crosswalk).procedures
    assert (line.code, line.method, line.release) == ("45378", CodingMethod.CROSSWALK, "unverified")
