"""ClaimResponses a payer stored on a FHIR server, read back and matched to our submissions."""

from __future__ import annotations

import httpx
import pytest

from adapters.fhir.client import FhirClient
from adapters.x12.ledger import SubmissionLedger
from adapters.x12.responses import record_responses, responses_from_server
from adapters.x12.submit import write_837
from sandbox.app import create_app
from sandbox.payer import PayerRules
from tests.adapters.x12.golden_claims import golden_source


@pytest.fixture
def payer_app(tmp_path):
    app = create_app(tmp_path / "payer.sqlite3", payer=PayerRules())
    yield app
    app.state.store.close()


async def test_claim_responses_on_the_server_are_matched_to_our_submissions(
    payer_app, parties, tmp_path
):
    source = golden_source("emergency_visit")
    ledger = SubmissionLedger(None)
    (visit,) = write_837(source, parties, ledger, out=tmp_path / "a.837").sent
    transport = httpx.ASGITransport(app=payer_app)
    async with FhirClient("http://payer.test/fhir", transport=transport) as fhir:
        coverage = source.resources["Coverage/c1"] | {"beneficiary": {"reference": "Patient/p1"}}
        await fhir.request("PUT", "Coverage/c1", json_body=coverage)
        response, body = await fhir.request("POST", "Claim/$submit", json_body=source.claims[0])
        assert response.status_code == 200, body
        found = await responses_from_server(fhir)
    report = record_responses(found, ledger, label="payer")
    assert report.claims_matched == 1
    assert report.statuses == {visit.claim_id: "paid"}
    rows = ledger.remit_lines(visit.claim_id)
    assert {r.procedure for r in rows} == set() or len(rows) >= 3
    assert {r.carc for r in rows if r.carc} == {"45"}
    assert ledger.submission(visit.claim_id).payer_claim_number.startswith("SBX")


def test_carin_explanations_of_benefit_are_read_and_kept_as_not_ours():
    from decimal import Decimal  # noqa: PLC0415

    import orjson  # noqa: PLC0415

    from adapters.x12.responses import remittance_claim  # noqa: PLC0415
    from tests.shared_data import shared_data_dir  # noqa: PLC0415

    folder = shared_data_dir("carin-bb")
    eobs = [
        orjson.loads(path.read_bytes())
        for path in sorted(folder.glob("ExplanationOfBenefit_*.json"))
    ]
    assert eobs
    for eob in eobs:
        read = remittance_claim(eob)
        totals = {
            t["category"]["coding"][0]["code"]: Decimal(str(t["amount"]["value"]))
            for t in eob.get("total", [])
        }
        if "submitted" in totals:
            assert read.charge == totals["submitted"]
        if "benefit" in totals and "payment" not in eob:
            assert read.paid == totals["benefit"]
        # a line pays at most its charge (reversed lines: both negative)
        assert all(abs(line.paid) <= abs(line.charge) for line in read.lines if line.charge)
    ledger = SubmissionLedger(None)
    report = record_responses(eobs, ledger, label="carin")
    assert report.claims_matched == 0
    assert len(report.unknown_claims) == len(eobs)  # not ours: reported, kept, not dropped
    assert ledger.count("unmatched") == len(eobs)
