"""The payer's claim number is one number per claim, whichever way the answer came back.

The sandbox payer answers an 837 with an 835 (CLP07) and keeps the same decisions as
ClaimResponses (``identifier``); a replacement quotes that number in REF*F8, and the payer
pays a replacement only when the number is one it gave.
"""

from __future__ import annotations

import copy

import httpx
import pytest

from adapters.fhir.client import FhirClient
from adapters.x12.intake import record_x12_text
from adapters.x12.ledger import SubmissionLedger
from adapters.x12.responses import record_responses, responses_from_server
from adapters.x12.submit import write_837
from fhir_coder.claim import as_replacement
from sandbox.app import create_app
from sandbox.payer import PayerRules
from tests.adapters.x12.conftest import chargemaster
from tests.adapters.x12.golden_claims import golden_source
from tests.adapters.x12.pyx12_judge import pyx12_errors

RULES = PayerRules.from_json({"name": "ACME HEALTH", "payer_id": "ACME1", "default_rate": "0.5"})


@pytest.fixture
def payer_app(tmp_path):
    app = create_app(tmp_path / "payer.sqlite3", payer=RULES)
    yield app
    app.state.store.close()


async def _send(http: httpx.AsyncClient, interchange: str) -> str:
    answer = await http.post(
        "/$submit-x12",
        content=interchange.encode(),
        headers={"Content-Type": "application/edi-x12"},
    )
    assert answer.status_code == 200, answer.text
    return answer.text


def _clp07(era: str) -> list[str]:
    return [
        segment.split("*")[7] for segment in era.split("~") if segment.strip().startswith("CLP")
    ]


async def test_the_835_and_the_claim_response_carry_one_number_that_the_replacement_quotes(
    payer_app, parties, tmp_path
):
    source = golden_source("emergency_visit")
    original = source.claims[0]
    by_835 = SubmissionLedger(None)  # the provider that reads the 835
    by_fhir = SubmissionLedger(None)  # the provider that reads the payer's ClaimResponses
    first = write_837(source, parties, by_835, out=tmp_path / "1.837", price=chargemaster)
    write_837(source, parties, by_fhir, out=tmp_path / "1b.837", price=chargemaster)
    transport = httpx.ASGITransport(app=payer_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://payer.test/fhir") as http:
        era = await _send(http, (tmp_path / "1.837").read_text())
        async with FhirClient("http://payer.test/fhir", transport=transport) as fhir:
            responses = await responses_from_server(fhir)
        assert len(responses) == 1  # one decision kept, in FHIR too
        (number,) = _clp07(era)
        assert number.startswith("SBX")
        assert responses[0]["identifier"][0]["value"] == number
        assert responses[0]["request"]["identifier"]["value"] == first.sent[0].pcn

        remitted = record_x12_text(era, by_835, source="era.835")
        answered = record_responses(responses, by_fhir, label="payer")
        assert remitted.statuses == answered.statuses == {original["id"]: "paid"}
        assert (
            by_835.submission(original["id"]).payer_claim_number
            == by_fhir.submission(original["id"]).payer_claim_number
            == number
        )
        # the same adjudication read the other way as well is recorded once, not twice
        lines = len(by_835.remit_lines(original["id"]))
        again = record_responses(responses, by_835, label="payer")
        assert again.repeated == [original["id"]]
        assert len(by_835.remit_lines(original["id"])) == lines
        assert [e.status for e in by_835.history(original["id"])] == ["submitted", "paid"]

        # the replacement quotes the 835's number and the payer knows it: paid, not CO-129
        source.claims = [as_replacement(copy.deepcopy(original), 1, original["id"])]
        fixed = write_837(source, parties, by_835, out=tmp_path / "2.837", price=chargemaster)
        (facts,) = fixed.sent
        assert (facts.frequency, facts.payer_claim_number) == ("7", number)
        replacement_837 = (tmp_path / "2.837").read_text()
        assert f"REF*F8*{number}~" in replacement_837
        assert pyx12_errors(replacement_837, tmp_path) == []
        second = record_x12_text(await _send(http, replacement_837), by_835, source="era2.835")
        assert second.statuses == {facts.claim_id: "paid"}
        assert {r.carc for r in by_835.remit_lines(facts.claim_id)} == {"45"}
        # a replacement naming a number this payer never gave is denied CO-129 on every line
        forged = replacement_837.replace(f"REF*F8*{number}~", "REF*F8*SBX000000000000~")
        refused = await _send(http, forged)
        assert "CAS*CO*129*" in refused
        assert "*45*" not in refused
