"""``fhir-coder run --from-ndjson``: an export on disk, coded through the same ledger and writer."""

import json

import pytest

from adapters.cli.main import main
from adapters.writeback.ndjson import read_claims
from sandbox.seed import build_seed_bundle
from sandbox.synthetic_export import write_export
from tests.adapters.cli.test_run_cli import PATIENTS, run_command, sandbox_60  # noqa: F401


@pytest.fixture
def export_25(tmp_path):
    folder = tmp_path / "export"
    write_export(build_seed_bundle(patients=PATIENTS), folder)
    return folder


@pytest.fixture
def export_25_in_order(tmp_path):
    """The export with each file in the server's order: unranked diagnoses are sequenced in
    the order the server lists them, by search or by export alike."""
    folder = tmp_path / "export-in-order"
    write_export(build_seed_bundle(patients=PATIENTS), folder, shuffle_seed=None)
    return folder


def claims_in(folder):
    lines = (folder / "Bundle.ndjson").read_bytes().splitlines()
    claims = read_claims(folder)
    assert len(lines) == len(claims)  # each Claim written once
    return list(claims.values())


def test_an_export_on_disk_is_coded_once_and_a_rerun_redoes_nothing(export_25, tmp_path, capsys):
    jobs_db, out = tmp_path / "jobs.sqlite3", tmp_path / "claims"
    command = [
        "run", "--from-ndjson", str(export_25), "--source-id", "sb", "--jobs-db", str(jobs_db),
        "--claims-to", str(out), "--json",
    ]  # fmt: skip
    assert main(command) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["jobs"]["done"] == 62
    assert summary["jobs"]["held"] == 2
    assert summary["export"]["unresolved"] == 0
    assert summary["export"]["resources"]["Encounter"] == 72  # 64 finished
    claims = claims_in(out)
    assert len(claims) == 62
    main(["validate", str(out), "--json"])  # the Claims read back from the NDJSON written
    assert len(json.loads(capsys.readouterr().out)["claims"]) == 62
    assert main(command) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["queued_now"] == 0
    assert again["export"]["files_read"] == 0  # the index kept what it read
    assert len(claims_in(out)) == 62


def test_the_claims_equal_those_coded_from_the_server(
    sandbox_60,  # noqa: F811
    export_25_in_order,
    tmp_path,
    capsys,
):
    from_server, from_files = tmp_path / "server", tmp_path / "files"
    assert main([*run_command(sandbox_60, tmp_path / "a.sqlite3")[3:], "--claims-to",
                 str(from_server), "--quiet"]) == 0  # fmt: skip
    assert main(["run", "--from-ndjson", str(export_25_in_order), "--source-id", "sb",
                 "--jobs-db", str(tmp_path / "b.sqlite3"), "--claims-to", str(from_files),
                 "--quiet"]) == 0  # fmt: skip
    capsys.readouterr()

    def comparable(claim):
        return {
            "id": claim["id"],
            "status": claim["status"],
            "diagnosis": [d["diagnosisCodeableConcept"] for d in claim.get("diagnosis", [])],
            "items": [i["productOrService"] for i in claim.get("item", [])],
            "provider": claim["provider"],
            "insurer": claim.get("insurer"),
        }

    server = sorted((comparable(c) for c in claims_in(from_server)), key=lambda c: c["id"])
    files = sorted((comparable(c) for c in claims_in(from_files)), key=lambda c: c["id"])
    assert len(server) == 62
    for a, b in zip(files, server, strict=True):
        assert a == b, json.dumps([a, b], indent=1)


def test_files_without_a_source_name_or_destination_are_refused(export_25, tmp_path, capsys):
    assert main(["run", "--from-ndjson", str(export_25), "--jobs-db", str(tmp_path / "j")]) == 8
    assert "--source-id" in capsys.readouterr().err
    assert main(["run", "--from-ndjson", str(export_25), "--source-id", "sb",
                 "--jobs-db", str(tmp_path / "j")]) == 8  # fmt: skip
    assert "--claims-to" in capsys.readouterr().err
    assert main(["run", "--from-ndjson", str(tmp_path / "nowhere"), "--source-id", "sb",
                 "--jobs-db", str(tmp_path / "j"), "--claims-to", str(tmp_path)]) == 8  # fmt: skip
    assert "no such NDJSON file or folder" in capsys.readouterr().err
