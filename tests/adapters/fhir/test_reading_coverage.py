"""Coverage as payers and EHRs write it: its type and the payer's identifiers, and what they
say about Medicare (which decides the vaccine administration codes, G0008-G0010)."""

from __future__ import annotations

import orjson

from adapters.fhir.reading import read_coverage
from fhir_coder.coding.immunizations import is_medicare
from fhir_coder.model import Coding
from fhir_coder.systems import SOPT
from sandbox.seed import build_seed_bundle
from tests.shared_data import shared_data_dir


def _read(folder: str, name: str) -> dict[str, object]:
    return orjson.loads((shared_data_dir(folder) / name).read_bytes())


def test_the_sandbox_seed_s_coverages_state_their_payer_type():
    # The seed writes Coverage.type as US Core does, in the Source of Payment Typology (OID).
    bundle = build_seed_bundle(patients=40)
    coverages = [
        read_coverage(e["resource"])
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Coverage"
    ]
    verdicts = {c.payer_reference: is_medicare(c, frozenset()) for c in coverages}
    assert verdicts["Organization/org-payer-medicare"] is True
    assert verdicts["Organization/org-payer-lakeshore"] is False
    assert all(c.types[0].system == SOPT for c in coverages)


def test_carin_blue_button_coverage_has_no_type_and_the_organisation_lists_its_payer():
    coverage = read_coverage(_read("carin-bb", "Coverage_CoverageEx1.json"))
    assert coverage.types == ()
    assert coverage.payer_reference == "Organization/PayerOrganizationExample1"
    # Its class says "MEDICARE HMO PLAN", its payer is named "UPMC Health Plan": neither is
    # a payer type. Unknown until the organisation lists the payer.
    assert is_medicare(coverage, frozenset()) is None
    assert is_medicare(coverage, frozenset({"PayerOrganizationExample1"})) is True


def test_blue_button_part_b_names_its_payer_by_identifier():
    search = _read("bfd", "coverageSearchByPatientId.json")
    part_b = next(
        e["resource"]
        for e in search["entry"]  # type: ignore[attr-defined]
        if e["resource"]["id"].startswith("part-b")
    )
    coverage = read_coverage(part_b)
    assert coverage.payer_identifiers == ("Centers for Medicare and Medicaid Services",)
    assert [c.code for c in coverage.types] == ["SUBSIDIZ"]  # v3 ActCode: no payer type
    listed = frozenset({"Centers for Medicare and Medicaid Services"})
    assert is_medicare(coverage, listed) is True
    assert is_medicare(coverage, frozenset({"12502"})) is False


def test_an_r4_example_coverage_with_an_act_code_type_is_not_decided_by_it():
    coverage = read_coverage(_read("fhir-r4-examples", "Coverage-9876B1.json"))
    assert [c.code for c in coverage.types] == ["EHCPOL"]
    assert is_medicare(coverage, frozenset()) is None


def test_a_conditional_payer_reference_gives_the_identifier_and_the_oid_its_system():
    coverage = read_coverage(
        {
            "resourceType": "Coverage",
            "id": "c1",
            "status": "active",
            "type": {"coding": [{"system": "urn:oid:2.16.840.1.113883.3.221.5", "code": "121"}]},
            "payor": [{"reference": "Organization?identifier=https://example.org/payers|MCR01"}],
        }
    )
    assert coverage.types == (Coding(SOPT, "121"),)
    assert coverage.payer_identifiers == ("MCR01",)
    assert is_medicare(coverage, frozenset()) is True
