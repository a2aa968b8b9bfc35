"""Drugs given in the office: HCPCS lines by NDC through the organisation's crosswalk."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from codesets import default_registry
from codesets.crosswalks import CrosswalkRegistry
from fhir_coder.coding import code_encounter
from fhir_coder.errors import ConfigurationError
from fhir_coder.model import (
    Coding,
    Encounter,
    EncounterClass,
    MedicationAdministration,
    PatientFacts,
    SourceRef,
)
from fhir_coder.systems import HCPCS, NDC, normalise_ndc

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
# CMS's layout (a heading row after a title line); made-up descriptions, real column names
CROSSWALK = (
    "NDC-HCPCS crosswalk (test file)\n"
    "_2026_CODE,Short Description,LABELER NAME,NDC2,Drug Name,HCPCS dosage,PKG SIZE,"
    "PKG QTY,BILLUNITS,BILLUNITSPKG\n"
    "J1100,TEST DRUG A,Labeler,00641-0367-21,drug a,1 MG,1,25,4,100\n"
    "J3490,TEST DRUG B,Labeler,63323-0262-01,drug b,,1,10,1,10\n"
)


@pytest.fixture
def crosswalks(tmp_path):
    path = tmp_path / "ndc-hcpcs.csv"
    path.write_text(CROSSWALK, encoding="utf-8")
    return CrosswalkRegistry(snomed_map="", conceptmaps=[], ndc_hcpcs=path)


def _visit(*given: MedicationAdministration, encounter_class=EncounterClass.AMBULATORY):
    return Encounter(
        id="v1",
        reference="Encounter/v1",
        status="finished",
        encounter_class=encounter_class,
        patient=PatientFacts("Patient/p1", "male", date(1970, 1, 1)),
        period_start=datetime(2026, 1, 15, 9, tzinfo=UTC),
        period_end=datetime(2026, 1, 15, 10, tzinfo=UTC),
        medications=given,
    )


def _given(n: int, *codings: Coding, status: str = "completed") -> MedicationAdministration:
    return MedicationAdministration(
        SourceRef(f"MedicationAdministration/m{n}"), codings, status=status, dose=4, dose_unit="mg"
    )


def test_an_ndc_in_the_crosswalk_becomes_a_hcpcs_line_for_review(crosswalks):
    coded = code_encounter(
        _visit(_given(1, Coding(RXNORM, "1"), Coding(NDC, "0641-0367-21"))),
        default_registry(),
        crosswalks=crosswalks,
    )
    (line,) = coded.procedures
    assert (line.system, line.code, line.needs_review) == (HCPCS, "J1100", True)
    (units,) = [i for i in coded.issues if i.rule == "DRUG-UNITS-UNCONFIRMED"]
    assert "one unit: 1 MG" in units.message
    assert "4 mg" in units.message


def test_whatever_is_not_billed_says_why(crosswalks):
    coded = code_encounter(
        _visit(
            _given(1, Coding(RXNORM, "1")),
            _given(2, Coding(NDC, "99999-9999-99")),
            _given(3, Coding(NDC, "00641036721"), status="not-done"),
        ),
        default_registry(),
        crosswalks=crosswalks,
    )
    assert coded.procedures == ()
    by_source = {i.source: i for i in coded.issues}
    assert "carries no NDC" in by_source["MedicationAdministration/m1"].message
    assert "not in the NDC-HCPCS crosswalk" in by_source["MedicationAdministration/m2"].message
    assert by_source["MedicationAdministration/m3"].rule == "DRUG-NOT-GIVEN"
    unconfigured = code_encounter(
        _visit(_given(1, Coding(NDC, "00641036721"))),
        default_registry(),
        crosswalks=CrosswalkRegistry(snomed_map="", conceptmaps=[], ndc_hcpcs=""),
    )
    (issue,) = [i for i in unconfigured.issues if i.rule == "NEEDS-CODER-DRUG"]
    assert "no NDC-HCPCS crosswalk is configured" in issue.message


def test_an_inpatient_stay_bills_drugs_on_its_revenue_lines(crosswalks):
    coded = code_encounter(
        _visit(_given(1, Coding(NDC, "00641036721")), encounter_class=EncounterClass.INPATIENT),
        default_registry(),
        crosswalks=crosswalks,
    )
    assert "PROC-NOT-BILLED" in {i.rule for i in coded.issues}


@pytest.mark.parametrize(
    ("sent", "eleven"),
    [
        ("0641-0367-21", "00641036721"),  # 4-4-2
        ("63323-262-01", "63323026201"),  # 5-3-2
        ("12345-6789-1", "12345678901"),  # 5-4-1
        ("00641036721", "00641036721"),
        ("0641036721", None),  # ten digits without dashes: ambiguous
    ],
)
def test_ndcs_are_compared_as_cms_writes_them(sent, eleven):
    assert normalise_ndc(sent) == eleven


def test_a_file_without_the_columns_is_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("NDC,Name\n1,x\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="HCPCS"):
        CrosswalkRegistry(snomed_map="", conceptmaps=[], ndc_hcpcs=path)
