from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.cli.main import main
from adapters.exit_codes import ExitCode
from codesets import crosswalks

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "codesets" / "fixtures"


def run_json(capsys, *argv: str) -> dict:
    assert main(["codes", *argv, "--json"]) == ExitCode.OK
    return json.loads(capsys.readouterr().out)


def test_lookup_header_offers_billable_children(icd10cm, capsys):
    facts = run_json(capsys, "lookup", "E11", "--date", "2026-01-15")
    assert {"system", "code", "valid", "billable", "description", "children", "version"} <= set(
        facts
    )
    assert (facts["code"], facts["valid"], facts["billable"]) == ("E11", True, False)
    assert "E119" in facts["children"]
    assert facts["version"] == "ICD-10-CM FY2026"
    assert any(n["kind"] == "excludes1" and n["codes"] == ["E10"] for n in facts["notes"])


def test_lookup_validity_changes_on_the_first_of_october(icd10cm, capsys):
    before = run_json(capsys, "lookup", "e11.a", "--date", "2025-09-30")
    after = run_json(capsys, "lookup", "E11A", "--date", "2025-10-01")
    assert (before["valid"], after["valid"]) == (False, True)
    assert after["display_code"] == "E11.A"


def test_lookup_seventh_character_and_text_output(icd10cm, capsys):
    assert main(["codes", "lookup", "S72.001", "--date", "2026-01-15"]) == ExitCode.OK
    text = capsys.readouterr().out
    assert "needs a 7th character" in text
    assert "S72001A" in text


def test_lookup_pcs_and_unverified_cpt(icd10cm, capsys):
    pcs = run_json(capsys, "lookup", "0dtj4zz", "--system", "pcs", "--date", "2026-01-15")
    assert (pcs["valid"], pcs["axes"]["body_part"]) == (True, "Appendix")
    cpt = run_json(capsys, "lookup", "99213", "--system", "cpt", "--date", "2026-01-15")
    assert (cpt["verified"], cpt["valid"]) == (False, True)


def test_dates_outside_the_releases_are_refused_unless_nearest(icd10cm, capsys):
    assert main(["codes", "lookup", "E119", "--date", "2015-01-01"]) == ExitCode.CONFIGURATION
    assert "no release" in capsys.readouterr().err
    nearest = run_json(capsys, "lookup", "E119", "--date", "2015-01-01", "--nearest")
    assert "nearest release" in nearest["version"]


def test_unknown_system_is_a_typed_error(icd10cm, capsys):
    assert main(["codes", "lookup", "123", "--system", "urn:example:nothing"]) != ExitCode.OK
    assert "no code set is loaded" in capsys.readouterr().err


def test_search(icd10cm, capsys):
    facts = run_json(capsys, "search", "type 2 diabetes", "--billable", "--date", "2026-01-01")
    assert facts["results"]
    assert all(hit["code"].startswith("E11") for hit in facts["results"][:5])
    assert main(["codes", "search", "appendix resection", "--system", "pcs"]) == ExitCode.OK
    assert "0DTJ" in capsys.readouterr().out


def test_translate_by_sex_with_provenance(icd10cm, capsys):
    facts = run_json(
        capsys, "translate", "snomed|8619003", "--sex", "female", "--date", "2026-01-15"
    )
    (target,) = facts["targets"]
    assert {"system", "code", "rule", "needs_review"} <= set(target)
    assert (target["code"], target["needs_review"], target["valid"]) == ("N979", False, True)
    assert target["rule"] == "curated:8619003 if patient-sex female"


def test_translate_procedure_and_unmatched(icd10cm, capsys):
    facts = run_json(
        capsys, "translate", "http://snomed.info/sct|430193006", "--date", "2026-01-15"
    )
    assert facts["targets"] == []
    assert "documentation" in facts["unmapped_reason"]
    assert main(["codes", "translate", "snomed|85548006", "--date", "2026-01-15"]) == ExitCode.OK
    assert "0W8NXZZ" in capsys.readouterr().out
    assert main(["codes", "translate", "44054006"]) == ExitCode.USAGE


def test_translate_with_an_nlm_map(icd10cm, capsys, monkeypatch):
    monkeypatch.setattr(crosswalks, "_default", None)
    monkeypatch.setenv(
        "FHIR_CODER_SNOMED_MAP", str(FIXTURES / "der2_iisssccRefset_ExtendedMapFull_synthetic.txt")
    )
    facts = run_json(capsys, "translate", "snomed|1000002", "--age", "9", "--date", "2026-01-15")
    assert [t["code"] for t in facts["targets"]] == ["R6251"]
    assert facts["targets"][0]["rule"].startswith("NLM map group 1 priority 1")
    monkeypatch.setattr(crosswalks, "_default", None)


def test_info_lists_code_sets_and_crosswalks(icd10cm, capsys, monkeypatch):
    monkeypatch.setenv("FHIR_CODER_NCCI_PTP_DIR", str(FIXTURES / "ncci"))
    monkeypatch.setenv("FHIR_CODER_MUE_DIR", str(FIXTURES / "mue"))
    facts = run_json(capsys, "info")
    names = [entry["name"] for entry in facts["code_sets"]]
    assert names[:2] == ["ICD-10-CM", "ICD-10-PCS"]
    assert facts["code_sets"][0]["source"].startswith("simple-icd-10-cm")
    assert facts["crosswalks"][-1]["name"] == "fhir-coder curated crosswalk"
    assert len(facts["procedure_edits"]) == 5


@pytest.mark.slow
def test_codes_command_runs_as_a_program(icd10cm):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "adapters.cli.main",
            "codes",
            "lookup",
            "E11.9",
            "--date",
            "2026-01-15",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(done.stdout)["billable"] is True


def test_translate_tells_not_reported_from_needs_a_coder(icd10cm, capsys):
    employed = run_json(capsys, "translate", "snomed|160903007", "--date", "2026-01-15")
    assert (employed["targets"], employed["not_reported"]) == ([], True)
    assert "employment status" in employed["unmapped_reason"]
    screening = run_json(capsys, "translate", "snomed|10939881000119105", "--date", "2026-01-15")
    assert screening["not_reported"] is False
    assert main(["codes", "translate", "snomed|160903007", "--date", "2026-01-15"]) == ExitCode.OK
    assert "no target (not reported)" in capsys.readouterr().out
    lipids = run_json(
        capsys, "translate", "snomed|16254007", "--target", "cpt", "--date", "2026-01-15"
    )
    assert [t["code"] for t in lipids["targets"]] == ["80061"]


def test_a_reader_that_stops_early_ends_the_command_quietly():
    """`fhir-coder codes search fracture | head`: no traceback, the shell's SIGPIPE status."""
    command = [sys.executable, "-m", "adapters.cli.main", "codes", "search", "fracture"]
    with subprocess.Popen(
        [*command, "--limit", "5000", "--date", "2026-01-15"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline()  # the first line, then the reader goes away
        process.stdout.close()
        assert process.stderr is not None
        errors = process.stderr.read()
        assert process.wait(timeout=60) == 141
    assert b"Traceback" not in errors
