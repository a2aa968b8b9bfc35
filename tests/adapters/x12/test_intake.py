"""835s (x12sdk's generator and by hand), 999s, 277CAs and ClaimResponses, matched and recorded."""

from __future__ import annotations

import pytest
from x12sdk.generate import generate_835
from x12sdk.generate._spec import (
    AdjustmentSpec,
    ClaimSpec,
    ProviderAdjustmentSpec,
    ServiceLineSpec,
)

from adapters.x12.intake import record_x12_text
from adapters.x12.responses import CARC_SYSTEM, GROUP_SYSTEM, RARC_SYSTEM, record_responses
from adapters.x12.submit import write_837
from fhir_coder.errors import X12Error
from tests.adapters.x12.conftest import chargemaster
from tests.adapters.x12.golden_claims import golden_source


@pytest.fixture
def sent(parties, ledger, tmp_path):
    """The golden emergency visit (professional) and inpatient stay, submitted."""
    report = write_837(
        golden_source("emergency_visit", "inpatient_stay"),
        parties,
        ledger,
        out=tmp_path / "sent.837",
        price=chargemaster,
    )
    return {f.kind: f for f in report.sent}


def counts(ledger):
    tables = ("remit_lines", "unmatched", "intakes", "provider_adjustments")
    return {t: ledger.count(t) for t in tables}


def test_an_835_from_x12sdk_is_matched_per_line_with_denials_partial_pay_and_plb(sent, ledger):
    visit, stay = sent["professional"], sent["institutional"]
    text = generate_835(
        claims=[
            ClaimSpec(  # the visit: E/M paid less the contract, repair denied CO-11, drug paid
                charge="499.75",
                patient_control_number=visit.pcn,
                lines=[
                    ServiceLineSpec(
                        charge="310.00",
                        procedure="99284",
                        adjustments=[
                            AdjustmentSpec("CO", "45", "60.00"),
                            AdjustmentSpec("PR", "2", "50.00"),
                        ],
                    ),
                    ServiceLineSpec(
                        charge="185.50",
                        procedure="12001",
                        adjustments=[AdjustmentSpec("CO", "11", "185.50")],
                    ),
                    ServiceLineSpec(charge="4.25", procedure="J1885"),
                ],
            ),
            ClaimSpec(  # the stay: denied outright, CO-16
                charge=str(stay.total),
                status="4",
                patient_control_number=stay.pcn,
                adjustments=[AdjustmentSpec("CO", "16", str(stay.total))],
            ),
            ClaimSpec(charge="75.00", patient_control_number="NOTOURS0001"),  # a claim not ours
        ],
        provider_adjustments=[
            ProviderAdjustmentSpec("WO", "12.00", "OVERPAY1"),
            ProviderAdjustmentSpec("L6", "-3.10", "INTEREST"),
        ],
    )
    report = record_x12_text(text, ledger, source="era.835")
    assert report.claims_matched == 2
    assert report.unknown_claims == ["NOTOURS0001"]
    assert report.provider_adjustments == 2
    assert report.statuses == {visit.claim_id: "partially-paid", stay.claim_id: "denied"}
    lines = ledger.remit_lines(visit.claim_id)
    assert [(r.line, r.procedure, r.group_code, r.carc, r.amount, r.outcome) for r in lines] == [
        (1, "99284", "CO", "45", "60.00", "adjusted"),
        (1, "99284", "PR", "2", "50.00", "adjusted"),
        (2, "12001", "CO", "11", "185.50", "denied"),
        (3, "J1885", "", "", "", "paid"),
    ]
    history = ledger.history(visit.claim_id)
    assert [e.status for e in history] == ["submitted", "partially-paid"]
    assert history[-1].detail["denied"] == [
        {"line": 2, "reference": "", "procedure": "12001", "group": "CO", "carc": "11", "rarc": []}
    ]
    assert ledger.submission(visit.claim_id).payer_claim_number  # CLP07 kept for a replacement
    assert ledger.submission(stay.claim_id).status == "denied"
    assert counts(ledger) == {
        "remit_lines": 5,
        "unmatched": 1,
        "intakes": 1,
        "provider_adjustments": 2,
    }
    again = record_x12_text(text, ledger, source="era-again.835")
    assert again.already_recorded
    assert counts(ledger)["remit_lines"] == 5


HAND_MADE = """ISA*00*          *00*          *ZZ*PAYERX         *ZZ*RIVERBEND      *261210*1000*^*00501*000000311*0*P*:~
GS*HP*PAYERX*RIVERBEND*20261210*1000*311*X*005010X221A1~
ST*835*0001~
BPR*I*0*C*NON************20261210~
TRN*1*EFT311*1999999999~
N1*PR*ACME HEALTH~
N3*1 PAYER WAY~
N4*COLUMBUS*OH*43215~
N1*PE*RIVERBEND COMMUNITY HOSPITAL*XX*1526018159~
LX*1~
CLP*{visit}*22*-499.75*-310.00**MB*PCN-OLD-1~
CAS*CO*45*-189.75~
NM1*QC*1*DOE*JANE****MI*1EG4TE5MK72~
CLP*{visit}*1*499.75*310.00**MB*PCN-NEW-2~
NM1*QC*1*DOE*JANE****MI*1EG4TE5MK72~
SVC*HC:99284*310.00*310.00**1~
SVC*HC:12001*185.50*0**1~
CAS*CO*97*185.50~
LQ*HE*M15~
SVC*HC:J1885*4.25*0**1~
CAS*CO*45*4.25~
PLB*1526018159*20261231*WO:CLAIMOVERPAY*310.00~
SE*{count}*0001~
GE*1*311~
IEA*1*000000311~
"""  # noqa: E501 - an ISA is 106 characters


def hand_made(visit_pcn: str) -> str:
    body = HAND_MADE.replace("{visit}", visit_pcn)
    segments = body.split("~\n")
    start = next(i for i, s in enumerate(segments) if s.startswith("ST*"))
    end = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    return body.replace("{count}", str(end - start + 1))


def test_a_hand_made_835_with_a_reversal_a_correction_and_a_recovery(sent, ledger):
    visit = sent["professional"]
    report = record_x12_text(hand_made(visit.pcn), ledger, source="hand.835")
    assert report.claims_matched == 2
    assert report.unknown_claims == []
    history = [e.status for e in ledger.history(visit.claim_id)]
    assert history == ["submitted", "reversed", "partially-paid"]
    rows = ledger.remit_lines(visit.claim_id)
    assert ("CO", "45", "claim-adjustment") in [(r.group_code, r.carc, r.outcome) for r in rows]
    bundled = [r for r in rows if r.carc == "97"]
    assert [(r.line, r.outcome, r.rarcs) for r in bundled] == [(2, "denied", ("M15",))]
    assert ledger.submission(visit.claim_id).payer_claim_number == "PCN-NEW-2"
    assert ledger.count("provider_adjustments") == 1


@pytest.mark.parametrize(
    ("change", "segment", "position", "words"),
    [
        (lambda t: t.replace("SE*21*0001", "SE*9*0001"), "SE", 23, "SE01 says 9"),
        (lambda t: t.replace("IEA*1*", "IEA*2*"), "IEA", 25, "functional groups"),
        (lambda t: t.replace("GE*1*311", "GE*1*312"), "GE", 24, "GE02"),
        (lambda t: t.replace("005010X221A1", "005010X221A9"), "GS", 2, "unknown version"),
        (lambda t: t.replace("*00501*", "*00401*"), "ISA", 1, "interchange version"),
        (lambda t: t[:80], "ISA", 1, "106 characters"),
        (
            lambda t: t.replace("CLP*", "CLP*X*", 1).replace("*22*-499", "*ZZ*-499"),
            "CLP",
            11,
            "claim_status_code",
        ),
        (lambda t: t.replace("IEA*1*000000311~\n", ""), "GE", 24, "no IEA"),
        (lambda t: t.replace("CAS*CO*45*4.25~", "CAS*CO*45*3.25~"), "CLP", 14, "balance"),
        (lambda t: t.replace("LQ*HE*M15", "XYZ*HE*M15"), "XYZ", 19, "not one the 835 has"),
        (lambda t: t.replace("J1885*4.25*0**1", "J1885*4.25*zero**1"), "SVC", 20, "decimal"),
    ],
)
def test_malformed_835s_are_refused_whole_with_the_segment_and_position(
    sent, ledger, change, segment, position, words
):
    text = change(hand_made(sent["professional"].pcn))
    before = counts(ledger)
    with pytest.raises(X12Error) as caught:
        record_x12_text(text, ledger, source="bad.835")
    message = str(caught.value)
    assert caught.value.segment == segment, message
    assert caught.value.position == position, message
    assert words in message
    assert "\n" not in message
    assert counts(ledger) == before
    assert [e.status for e in ledger.history(sent["professional"].claim_id)] == ["submitted"]


ACK_999 = """ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*RIVERBEND      *261208*0800*^*00501*000000501*0*T*:~
GS*FA*CLEARHOUSE*RIVERBEND*20261208*0800*501*X*005010X231A1~
ST*999*0001*005010X231A1~
AK1*HC*{group}*005010X222A1~
AK2*837*0001*005010X222A1~
IK5*R*5~
AK9*R*1*1*0~
SE*6*0001~
GE*1*501~
IEA*1*000000501~
"""  # noqa: E501 - an ISA is 106 characters

ACK_277CA = """ISA*00*          *00*          *ZZ*CLEARHOUSE     *ZZ*RIVERBEND      *261208*0900*^*00501*000000601*0*T*:~
GS*HN*CLEARHOUSE*RIVERBEND*20261208*0900*601*X*005010X214~
ST*277*0001*005010X214~
BHT*0085*08*277CA1*20261208*0900*TH~
HL*1**20*1~
NM1*PR*2*ACME HEALTH*****PI*ACME1~
TRN*1*0091182~
DTP*050*D8*20261208~
DTP*009*D8*20261208~
HL*2*1*21*1~
NM1*41*2*RIVERBEND COMMUNITY HOSPITAL*****46*RIVERBEND01~
TRN*2*1~
STC*A1:19:PR*20261208*WQ*{total}~
HL*3*2*19*1~
NM1*85*2*RIVERBEND COMMUNITY HOSPITAL*****XX*1526018159~
HL*4*3*PT~
NM1*QC*1*DOE*JANE****MI*1EG4TE5MK72~
TRN*2*{pcn}~
STC*A7:21:82*20261208*U*{charge}~
REF*1K*REJ-1~
DTP*472*RD8*20260112-20260116~
SE*20*0001~
GE*1*601~
IEA*1*000000601~
"""  # noqa: E501 - an ISA is 106 characters


def test_a_999_rejection_and_a_277ca_rejection_are_rejections_not_denials(sent, ledger):
    visit, stay = sent["professional"], sent["institutional"]
    group = ledger.submission(visit.claim_id).batch.split(":")[0]
    report = record_x12_text(ACK_999.replace("{group}", group), ledger, source="ack.999")
    assert report.statuses == {visit.claim_id: "rejected"}
    ack = ACK_277CA.replace("{pcn}", stay.pcn).replace("{charge}", str(stay.total))
    ack = ack.replace("{total}", str(stay.total))
    report = record_x12_text(ack, ledger, source="ack.277")
    assert report.statuses == {stay.claim_id: "rejected"}
    assert ledger.history(stay.claim_id)[-1].detail["codes"] == ["A7:21:82"]
    assert ledger.remit_lines(visit.claim_id) == []  # nothing adjudicated, nothing denied
    assert ledger.remit_lines(stay.claim_id) == []


def claim_response(claim_id: str, *, denied_carc: str = "11") -> dict:
    def adjudication(category, amount, reason=None, group=None):
        entry = {
            "category": {"coding": [{"code": category}]},
            "amount": {"value": amount, "currency": "USD"},
        }
        if group:
            entry["category"]["coding"].append({"system": GROUP_SYSTEM, "code": group})
        if reason:
            entry["reason"] = {
                "coding": [
                    {"system": CARC_SYSTEM, "code": reason},
                    {"system": RARC_SYSTEM, "code": "N657"},
                ]
            }
        return entry

    return {
        "resourceType": "ClaimResponse",
        "id": "cr-1",
        "status": "active",
        "outcome": "complete",
        "use": "claim",
        "request": {"reference": f"Claim/{claim_id}"},
        "identifier": [{"system": "urn:payer:claim", "value": "ICN-42"}],
        "item": [
            {
                "itemSequence": 1,
                "adjudication": [
                    adjudication("submitted", 310.0),
                    adjudication("benefit", 250.0),
                    adjudication("deductible", 60.0, "1"),
                ],
            },
            {
                "itemSequence": 2,
                "adjudication": [
                    adjudication("submitted", 185.5),
                    adjudication("benefit", 0),
                    adjudication("denialreason", 185.5, denied_carc, "CO"),
                ],
            },
            {
                "itemSequence": 3,
                "adjudication": [adjudication("submitted", 4.25), adjudication("benefit", 4.25)],
            },
        ],
    }


def test_a_claim_response_is_recorded_like_an_835(sent, ledger):
    visit = sent["professional"]
    report = record_responses([claim_response(visit.claim_id)], ledger, label="server")
    assert report.statuses == {visit.claim_id: "partially-paid"}
    rows = ledger.remit_lines(visit.claim_id)
    assert [(r.line, r.group_code, r.carc, r.outcome, r.rarcs) for r in rows] == [
        (1, "PR", "1", "adjusted", ("N657",)),
        (2, "CO", "11", "denied", ("N657",)),
        (3, "", "", "paid", ()),
    ]
    assert ledger.submission(visit.claim_id).payer_claim_number == "ICN-42"
    again = record_responses([claim_response(visit.claim_id)], ledger, label="again")
    assert again.already_recorded
    unknown = record_responses([claim_response("fc-unknown")], ledger, label="server")
    assert unknown.unknown_claims == ["Claim/fc-unknown"]


def test_a_rejected_claim_is_fixed_and_sent_again_as_an_original(sent, parties, ledger, tmp_path):
    stay = sent["institutional"]
    ack = ACK_277CA.replace("{pcn}", stay.pcn).replace("{charge}", str(stay.total))
    record_x12_text(ack.replace("{total}", str(stay.total)), ledger, source="ack.277")
    assert ledger.submission(stay.claim_id).status == "rejected"
    again = write_837(
        golden_source("inpatient_stay"), parties, ledger, out=tmp_path / "again.837",
        price=chargemaster,
    )  # fmt: skip
    (facts,) = again.sent
    assert (facts.claim_id, facts.frequency) == (stay.claim_id, "1")  # never adjudicated
    assert [e.status for e in ledger.history(stay.claim_id)] == [
        "submitted",
        "rejected",
        "submitted",
    ]
