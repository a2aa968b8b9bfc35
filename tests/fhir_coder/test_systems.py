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
