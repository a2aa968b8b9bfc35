"""The sandbox payer: rules decide each line; answers as a ClaimResponse and as an 835."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest

from adapters.x12.syntax import read_interchange
from sandbox.app import create_app
from sandbox.payer import ClaimIn, LineIn, PayerRules, adjudicate, claim_from_fhir
from sandbox.payer_x12 import remittance_835

RULES = PayerRules.from_json(
    {
        "fee_schedule": {"99213": "92.00", "93000": "17.50"},
        "default_rate": "0.5",
        "supports": {"93000": ["I", "R00", "R07"]},
        "ncci_pairs": [["93000", "93010"]],
    }
)
DAY = date(2026, 3, 2)


def line(number, code, charge, diagnoses=("J069",), modifiers=()):
    return LineIn(number, code, modifiers, Decimal(1), Decimal(charge), diagnoses, DAY)


def claim(*lines, in_force=True, missing=()):
    return ClaimIn("PCN1", tuple(lines), in_force, tuple(missing))


def test_each_rule_gives_its_carc_and_the_rest_is_paid_at_the_schedule():
    result = adjudicate(
        claim(
            line(1, "99213", "150.00"),
            line(2, "93000", "60.00"),  # J06.9 does not support an EKG
            line(3, "93010", "20.00", ("R079",)),  # bundled into 93000 the same day
            line(4, "93010", "20.00", ("R079",), ("59",)),  # a distinct service: not bundled
            line(5, "36415", "10.00"),  # off the schedule: half the charge
        ),
        RULES,
    )
    decided = [(o.line.number, o.paid, o.adjustments) for o in result.lines]
    assert decided == [
        (1, Decimal("92.00"), (("CO", "45", Decimal("58.00")),)),
        (2, Decimal(0), (("CO", "11", Decimal("60.00")),)),
        (3, Decimal(0), (("CO", "97", Decimal("20.00")),)),
        (4, Decimal("10.00"), (("CO", "45", Decimal("10.00")),)),
        (5, Decimal("5.00"), (("CO", "45", Decimal("5.00")),)),
    ]
    assert not result.denied


def test_coverage_not_in_force_and_missing_fields_deny_every_line():
    lapsed = adjudicate(claim(line(1, "99213", "150"), in_force=False), RULES)
    assert lapsed.lines[0].adjustments == (("CO", "27", Decimal(150)),)
    assert lapsed.denied
    incomplete = adjudicate(claim(line(1, "99213", "150"), missing=("diagnosis",)), RULES)
    assert incomplete.lines[0].adjustments == (("CO", "16", Decimal(150)),)


def test_the_835_balances_and_passes_our_envelope_checks():
    result = adjudicate(claim(line(1, "99213", "150.00"), line(2, "93000", "60.00")), RULES)
    text = remittance_835([result], RULES)
    checked = read_interchange(text, "payer.835")
    assert [t.code for t in checked.transactions] == ["835"]
    assert "CLP*PCN1*1*210.00*92.00" in text
    assert "CAS*CO*11*60.00" in text


def test_a_fhir_claim_missing_its_diagnoses_is_read_as_missing():
    read = claim_from_fhir({"resourceType": "Claim", "id": "c1", "item": []}, None)
    assert set(read.missing) >= {"patient", "insurance", "diagnosis", "item"}
    assert read.coverage_in_force is None


@pytest.fixture
def payer_app(tmp_path):
    app = create_app(tmp_path / "payer.sqlite3", payer=RULES)
    yield app
    app.state.store.close()


async def test_claim_submit_answers_and_stores_a_claim_response(payer_app):
    coverage = {
        "resourceType": "Coverage",
        "id": "cov-1",
        "status": "active",
        "beneficiary": {"reference": "Patient/p1"},
        "payor": [{"reference": "Organization/x"}],
        "period": {"start": "2025-01-01", "end": "2025-12-31"},
    }
    claim_json = {
        "resourceType": "Claim",
        "id": "fc-1",
        "status": "active",
        "use": "claim",
        "type": {"coding": [{"code": "professional"}]},
        "patient": {"reference": "Patient/p1"},
        "created": "2026-03-02",
        "provider": {"reference": "Organization/o"},
        "priority": {"coding": [{"code": "normal"}]},
        "billablePeriod": {"start": "2026-03-02"},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/cov-1"}}],
        "diagnosis": [
            {
                "sequence": 1,
                "diagnosisCodeableConcept": {
                    "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J06.9"}]
                },
            }
        ],
        "item": [
            {
                "sequence": 1,
                "diagnosisSequence": [1],
                "servicedDate": "2026-03-02",
                "productOrService": {
                    "coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]
                },
                "quantity": {"value": 1},
                "net": {"value": 150.0, "currency": "USD"},
            }
        ],
    }
    transport = httpx.ASGITransport(app=payer_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://payer.test/fhir") as http:
        put = await http.put("/Coverage/cov-1", json=coverage)
        assert put.status_code in (200, 201), put.text
        answer = await http.post("/Claim/$submit", json=claim_json)
        assert answer.status_code == 200, answer.text
        response = answer.json()
        assert response["request"] == {"reference": "Claim/fc-1"}
        item = response["item"][0]["adjudication"]
        assert {"reason" in a for a in item} == {True, False}
        assert [a["reason"]["coding"][0]["code"] for a in item if "reason" in a] == ["27"]
        stored = await http.get("/ClaimResponse")
        assert stored.json()["total"] == 1
        bad = await http.post("/$submit-x12", content=b"ISA*garbage")
        assert bad.status_code == 400
        assert bad.json()["resourceType"] == "OperationOutcome"
