"""``fhir-coder x12``: 837 from an NDJSON folder, 835 intake, status, one-line errors."""

from __future__ import annotations

import json

import orjson

from adapters.cli.main import main
from adapters.exit_codes import ExitCode
from tests.adapters.x12.conftest import PARTIES
from tests.adapters.x12.golden_claims import golden_source
from tests.adapters.x12.pyx12_judge import pyx12_errors


def export_folder(tmp_path):
    source = golden_source("emergency_visit", "inpatient_stay")
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Claim.ndjson").write_bytes(
        b"\n".join(orjson.dumps(c) for c in source.claims) + b"\n"
    )
    (folder / "Registration.ndjson").write_bytes(
        b"\n".join(orjson.dumps(r) for r in source.resources.values()) + b"\n"
    )
    return folder


def settings_file(tmp_path):
    path = tmp_path / "x12.toml"
    path.write_text("".join(f'{key} = "{value}"\n' for key, value in PARTIES.items()))
    return path


def test_x12_837_then_835_then_status(tmp_path, capsys):
    folder, config = export_folder(tmp_path), settings_file(tmp_path)
    ledger, out = tmp_path / "x12.sqlite3", tmp_path / "out.837"
    fees = tmp_path / "fees.csv"
    fees.write_text("code,modifier,price\n99223,,900.00\n")
    code = main(
        [
            "x12",
            "837",
            "--from-ndjson",
            str(folder),
            "--out",
            str(out),
            "--x12-config",
            str(config),
            "--fee-schedule",
            str(fees),
            "--ledger",
            str(ledger),
            "--claim-ledger",
            str(tmp_path / "claims.sqlite3"),
            "--json",
        ]
    )
    assert code == ExitCode.OK
    report = json.loads(capsys.readouterr().out)
    assert sorted(s["kind"] for s in report["sent"]) == ["institutional", "professional"]
    assert pyx12_errors(out.read_text(), tmp_path) == []
    visit = next(s for s in report["sent"] if s["kind"] == "professional")
    era = tmp_path / "era.835"
    from x12sdk.generate import generate_835  # noqa: PLC0415
    from x12sdk.generate._spec import AdjustmentSpec, ClaimSpec  # noqa: PLC0415

    era.write_text(
        generate_835(
            claims=[
                ClaimSpec(
                    charge=visit["charge"],
                    patient_control_number=visit["pcn"],
                    adjustments=[AdjustmentSpec("CO", "45", "99.75")],
                ),
                ClaimSpec(charge="10.00", patient_control_number="SOMEONEELSE"),
            ]
        )
    )
    assert main(["x12", "835", str(era), "--ledger", str(ledger)]) == ExitCode.FINDINGS
    printed = capsys.readouterr().out
    assert "1 claims matched" in printed
    assert "SOMEONEELSE" in printed
    assert main(["x12", "status", visit["claim"], "--ledger", str(ledger), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert [e["status"] for e in status["history"]] == ["submitted", "paid"]
    assert main(["x12", "status", "fc-nothing", "--ledger", str(ledger)]) == ExitCode.NOT_FOUND


def test_a_malformed_835_is_one_line_on_stderr_and_records_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.835"
    bad.write_text("ISA*00*too short~")
    code = main(["x12", "835", str(bad), "--ledger", str(tmp_path / "x12.sqlite3")])
    assert code == ExitCode.X12_INVALID
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "segment ISA at position 1" in err
    assert "Traceback" not in err


def test_missing_x12_settings_are_one_line_naming_them(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("FHIR_CODER_X12_CONFIG", raising=False)
    code = main(
        [
            "x12",
            "837",
            "--from-ndjson",
            str(export_folder(tmp_path)),
            "--out",
            str(tmp_path / "o.837"),
            "--ledger",
            str(tmp_path / "l.sqlite3"),
            "--claim-ledger",
            str(tmp_path / "claims.sqlite3"),
        ]
    )
    assert code == ExitCode.CONFIGURATION
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "sender_id" in err


def test_x12_837_from_a_server_on_loopback_then_responses_from_ndjson(
    loopback_base_url, coding, tmp_path, capsys
):
    import asyncio  # noqa: PLC0415

    from adapters.demo import SANDBOX_SOURCE_ID, code_all_finished  # noqa: PLC0415
    from adapters.fhir.client import FhirClient  # noqa: PLC0415

    async def code_them():
        async with FhirClient(loopback_base_url) as fhir:
            await code_all_finished(fhir, coding, source_id=SANDBOX_SOURCE_ID)

    asyncio.run(code_them())
    fees = tmp_path / "fees.csv"
    fees.write_text("code,modifier,price\n" + "".join(f"{c},,100.00\n" for c in CODES))
    ledger, out = tmp_path / "x12.sqlite3", tmp_path / "demo.837"
    code = main(
        [
            "x12", "837", "--server", loopback_base_url, "--out", str(out),
            "--x12-config", str(settings_file(tmp_path)), "--fee-schedule", str(fees),
            "--ledger", str(ledger), "--claim-ledger", str(tmp_path / "claims.sqlite3"), "--json",
        ]
    )  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert report["sent"], report
    assert pyx12_errors(out.read_text(), tmp_path) == []
    assert code in (ExitCode.OK, ExitCode.FINDINGS)  # findings: claims not ready, each said
    for refused in report["not_ready"]:
        assert refused["reasons"]
    first = report["sent"][0]
    folder = tmp_path / "answers"
    folder.mkdir()
    answer = {
        "resourceType": "ClaimResponse", "id": "cr-9", "status": "active", "use": "claim",
        "outcome": "error", "request": {"reference": f"Claim/{first['claim']}"},
        "error": [{"code": {"coding": [{"code": "A7:562"}]}}],
    }  # fmt: skip
    (folder / "ClaimResponse.ndjson").write_bytes(orjson.dumps(answer) + b"\n")
    code = main(
        ["x12", "responses", "--from-ndjson", str(folder), "--ledger", str(ledger),
         "--jobs-db", str(tmp_path / "jobs.sqlite3"), "--json"]
    )  # fmt: skip
    assert code == ExitCode.OK
    intake = json.loads(capsys.readouterr().out)
    assert intake["statuses"] == {first["claim"]: "rejected"}
    assert intake["work_items"] == 1


CODES = [
    "99202",
    "99203",
    "99204",
    "99211",
    "99212",
    "99213",
    "99214",
    "99215",
    "99281",
    "99282",
    "99283",
    "99284",
    "99285",
    "93000",
    "36415",
    "71046",
    "80053",
    "85025",
    "90471",
    "90686",
    "12001",
    "J1885",
    "G0008",
    "99385",
    "99395",
    "99396",
    "99349",
]


def test_x12_837_next_payer_sends_the_claim_to_the_secondary_after_the_primarys_835(
    tmp_path, capsys
):
    from x12sdk.generate import generate_835  # noqa: PLC0415
    from x12sdk.generate._spec import AdjustmentSpec, ClaimSpec, ServiceLineSpec  # noqa: PLC0415

    from tests.adapters.x12.test_other_payers import two_payers  # noqa: PLC0415

    source = two_payers("office_visit")
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "Claim.ndjson").write_bytes(orjson.dumps(source.claims[0]) + b"\n")
    (folder / "Registration.ndjson").write_bytes(
        b"\n".join(orjson.dumps(r) for r in source.resources.values()) + b"\n"
    )
    config, ledger = settings_file(tmp_path), tmp_path / "x12.sqlite3"
    fees = tmp_path / "fees.csv"
    fees.write_text("code,modifier,price\n99213,,120.00\n")

    def send(out, *extra):
        common = ["--x12-config", str(config), "--fee-schedule", str(fees)]
        common += ["--ledger", str(ledger), "--claim-ledger", str(tmp_path / "claims.sqlite3")]
        argv = ["x12", "837", "--from-ndjson", str(folder), "--out", str(out), *common]
        code = main([*argv, *extra, "--json"])
        return code, json.loads(capsys.readouterr().out)

    code, early = send(tmp_path / "none.837", "--next-payer")
    assert (code, early["sent"]) == (ExitCode.OK, [])
    assert "has not remitted" in next(iter(early["waiting"].values()))
    code, primary = send(tmp_path / "p.837")
    (sent,) = primary["sent"]
    era = tmp_path / "era.835"
    era.write_text(
        generate_835(
            claims=[
                ClaimSpec(
                    charge=sent["charge"],
                    patient_control_number=sent["pcn"],
                    lines=[
                        ServiceLineSpec(
                            charge=sent["charge"],
                            procedure="99213",
                            adjustments=[AdjustmentSpec("PR", "2", "24.00")],
                        )
                    ],
                )
            ]
        )
    )
    assert main(["x12", "835", str(era), "--ledger", str(ledger), "--no-work"]) == ExitCode.OK
    capsys.readouterr()
    out = tmp_path / "s.837"
    code, secondary = send(out, "--next-payer")
    assert code == ExitCode.OK
    (claim,) = secondary["sent"]
    assert claim["pcn"] == sent["pcn"] + "S"
    text = out.read_text()
    assert pyx12_errors(text, tmp_path) == []
    assert "SBR*S*" in text
    assert "AMT*D*96.00~" in text
    assert "CAS*PR*2*24.00~" in text
    code, again = send(tmp_path / "again.837", "--next-payer")
    assert again["sent"] == []
    assert len(again["already_sent"]) == 1
