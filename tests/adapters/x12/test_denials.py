"""Denials and rejections become work items in the job ledger, each line routed by its CARC."""

from __future__ import annotations

import pytest
from x12sdk.generate import generate_835
from x12sdk.generate._spec import AdjustmentSpec, ClaimSpec, ServiceLineSpec

from adapters.jobs.ledger import JobLedger
from adapters.x12.denials import open_denial_work
from adapters.x12.intake import record_x12_text
from adapters.x12.submit import write_837
from fhir_coder.denials import WorkQueue, queue_for
from tests.adapters.x12.conftest import chargemaster
from tests.adapters.x12.golden_claims import golden_source
from tests.adapters.x12.test_intake import ACK_277CA


@pytest.mark.parametrize(
    ("group", "carc", "queue"),
    [
        ("CO", "11", WorkQueue.CODING),
        ("CO", "4", WorkQueue.CODING),
        ("CO", "16", WorkQueue.CODING),
        ("CO", "97", WorkQueue.CODING),
        ("CO", "146", WorkQueue.CODING),
        ("CO", "167", WorkQueue.CODING),
        ("CO", "27", WorkQueue.REGISTRATION),
        ("OA", "109", WorkQueue.REGISTRATION),
        ("CO", "197", WorkQueue.AUTHORIZATION),
        ("CO", "50", WorkQueue.CDI_APPEAL),
        ("PI", "204", WorkQueue.BILLING),
        ("CO", "45", None),
        ("PR", "1", None),
    ],
)
def test_each_carc_goes_to_the_queue_that_can_fix_it(group, carc, queue):
    assert queue_for(group, carc) == queue


@pytest.fixture
def jobs(tmp_path):
    with JobLedger(tmp_path / "jobs.sqlite3") as ledger:
        yield ledger


def test_a_denied_line_is_a_work_item_with_its_codes_queue_and_evidence(
    parties, ledger, jobs, tmp_path
):
    report = write_837(
        golden_source("emergency_visit"),
        parties,
        ledger,
        out=tmp_path / "a.837",
        price=chargemaster,
    )
    (visit,) = report.sent
    era = generate_835(
        claims=[
            ClaimSpec(
                charge="499.75",
                patient_control_number=visit.pcn,
                lines=[
                    ServiceLineSpec(charge="310.00", procedure="99284"),
                    ServiceLineSpec(
                        charge="185.50",
                        procedure="12001",
                        adjustments=[AdjustmentSpec("CO", "11", "185.50")],
                    ),
                    ServiceLineSpec(
                        charge="4.25",
                        procedure="J1885",
                        adjustments=[AdjustmentSpec("CO", "27", "4.25")],
                    ),
                ],
            )
        ]
    )
    intake = record_x12_text(era, ledger, source="era.835")
    evidence = {"diagnoses": [{"code": "S0181XA", "source": {"reference": "Condition/c1"}}]}
    (item,) = open_denial_work(
        intake, ledger, jobs.work, source="ehr", evidence=lambda _submission: evidence
    )
    assert (item.source, item.encounter_id, item.claim_id) == ("ehr", "er-1", visit.claim_id)
    assert item.kind == "denial"
    assert item.rules == ("CARC:11", "CARC:27")
    denial = item.payload["denial"]
    assert denial["queues"] == ["coding", "registration"]
    by_line = {line["procedure"]: line for line in denial["lines"]}
    assert by_line["12001"]["queue"] == "coding"
    assert by_line["12001"]["sent"]["code"] == "12001"
    assert by_line["12001"]["diagnoses"]  # the diagnoses the line pointed at, as sent
    assert by_line["J1885"]["queue"] == "registration"
    assert denial["evidence"] == evidence
    assert "CO-11 line 2 12001 -> coding" in item.summary
    assert ledger.history(visit.claim_id)[-1].status == "work-item"
    assert ledger.submission(visit.claim_id).status == "partially-paid"


def test_a_277ca_rejection_is_billing_work_not_a_denial(parties, ledger, jobs, tmp_path):
    report = write_837(
        golden_source("inpatient_stay"),
        parties,
        ledger,
        out=tmp_path / "a.837",
        price=chargemaster,
    )
    (stay,) = report.sent
    ack = ACK_277CA.replace("{pcn}", stay.pcn).replace("{charge}", str(stay.total))
    intake = record_x12_text(ack.replace("{total}", str(stay.total)), ledger, source="ack")
    (item,) = open_denial_work(intake, ledger, jobs.work, source="ehr")
    assert item.rules == ("STC:A7:21:82",)
    assert item.payload["denial"]["queues"] == ["billing"]
    assert item.payload["denial"]["lines"] == []
    assert ledger.submission(stay.claim_id).status == "rejected"
