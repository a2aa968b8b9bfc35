"""``fhir-coder code`` with the write-back flags: NDJSON, ledger, fee schedule, held drafts."""

import json

import httpx
import pytest

from adapters.cli.main import main
from adapters.exit_codes import ExitCode
from fhir_coder.systems import ICD10CM


def test_code_writes_ndjson_once_with_prices_when_told(loopback_base_url, tmp_path, capsys):
    folder = tmp_path / "claims"
    fees = tmp_path / "fees.csv"
    fees.write_text("code,modifier,price\n99213,,90\n99214,,130\n99203,,110\n99204,,170\n")
    args = ["code", "enc-0001-1", "--server", loopback_base_url, "--claims-to", str(folder)]
    args += ["--ledger", str(tmp_path / "ledger.sqlite3"), "--fee-schedule", str(fees)]
    first = main(args)
    again = main(args)
    assert first == again
    assert first in (ExitCode.OK, ExitCode.FINDINGS)
    [line] = (folder / "Bundle.ndjson").read_text().splitlines()  # the second run wrote nothing
    claim, provenance = (entry["resource"] for entry in json.loads(line)["entry"])
    assert claim["item"][0]["encounter"] == [{"reference": "Encounter/enc-0001-1"}]
    priced = [item for item in claim["item"] if "unitPrice" in item]
    assert all(item["net"]["currency"] == "USD" for item in priced)
    assert provenance["target"] == [{"reference": f"Claim/{claim['id']}"}]
    capsys.readouterr()


def test_hold_drafts_writes_nothing_for_a_claim_with_findings(loopback_base_url, tmp_path, capsys):
    base = loopback_base_url
    encounter = httpx.get(f"{base}/Encounter/enc-0001-1").json()
    header = {
        "resourceType": "Condition",
        "id": "hold-me",
        "subject": encounter["subject"],
        "encounter": {"reference": "Encounter/enc-0001-1"},
        "code": {"coding": [{"system": ICD10CM, "code": "E11"}]},  # a header: blocks the claim
    }
    httpx.put(f"{base}/Condition/hold-me", json=header).raise_for_status()
    folder = tmp_path / "claims"
    args = ["code", "enc-0001-1", "--server", base, "--claims-to", str(folder), "--json"]
    assert main([*args, "--hold-drafts"]) == ExitCode.FINDINGS
    assert json.loads(capsys.readouterr().out)["outcome"] == "held"
    assert not (folder / "Bundle.ndjson").exists()
    assert main(args) == ExitCode.FINDINGS  # written as a draft, with a Task for a coder
    capsys.readouterr()
    [line] = (folder / "Bundle.ndjson").read_text().splitlines()
    claim, _, task = (entry["resource"] for entry in json.loads(line)["entry"])
    assert claim["status"] == "draft"
    assert "ICD10CM-NOT-BILLABLE" in json.dumps(task)


@pytest.mark.parametrize("ledger", ["same", "another"])
def test_a_second_code_in_a_new_process_leaves_a_billers_edit_alone(
    loopback_base_url, tmp_path, capsys, ledger
):
    """The durable ledger by default, or none that knows the Claim: never a blind PUT."""
    base = loopback_base_url
    candidates = [f"enc-{n:04d}-1" for n in range(2, 12)]
    for encounter_id in candidates[::2] if ledger == "same" else candidates[1::2]:
        args = ["code", encounter_id, "--server", base, "--json"]
        assert main(args) in (ExitCode.OK, ExitCode.FINDINGS)
        claim_id = json.loads(capsys.readouterr().out)["claim_id"]
        if claim_id:  # a Claim was written (some visits are held for findings)
            break
    claim = httpx.get(f"{base}/Claim/{claim_id}").json()
    stat = {"coding": [{"system": claim["priority"]["coding"][0]["system"], "code": "stat"}]}
    edited = httpx.put(
        f"{base}/Claim/{claim_id}",
        json=claim | {"priority": stat},
        headers={"If-Match": f'W/"{claim["meta"]["versionId"]}"'},
    )
    assert edited.status_code == 200  # the biller's edit
    encounter = httpx.get(f"{base}/Encounter/{encounter_id}").json()
    recode = {
        "resourceType": "Condition",
        "id": f"recode-{encounter_id}",
        "subject": encounter["subject"],
        "encounter": {"reference": f"Encounter/{encounter_id}"},
        "code": {"coding": [{"system": ICD10CM, "code": "J20.9"}]},
    }
    httpx.put(f"{base}/Condition/{recode['id']}", json=recode).raise_for_status()
    again = args if ledger == "same" else [*args, "--ledger", str(tmp_path / "other.sqlite3")]
    assert main(again) == ExitCode.SERVER_ERROR
    assert "changed by someone else" in capsys.readouterr().err
    stored = httpx.get(f"{base}/Claim/{claim_id}").json()
    assert stored["priority"] == stat
    assert stored["meta"]["versionId"] == edited.json()["meta"]["versionId"]
