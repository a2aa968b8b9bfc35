"""Fiscal years before the compiled index, from CMS order files (tests write their own)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from codesets import CodeSetRegistry
from codesets.icd10cm_order import ORDER_DIR_ENV, fiscal_year_of
from fhir_coder.coding import code_encounter
from fhir_coder.errors import ConfigurationError, ReleaseNotAvailableError
from fhir_coder.model import (
    Coding,
    Diagnosis,
    Encounter,
    EncounterClass,
    PatientFacts,
    SourceRef,
)
from fhir_coder.systems import ICD10CM

# Descriptions are this test's own words; the layout is CMS's.
ROWS = [
    ("E11", "0", "Type 2 diabetes (test header)"),
    ("E119", "1", "Type 2 diabetes without complications (test)"),
    ("S72001", "0", "Fracture of neck of right femur (test header)"),
    ("S72001A", "1", "Fracture of neck of right femur, initial (test)"),
    ("S72001D", "1", "Fracture of neck of right femur, subsequent (test)"),
    ("J189", "1", "Pneumonia, unspecified organism (test)"),
]


def order_line(number: int, code: str, flag: str, text: str) -> str:
    return f"{number:05d} {code:<7} {flag} {text[:60]:<60} {text}"


@pytest.fixture
def order_folder(tmp_path):
    folder = tmp_path / "order"
    folder.mkdir()
    text = "\n".join(order_line(n, *row) for n, row in enumerate(ROWS, start=1)) + "\n"
    (folder / "icd10cm_order_2020.txt").write_text(text, encoding="latin-1")
    return folder


@pytest.fixture
def earlier(cache_folder, order_folder):
    with CodeSetRegistry(cache_dir=cache_folder, earlier_releases=order_folder) as built:
        yield built


def test_fiscal_years_start_on_the_first_of_october():
    assert fiscal_year_of(date(2019, 9, 30)) == 2019
    assert fiscal_year_of(date(2019, 10, 1)) == 2020


def test_a_date_in_a_loaded_fiscal_year_is_answered_from_its_file(earlier):
    info = earlier.lookup(ICD10CM, "E119", date(2019, 11, 5))
    assert (info.valid, info.billable) == (True, True)
    assert info.release == "ICD-10-CM FY2020 (CMS icd10cm_order_2020.txt)"
    assert info.description == "Type 2 diabetes without complications (test)"
    header = earlier.lookup(ICD10CM, "E11", date(2020, 9, 30))
    assert (header.valid, header.billable, header.billable_children) == (True, False, ("E119",))
    seventh = earlier.lookup(ICD10CM, "S72001", date(2020, 1, 1))
    assert seventh.needs_seventh_character
    # U07.1 came in April 2020 and is not in this file: not valid for it
    assert not earlier.lookup(ICD10CM, "U071", date(2020, 1, 1)).valid
    assert earlier.lookup(ICD10CM, "E119", date(2026, 1, 1)).release == "ICD-10-CM FY2026"


def test_a_year_no_file_covers_is_still_refused_by_default(earlier):
    with pytest.raises(ReleaseNotAvailableError):
        earlier.lookup(ICD10CM, "E119", date(2018, 11, 5))


def test_the_folder_can_come_from_the_environment(cache_folder, order_folder, monkeypatch):
    monkeypatch.setenv(ORDER_DIR_ENV, str(order_folder))
    with CodeSetRegistry(cache_dir=cache_folder) as built:
        assert built.lookup(ICD10CM, "J189", date(2019, 12, 1)).valid
        (extra,) = [i for i in built.info() if "earlier" in i.name]
        assert extra.fiscal_years == (2020,)
        assert extra.first_date == date(2019, 10, 1)


def test_an_encounter_of_that_year_is_coded_without_the_nearest_release(earlier):
    encounter = Encounter(
        id="old",
        reference="Encounter/old",
        status="finished",
        encounter_class=EncounterClass.AMBULATORY,
        patient=PatientFacts("Patient/p1", "female", date(1960, 1, 1)),
        period_start=datetime(2019, 11, 5, 9, tzinfo=UTC),
        diagnoses=(
            Diagnosis(SourceRef("Condition/c1"), (Coding(ICD10CM, "E11.9"),), rank=1),
            Diagnosis(SourceRef("Condition/c2"), (Coding(ICD10CM, "S72.001"),), rank=2),
        ),
    )
    coded = code_encounter(encounter, earlier)
    assert [(line.code, line.release) for line in coded.diagnoses] == [
        ("E119", "ICD-10-CM FY2020 (CMS icd10cm_order_2020.txt)")
    ]
    rules = {issue.rule for issue in coded.issues}
    assert "ICD10CM-7TH-CHARACTER" in rules
    assert "CODESET-NEAREST-RELEASE" not in rules


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("not an order file line\n", ":1: not a CMS order-file line"),
        ("", "no codes"),
    ],
)
def test_a_file_not_in_the_layout_is_refused(cache_folder, tmp_path, content, complaint):
    (tmp_path / "icd10cm_order_2019.txt").write_text(content, encoding="latin-1")
    with pytest.raises(ConfigurationError, match=complaint):
        CodeSetRegistry(cache_dir=cache_folder, earlier_releases=tmp_path)


def test_a_folder_without_order_files_is_refused(cache_folder, tmp_path):
    with pytest.raises(ConfigurationError, match="no CMS order file"):
        CodeSetRegistry(cache_dir=cache_folder, earlier_releases=tmp_path)
