"""A Claim with more than one Coverage: the 837 names the other payers (2320/2330A/2330B)."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from x12sdk.generate import generate_835
from x12sdk.generate._spec import AdjustmentSpec, ClaimSpec, ServiceLineSpec

from adapters.x12.claim_facts import NotReady, claim_facts
from adapters.x12.intake import record_x12_text
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


def primary_remits(facts, ledger) -> Decimal:
    """The primary's 835 (x12sdk's generator): each line less CO-45 and the PR-2 share."""
    lines = [
        ServiceLineSpec(
            charge=str(line.charge),
            procedure=line.code or line.revenue,  # a room line is answered by its revenue code
            adjustments=[
                AdjustmentSpec("CO", "45", "20.00"),
                AdjustmentSpec("PR", "2", "15.00"),
            ],
        )
        for line in facts.lines
    ]
    text = generate_835(
        claims=[ClaimSpec(charge=str(facts.total), patient_control_number=facts.pcn, lines=lines)]
    )
    assert record_x12_text(text, ledger, source="primary.835").claims_matched == 1
    return facts.total - Decimal("35.00") * len(facts.lines)


@pytest.mark.parametrize("name", ["office_visit", "inpatient_stay"])
def test_the_claim_to_the_secondary_carries_the_primarys_adjudication(
    name, parties, ledger, tmp_path
):
    source = two_payers(name)
    (primary,) = write_837(source, parties, ledger, out=tmp_path / "p.837", price=chargemaster).sent
    to_secondary = two_payers(name, billed=2)
    early = write_837(to_secondary, parties, ledger, out=tmp_path / "early.837", price=chargemaster)
    assert early.sent == []
    assert "has not remitted this claim yet" in str(early.not_ready[0])
    paid = primary_remits(primary, ledger)
    out = tmp_path / "s.837"
    report = write_837(to_secondary, parties, ledger, out=out, price=chargemaster)
    (facts,) = report.sent
    assert (facts.responsibility, facts.pcn) == ("S", primary.pcn + "S")
    assert facts.submission_key == f"{primary.claim_id}#S"
    (other,) = facts.others
    assert other.responsibility == "P"
    assert other.payment is not None
    assert other.payment.paid == paid
    text = out.read_text().replace("~\n", "~")
    assert pyx12_errors(out.read_text(), tmp_path) == []
    assert f"AMT*D*{paid}~" in text
    line = facts.lines[0]
    svd = f"SVD*ACME1*{line.charge - Decimal('35.00')}*HC:{line.code}*"
    assert svd + (f"{line.revenue}*1~" if name == "inpatient_stay" else "*1~") in text
    assert "CAS*CO*45*20.00~CAS*PR*2*15.00~DTP*573*D8*" in text
    assert ledger.submission(primary.claim_id).status == "paid"
    assert ledger.submission(facts.submission_key).status == "submitted"


def test_another_coverage_without_its_member_id_is_a_reason_not_a_loop_left_out():
    source = two_payers("office_visit")
    del source.resources["Coverage/c2"]["subscriberId"]
    with pytest.raises(NotReady, match="Coverage/c2 has no subscriber id"):
        claim_facts(source.claims[0], source.resolve, price=chargemaster)


ROOM = {
    "sequence": 2,
    "revenue": {
        "coding": [{"system": "https://www.nubc.org/CodeSystem/RevenueCodes", "code": "0120"}]
    },
    "productOrService": {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                "code": "not-applicable",
            }
        ]
    },
    "quantity": {"value": 4},
    "unitPrice": {"value": 1850.0, "currency": "USD"},
    "net": {"value": 7400.0, "currency": "USD"},
}


def test_a_room_and_board_line_the_primary_paid_goes_to_the_secondary_by_its_revenue_code(
    parties, ledger, tmp_path
):
    source = two_payers("inpatient_stay")
    source.claims[0]["item"].append(copy.deepcopy(ROOM))
    (primary,) = write_837(source, parties, ledger, out=tmp_path / "p.837", price=chargemaster).sent
    paid = primary_remits(primary, ledger)  # the 835 answers the room line as "0120"
    to_secondary = two_payers("inpatient_stay", billed=2)
    to_secondary.claims[0]["item"].append(copy.deepcopy(ROOM))
    out = tmp_path / "s.837"
    (facts,) = write_837(to_secondary, parties, ledger, out=out, price=chargemaster).sent
    (other,) = facts.others
    assert other.payment is not None
    assert [line.line for line in other.payment.lines] == [1, 2]
    assert other.payment.paid == paid
    text = out.read_text().replace("~\n", "~")
    assert pyx12_errors(out.read_text(), tmp_path) == []
    assert "SV2*0120**7400.00*DA*4~" in text
    assert "SVD*ACME1*7365.00**0120*4~" in text  # no SVD03: the line has no HCPCS code
