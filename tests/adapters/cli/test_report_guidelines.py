"""The CLI shows why the Official Guidelines made a line what it is."""

from adapters.cli.report import line_json, line_text
from fhir_coder.model import CodedLine, CodingMethod, GuidelineChange, SourceRef
from fhir_coder.systems import ICD10CM

COMBINED = CodedLine(
    system=ICD10CM,
    code="E1122",
    display="Type 2 diabetes mellitus with diabetic chronic kidney disease",
    source=SourceRef("Condition/dm"),
    source_coding=None,
    method=CodingMethod.AS_CODED,
    confidence=1.0,
    release="ICD-10-CM FY2026",
    changes=(
        GuidelineChange("DM-CKD", "I.A.15; I.C.4.a", ("E11.9 from Condition/dm",), "with N18.30"),
    ),
)


def test_a_line_a_rule_made_shows_the_rule_its_citation_and_what_it_replaced():
    text = line_text(COMBINED)
    assert text.splitlines()[1].strip() == (
        "guideline DM-CKD [I.A.15; I.C.4.a] (replaced E11.9 from Condition/dm): with N18.30"
    )
    assert line_json(COMBINED)["guidelines"] == [
        {
            "rule": "DM-CKD",
            "citation": "I.A.15; I.C.4.a",
            "replaced": ["E11.9 from Condition/dm"],
            "note": "with N18.30",
        }
    ]
