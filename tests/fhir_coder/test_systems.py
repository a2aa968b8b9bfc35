import pytest

from fhir_coder.systems import (
    HCPCS,
    ICD10CM,
    SNOMED,
    canonical_system,
    display_icd10cm,
    normalise_icd10cm,
)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("urn:oid:2.16.840.1.113883.6.90", ICD10CM),
        (ICD10CM, ICD10CM),
        ("urn:oid:2.16.840.1.113883.6.96", SNOMED),
        ("https://bluebutton.cms.gov/resources/codesystem/hcpcs", HCPCS),
        ("urn:oid:2.16.840.1.113883.6.285", HCPCS),
        ("http://example.org/local", "http://example.org/local"),
        (None, ""),
    ],
)
def test_system_aliases_become_one_uri(sent, expected):
    assert canonical_system(sent) == expected


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("E11.9", "E119"),
        ("e119", "E119"),
        ("R21.", "R21"),
        (" S72.001A ", "S72001A"),
        ("IMO0002", None),
        ("QA0.0101", "QA00101"),
        ("", None),
        ("E11.9999999", None),
        ("123", None),
    ],
)
def test_icd10cm_codes_normalise_to_dotless_upper_case(sent, expected):
    assert normalise_icd10cm(sent) == expected


def test_display_puts_the_dot_back():
    assert display_icd10cm("E119") == "E11.9"
    assert display_icd10cm("I10") == "I10"
    assert display_icd10cm("S72001A") == "S72.001A"


def test_kept_answers_are_the_answers_for_each_form_sent():
    # Both normalisations keep their answers per form sent: asking again, in any order,
    # gives each form its own answer.
    sent = [" urn:oid:2.16.840.1.113883.6.90 ", "http://example.org/local", ICD10CM]
    first = [canonical_system(s) for s in sent]
    assert [canonical_system(s) for s in reversed(sent)] == list(reversed(first))
    assert first == [ICD10CM, "http://example.org/local", ICD10CM]
    codes = ["e11.9", "IMO0002", " E11.9", "e11.9"]
    assert [normalise_icd10cm(c) for c in codes] == ["E119", None, "E119", "E119"]
    with pytest.raises(AttributeError):
        canonical_system(42)  # type: ignore[arg-type]
