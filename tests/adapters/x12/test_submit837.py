"""837P/837I from our Claims: judged by pyx12's 5010 maps, read back by x12sdk, sent once."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from adapters.demo import SANDBOX_SOURCE_ID, code_all_finished
from adapters.writeback.claim_ledger import ClaimLedger, LedgerEntry
from adapters.writeback.ndjson import NdjsonFile
from adapters.x12.claim_facts import NotReady, claim_facts, patient_control_number
from adapters.x12.sources import claims_from_ndjson, claims_from_server
from adapters.x12.submit import write_837
from fhir_coder.facility import covered_days
from tests.adapters.x12.conftest import chargemaster, with_rooms
from tests.adapters.x12.golden_claims import golden_source, inpatient_source
from tests.adapters.x12.pyx12_judge import pyx12_errors
from tests.adapters.x12.roundtrip import facts_meant, facts_read_back

CREATED = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


async def test_every_demo_claim_passes_pyx12_and_reads_back_the_same_837i_stays_included(
    asgi_fhir, coding, parties, ledger, tmp_path
):
    summary = await code_all_finished(
        asgi_fhir, coding, source_id=SANDBOX_SOURCE_ID, claim_options=with_rooms()
    )
    assert summary.claims_on_server
    source = await claims_from_server(asgi_fhir)
    assert len(source.claims) == await asgi_fhir.count("Claim", {"status": "active,cancelled"})
    out = tmp_path / "claims.837"
    report = write_837(source, parties, ledger, out=out, price=chargemaster, created=CREATED)
    active = [c for c in source.claims if c["status"] == "active"]
    assert report.not_ready == []
    assert len(report.sent) == len(active) > 10
    stays = [f for f in report.sent if f.kind == "institutional"]
    assert len(stays) >= 4
    for facts in stays:  # room and board: the semi-private rate, a day a night
        (room,) = [line for line in facts.lines if line.revenue == "0120"]
        assert room.code == ""
        assert room.units == covered_days(facts.start, facts.end)
        assert room.charge == Decimal("1850.00") * room.units
    text = out.read_text()
    assert text.count("*11:A:1*") == len(stays)  # type of bill 0111, admit through discharge
    assert "SV2*0120**" in text
    assert pyx12_errors(text, tmp_path) == []
    back = facts_read_back(text)
    assert back == {f.pcn: facts_meant(f) for f in report.sent}
    assert all(s.status == "submitted" for s in ledger.submissions())


def test_the_837i_of_an_inpatient_stay_passes_pyx12_with_poa_drg_and_procedures(
    parties, ledger, tmp_path
):
    out = tmp_path / "stay.837"
    report = write_837(
        inpatient_source(), parties, ledger, out=out, price=chargemaster, created=CREATED
    )
    assert [f.kind for f in report.sent] == ["institutional"]
    text = out.read_text()
    assert pyx12_errors(text, tmp_path) == []
    (facts,) = report.sent
    back = facts_read_back(text)[facts.pcn]
    assert back == facts_meant(facts)
    assert back["drg"] == "203"
    assert back["poa"] == ["U", "Y", "N"]
    assert back["pcs"] == ["0BJ08ZZ"]
    assert "CL1*1*4*01~" in text
    assert "DTP*434*RD8*20260112-20260116~" in text


def test_a_claim_is_sent_once_and_its_replacement_goes_with_frequency_7_and_the_payer_number(
    parties, ledger, tmp_path
):
    source = inpatient_source()
    first = write_837(
        source, parties, ledger, out=tmp_path / "a.837", price=chargemaster, created=CREATED
    )
    again = write_837(
        source, parties, ledger, out=tmp_path / "b.837", price=chargemaster, created=CREATED
    )
    assert len(first.sent) == 1
    assert again.sent == []
    assert again.already_sent == [first.sent[0].claim_id]
    assert not (tmp_path / "b.837").exists()
    original = source.claims[0]
    replacement = copy.deepcopy(original) | {
        "id": original["id"] + "-r1",
        "related": [
            {
                "claim": {"reference": f"Claim/{original['id']}"},
                "relationship": {"coding": [{"code": "prior"}]},
            }
        ],
    }
    source.claims = [replacement]
    waiting = write_837(source, parties, ledger, out=tmp_path / "c.837", price=chargemaster)
    assert waiting.sent == []
    assert "REF*F8" in str(waiting.not_ready[0])
    with ledger.transaction() as db:  # the payer's claim number, as an 835 or 277CA gives it
        db.run(
            "UPDATE submissions SET payer_claim_number = 'PAYER-77' WHERE claim_id = ?",
            (original["id"],),
        )
    sent = write_837(source, parties, ledger, out=tmp_path / "d.837", price=chargemaster)
    (facts,) = sent.sent
    text = (tmp_path / "d.837").read_text()
    assert pyx12_errors(text, tmp_path) == []
    assert facts.frequency == "7"
    assert facts.pcn == patient_control_number(original["id"]) + "R1"
    assert facts_read_back(text)[facts.pcn]["payer_claim_number"] == "PAYER-77"
    assert "*11:A:7*" in text
    assert [e.status for e in ledger.history(original["id"])] == ["submitted", "corrected"]
    assert write_837(source, parties, ledger, out=tmp_path / "e.837", price=chargemaster).sent == []


def test_a_cancelled_claim_goes_once_as_a_void(parties, ledger, tmp_path):
    source = inpatient_source()
    write_837(source, parties, ledger, out=tmp_path / "a.837", price=chargemaster)
    claim_id = source.claims[0]["id"]
    with ledger.transaction() as db:
        db.run("UPDATE submissions SET payer_claim_number = 'P-9' WHERE claim_id = ?", (claim_id,))
    source.claims = [source.claims[0] | {"status": "cancelled"}]
    report = write_837(source, parties, ledger, out=tmp_path / "v.837", price=chargemaster)
    text = (tmp_path / "v.837").read_text()
    assert pyx12_errors(text, tmp_path) == []
    assert "*11:A:8*" in text
    assert "REF*F8*P-9~" in text
    assert report.sent[0].pcn.endswith("V")
    assert ledger.submission(claim_id).status == "voided"
    assert write_837(source, parties, ledger, out=tmp_path / "w.837", price=chargemaster).sent == []


def test_without_charges_a_claim_is_not_ready_and_no_file_is_written(parties, ledger, tmp_path):
    report = write_837(inpatient_source(), parties, ledger, out=tmp_path / "x.837")
    assert report.sent == []
    assert report.path is None
    assert not (tmp_path / "x.837").exists()
    (refused,) = report.not_ready
    assert any("no charge" in reason for reason in refused.reasons)
    assert ledger.submissions() == []


def test_not_ready_names_every_missing_fact_at_once():
    source = inpatient_source()
    claim = source.claims[0] | {"supportingInfo": [], "careTeam": []}
    resources = dict(source.resources)
    resources["Coverage/c1"] = {
        k: v for k, v in resources["Coverage/c1"].items() if k != "subscriberId"
    }
    with pytest.raises(NotReady) as caught:
        claim_facts(claim, resources.get, price=chargemaster)
    reasons = " | ".join(caught.value.reasons)
    for expected in ("subscriber id", "discharge status", "admission type", "attending"):
        assert expected in reasons


def test_submitting_marks_the_claim_submitted_in_the_claim_ledger(parties, ledger, tmp_path):
    source = inpatient_source()
    claim_ledger = ClaimLedger(None)
    held = claim_ledger.reserve(source.name, source.claims[0]["id"])
    claim_ledger.record(
        source.name,
        LedgerEntry(source.claims[0]["id"], claim_id=source.claims[0]["id"]),
        held.fence,
    )
    report = write_837(
        source,
        parties,
        ledger,
        out=tmp_path / "a.837",
        claim_ledger=claim_ledger,
        price=chargemaster,
    )
    assert report.not_in_claim_ledger == []
    assert claim_ledger.entry(source.name, source.claims[0]["id"]).submitted


def test_claims_are_read_from_an_ndjson_folder(parties, ledger, tmp_path):
    source = inpatient_source()
    folder = tmp_path / "export"
    folder.mkdir()
    for kind in ("Patient", "Coverage", "Organization"):
        lines = [orjson.dumps(r) for r in source.resources.values() if r["resourceType"] == kind]
        (folder / f"{kind}.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    stale = source.claims[0] | {"diagnosis": []}
    (folder / "Claim.ndjson").write_bytes(
        orjson.dumps(stale) + b"\n" + orjson.dumps(source.claims[0]) + b"\n"
    )
    read = claims_from_ndjson(folder)
    assert [c["diagnosis"] for c in read.claims] == [
        source.claims[0]["diagnosis"]
    ]  # the later line
    report = write_837(read, parties, ledger, out=tmp_path / "n.837", price=chargemaster)
    assert len(report.sent) == 1
    assert ledger.submissions()[0].destination == f"ndjson:{folder.resolve()}"


def test_claims_written_back_to_ndjson_are_read_from_their_bundles(tmp_path):
    """The write-back's NDJSON destination keeps each Claim in a transaction Bundle line."""
    source = inpatient_source()
    folder = tmp_path / "written"
    folder.mkdir()
    for kind in ("Patient", "Coverage", "Organization"):
        lines = [orjson.dumps(r) for r in source.resources.values() if r["resourceType"] == kind]
        (folder / f"{kind}.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    NdjsonFile(folder).append([source.claims[0], {"resourceType": "Provenance", "id": "pv-1"}])
    read = claims_from_ndjson(folder)
    assert [c["id"] for c in read.claims] == [source.claims[0]["id"]]
    assert "Provenance/pv-1" in read.resources


@pytest.mark.parametrize(
    ("name", "loop"), [("emergency_visit", "2310C"), ("inpatient_stay", "2310E")]
)
def test_the_service_facility_the_claim_names_goes_in_its_loop(
    name, loop, parties, ledger, tmp_path
):
    source = golden_source(name)
    source.claims[0]["facility"] = {"reference": "Location/er"}
    source.resources["Location/er"] = {
        "resourceType": "Location", "id": "er", "name": "Riverbend Emergency Department",
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1497758544"}],
        "address": {"line": ["1 River Rd"], "city": "Riverton", "state": "Ohio",
                    "postalCode": "43215-0001"},
    }  # fmt: skip
    report = write_837(source, parties, ledger, out=tmp_path / "f.837", price=chargemaster)
    text = (tmp_path / "f.837").read_text()
    assert pyx12_errors(text, tmp_path) == []
    assert "NM1*77*2*Riverbend Emergency Department*****XX*1497758544~" in text
    assert "N4*Riverton*OH*432150001~" in text
    assert report.sent[0].facility is not None, loop


def test_pointers_follow_the_diagnosis_sequence_not_its_position(parties, ledger, tmp_path):
    source = golden_source("emergency_visit")
    claim = source.claims[0]
    for entry in claim["diagnosis"]:  # another system numbers its diagnoses 10, 20...
        entry["sequence"] *= 10
    for item in claim["item"]:
        item["diagnosisSequence"] = [p * 10 for p in item["diagnosisSequence"]]
    report = write_837(source, parties, ledger, out=tmp_path / "p.837", price=chargemaster)
    (facts,) = report.sent
    assert [line.pointers for line in facts.lines] == [
        tuple(p // 10 for p in item["diagnosisSequence"]) for item in claim["item"]
    ]
    claim["item"][0]["diagnosisSequence"] = [70]
    with pytest.raises(NotReady, match="points at a diagnosis the Claim does not have"):
        claim_facts(claim, source.resolve, price=chargemaster)


def test_the_sandbox_payer_dates_an_inpatient_bill_by_its_statement_period(
    parties, ledger, tmp_path
):
    from sandbox.payer_x12 import claims_from_837  # noqa: PLC0415 - the payer's reader

    out = tmp_path / "stay.837"
    write_837(inpatient_source(), parties, ledger, out=out, price=chargemaster, created=CREATED)
    lapsed = {"status": "active", "period": {"start": "2025-01-01", "end": "2026-01-11"}}
    current = {"status": "active", "period": {"start": "2026-01-01"}}
    # the stay (admitted 2026-01-12) has no line dates on the 837I: the payer takes the
    # statement's first day, so a coverage that ended the day before does not pay it
    (claim,) = claims_from_837(out.read_text(), lambda _member: lapsed)
    assert claim.coverage_in_force is False
    (claim,) = claims_from_837(out.read_text(), lambda _member: current)
    assert claim.coverage_in_force is True
