"""Each service line points at the diagnoses its procedure names as reasons.

``diagnosis_pointers`` is the one decision the Claim (``build_claim``) and the scrubber's
form (``claim_form``) share: reasonReference or ICD-10-CM reasonCode matches in claim
order, at most four, else the first four diagnoses. A SNOMED CT reasonCode names the
Conditions that carry the same concept.
"""

from datetime import UTC, date, datetime

import pytest

from adapters.claim_input import read_claim
from fhir_coder.claim import build_claim, diagnosis_pointers
from fhir_coder.claim_form import claim_form
from fhir_coder.coding import CodingPolicy, VisitCode, code_encounter
from fhir_coder.model import CodedLine, Coding, CodingMethod, Procedure, SourceRef
from fhir_coder.systems import CPT, ICD10CM, SNOMED
from fhir_coder.validation import claim_can_be_built, validate
from fhir_coder.validation.structure import pointer_edits

from .conftest import condition, office_visit

CREATED = datetime(2026, 1, 16, 8, 0, tzinfo=UTC)


def dx(cid: str, code: str) -> CodedLine:
    return CodedLine(
        ICD10CM, code, "", SourceRef(f"Condition/{cid}"), None, CodingMethod.AS_CODED, 1.0, "r"
    )


# Claim order: the principal first, six diagnoses in all.
DIAGNOSES = (
    dx("dm", "E119"),
    dx("htn", "I10"),
    dx("bronchitis", "J209"),
    dx("asthma", "J45909"),
    dx("remission", "E11A"),
    dx("neuropathy", "G63"),
)


def service(*references: str, codes: tuple[str, ...] = ()) -> CodedLine:
    return CodedLine(
        CPT,
        "94640",
        "",
        SourceRef("Procedure/p"),
        None,
        CodingMethod.AS_CODED,
        1.0,
        "r",
        reason_references=tuple(f"Condition/{r}" for r in references),
        reason_codes=codes,
    )


@pytest.mark.parametrize(
    ("line", "pointers"),
    [
        (service("asthma"), [4]),  # reasonReference
        (service(codes=("G63",)), [6]),  # reasonCode: a 5th-or-later diagnosis is reachable
        (service("neuropathy", codes=("J209",)), [3, 6]),  # either, in claim order
        (service("bronchitis", "dm"), [1, 3]),  # the principal stays first
        (service("elsewhere", codes=("Z0000",)), [1, 2, 3, 4]),  # no match: the first four
        (service(), [1, 2, 3, 4]),  # no reason (the E/M line): the first four
        (
            service("neuropathy", "remission", "asthma", "bronchitis", "htn"),
            [2, 3, 4, 5],  # more than four match: the first four that do
        ),
    ],
)
def test_a_professional_line_points_at_the_diagnoses_it_names(line, pointers):
    assert diagnosis_pointers(line, DIAGNOSES, institutional=False) == pointers


def test_institutional_lines_keep_the_first_four_and_few_diagnoses_give_fewer_pointers():
    assert diagnosis_pointers(service("asthma"), DIAGNOSES, institutional=True) == [1, 2, 3, 4]
    assert diagnosis_pointers(service(), DIAGNOSES[:2], institutional=False) == [1, 2]
    assert diagnosis_pointers(service("asthma"), (), institutional=False) == []


def test_the_claim_and_its_form_point_each_line_at_its_reasons(codes):
    visit = office_visit(
        condition("dm", (ICD10CM, "E11.9"), listed_rank=1),
        condition("htn", (ICD10CM, "I10"), listed_rank=2),
        condition("bronchitis", (ICD10CM, "J20.9"), listed_rank=3),
        condition("asthma", (ICD10CM, "J45.909"), listed_rank=4),
        condition("remission", (ICD10CM, "E11.A"), listed_rank=5),
        condition("htn-again", (ICD10CM, "I10"), listed_rank=6),  # merged into htn
        procedures=(
            Procedure(
                SourceRef("Procedure/neb"),
                (Coding(CPT, "94640"),),
                performed=date(2026, 1, 15),
                reason_references=("Condition/remission", "Condition/asthma"),
            ),
            Procedure(
                SourceRef("Procedure/ekg"),
                (Coding(CPT, "93000"),),
                performed=date(2026, 1, 15),
                reason_codes=(Coding(ICD10CM, "j20.9"), Coding("http://snomed.info/sct", "1")),
            ),
            Procedure(
                SourceRef("Procedure/bp"),
                (Coding(CPT, "99473"),),
                performed=date(2026, 1, 15),
                reason_references=("Condition/htn-again",),  # its diagnosis was merged
            ),
            Procedure(
                SourceRef("Procedure/xray"),
                (Coding(CPT, "71046"),),
                performed=date(2026, 1, 15),
                reason_references=("Condition/not-on-this-claim",),
            ),
        ),
    )
    policy = CodingPolicy(visit_codes=(VisitCode("AMB", "*", CPT, "99213", confirmed=True),))
    coded = code_encounter(visit, codes, policy=policy)
    issues = coded.issues + validate(coded)
    assert claim_can_be_built(issues), issues
    claim = build_claim(coded, issues, created=CREATED)
    assert [d["diagnosisCodeableConcept"]["coding"][0]["code"] for d in claim["diagnosis"]] == [
        "E11.9",
        "I10",
        "J20.9",
        "J45.909",
        "E11.A",
    ]
    pointers = {
        item["productOrService"]["coding"][0]["code"]: item["diagnosisSequence"]
        for item in claim["item"]
    }
    assert pointers == {
        "99213": [1, 2, 3, 4],  # the E/M visit line has no Procedure: the first four
        "94640": [4, 5],
        "93000": [3],
        "99473": [2],
        "71046": [1, 2, 3, 4],
    }
    form = claim_form(coded, created=CREATED)
    patient = {"resourceType": "Patient", "gender": "female", "birthDate": "1960-05-17"}
    assert form == read_claim(claim, patient, label=f"Claim/{claim['id']}")
    assert [item.pointers for item in form.items] == [
        (1, 2, 3, 4),
        (4, 5),
        (3,),
        (2,),
        (1, 2, 3, 4),
    ]
    assert [i for i in pointer_edits(form) if i.severity.blocks] == []


def test_one_line_for_the_same_code_twice_keeps_the_reasons_of_both(codes):
    def nebuliser(pid: str, reason: str) -> Procedure:
        return Procedure(
            SourceRef(f"Procedure/{pid}"),
            (Coding(CPT, "94640"),),
            performed=date(2026, 1, 15),
            reason_references=(f"Condition/{reason}",),
        )

    visit = office_visit(
        condition("dm", (ICD10CM, "E11.9"), listed_rank=1),
        condition("bronchitis", (ICD10CM, "J20.9"), listed_rank=2),
        condition("asthma", (ICD10CM, "J45.909"), listed_rank=3),
        procedures=(nebuliser("a", "asthma"), nebuliser("b", "bronchitis")),
    )
    coded = code_encounter(visit, codes)
    [line] = coded.procedures
    assert line.units == 2
    assert line.reason_references == ("Condition/asthma", "Condition/bronchitis")
    assert diagnosis_pointers(line, coded.diagnoses, institutional=False) == [2, 3]


def test_a_reason_concept_names_every_condition_that_carries_it(codes):
    def nebuliser(pid: str, *, references: tuple[str, ...] = (), snomed: str = "") -> Procedure:
        return Procedure(
            SourceRef(f"Procedure/{pid}"),
            (Coding(CPT, "94640"),),
            performed=date(2026, 1, 15),
            reason_references=references,
            reason_codes=(Coding(SNOMED, snomed),) if snomed else (),
        )

    visit = office_visit(
        condition("dm", (ICD10CM, "E11.9"), listed_rank=1),
        condition("bronchitis", (ICD10CM, "J20.9"), (SNOMED, "10509002"), listed_rank=2),
        condition("htn", (ICD10CM, "I10"), listed_rank=3),
        condition("asthma", (ICD10CM, "J45.909"), (SNOMED, "195967001"), listed_rank=4),
        condition("asthma-again", (ICD10CM, "J45.909"), (SNOMED, "195967001"), listed_rank=5),
        procedures=(
            nebuliser("a", snomed="195967001"),  # carried by two Conditions: both
            nebuliser("b", references=("Condition/htn",), snomed="10509002"),
        ),
    )
    coded = code_encounter(visit, codes)
    [line] = coded.procedures  # one line, two units, the reasons of both
    assert line.reason_references == (
        "Condition/asthma",
        "Condition/asthma-again",
        "Condition/htn",
        "Condition/bronchitis",
    )
    # asthma-again merged into asthma (one code): its reason still reaches that diagnosis
    assert diagnosis_pointers(line, coded.diagnoses, institutional=False) == [2, 3, 4]
