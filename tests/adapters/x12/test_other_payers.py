"""A Claim with more than one Coverage: the 837 names the other payers (2320/2330A/2330B)."""

from __future__ import annotations

import copy

import pytest

from adapters.x12.claim_facts import NotReady, claim_facts
from adapters.x12.submit import write_837
from tests.adapters.x12.conftest import chargemaster
from tests.adapters.x12.golden_claims import golden_source
from tests.adapters.x12.pyx12_judge import pyx12_errors

SPOUSE_PLAN = {
    "Coverage/c2": {
        "resourceType": "Coverage",
        "id": "c2",
        "status": "active",
        "subscriberId": "SPX0042",
        "type": {"coding": [{"system": "urn:oid:2.16.840.1.113883.3.221.5", "code": "5"}]},
        "relationship": {"coding": [{"code": "spouse"}]},
        "subscriber": {"reference": "Patient/spouse"},
        "payor": [{"reference": "Organization/second"}],
    },
    "Patient/spouse": {
        "resourceType": "Patient",
        "id": "spouse",
        "gender": "male",
        "birthDate": "1948-07-01",
        "name": [{"family": "Doe", "given": ["John"]}],
    },
    "Organization/second": {
        "resourceType": "Organization",
        "id": "second",
        "name": "Second Mutual",
        "identifier": [{"system": "urn:payer-id", "value": "SECM2"}],
    },
}


def two_payers(name: str, *, billed: int = 1):
    """The golden Claim ``name`` with a second Coverage; ``billed`` the sequence billed."""
    source = golden_source(name)
    source.resources.update(copy.deepcopy(SPOUSE_PLAN))
    claim = source.claims[0]
    claim["insurance"] = [
        {"sequence": 1, "focal": billed == 1, "coverage": {"reference": "Coverage/c1"}},
        {"sequence": 2, "focal": billed == 2, "coverage": {"reference": "Coverage/c2"}},
    ]
    if billed == 2:
        claim["insurer"] = {"reference": "Organization/second"}
    return source


@pytest.mark.parametrize("name", ["office_visit", "inpatient_stay"])
def test_the_other_payer_goes_in_2320_2330a_2330b_and_pyx12_finds_no_error(
    name, parties, ledger, tmp_path
):
    out = tmp_path / "cob.837"
    report = write_837(two_payers(name), parties, ledger, out=out, price=chargemaster)
    (facts,) = report.sent
    assert facts.responsibility == "P"
    (other,) = facts.others
    assert (other.responsibility, other.relationship, other.payer_id) == ("S", "01", "SECM2")
    text = out.read_text().replace("~\n", "~")
    assert pyx12_errors(text, tmp_path) == []
    assert "SBR*P*18*" in text
    assert "SBR*S*01*******CI~OI***Y***Y~NM1*IL*1*Doe*John****MI*SPX0042~" in text
    assert "NM1*PR*2*Second Mutual*****PI*SECM2~" in text


def test_a_claim_billed_to_the_secondary_names_the_primary_in_2320(parties, ledger, tmp_path):
    out = tmp_path / "second.837"
    report = write_837(
        two_payers("office_visit", billed=2), parties, ledger, out=out, price=chargemaster
    )
    (facts,) = report.sent
    assert facts.responsibility == "S"
    assert facts.payer_id == "SECM2"
    assert [o.responsibility for o in facts.others] == ["P"]
    text = out.read_text().replace("~\n", "~")
    assert pyx12_errors(text, tmp_path) == []
    assert "NM1*PR*2*Acme Health*****PI*ACME1~" in text  # the primary, in 2330B


def test_another_coverage_without_its_member_id_is_a_reason_not_a_loop_left_out():
    source = two_payers("office_visit")
    del source.resources["Coverage/c2"]["subscriberId"]
    with pytest.raises(NotReady, match="Coverage/c2 has no subscriber id"):
        claim_facts(source.claims[0], source.resolve, price=chargemaster)
